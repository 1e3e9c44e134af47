/**
 * Just enough PKI for a loopback cluster: one CA, serving certs with IP SANs, client certs whose
 * subject carries the Kubernetes user (CN) and groups (O). Keys come from node:crypto (fast
 * RSA key generation); node-forge builds and signs the X.509 certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  keyPem: string;
  publicKeyPem: string;
}

export interface Issued extends KeyPair {
  certPem: string;
}

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

interface CertSpec {
  commonName: string;
  organizations?: string[];
  ipSans?: string[];
  dnsSans?: string[];
  isCA?: boolean;
  usage?: 'server' | 'client' | 'both';
}

const DAY_MS = 24 * 60 * 60 * 1000;

function subjectOf(spec: CertSpec): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: spec.commonName },
    ...(spec.organizations ?? []).map((o) => ({ name: 'organizationName', value: o })),
  ];
}

function extensionsOf(spec: CertSpec): object[] {
  if (spec.isCA) {
    return [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ];
  }
  const usage = spec.usage ?? 'both';
  const altNames = [
    ...(spec.ipSans ?? []).map((ip) => ({ type: 7, ip })),
    ...(spec.dnsSans ?? []).map((value) => ({ type: 2, value })),
  ];
  return [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ];
}

function build(spec: CertSpec, keys: KeyPair, issuer?: Issued): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  // Backdated a little: the API server and this process share a clock, but be lenient.
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 7 * DAY_MS);
  cert.setSubject(subjectOf(spec));
  cert.setIssuer(issuer ? forge.pki.certificateFromPem(issuer.certPem).subject.attributes : subjectOf(spec));
  cert.setExtensions(extensionsOf(spec));
  const signer = forge.pki.privateKeyFromPem(issuer ? issuer.keyPem : keys.keyPem);
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export function newCA(commonName: string): Issued {
  const keys = newKeyPair();
  return { ...keys, certPem: build({ commonName, isCA: true }, keys) };
}

export function issue(ca: Issued, spec: Omit<CertSpec, 'isCA'>): Issued {
  const keys = newKeyPair();
  return { ...keys, certPem: build(spec, keys, ca) };
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
