/**
 * Signature verification (pure): which allowed key signed which bytes. Policy decides later what
 * to make of it; expiry is checked only when the caller passes a clock.
 */
import { ALGORITHM_OF, ALGORITHMS, isSignatureAlgorithm, KEY_TYPE_NAMES, SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../keys/algorithms.js';
import type { Keyring } from '../keys/types.js';
import type { OmsAuthority, SigstoreVerifier } from '../oms/types.js';
import { verifyParsedOmsBundle } from '../oms/verify.js';
import type { OmsVerdictCache } from '../oms/verdicts.js';
import { parseTimestamp } from './fields.js';
import type { Manifest, ManifestV1, ManifestV2, Problem, Result, VerifiedModel } from './types.js';
import { v1SigningPayload } from './v1.js';
import { v2SigningPayload } from './v2.js';

export interface VerifyOptions {
  /** OMS bundles: the policy's trust authorities and the time certificates must be valid at. */
  oms?: {
    authorities: readonly OmsAuthority[];
    now: Date;
    sigstore?: SigstoreVerifier;
    /** Key and certificate verdicts, by the bundle text (src/oms/verdicts.ts); default the process-wide one, `false` none. */
    verdicts?: OmsVerdictCache | false;
  };
  /** When given, only these key ids may vouch for a manifest. */
  trustedKeyIds?: readonly string[];
  /** Never accepted, even when loaded and trusted (a leaked key stays in the Secret during rotation). */
  revokedKeyIds?: readonly string[];
  /** Where the manifest came from; used as the problem path and copied to the result. */
  origin: string;
  /** When given, a v2 manifest past its expiresAt is refused with `expired`. */
  now?: Date;
}

/** The warning every accepted v1 manifest carries. */
export const V1_WARNING: Problem = {
  code: 'v1-weak-binding',
  path: '',
  message: 'v1 manifest: the signature covers only the file hash; model_path, signed_at and file_size are unsigned. Re-sign with --format v2',
};

function fail(code: string, origin: string, message: string): Result<never> {
  return { ok: false, problem: { code, path: origin, message } };
}

function isAllowed(keyId: string, opts: VerifyOptions): boolean {
  return !(opts.revokedKeyIds?.includes(keyId) ?? false) && (opts.trustedKeyIds?.includes(keyId) ?? true);
}

/** Which of `ids` signed payload? */
function signer(keyring: Keyring, ids: readonly string[], payload: string, sig: string): string | undefined {
  return ids.find((id) => keyring.verify(id, payload, sig));
}

function verifyV1(m: ManifestV1, keyring: Keyring, opts: VerifyOptions): Result<VerifiedModel> {
  const payload = v1SigningPayload(m);
  // v1 is the seed's HMAC: only HMAC keys are tried (a public key is never an HMAC secret).
  const hmacIds = keyring.ids().filter((id) => keyring.keyType(id) === 'hmac');
  const allowed = hmacIds.filter((id) => isAllowed(id, opts));
  const keyId = signer(keyring, allowed, payload, m.signature);
  if (keyId !== undefined) {
    const files = [{ path: m.model_path, sha256: m.file_hash, size: m.file_size }];
    const warnings = [{ ...V1_WARNING, path: opts.origin }];
    return { ok: true, value: { format: 'v1', name: m.model_path, keyId, algorithm: 'HMAC-SHA256', files, claims: {}, signedAt: m.signed_at, origin: opts.origin, warnings } };
  }
  // Say why, when a key we refuse would have matched: that is what the operator needs to know.
  const other = signer(keyring, hmacIds.filter((id) => !allowed.includes(id)), payload, m.signature);
  if (other !== undefined && (opts.revokedKeyIds?.includes(other) ?? false)) {
    return fail('revoked-key', opts.origin, `signed with revoked key "${other}": re-sign the model with a current key`);
  }
  if (other !== undefined) return fail('untrusted-key', opts.origin, `signed with key "${other}", which policy does not trust here`);
  if (allowed.length === 0 && hmacIds.length < keyring.ids().length)
    return fail('unknown-key', opts.origin, 'v1 manifests are HMAC-signed and no allowed HMAC key is loaded (public keys verify v2 manifests only): re-sign with --format v2 and a key pair');
  if (allowed.length === 0) return fail('unknown-key', opts.origin, 'no allowed signing keys are loaded: check the keys Secret and the policy\'s trusted keys');
  return fail('bad-signature', opts.origin, `signature does not match any of the ${allowed.length} allowed key(s): the manifest was altered or signed with another key`);
}

/**
 * The algorithm must be the one the key's type is bound to: a public key never verifies as an
 * HMAC secret (its bytes are public: anyone could compute that HMAC), an HMAC secret never with
 * a public-key algorithm, and an EC key only with its own curve and hash.
 */
function checkAlgorithm(keyring: Keyring, keyId: string, algorithm: SignatureAlgorithm, origin: string): Result<true> {
  const type = keyring.keyType(keyId);
  if (type === undefined || ALGORITHMS[algorithm].keyType === type) return { ok: true, value: true };
  return fail(
    'algorithm-mismatch',
    origin,
    `the manifest says ${algorithm}, but key "${keyId}" is ${KEY_TYPE_NAMES[type]}, which verifies ${ALGORITHM_OF[type]} only: re-sign the model with that key's own algorithm (modelgate sign picks it from the key)`,
  );
}

function checkV2Key(m: ManifestV2, keyring: Keyring, opts: VerifyOptions): Result<string> {
  const { keyId } = m.signature;
  const algorithm: string = m.signature.algorithm; // typed as one we support; input may say otherwise
  if (!isSignatureAlgorithm(algorithm)) return fail('unsupported-algorithm', opts.origin, `signature algorithm ${JSON.stringify(algorithm)} is not supported; use one of ${SIGNATURE_ALGORITHMS.join(', ')}`);
  if (opts.revokedKeyIds?.includes(keyId) ?? false) return fail('revoked-key', opts.origin, `signed with revoked key "${keyId}": re-sign the model with a current key`);
  if (!(opts.trustedKeyIds?.includes(keyId) ?? true)) return fail('untrusted-key', opts.origin, `key "${keyId}" is not trusted by policy here`);
  if (!keyring.has(keyId)) return fail('unknown-key', opts.origin, `key "${keyId}" is not loaded: add it to the keys Secret or re-sign with a loaded key`);
  const bound = checkAlgorithm(keyring, keyId, algorithm, opts.origin);
  return bound.ok ? { ok: true, value: keyId } : bound;
}

function checkExpiry(m: ManifestV2, opts: VerifyOptions): Result<true> {
  const expires = m.expiresAt === undefined ? undefined : parseTimestamp(m.expiresAt, true);
  if (opts.now !== undefined && expires !== undefined && opts.now.getTime() >= expires) {
    return fail('expired', opts.origin, `manifest expired at ${m.expiresAt ?? ''}: re-sign the model`);
  }
  return { ok: true, value: true };
}

/** JCS refuses lone surrogates and cycles; a manifest built outside parseV2 could hold them. */
function canonicalPayload(m: ManifestV2): string | undefined {
  try {
    return v2SigningPayload(m);
  } catch {
    return undefined;
  }
}

function signatureMatches(keyring: Keyring, sig: ManifestV2['signature'], payload: string): boolean {
  return sig.algorithm === 'HMAC-SHA256'
    ? keyring.verify(sig.keyId, payload, sig.value)
    : keyring.verifyAsymmetric(sig.keyId, sig.algorithm, payload, sig.value);
}

function verifyV2(m: ManifestV2, keyring: Keyring, opts: VerifyOptions): Result<VerifiedModel> {
  const key = checkV2Key(m, keyring, opts);
  if (!key.ok) return key;
  const payload = canonicalPayload(m);
  if (payload === undefined || !signatureMatches(keyring, m.signature, payload)) {
    return fail('bad-signature', opts.origin, `signature does not match key "${key.value}": the manifest was altered after signing or signed with another key of that name`);
  }
  const expiry = checkExpiry(m, opts);
  if (!expiry.ok) return expiry;
  const value: VerifiedModel = {
    format: 'v2',
    name: `${m.model.name}@${m.model.version}`,
    version: m.model.version,
    keyId: key.value,
    algorithm: m.signature.algorithm,
    files: m.files.map((f) => ({ ...f })),
    source: m.model.source,
    claims: m.claims,
    signedAt: m.signedAt,
    origin: opts.origin,
  };
  if (m.expiresAt !== undefined) value.expiresAt = m.expiresAt;
  return { ok: true, value };
}

/** Check a manifest's signature against the keys policy allows. Pure; never throws on bad input. */
export function verifyManifest(manifest: Manifest, keyring: Keyring, opts: VerifyOptions): Result<VerifiedModel> {
  if (manifest.format !== 'oms') {
    const r = manifest.format === 'v1' ? verifyV1(manifest.body, keyring, opts) : verifyV2(manifest.body, keyring, opts);
    // Rules trust keys and OMS authorities by one name: a keyring key may not stand in for an authority.
    if (r.ok && opts.oms?.authorities.some((a) => a.name === r.value.keyId))
      return fail('ambiguous-key-id', opts.origin, `key "${r.value.keyId}" is also the name of an OMS authority (omsAuthorities), so a rule trusting it would trust both: rename the key or the authority`);
    return r;
  }
  // OMS bundles are signed by the policy's trust authorities (omsAuthorities), not by keyring keys.
  const { oms } = opts;
  if (oms === undefined) return fail('no-authority', opts.origin, 'an OMS bundle is verified against the policy\'s omsAuthorities, and none were given');
  return verifyParsedOmsBundle(manifest.body, oms.authorities, { origin: opts.origin, now: oms.now, ...(oms.sigstore ? { sigstore: oms.sigstore } : {}) });
}
