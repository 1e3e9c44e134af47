/**
 * Verdict cache for OMS bundles, by their text: an admission that carries a bundle already
 * verified (the same Deployment applied again, a rollout, a retried request) skips the JSON parse
 * of the bundle, its base64 decoding, the signature check and the statement parse (~3 ms for a
 * 1,000-file key or certificate bundle, ~7 ms for sigstore; bench/signatures.ts). Only successes
 * are kept, and only for a text that holds exactly one bundle.
 *
 * The key is sha256 of the manifest text exactly as received and the identity of the whole
 * authority set (every authority's name, method and material, in order), so a cached verdict
 * never applies to other bytes or to a changed policy (nor to a caller with another sigstore
 * verifier, or none). The one input that changes with time is
 * certificate validity "now": an entry keeps the window in which every certificate the bundle
 * carries and every root of the certificate authorities is valid, is stored only when the
 * verification's `now` is inside it, and is used only when the new `now` is too. Inside that
 * window every validity check of verifyCertificatePath answers "valid", so verifying again would
 * take exactly the same path to exactly the same verdict. The sigstore method checks certificates
 * at the logged signing time, not now; its one use of now refuses a signing time more than
 * MAX_FUTURE_SKEW_MS ahead, which an accepted verdict at `t` also passes at any later time: its
 * window is [t, ∞). (src/oms/sigstore.ts keeps its own cache of the signature checks, by the
 * bundle's JSON, with the same VerdictCache class; this one also skips the parsing around them.)
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Manifest, VerifiedModel } from '../manifest/types.js';
import type { OmsAuthority, SigstoreVerifier } from './types.js';
import { VerdictCache } from './verdict-cache.js';

/** Entries kept by the default cache: distinct bundles admitted recently. */
export const OMS_VERDICT_ENTRIES = 256;
/**
 * Heap bytes the default cache may hold (~64 verified 1,000-file models), each entry weighed by
 * modelWeight.
 */
export const OMS_VERDICT_BYTES = 32 * 1024 * 1024;

/**
 * An entry's weight: a verified model on the heap is ~3× its manifest text (measured: 494 KB for a
 * 166 KB text of 1,000 files: each file is two objects, `files` and `oms.resources`, of short
 * strings), plus a fixed 256 for the key and the entry.
 */
export const modelWeight = (text: string): number => 3 * text.length + 256;

interface Entry {
  model: VerifiedModel;
  /** Milliseconds since the epoch: the verdict holds for `now` in [from, to]. */
  from: number;
  to: number;
  weight: number;
}

export class OmsVerdictCache extends VerdictCache<Entry> {
  constructor(capacity = OMS_VERDICT_ENTRIES, maxBytes = OMS_VERDICT_BYTES) {
    super(capacity, maxBytes, (e) => e.weight);
  }
}

export const defaultOmsVerdictCache = new OmsVerdictCache();

const FINGERPRINTS = new WeakMap<readonly OmsAuthority[], string>();

function authorityMaterial(a: OmsAuthority): string[] {
  if (a.method === 'key') return a.publicKeys.map((k) => k.export({ type: 'spki', format: 'der' }).toString('base64'));
  if (a.method === 'certificate') return [...a.roots.map((r) => r.raw.toString('base64')), '', ...a.identities];
  return [a.sigstore.fingerprint];
}

/** sha256 over every authority's name, method and material, in order (computed once per policy load). */
export function authoritySetFingerprint(authorities: readonly OmsAuthority[]): string {
  let fp = FINGERPRINTS.get(authorities);
  if (fp === undefined) {
    const h = createHash('sha256');
    // JSON: no separator inside one value can be confused with the structure.
    h.update(JSON.stringify(authorities.map((a) => [a.name, a.method, authorityMaterial(a)])));
    fp = h.digest('hex');
    FINGERPRINTS.set(authorities, fp);
  }
  return fp;
}

const VERIFIERS = new WeakMap<SigstoreVerifier, number>();
const VERIFIERS_SEEN = { next: 1 };
/** Which sigstore verifier (by identity; 0: none) a verdict was reached with. */
function verifierId(v: SigstoreVerifier | undefined): number {
  if (v === undefined) return 0;
  let id = VERIFIERS.get(v);
  if (id === undefined) VERIFIERS.set(v, (id = VERIFIERS_SEEN.next++));
  return id;
}
const keyOf = (text: string, authorities: readonly OmsAuthority[], sigstore: SigstoreVerifier | undefined): string =>
  `${createHash('sha256').update(text, 'utf8').digest('hex')}\n${authoritySetFingerprint(authorities)}\n${verifierId(sigstore)}`;

/**
 * When the verdict holds. Key: always. Certificate: where every certificate involved is valid (the
 * bundle's chain and every certificate authority's roots). Sigstore: from `now` on.
 */
function validityWindow(manifest: Extract<Manifest, { format: 'oms' }>, authorities: readonly OmsAuthority[], now: number): { from: number; to: number } | undefined {
  if (manifest.body.method === 'sigstore') return { from: now, to: Infinity };
  let from = -Infinity;
  let to = Infinity;
  const certs: X509Certificate[] = [];
  try {
    for (const der of manifest.body.certificates) certs.push(new X509Certificate(der));
  } catch {
    return undefined;
  }
  for (const a of authorities) if (a.method === 'certificate') certs.push(...a.roots);
  for (const c of certs) {
    from = Math.max(from, c.validFromDate.getTime());
    to = Math.min(to, c.validToDate.getTime());
  }
  return { from, to };
}

/**
 * Cached models are frozen through and through, so no admission can alter what another reads from
 * the cache (a copy of a 1,000-file model, structuredClone, costs ~1.5 ms: more than a hit saves).
 * The verifying admission's model shares those frozen parts too; every admission gets its own top
 * level (origin, path).
 */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface OmsVerdictTrust {
  authorities: readonly OmsAuthority[];
  now: Date;
  /** The sigstore method's verifier, if any: part of the key (without one, that method is refused). */
  sigstore?: SigstoreVerifier;
  /** The cache (default: the process-wide one); `false`: none. */
  verdicts?: OmsVerdictCache | false;
}

/** One admission's view of the cache: its authorities and its `now`. */
export interface OmsVerdicts {
  /** The cached verdict for exactly this text under exactly these authorities, valid now. */
  lookup(text: string, origin: string): VerifiedModel | undefined;
  /** Keep a successful verdict of a text that held exactly one OMS bundle (not v1, v2, several manifests). */
  remember(text: string, parsed: readonly Manifest[], model: VerifiedModel): void;
}

export function omsVerdicts(trust: OmsVerdictTrust | undefined): OmsVerdicts | undefined {
  if (trust === undefined || trust.verdicts === false || trust.authorities.length === 0) return undefined;
  const cache = trust.verdicts ?? defaultOmsVerdictCache;
  const { authorities, now } = trust;
  const t = now.getTime();
  // A missed lookup is followed by remember() of the same text: hash a ~200 KB text once.
  let last: { text: string; key: string } | undefined;
  const keyFor = (text: string): string => {
    if (last?.text !== text) last = { text, key: keyOf(text, authorities, trust.sigstore) };
    return last.key;
  };
  return {
    lookup(text, origin) {
      const key = keyFor(text);
      const hit = cache.get(key);
      if (hit === undefined) return undefined;
      if (t < hit.from || t > hit.to) {
        // Verified afresh, so the refusal names what expired: counted as a miss.
        cache.delete(key);
        cache.hits--;
        cache.misses++;
        return undefined;
      }
      return { ...hit.model, origin };
    },
    remember(text, parsed, model) {
      const [manifest] = parsed;
      if (parsed.length !== 1 || manifest?.format !== 'oms') return;
      const window = validityWindow(manifest, authorities, t);
      if (window === undefined || t < window.from || t > window.to) return;
      cache.set(keyFor(text), { model: deepFreeze({ ...model }), ...window, weight: modelWeight(text) });
    },
  };
}
