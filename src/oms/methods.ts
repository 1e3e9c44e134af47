/**
 * The sigstore method plugs in here: set SIGSTORE_VERIFIER to `verifySigstoreEnvelope` from
 * ./sigstore.ts (written separately). While it is undefined, sigstore-method bundles are refused
 * with `unsupported-method`, never passed. The adapter, once ./sigstore.ts is merged:
 *
 *   (bundle, authority, now) => {
 *     const r = verifySigstoreEnvelope(bundle.raw, authority, { now });
 *     return r.ok ? { ok: true, value: { payload: r.value.payload, identity: r.value.identity,
 *       issuer: r.value.issuer, signedAt: r.value.signedAt.toISOString() } } : r;
 *   }
 */
import type { SigstoreVerifier } from './types.js';

export const SIGSTORE_VERIFIER: SigstoreVerifier | undefined = undefined;
