/**
 * Policy trust authorities for OMS bundles (`omsAuthorities`), from the PEM text the policy holds
 * to node:crypto objects, checked once at load: a key must be an EC P-256/384/521 public key, a
 * root must be a CA certificate. Public material only: a private key is refused, never loaded.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { certFacts } from './x509.js';
import type { OmsAuthority } from './types.js';
import { curveHash } from './curves.js';
import { loadSigstoreAuthority, MAX_TRUSTED_ROOT_BYTES, publicGoodTrustedRoot } from './sigstore.js';
import { parseStrictJson } from '../manifest/json.js';

/** What the policy file says, before compiling. */
export interface OmsAuthorityDraft {
  name: string;
  method: string;
  publicKeys: string[];
  roots: string[];
  identities: string[];
  /** method sigstore: `public-good` or a trusted_root.json's text. */
  trustedRoot?: string;
  /** method sigstore: the signers, each an exact certificate identity and OIDC issuer. */
  signers?: { subject: string; issuer: string }[];
}

export type Compiled = { ok: true; value: OmsAuthority } | { ok: false; field: string; message: string };

const PEM_KEY_RE = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/;
const PEM_CERT_RE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

function publicKey(pem: string): KeyObject | string {
  if (!PEM_KEY_RE.test(pem.trim() + '\n')) return 'must be one PEM public key (-----BEGIN PUBLIC KEY-----)';
  try {
    const key = createPublicKey(pem);
    return curveHash(key) === undefined ? 'must be an EC P-256, P-384 or P-521 key (what model_signing signs with)' : key;
  } catch {
    return 'is not a readable PEM public key';
  }
}

function caCertificate(pem: string): X509Certificate | string {
  if (!PEM_CERT_RE.test(pem.trim() + '\n')) return 'must be one PEM certificate (-----BEGIN CERTIFICATE-----)';
  try {
    const cert = new X509Certificate(pem);
    const facts = certFacts(cert.raw);
    if (typeof facts === 'string') return facts;
    return facts.ca && facts.keyCertSign !== false ? cert : 'must be a CA certificate (basicConstraints cA, keyCertSign)';
  } catch {
    return 'is not a readable PEM certificate';
  }
}

function onlyFor(d: OmsAuthorityDraft, method: string, fields: (keyof OmsAuthorityDraft)[]): Compiled | undefined {
  const stray = fields.find((f) => (d[f] ?? '').length > 0);
  return stray === undefined ? undefined : { ok: false, field: stray, message: `is not used by method ${method}: remove it` };
}

function compileKey(d: OmsAuthorityDraft): Compiled {
  if (d.publicKeys.length === 0) return { ok: false, field: 'publicKeys', message: 'is required for method key: the signers\' PEM public keys' };
  const keys: KeyObject[] = [];
  for (const [i, pem] of d.publicKeys.entries()) {
    const key = publicKey(pem);
    if (typeof key === 'string') return { ok: false, field: `publicKeys[${i}]`, message: key };
    keys.push(key);
  }
  return onlyFor(d, 'key', ['roots', 'identities', 'trustedRoot', 'signers']) ?? { ok: true, value: { name: d.name, method: 'key', publicKeys: keys } };
}

function compileCertificate(d: OmsAuthorityDraft): Compiled {
  if (d.roots.length === 0) return { ok: false, field: 'roots', message: 'is required for method certificate: the CA certificates (PEM) signing certificates chain to' };
  if (d.identities.length === 0) return { ok: false, field: 'identities', message: 'is required for method certificate: the exact SAN values (e-mail, URI or DNS name) of accepted signers' };
  const roots: X509Certificate[] = [];
  for (const [i, pem] of d.roots.entries()) {
    const cert = caCertificate(pem);
    if (typeof cert === 'string') return { ok: false, field: `roots[${i}]`, message: cert };
    roots.push(cert);
  }
  return onlyFor(d, 'certificate', ['publicKeys', 'trustedRoot', 'signers']) ?? { ok: true, value: { name: d.name, method: 'certificate', roots, identities: d.identities } };
}

/** The trusted root an authority names: the public-good instance's (shipped), or its own JSON. */
function trustedRootOf(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text === PUBLIC_GOOD) {
    const root = publicGoodTrustedRoot();
    return root.ok ? root : { ok: false, message: root.problem.message };
  }
  const parsed = parseStrictJson(text, { path: 'trustedRoot', maxBytes: MAX_TRUSTED_ROOT_BYTES });
  return parsed.ok ? parsed : { ok: false, message: `must be "${PUBLIC_GOOD}" or a trusted_root.json document: ${parsed.problem.message}` };
}

/** The name of the shipped trusted root of Sigstore's public-good instance (from @sigstore/tuf). */
export const PUBLIC_GOOD = 'public-good';

function compileSigstore(d: OmsAuthorityDraft): Compiled {
  const signers = d.signers ?? [];
  if (signers.length === 0) return { ok: false, field: 'signers', message: 'is required for method sigstore: each signer\'s exact certificate identity (subject) and OIDC issuer' };
  const root = trustedRootOf(d.trustedRoot === undefined || d.trustedRoot === '' ? PUBLIC_GOOD : d.trustedRoot);
  if (!root.ok) return { ok: false, field: 'trustedRoot', message: root.message };
  const loaded = loadSigstoreAuthority({ name: d.name, trustedRoot: root.value, identities: signers }, 'authority');
  if (!loaded.ok) return { ok: false, field: loaded.problem.path.replace(/^authority\.?/, '').replace(/^identities/, 'signers') || 'trustedRoot', message: loaded.problem.message };
  return onlyFor(d, 'sigstore', ['publicKeys', 'roots', 'identities']) ?? { ok: true, value: { name: d.name, method: 'sigstore', sigstore: loaded.value } };
}

export function compileOmsAuthority(d: OmsAuthorityDraft): Compiled {
  if (d.method === 'key') return compileKey(d);
  if (d.method === 'certificate') return compileCertificate(d);
  if (d.method === 'sigstore') return compileSigstore(d);
  return { ok: false, field: 'method', message: 'must be key, certificate or sigstore' };
}
