/**
 * OMS bundle verification (pure, never throws on bad input): which policy trust authority signed
 * the DSSE envelope, then the signed statement, into a VerifiedModel. The key and certificate
 * methods are here (node:crypto); the sigstore method is a SigstoreVerifier plugged in through
 * `opts.sigstore` (src/oms/methods.ts → src/oms/sigstore.ts); without one that method is refused.
 */
import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { Problem, Result, VerifiedModel } from '../manifest/types.js';
import { parseOmsBundle } from './bundle.js';
import { curveHash } from './curves.js';
import { dssePae } from './dsse.js';
import { parseOmsStatement } from './statement.js';
import type {
  OmsAuthority,
  OmsBundle,
  OmsCertificateAuthority,
  OmsKeyAuthority,
  OmsSigstoreAuthority,
  OmsStatement,
  SigstoreVerifier,
  SignerProof,
} from './types.js';
import { verifyCertificatePath } from './x509.js';

export interface OmsVerifyOptions {
  /** Where the bundle came from; the problem path and VerifiedModel.origin. */
  origin: string;
  /** Certificate validity is checked at this time (the bundle carries no trusted signing time). */
  now: Date;
  /** The sigstore method's verifier; without one that method is refused. */
  sigstore?: SigstoreVerifier;
}


function fail(code: string, origin: string, message: string): Result<never> {
  return { ok: false, problem: { code, path: origin, message } };
}

function ecdsaValid(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = curveHash(key);
  if (hash === undefined) return false;
  try {
    return verifySignature(hash, data, key, signature);
  } catch {
    return false;
  }
}

const HINTS = new WeakMap<KeyObject, string>();

/** model_signing's publicKey.hint: sha256 of the key's SPKI PEM. */
export function keyHint(key: KeyObject): string {
  let hint = HINTS.get(key);
  if (hint === undefined) {
    hint = createHash('sha256').update(key.export({ type: 'spki', format: 'pem' })).digest('hex');
    HINTS.set(key, hint);
  }
  return hint;
}

/** Every key of every key authority; the one the (unsigned) hint names is tried first, never alone. */
function verifyByKey(bundle: OmsBundle, authorities: OmsKeyAuthority[], pae: Buffer): Result<SignerProof & { authority: string }> | undefined {
  const candidates = authorities.flatMap((a) => a.publicKeys.map((key) => ({ a, key })));
  candidates.sort((x, y) => Number(keyHint(y.key) === bundle.publicKeyHint) - Number(keyHint(x.key) === bundle.publicKeyHint));
  const match = candidates.find((c) => ecdsaValid(c.key, pae, bundle.envelope.signature));
  return match === undefined ? undefined : { ok: true, value: { payload: bundle.envelope.payload, authority: match.a.name } };
}

function verifyByCertificate(bundle: OmsBundle, authority: OmsCertificateAuthority, pae: Buffer, now: Date): Result<SignerProof> {
  const path = verifyCertificatePath(bundle.certificates, authority, now);
  if (!path.ok) return path;
  if (curveHash(path.value.leaf.cert.publicKey) === undefined)
    return { ok: false, problem: { code: 'unsupported-key', path: '', message: 'the signing certificate\'s key is not an EC P-256, P-384 or P-521 key (what model_signing signs with)' } };
  if (!ecdsaValid(path.value.leaf.cert.publicKey, pae, bundle.envelope.signature))
    return { ok: false, problem: { code: 'bad-signature', path: '', message: "the signature does not match the signing certificate's key: the bundle was altered" } };
  // No signedAt: the chain is unsigned material, and a renewed certificate of the same key
  // (notBefore today) would re-date an old signature past a rule's maxAge.
  return { ok: true, value: { payload: bundle.envelope.payload, identity: path.value.identity } };
}

type Signed = Result<SignerProof & { authority: string }>;

/** Try each authority of a method in order; the first that accepts wins, else the first refusal says why. */
function firstAccepting<A extends OmsAuthority>(authorities: A[], attempt: (a: A) => Result<SignerProof>): Signed {
  let first: Problem | undefined;
  for (const a of authorities) {
    const r = attempt(a);
    if (r.ok) return { ok: true, value: { ...r.value, authority: a.name } };
    first ??= r.problem;
  }
  const why = first ?? { code: 'no-authority', path: '', message: 'no authority' };
  const prefix = authorities.length > 1 ? `none of the ${authorities.length} authorities accepted it; the first: ` : '';
  return { ok: false, problem: { ...why, message: `${prefix}${why.message}` } };
}

function signer(bundle: OmsBundle, authorities: readonly OmsAuthority[], opts: OmsVerifyOptions): Signed {
  const pae = dssePae(bundle.envelope.payloadType, bundle.envelope.payload);
  const of = authorities.filter((a) => a.method === bundle.method);
  if (of.length === 0)
    return fail('no-authority', '', `signed with the ${bundle.method} method, but policy configures no omsAuthorities with method: ${bundle.method}`);
  if (bundle.method === 'key') {
    const keys = of as OmsKeyAuthority[];
    const count = keys.reduce((n, a) => n + a.publicKeys.length, 0);
    return verifyByKey(bundle, keys, pae) ?? fail('bad-signature', '', `the signature matches none of the ${count} public key(s) of the key authorities: the bundle was altered or signed with another key`);
  }
  if (bundle.method === 'certificate')
    return firstAccepting(of as OmsCertificateAuthority[], (a) => verifyByCertificate(bundle, a, pae, opts.now));
  const sigstore = opts.sigstore;
  if (sigstore === undefined)
    return fail('unsupported-method', '', 'the sigstore method (Fulcio certificate + Rekor entry) is not supported by this modelgate build: sign with the key or certificate method');
  return firstAccepting(of as OmsSigstoreAuthority[], (a) => sigstore(bundle, a, opts.now));
}

function modelOf(statement: OmsStatement, proof: SignerProof & { authority: string }, bundle: OmsBundle, origin: string): VerifiedModel {
  const { serialization: ser, resources } = statement;
  const model: VerifiedModel = {
    format: 'oms',
    name: statement.name,
    keyId: proof.authority,
    // Shards are not whole files: their digests pin byte ranges, which the verify step's
    // `--sha256` cannot check; they are kept in `oms.resources`.
    files: ser.method === 'files' ? resources.map((r) => ({ path: r.name, sha256: r.digest })) : [],
    claims: {},
    origin,
    oms: {
      method: bundle.method,
      serialization: ser.method,
      hashType: ser.hashType,
      ignorePaths: ser.ignorePaths,
      allowSymlinks: ser.allowSymlinks,
      payloadSha256: createHash('sha256').update(proof.payload).digest('hex'),
      resources,
    },
  };
  if (proof.signedAt !== undefined) model.signedAt = proof.signedAt;
  if (proof.identity !== undefined && model.oms) model.oms.identity = proof.identity;
  return model;
}

/** Verify a parsed bundle against the policy's trust authorities. */
export function verifyParsedOmsBundle(bundle: OmsBundle, authorities: readonly OmsAuthority[], opts: OmsVerifyOptions): Result<VerifiedModel> {
  const signed = signer(bundle, authorities, opts);
  if (!signed.ok) {
    const at = signed.problem.path;
    return { ok: false, problem: { ...signed.problem, path: at === '' ? opts.origin : `${opts.origin}:${at}` } };
  }
  // Only bytes whose signature checked are parsed further: the payload exactly as signed.
  const statement = parseOmsStatement(signed.value.payload, `${opts.origin}:payload`);
  if (!statement.ok) return statement;
  return { ok: true, value: modelOf(statement.value, signed.value, bundle, opts.origin) };
}

/** Parse and verify an untrusted bundle value (JSON already parsed strictly). */
export function verifyOmsBundle(json: unknown, authorities: readonly OmsAuthority[], opts: OmsVerifyOptions): Result<VerifiedModel> {
  const bundle = parseOmsBundle(json, opts.origin === '' ? '' : `${opts.origin}:`);
  if (!bundle.ok) return bundle;
  return verifyParsedOmsBundle(bundle.value, authorities, opts);
}
