/**
 * The certificate method's chain check (node:crypto X509Certificate plus der.ts for the extensions
 * node does not expose). What is checked, and why:
 *  - the leaf chains, through the bundle's other certificates, to one of the authority's
 *    configured CA certificates (a root or an intermediate): each link by issuer name and signature;
 *  - every certificate on the path is valid at the admission time. The key and certificate methods
 *    carry no trusted signing time (no timestamp authority, no transparency log), so the only time
 *    that can be checked is now: a model signed with a certificate that has since expired must be
 *    re-signed (documented in docs/policy.md);
 *  - the leaf is not a CA; it has the digitalSignature key usage or the codeSigning extended key
 *    usage, and an extension that is present must allow signing (a keyUsage without
 *    digitalSignature, or an extKeyUsage without codeSigning, refuses the leaf);
 *  - intermediates are CAs (basicConstraints cA, keyCertSign when keyUsage is present) within
 *    their pathLen; a critical extension modelgate does not understand refuses the certificate;
 *  - the signer's identity is a SAN entry (email, URI or DNS) equal, byte for byte, to one of the
 *    authority's identities: never a pattern, never a substring;
 *  - each certificate's bytes are exactly one DER certificate, the very bytes node parsed: der.ts
 *    and node:crypto judge the same certificate (node would also read PEM found further on).
 *  No signing time is derived: notBefore dates the certificate, not the signature.
 */
import { X509Certificate } from 'node:crypto';
import type { Result } from '../manifest/types.js';
import { OID, basicConstraints, certificateExtensions, extKeyUsages, keyUsageBit, subjectAltNames } from './der.js';
import { MAX_OMS_CERTIFICATES } from './bundle.js';
import type { OmsCertificateAuthority } from './types.js';

const UNDERSTOOD: readonly string[] = [OID.keyUsage, OID.subjectAltName, OID.basicConstraints, OID.extKeyUsage];

export interface CertFacts {
  cert: X509Certificate;
  ca: boolean;
  pathLen?: number;
  /** undefined: no keyUsage extension. */
  digitalSignature?: boolean;
  keyCertSign?: boolean;
  /** undefined: no extKeyUsage extension. */
  codeSigning?: boolean;
  sans: string[];
  /** The first critical extension modelgate does not understand (OID hex). */
  unknownCritical?: string;
}

type Fail = { code: string; message: string };

/** Parse one DER certificate with its extensions; a message when it is not a certificate. */
export function certFacts(der: Buffer): CertFacts | string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return 'is not a DER X.509 certificate';
  }
  // node also reads PEM, found anywhere in the bytes, and ignores what follows a DER certificate:
  // der.ts and node must read the very same bytes, else the extensions (SAN, cA) of one
  // certificate would be judged with the key and signature of another.
  if (!cert.raw.equals(der)) return 'is not exactly one DER X.509 certificate (PEM, or bytes after it)';
  const exts = certificateExtensions(der);
  if (exts === undefined) return 'has malformed extensions';
  const facts: CertFacts = { cert, ca: false, sans: [] };
  for (const ext of exts) {
    if (ext.oid === OID.keyUsage) {
      facts.digitalSignature = keyUsageBit(der, ext, 0);
      facts.keyCertSign = keyUsageBit(der, ext, 5);
    } else if (ext.oid === OID.extKeyUsage) facts.codeSigning = extKeyUsages(der, ext).includes(OID.codeSigning);
    else if (ext.oid === OID.subjectAltName) facts.sans = subjectAltNames(der, ext);
    else if (ext.oid === OID.basicConstraints) Object.assign(facts, basicConstraints(der, ext));
    if (ext.critical && !UNDERSTOOD.includes(ext.oid)) facts.unknownCritical ??= ext.oid;
  }
  return facts;
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return cert.validFromDate.getTime() <= t && t <= cert.validToDate.getTime();
}

function issued(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function leafProblem(leaf: CertFacts, now: Date): Fail | undefined {
  if (leaf.ca) return { code: 'leaf-is-ca', message: 'the signing certificate is a CA (basicConstraints cA): sign with an end-entity certificate' };
  const signs = leaf.digitalSignature === true || leaf.codeSigning === true;
  if (!signs || leaf.digitalSignature === false || leaf.codeSigning === false)
    return { code: 'bad-key-usage', message: 'the signing certificate is not for signing: it needs keyUsage digitalSignature or extKeyUsage codeSigning, and no extension that excludes them' };
  if (leaf.unknownCritical !== undefined) return { code: 'bad-certificate', message: `the signing certificate has a critical extension modelgate does not understand (OID ${leaf.unknownCritical})` };
  if (!validAt(leaf.cert, now)) return { code: 'certificate-expired', message: `the signing certificate is valid ${leaf.cert.validFrom} to ${leaf.cert.validTo}, not now: re-sign with a current certificate` };
  return undefined;
}

/** A configured CA's own pathLen still limits the intermediates below it. */
function withinPathLen(anchor: X509Certificate, below: number): boolean {
  const facts = certFacts(anchor.raw);
  return typeof facts !== 'string' && (facts.pathLen === undefined || below <= facts.pathLen);
}

function intermediateOk(c: CertFacts, below: number, now: Date): boolean {
  return (
    c.ca &&
    c.keyCertSign !== false &&
    c.unknownCritical === undefined &&
    (c.pathLen === undefined || below <= c.pathLen) &&
    validAt(c.cert, now)
  );
}

/**
 * Walk from the leaf up: at each step a configured anchor that issued the current certificate
 * ends the walk; else a CA certificate from the bundle that issued it continues it.
 */
function chainToAnchor(leaf: CertFacts, pool: CertFacts[], authority: OmsCertificateAuthority, now: Date): Fail | undefined {
  let cur = leaf;
  for (let below = 0; below <= MAX_OMS_CERTIFICATES; below++) {
    const current = cur.cert;
    const anchor = authority.roots.find((a) => issued(current, a) && withinPathLen(a, below));
    if (anchor !== undefined) {
      if (validAt(anchor, now)) return undefined;
      return { code: 'certificate-expired', message: `the trusted CA "${anchor.subject.split('\n').join(', ')}" of authority "${authority.name}" is not valid now` };
    }
    const next = pool.find((c) => c !== cur && issued(current, c.cert) && intermediateOk(c, below, now));
    if (next === undefined) break;
    cur = next;
  }
  return { code: 'untrusted-certificate', message: `the signing certificate does not chain to a CA of authority "${authority.name}"` };
}

export interface CertificateSigner {
  leaf: CertFacts;
  identity: string;
}

/** Check a bundle's certificate chain against one authority at time `now`. */
export function verifyCertificatePath(
  ders: readonly Buffer[],
  authority: OmsCertificateAuthority,
  now: Date,
): Result<CertificateSigner> {
  const fail = (f: Fail, path = ''): Result<never> => ({ ok: false, problem: { ...f, path } });
  const parsed: CertFacts[] = [];
  for (const [i, der] of ders.entries()) {
    const facts = certFacts(der);
    if (typeof facts === 'string') return fail({ code: 'bad-certificate', message: `certificate ${i} ${facts}` }, `verificationMaterial.x509CertificateChain.certificates[${i}]`);
    parsed.push(facts);
  }
  const [leaf, ...pool] = parsed;
  if (leaf === undefined) return fail({ code: 'bad-certificate', message: 'the bundle holds no certificate' });
  const bad = leafProblem(leaf, now) ?? chainToAnchor(leaf, pool, authority, now);
  if (bad !== undefined) return fail(bad);
  const identity = leaf.sans.find((san) => authority.identities.includes(san));
  if (identity === undefined) {
    const listed = leaf.sans.slice(0, 4).map((s) => JSON.stringify(s.slice(0, 200)));
    const shown = listed.length === 0 ? 'none' : `${listed.join(', ')}${leaf.sans.length > 4 ? ', ...' : ''}`;
    return fail({ code: 'identity-mismatch', message: `the signing certificate's identities (SAN: ${shown}) are not among those authority "${authority.name}" accepts` });
  }
  return { ok: true, value: { leaf, identity } };
}
