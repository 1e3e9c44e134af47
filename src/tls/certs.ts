import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { KeyPair } from './x509.js';

export { certificateInfo, pairMatches, type CertInfo, type KeyPair } from './x509.js';

const DAY_MS = 24 * 3600 * 1000;

/** The DNS names the API server may use to reach `service` in `namespace`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

function newKeys(): forge.pki.rsa.KeyPair {
  // node-forge uses Node's native RSA key generation when it is available (fast).
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function serial(): string {
  // Positive 128-bit serial (first bit cleared).
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // Backdate a little: clocks in a cluster are not perfectly in step.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
}

export function createCA(opts: { commonName: string; validDays: number; now?: Date }): KeyPair {
  const keys = newKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, opts.now ?? new Date(), opts.validDays);
  const subject = [{ name: 'commonName', value: opts.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export interface ServingCertOptions {
  dnsNames: string[];
  ipAddresses?: string[];
  validDays: number;
  now?: Date;
}

export function createServingCert(ca: KeyPair, opts: ServingCertOptions): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, opts.now ?? new Date(), opts.validDays);
  cert.setSubject([{ name: 'commonName', value: opts.dnsNames[0] ?? opts.ipAddresses?.[0] ?? 'modelgate' }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...opts.dnsNames.map((value) => ({ type: 2, value })),
    ...(opts.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** A CA and a serving certificate for `dnsNames` (tests, self-managed mode). */
export function createSelfSignedBundle(opts: ServingCertOptions & { caValidDays?: number }): {
  ca: KeyPair;
  serving: KeyPair;
} {
  const ca = createCA({ commonName: 'modelgate-ca', validDays: opts.caValidDays ?? 3650, now: opts.now });
  return { ca, serving: createServingCert(ca, opts) };
}
