import { X509Certificate, createPrivateKey } from 'node:crypto';

/**
 * Reading certificates needs only node:crypto; node-forge (certs.ts) is loaded only where
 * certificates are made (self-managed mode, tests), which keeps the server's memory lower.
 */

/** A PEM certificate and its PEM private key. The key is never logged or put in an error. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
}

/** Validity and SANs of the first certificate in a PEM chain. */
export function certificateInfo(certPem: string): CertInfo {
  const x = new X509Certificate(certPem);
  const dnsNames = (x.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo), dnsNames };
}

/** Whether the certificate was issued by the CA and the private key belongs to it. */
export function pairMatches(pair: KeyPair, caPem?: string): boolean {
  try {
    const x = new X509Certificate(pair.certPem);
    if (!x.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    return caPem === undefined || x.verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
