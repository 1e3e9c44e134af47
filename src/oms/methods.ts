/**
 * The sigstore method, plugged into the OMS verifier (src/oms/verify.ts): the Fulcio certificate,
 * the Rekor entry and the DSSE signature are checked by src/oms/sigstore.ts against the
 * authority's compiled trusted root, its signers compared exactly; verdicts are cached by the
 * bundle's content hash, the authority and its fingerprint.
 */
import { verifySigstoreEnvelope } from './sigstore.js';
import type { SigstoreVerifier } from './types.js';

export const SIGSTORE_VERIFIER: SigstoreVerifier = (bundle, authority, now) => {
  const r = verifySigstoreEnvelope(bundle.raw, authority.sigstore, { now });
  if (!r.ok) return r;
  const { payload, identity, issuer, signedAt } = r.value;
  return { ok: true, value: { payload, identity, issuer, signedAt: signedAt.toISOString() } };
};
