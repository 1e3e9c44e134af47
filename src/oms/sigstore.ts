/**
 * The sigstore method of OpenSSF Model Signing (OMS) bundles, verified offline.
 *
 * An OMS bundle signed "with sigstore" is a Sigstore bundle v0.3 whose DSSE envelope carries the
 * in-toto statement, signed by a short-lived Fulcio certificate and logged in Rekor. Verifying it
 * means: the certificate chains to a CA of the authority's trusted root at the time the log (or a
 * timestamp authority) vouches for, the embedded SCT is from a trusted CT log, the tlog entry is
 * included in a trusted log (signed entry timestamp and/or inclusion proof with a signed
 * checkpoint) and binds exactly this envelope, the DSSE signature verifies, and the certificate's
 * identity (SAN) and OIDC issuer are EXACTLY one of the identities the authority trusts.
 *
 * The cryptography is `@sigstore/verify`'s. Its identity policy is NOT used: it matches a string
 * policy as an unanchored regular expression (`alice@example.co` accepts `alice@example.com`) and
 * decodes the SAN with Node's 'ascii' decoder, which clears each byte's high bit (so the bytes
 * `example.c\xEFm` read as `example.com`). The signer is taken from the verifier with no policy and
 * the SAN and issuer extensions are read here, byte for byte, and compared exactly.
 *
 * Costs: `loadSigstoreAuthority` parses the trusted root and builds the verifier once per policy
 * load (and keeps the trusted certificates' encodings and mutual signature checks); a verification
 * is a few ECDSA checks (~5 ms CPU for a real public-good bundle; 10–26 ms was measured on a loaded
 * node) and `verifySigstoreBundleBytes` puts a bounded LRU cache in front of it. See docs/policy.md
 * "sigstore authority".
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate, crypto as sigCrypto } from '@sigstore/core';
import { TrustedRoot, type TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { Entry as RekorV2Entry } from '@sigstore/protobuf-specs/rekor/v2';
import { Verifier, toSignedEntity, toTrustMaterial, type SignedEntity } from '@sigstore/verify';
import { asArray, asObject, isObject, type Obj } from '../json/object.js';
import { parseStrictJson } from '../manifest/json.js';
import type { Problem, Result } from '../manifest/types.js';
// The bundle media types and the DSSE payload type are the OMS parser's own: one vocabulary.
import { IN_TOTO_PAYLOAD_TYPE, OMS_MEDIA_TYPES as SIGSTORE_BUNDLE_MEDIA_TYPES } from './bundle.js';
import { VerdictCache } from './verdict-cache.js';

// ---------------------------------------------------------------- public types

export interface SigstoreIdentity {
  /** The certificate's SAN: an e-mail address or a URI (e.g. a CI workflow identity), compared exactly. */
  subject: string;
  /** The OIDC issuer Fulcio recorded (extension 1.3.6.1.4.1.57264.1.8 / .1.1), compared exactly. */
  issuer: string;
}

export interface SigstoreAuthority {
  name: string;
  /** Parsed trusted_root.json (application/vnd.dev.sigstore.trustedroot+json). */
  trustedRoot: unknown;
  identities: SigstoreIdentity[];
}

export interface SigstoreVerified {
  /** The DSSE payload (the in-toto statement bytes), verified. */
  payload: Buffer;
  payloadType: string;
  /** The certificate's SAN that matched. */
  identity: string;
  issuer: string;
  /** The earliest verified signing time (Rekor's integrated time or an RFC 3161 timestamp). */
  signedAt: Date;
}

/** A trusted root validated and compiled once; pass it (or the plain authority) to verify. */
export interface CompiledSigstoreAuthority extends SigstoreAuthority {
  /** sha256 over the trusted root's JSON and the identities: part of every cache key. */
  readonly fingerprint: string;
  readonly certificateAuthorities: number;
  readonly tlogs: number;
  readonly ctlogs: number;
  readonly timestampAuthorities: number;
}


/**
 * Largest bundle accepted, in bytes. A model_signing bundle is ~4 KiB plus ~120 bytes per model
 * file; 1 MiB is the size of a whole ConfigMap, the largest place a bundle can come from.
 */
export const MAX_SIGSTORE_BUNDLE_BYTES = 1024 * 1024;
/** Bundles carry one tlog entry (model_signing) or a few (several logs); more is only cost. */
export const MAX_TLOG_ENTRIES = 4;
/** An inclusion proof in a log of < 2^64 entries has at most 64 hashes. */
export const MAX_PROOF_HASHES = 64;
export const MAX_RFC3161_TIMESTAMPS = 4;
/** A signing time this far past `now` is refused: the log or TSA clock, or a forged entry. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** trusted_root.json of the public-good instance is ~10 KiB; an operator's is similar. */
export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;
const MAX_IDENTITY_CHARS = 1024;

export type SigstoreResult = Result<SigstoreVerified>;

// ---------------------------------------------------------------- authority

interface Internals {
  verifier: Verifier;
}
const refusedAuthorities = new WeakMap<object, { ok: false; problem: Problem }>();
const internals = new WeakMap<object, { compiled: CompiledSigstoreAuthority; verifier: Verifier }>();

const fail = (code: string, path: string, message: string): { ok: false; problem: Problem } => ({
  ok: false,
  problem: { code, path, message },
});

/**
 * Library error text can carry bundle content (a kind, a version): one line, bounded, before it
 * reaches an admission message or a log.
 */
function clip(text: string): string {
  const line = text.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ');
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
const errorText = (err: unknown): string => clip(err instanceof Error ? err.message : String(err));

/** Quote hostile text for a message: JSON-escaped, bounded. */
function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 200 ? `${q.slice(0, 197)}..."` : q;
}

function checkIdentities(value: unknown, path: string): Result<SigstoreIdentity[]> {
  const list = Array.isArray(value) ? value : undefined;
  if (!list || list.length === 0)
    return fail(
      'sigstore-authority-invalid',
      path,
      'identities must be a non-empty list of {subject, issuer}',
    );
  const out: SigstoreIdentity[] = [];
  for (const [i, item] of list.entries()) {
    const o = asObject(item);
    for (const field of ['subject', 'issuer'] as const) {
      const v = o?.[field];
      // Control characters and empty strings are never a real SAN or issuer; refusing them keeps the exact rule exact.
      if (typeof v !== 'string' || v.length === 0 || v.length > MAX_IDENTITY_CHARS || /[\p{Cc}]/u.test(v)) {
        return fail(
          'sigstore-authority-invalid',
          `${path}[${i}].${field}`,
          `${field} must be a non-empty string without control characters, at most ${MAX_IDENTITY_CHARS} characters`,
        );
      }
    }
    // A SAN is an IA5String: a subject outside printable ASCII could never match; say so at load.
    if (!/^[\x20-\x7e]+$/.test(o!.subject as string)) {
      return fail(
        'sigstore-authority-invalid',
        `${path}[${i}].subject`,
        'subject must be printable ASCII, as a certificate SAN is',
      );
    }
    out.push({ subject: o!.subject as string, issuer: o!.issuer as string });
  }
  return { ok: true, value: out };
}

/**
 * Trusted certificates are parsed once, at load. On every bundle @sigstore/verify re-encodes them
 * to DER (`equals`, chain building) and re-verifies their signatures by one another (the root's
 * self-signature, the intermediate's, the TSA's): about half the cost of a public-good bundle,
 * measured. Both results depend only on these immutable objects, so they are kept per instance:
 * the DER once (a copy handed out each time), a signature check by a trusted issuer once. Anything
 * involving the bundle's own certificate is computed as before.
 */
function memoiseTrustedCertificates(certs: readonly X509Certificate[]): void {
  const trusted = new Set(certs);
  for (const cert of certs) {
    const der = cert.root.toDER();
    cert.root.toDER = (): Buffer => Buffer.from(der);
    const verify = cert.verify.bind(cert);
    const memo = new Map<X509Certificate | undefined, boolean>();
    cert.verify = (issuer?: X509Certificate): boolean => {
      if (issuer !== undefined && !trusted.has(issuer)) return verify(issuer);
      let ok = memo.get(issuer);
      if (ok === undefined) {
        ok = verify(issuer);
        memo.set(issuer, ok);
      }
      return ok;
    };
  }
}

function compileTrustedRoot(json: unknown, path: string): Result<{ verifier: Verifier; counts: number[] }> {
  const o = asObject(json);
  const mediaType = o?.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    return fail(
      'sigstore-trusted-root-invalid',
      `${path}.mediaType`,
      'not a Sigstore trusted root (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1)',
    );
  }
  try {
    const root = TrustedRoot.fromJSON(json);
    // Parses every CA certificate and log key now, so a broken root fails at load, not per request.
    const material = toTrustMaterial(root);
    if (material.certificateAuthorities.length === 0 || material.tlogs.length === 0) {
      return fail(
        'sigstore-trusted-root-invalid',
        path,
        'the trusted root needs at least one certificate authority (Fulcio) and one transparency log (Rekor)',
      );
    }
    memoiseTrustedCertificates(
      [...material.certificateAuthorities, ...material.timestampAuthorities].flatMap((ca) => ca.certChain),
    );
    // SCTs are required exactly when the root names CT logs (the public-good root does).
    const verifier = new Verifier(material, {
      ctlogThreshold: material.ctlogs.length > 0 ? 1 : 0,
      tlogThreshold: 1,
      timestampThreshold: 1,
    });
    const counts = [
      material.certificateAuthorities.length,
      material.tlogs.length,
      material.ctlogs.length,
      material.timestampAuthorities.length,
    ];
    return { ok: true, value: { verifier, counts } };
  } catch (err) {
    return fail('sigstore-trusted-root-invalid', path, `the trusted root does not parse: ${errorText(err)}`);
  }
}

/**
 * Validates a sigstore authority (name, trusted root, identities) and compiles its trusted root
 * into a verifier, once. `path` names where the authority sits in the policy, for problems.
 */
export function loadSigstoreAuthority(spec: unknown, path = 'sigstore'): Result<CompiledSigstoreAuthority> {
  const o = asObject(spec);
  const name = o?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) {
    return fail(
      'sigstore-authority-invalid',
      `${path}.name`,
      'name must be a non-empty string of at most 253 characters',
    );
  }
  const identities = checkIdentities(o!.identities, `${path}.identities`);
  if (!identities.ok) return identities;
  const root = compileTrustedRoot(o!.trustedRoot, `${path}.trustedRoot`);
  if (!root.ok) return root;
  // The root parsed above is JSON data, so it serialises; the same file gives the same fingerprint.
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(o!.trustedRoot))
    .update('\n')
    .update(JSON.stringify(identities.value))
    .digest('hex');
  const [cas = 0, tlogs = 0, ctlogs = 0, tsas = 0] = root.value.counts;
  const compiled: CompiledSigstoreAuthority = Object.freeze({
    name,
    trustedRoot: o!.trustedRoot,
    identities: identities.value,
    fingerprint,
    certificateAuthorities: cas,
    tlogs,
    ctlogs,
    timestampAuthorities: tsas,
  });
  internals.set(compiled, { compiled, verifier: root.value.verifier });
  return { ok: true, value: compiled };
}

/**
 * The compiled form of an authority: itself if loaded, else compiled on first use and remembered
 * for that object (so treat a plain authority as immutable; load a changed one again).
 */
function compiledFor(
  authority: SigstoreAuthority,
): Result<{ compiled: CompiledSigstoreAuthority } & Internals> {
  const known = internals.get(authority);
  if (known) return { ok: true, value: known };
  const refused = refusedAuthorities.get(authority);
  if (refused) return refused;
  const loaded = loadSigstoreAuthority(authority, `authority ${quote(String(authority?.name))}`);
  if (!loaded.ok) {
    // A broken authority is refused once per object, not re-parsed on every request.
    if (typeof authority === 'object' && authority !== null) refusedAuthorities.set(authority, loaded);
    return loaded;
  }
  const entry = internals.get(loaded.value)!;
  internals.set(authority, entry);
  return { ok: true, value: entry };
}

// ---------------------------------------------------------------- bundle shape (hostile input)

function checkTlogEntries(entries: unknown[]): Result<true> {
  if (entries.length === 0) {
    return fail(
      'tlog-missing',
      'verificationMaterial.tlogEntries',
      'the bundle has no transparency-log entry; the sigstore method needs a Rekor entry with an inclusion proof',
    );
  }
  if (entries.length > MAX_TLOG_ENTRIES) {
    return fail(
      'bundle-invalid',
      'verificationMaterial.tlogEntries',
      `at most ${MAX_TLOG_ENTRIES} tlog entries are accepted`,
    );
  }
  for (const [i, e] of entries.entries()) {
    const hashes = asObject(asObject(e)?.inclusionProof)?.hashes;
    if (Array.isArray(hashes) && hashes.length > MAX_PROOF_HASHES) {
      return fail(
        'tlog-invalid',
        `verificationMaterial.tlogEntries[${i}].inclusionProof.hashes`,
        `an inclusion proof has at most ${MAX_PROOF_HASHES} hashes`,
      );
    }
  }
  return { ok: true, value: true };
}

function checkContent(bundle: Obj): Result<true> {
  const mediaType = bundle.mediaType;
  if (typeof mediaType !== 'string' || !SIGSTORE_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    return fail(
      'bundle-media-type',
      'mediaType',
      `expected ${SIGSTORE_BUNDLE_MEDIA_TYPES[0]}, got ${quote(String(mediaType))}`,
    );
  }
  if (!isObject(bundle.dsseEnvelope) || bundle.messageSignature !== undefined) {
    return fail(
      'sigstore-not-dsse',
      'dsseEnvelope',
      'an OMS bundle carries a DSSE envelope and nothing else (messageSignature bundles are not model signatures)',
    );
  }
  return { ok: true, value: true };
}

function checkMaterial(material: Obj | undefined): Result<true> {
  if (
    material?.certificate !== undefined &&
    (material.publicKey ?? material.x509CertificateChain) !== undefined
  ) {
    return fail(
      'bundle-invalid',
      'verificationMaterial',
      'the bundle names more than one signing key or certificate',
    );
  }
  if (!isObject(material?.certificate)) {
    const key = isObject(material?.publicKey)
      ? ' (this bundle names a public key: it is for the key method)'
      : '';
    return fail(
      'sigstore-not-certificate',
      'verificationMaterial.certificate',
      `the sigstore method needs a Fulcio certificate${key}`,
    );
  }
  const tlog = checkTlogEntries(asArray(material.tlogEntries));
  if (!tlog.ok) return tlog;
  const tsas = asArray(asObject(material.timestampVerificationData)?.rfc3161Timestamps);
  if (tsas.length > MAX_RFC3161_TIMESTAMPS) {
    return fail(
      'bundle-invalid',
      'verificationMaterial.timestampVerificationData.rfc3161Timestamps',
      `at most ${MAX_RFC3161_TIMESTAMPS} timestamps are accepted`,
    );
  }
  return { ok: true, value: true };
}

function checkShape(bundle: unknown): Result<Obj> {
  if (!isObject(bundle)) return fail('bundle-invalid', '', 'the bundle must be a JSON object');
  const content = checkContent(bundle);
  if (!content.ok) return content;
  const material = checkMaterial(asObject(bundle.verificationMaterial));
  if (!material.ok) return material;
  return { ok: true, value: bundle };
}

function toEntity(json: Obj): Result<{ bundle: Bundle; entity: SignedEntity }> {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    const fields = (err as { fields?: unknown }).fields;
    const where = Array.isArray(fields) && typeof fields[0] === 'string' ? fields[0] : '';
    return fail(
      'bundle-invalid',
      where,
      `not a valid Sigstore bundle: ${errorText(err)}${where ? ` (${where})` : ''}`,
    );
  }
  try {
    return { ok: true, value: { bundle, entity: toSignedEntity(bundle) } };
  } catch (err) {
    return fail(
      'sigstore-cert-invalid',
      'verificationMaterial.certificate.rawBytes',
      `the certificate or a timestamp does not parse: ${errorText(err)}`,
    );
  }
}

// ---------------------------------------------------------------- cryptographic verification

/** Checks the DSSE signature first so a tampered payload or signature is named as such. */
function checkSignature(entity: SignedEntity): Result<true> {
  if (entity.key.$case !== 'certificate')
    return fail(
      'sigstore-not-certificate',
      'verificationMaterial.certificate',
      'the sigstore method needs a Fulcio certificate',
    );
  try {
    const key = sigCrypto.createPublicKey(entity.key.certificate.publicKey);
    if (entity.signature.verifySignature(key)) return { ok: true, value: true };
  } catch {
    // fall through: an unusable key is a signature that does not verify
  }
  return fail(
    'signature-invalid',
    'dsseEnvelope.signatures[0].sig',
    'the DSSE signature does not verify with the certificate key (payload or signature altered)',
  );
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : '';
}

/** Maps @sigstore/verify's errors onto modelgate's problem codes. */
function verificationProblem(err: unknown): { ok: false; problem: Problem } {
  const code = (err as { code?: unknown }).code;
  const message = errorText(err);
  const cert = 'verificationMaterial.certificate';
  const tlog = 'verificationMaterial.tlogEntries';
  switch (code) {
    case 'CERTIFICATE_ERROR':
      if (message.includes('SCT'))
        return fail(
          'sigstore-sct-invalid',
          cert,
          `the certificate's signed certificate timestamp does not verify against a trusted CT log: ${message}`,
        );
      if (causeMessage(err).includes('expired'))
        return fail(
          'sigstore-cert-expired',
          cert,
          'the certificate was not valid at the verified signing time',
        );
      return fail(
        'sigstore-untrusted-root',
        cert,
        `the certificate does not chain to a certificate authority of the trusted root valid at the signing time: ${clip(causeMessage(err)) || message}`,
      );
    case 'TLOG_BODY_ERROR':
      return fail(
        'tlog-entry-mismatch',
        tlog,
        `the transparency-log entry is not for this envelope: ${message}`,
      );
    case 'TIMESTAMP_ERROR':
      return fail(
        'sigstore-timestamp-invalid',
        tlog,
        `no verified signing time (a tlog entry with a signed entry timestamp, or an RFC 3161 timestamp): ${message}`,
      );
    case 'SIGNATURE_ERROR':
      return fail('signature-invalid', 'dsseEnvelope.signatures[0].sig', message);
    default:
      if (typeof code === 'string' && code.startsWith('TLOG'))
        return fail(
          'tlog-invalid',
          tlog,
          `the transparency-log entry does not verify against a trusted log: ${message}`,
        );
      return fail('sigstore-invalid', '', `verification failed: ${message}`);
  }
}

// ---------------------------------------------------------------- exact identity

const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const TAG_UTF8STRING = 0x0c;

/** The one SAN of a Fulcio certificate, as raw bytes: an rfc822Name [1] or a URI [6]. */
function certificateSan(cert: X509Certificate): Result<Buffer> {
  const names = cert.extension(OID_SAN)?.valueObj.subs[0]?.subs ?? [];
  const path = 'verificationMaterial.certificate';
  if (names.length !== 1)
    return fail(
      'identity-mismatch',
      path,
      `the certificate must name exactly one identity (it names ${names.length})`,
    );
  const gn = names[0]!;
  if (!gn.tag.isContextSpecific(0x01) && !gn.tag.isContextSpecific(0x06)) {
    return fail('identity-mismatch', path, 'the certificate identity is neither an e-mail address nor a URI');
  }
  // IA5String: 7-bit only. A high-bit byte would be read differently by different decoders.
  if (gn.value.some((b) => b === 0 || b > 0x7e))
    return fail('identity-mismatch', path, 'the certificate identity holds non-ASCII or control bytes');
  return { ok: true, value: gn.value };
}

/** Extension 1.3.6.1.4.1.57264.1.8 holds a DER UTF8String; anything else is refused. */
function issuerV2(cert: X509Certificate): Result<Buffer | undefined> {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (!v2) return { ok: true, value: undefined };
  const inner = v2.valueObj.subs[0];
  if (
    !inner ||
    !inner.tag.isUniversal() ||
    inner.tag.number !== TAG_UTF8STRING ||
    v2.valueObj.subs.length !== 1
  ) {
    return fail(
      'issuer-mismatch',
      'verificationMaterial.certificate',
      'the certificate issuer extension (1.3.6.1.4.1.57264.1.8) is not a UTF8String',
    );
  }
  return { ok: true, value: inner.value };
}

/** The OIDC issuer as raw bytes; v2 and v1 (raw bytes) must agree when both are present. */
function certificateIssuer(cert: X509Certificate): Result<Buffer> {
  const path = 'verificationMaterial.certificate';
  const v2 = issuerV2(cert);
  if (!v2.ok) return v2;
  const v1 = cert.extension(OID_ISSUER_V1)?.value;
  if (v1 && v2.value && !v1.equals(v2.value))
    return fail(
      'issuer-mismatch',
      path,
      'the certificate carries two different OIDC issuers (extensions .1.1 and .1.8)',
    );
  const issuer = v2.value ?? v1;
  if (!issuer || issuer.length === 0)
    return fail('issuer-mismatch', path, 'the certificate carries no OIDC issuer extension');
  return { ok: true, value: issuer };
}

function hasCodeSigning(cert: X509Certificate): boolean {
  const eku = cert.extension(OID_EKU)?.valueObj.subs[0];
  return eku?.subs.some((s) => s.toOID() === OID_CODE_SIGNING) ?? false;
}

const text = (b: Buffer): string => b.toString('utf8');

/** RFC 5280 forbids repeating an extension; a repeated SAN or issuer would be read two ways. */
function repeatedExtension(cert: X509Certificate): string | undefined {
  const seen = new Set<string>();
  for (const e of cert.extensions) {
    const id = e.subs[0]?.toOID() ?? '';
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/** Exact, byte-for-byte: no regular expression, no case folding, no prefix. */
function matchIdentity(
  cert: X509Certificate,
  identities: readonly SigstoreIdentity[],
): Result<{ identity: string; issuer: string }> {
  const path = 'verificationMaterial.certificate';
  const repeated = repeatedExtension(cert);
  if (repeated !== undefined)
    return fail('sigstore-cert-invalid', path, `the certificate repeats extension ${repeated}`);
  if (!hasCodeSigning(cert))
    return fail(
      'sigstore-cert-invalid',
      path,
      'the certificate is not for code signing (extended key usage 1.3.6.1.5.5.7.3.3)',
    );
  const san = certificateSan(cert);
  if (!san.ok) return san;
  const issuer = certificateIssuer(cert);
  if (!issuer.ok) return issuer;
  const sameSubject = identities.filter((id) => Buffer.from(id.subject, 'utf8').equals(san.value));
  if (sameSubject.length === 0) {
    return fail(
      'identity-mismatch',
      path,
      `the certificate identity ${quote(text(san.value))} is not one the authority trusts`,
    );
  }
  if (!sameSubject.some((id) => Buffer.from(id.issuer, 'utf8').equals(issuer.value))) {
    return fail(
      'issuer-mismatch',
      path,
      `the identity ${quote(text(san.value))} was issued by ${quote(text(issuer.value))}, not the issuer the authority names for it`,
    );
  }
  return { ok: true, value: { identity: text(san.value), issuer: text(issuer.value) } };
}

// ---------------------------------------------------------------- verify

/** The earliest time a verified timestamp vouches for (the verifier has checked every one). */
function signingTime(entity: SignedEntity): Date | undefined {
  let earliest: Date | undefined;
  for (const t of entity.timestamps) {
    const at =
      t.$case === 'transparency-log'
        ? t.tlogEntry.inclusionPromise
          ? new Date(Number(t.tlogEntry.integratedTime) * 1000)
          : undefined
        : t.timestamp.signingTime;
    if (at && !Number.isNaN(at.getTime()) && (!earliest || at < earliest)) earliest = at;
  }
  return earliest;
}

type TlogEntry = TransparencyLogEntry;

/**
 * The bundle's own treeSize and rootHash are not what the library verifies (it reads the signed
 * checkpoint); like sigstore-go, require them to be the checkpoint's, so one bundle reads one way.
 * (The top-level logIndex is not compared with the proof's: Rekor v1 gives a global index there
 * and a shard index in the proof. modelgate makes no decision on either.)
 */
function proofMatchesCheckpoint(entry: TlogEntry): boolean {
  const proof = entry.inclusionProof;
  if (!proof) return true;
  const envelope = proof.checkpoint?.envelope ?? '';
  const lines = envelope.slice(0, Math.max(0, envelope.indexOf('\n\n'))).split('\n');
  const sameSize = lines[1] !== undefined && /^[0-9]{1,20}$/.test(lines[1]) && lines[1] === proof.treeSize;
  const sameRoot =
    lines[2] !== undefined &&
    proof.rootHash.length > 0 &&
    Buffer.from(lines[2], 'base64').equals(proof.rootHash);
  return sameSize && sameRoot;
}

const PEM_RE = /^-----BEGIN (CERTIFICATE|PUBLIC KEY)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*$/;

/** A Rekor v1 body names the signer as base64 of a PEM certificate or public key. */
function fromPem(b64: unknown): RecordedSigner | undefined {
  if (typeof b64 !== 'string') return undefined;
  const m = PEM_RE.exec(Buffer.from(b64, 'base64').toString('utf8'));
  if (!m) return undefined;
  return {
    kind: m[1] === 'CERTIFICATE' ? 'certificate' : 'spki',
    der: Buffer.from(m[2]!.replace(/\s/g, ''), 'base64'),
  };
}

interface RecordedSigner {
  kind: 'certificate' | 'spki';
  der: Buffer;
}

/** Rekor v2 bodies (dsse / hashedrekord 0.0.2) name the signer as a certificate or key in DER. */
function fromRekorV2(body: unknown): RecordedSigner | undefined {
  const spec = RekorV2Entry.fromJSON(body).spec?.spec;
  const sig =
    spec?.$case === 'dsseV002'
      ? spec.dsseV002.signatures[0]
      : spec?.$case === 'hashedRekordV002'
        ? spec.hashedRekordV002.signature
        : undefined;
  const v = sig?.verifier?.verifier;
  if (v?.$case === 'x509Certificate')
    return { kind: 'certificate', der: Buffer.from(v.x509Certificate.rawBytes) };
  if (v?.$case === 'publicKey') return { kind: 'spki', der: Buffer.from(v.publicKey.rawBytes) };
  return undefined;
}

type SpecReader = (spec: Obj | undefined, body: unknown) => RecordedSigner | undefined;

/** Where each entry type the library accepts names its signer. */
const SIGNER_IN_ENTRY: ReadonlyMap<string, SpecReader> = new Map<string, SpecReader>([
  ['dsse/0.0.1', (spec) => fromPem(asObject(asArray(spec?.signatures)[0])?.verifier)],
  [
    'intoto/0.0.2',
    (spec) =>
      fromPem(asObject(asArray(asObject(asObject(spec?.content)?.envelope)?.signatures)[0])?.publicKey),
  ],
  ['hashedrekord/0.0.1', (spec) => fromPem(asObject(asObject(spec?.signature)?.publicKey)?.content)],
  ['dsse/0.0.2', (_, body) => fromRekorV2(body)],
  ['hashedrekord/0.0.2', (_, body) => fromRekorV2(body)],
]);

/** The certificate or key a tlog entry recorded for its (single) signature. */
function recordedSigner(entry: TlogEntry): RecordedSigner | undefined {
  const reader = SIGNER_IN_ENTRY.get(`${entry.kindVersion?.kind}/${entry.kindVersion?.version}`);
  if (!reader) return undefined;
  const body = JSON.parse(entry.canonicalizedBody.toString('utf8')) as unknown;
  return reader(asObject(asObject(body)?.spec), body);
}

/**
 * The library checks that an entry records this signature and payload, not that it records this
 * certificate; an ECDSA signature verifies under keys an attacker can derive from it, so an entry
 * logged for one signer must not vouch for another's certificate.
 */
function entryRecordsCertificate(entry: TlogEntry, cert: X509Certificate): boolean {
  let signer: RecordedSigner | undefined;
  try {
    signer = recordedSigner(entry);
  } catch {
    return false;
  }
  if (!signer) return false;
  return signer.kind === 'certificate'
    ? signer.der.equals(cert.root.toDER())
    : signer.der.equals(cert.publicKey);
}

function checkEntries(bundle: Bundle, cert: X509Certificate): Result<true> {
  for (const [i, entry] of bundle.verificationMaterial.tlogEntries.entries()) {
    const path = `verificationMaterial.tlogEntries[${i}]`;
    if (!proofMatchesCheckpoint(entry)) {
      return fail(
        'tlog-invalid',
        `${path}.inclusionProof`,
        "the inclusion proof's treeSize and rootHash must be those of its signed checkpoint",
      );
    }
    if (!entryRecordsCertificate(entry, cert)) {
      return fail(
        'tlog-entry-mismatch',
        `${path}.canonicalizedBody`,
        'the transparency-log entry records another signer',
      );
    }
  }
  return { ok: true, value: true };
}

function verifyCrypto(entity: SignedEntity, verifier: Verifier): Result<true> {
  const sig = checkSignature(entity);
  if (!sig.ok) return sig;
  try {
    verifier.verify(entity);
  } catch (err) {
    return verificationProblem(err);
  }
  return { ok: true, value: true };
}

export interface SigstoreVerifyOptions {
  /** The clock for the "signing time in the future" check (default: now). */
  now?: Date;
  /** The verdict cache (default: the process-wide one); `false` verifies afresh. */
  cache?: SigstoreVerdictCache | false;
}

/**
 * Verifies a parsed OMS bundle by the sigstore method against one authority. Never throws:
 * every failure is a Problem whose path is a field of the bundle (relative to its root).
 * Verdicts are cached by sha256 of the bundle's JSON serialisation, the authority's name and its
 * fingerprint; the serialisation is what gets verified.
 */
export function verifySigstoreEnvelope(
  bundle: unknown,
  authority: SigstoreAuthority,
  opts: SigstoreVerifyOptions = {},
): SigstoreResult {
  return guarded(() => {
    const auth = compiledFor(authority);
    if (!auth.ok) return auth;
    const cache = opts.cache === false ? undefined : (opts.cache ?? defaultSigstoreCache);
    if (!cache) return verifyUnsafe(bundle, auth.value, opts.now ?? new Date());
    const text = JSON.stringify(bundle) as string | undefined;
    if (text === undefined) return fail('bundle-invalid', '', 'the bundle must be a JSON object');
    if (text.length > MAX_SIGSTORE_BUNDLE_BYTES) return tooLarge();
    const key = cacheKey('json', createHash('sha256').update(text).digest('hex'), auth.value.compiled);
    // Verify the value the key names (the serialisation read back), so a cached verdict can never
    // belong to a different value that merely serialises the same (NaN and null, say).
    return throughCache(cache, key, () => verifyUnsafe(JSON.parse(text), auth.value, opts.now ?? new Date()));
  });
}

/** Defence in depth: a library bug on hostile input is a refusal, never a crash. */
function guarded(run: () => SigstoreResult): SigstoreResult {
  try {
    return run();
  } catch (err) {
    return fail('sigstore-invalid', '', `verification failed: ${errorText(err)}`);
  }
}

function verifyUnsafe(
  bundle: unknown,
  auth: { compiled: CompiledSigstoreAuthority } & Internals,
  now: Date,
): SigstoreResult {
  const shape = checkShape(bundle);
  if (!shape.ok) return shape;
  const parsed = toEntity(shape.value);
  if (!parsed.ok) return parsed;
  const { bundle: b, entity } = parsed.value;
  const crypto = verifyCrypto(entity, auth.verifier);
  if (!crypto.ok) return crypto;

  if (entity.key.$case !== 'certificate')
    return fail(
      'sigstore-not-certificate',
      'verificationMaterial.certificate',
      'the sigstore method needs a Fulcio certificate',
    );
  const entries = checkEntries(b, entity.key.certificate);
  if (!entries.ok) return entries;
  const who = matchIdentity(entity.key.certificate, auth.compiled.identities);
  if (!who.ok) return who;
  const signedAt = signingTime(entity);
  if (!signedAt)
    return fail('sigstore-timestamp-invalid', 'verificationMaterial.tlogEntries', 'no verified signing time');
  if (signedAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    return fail(
      'sigstore-timestamp-future',
      'verificationMaterial.tlogEntries',
      `the verified signing time ${signedAt.toISOString()} is in the future`,
    );
  }
  if (b.content.$case !== 'dsseEnvelope')
    return fail('sigstore-not-dsse', 'dsseEnvelope', 'an OMS bundle carries a DSSE envelope');
  const env = b.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return fail(
      'payload-type-unsupported',
      'dsseEnvelope.payloadType',
      `expected ${IN_TOTO_PAYLOAD_TYPE}, got ${quote(env.payloadType)}`,
    );
  }
  return {
    ok: true,
    value: { payload: Buffer.from(env.payload), payloadType: env.payloadType, ...who.value, signedAt },
  };
}

// ---------------------------------------------------------------- cache

/** Entries kept by the default cache. Each holds one verdict: a payload (typically a few KiB) or a problem. */
export const SIGSTORE_CACHE_ENTRIES = 256;
/**
 * Payload bytes the default cache may hold: 256 payloads of 128 KiB (a model_signing statement
 * for ~1,000 files). Without it, 256 accepted bundles at the 1 MiB limit would pin 256 MiB, the
 * chart's whole memory limit.
 */
export const SIGSTORE_CACHE_BYTES = 32 * 1024 * 1024;

const weight = (r: SigstoreResult): number => (r.ok ? r.value.payload.length : 0) + 256;

/**
 * A bounded LRU of verification results keyed by sha256(bundle bytes), the authority's name and
 * its fingerprint (trusted root + identities), so a reloaded authority never reuses an old
 * verdict. Bounded by entries and by bytes (payload + a fixed 256 per entry), whichever is hit
 * first. Results are deterministic in those inputs except the "signing time in the future"
 * refusal, which depends on the clock and is not cached.
 */
export class SigstoreVerdictCache extends VerdictCache<SigstoreResult> {
  constructor(capacity = SIGSTORE_CACHE_ENTRIES, maxBytes = SIGSTORE_CACHE_BYTES) {
    super(capacity, maxBytes, weight);
  }
}

export const defaultSigstoreCache = new SigstoreVerdictCache();

/** A cached success hands out its own copy of the payload, so no caller can alter another's. */
function copyResult(r: SigstoreResult): SigstoreResult {
  return r.ok
    ? {
        ok: true,
        value: { ...r.value, payload: Buffer.from(r.value.payload), signedAt: new Date(r.value.signedAt) },
      }
    : r;
}

const tooLarge = (): SigstoreResult =>
  fail('too-large', '', `the bundle is larger than ${MAX_SIGSTORE_BUNDLE_BYTES} bytes`);

const cacheKey = (kind: 'bytes' | 'json', sha256: string, a: CompiledSigstoreAuthority): string =>
  `${kind}:${sha256}\n${a.name}\n${a.fingerprint}`;

function throughCache(
  cache: SigstoreVerdictCache,
  key: string,
  verify: () => SigstoreResult,
): SigstoreResult {
  const hit = cache.get(key);
  if (hit) return copyResult(hit);
  const result = verify();
  if (result.ok || result.problem.code !== 'sigstore-timestamp-future') cache.set(key, result);
  return copyResult(result);
}

/**
 * Verifies a bundle from its bytes (strict JSON: no duplicate keys, bounded size and depth),
 * through the cache keyed by sha256 of the bytes: a hit costs no parsing at all.
 */
export function verifySigstoreBundleBytes(
  bytes: Buffer | string,
  authority: SigstoreAuthority,
  opts: SigstoreVerifyOptions = {},
): SigstoreResult {
  return guarded(() => {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    if (buf.length > MAX_SIGSTORE_BUNDLE_BYTES) return tooLarge();
    const auth = compiledFor(authority);
    if (!auth.ok) return auth;
    const verify = (): SigstoreResult => verifyParsedBytes(buf, auth.value, opts.now ?? new Date());
    const cache = opts.cache === false ? undefined : (opts.cache ?? defaultSigstoreCache);
    if (!cache) return verify();
    return throughCache(
      cache,
      cacheKey('bytes', createHash('sha256').update(buf).digest('hex'), auth.value.compiled),
      verify,
    );
  });
}

function verifyParsedBytes(
  buf: Buffer,
  auth: { compiled: CompiledSigstoreAuthority } & Internals,
  now: Date,
): SigstoreResult {
  let textValue: string;
  try {
    textValue = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return fail('invalid-json', '', 'the bundle is not UTF-8 text');
  }
  const json = parseStrictJson(textValue, { maxBytes: MAX_SIGSTORE_BUNDLE_BYTES });
  if (!json.ok) return json;
  return verifyUnsafe(json.value, auth, now);
}

// ---------------------------------------------------------------- trusted roots

/** The public-good Sigstore TUF repository whose trusted root @sigstore/tuf ships as a seed. */
export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';

/**
 * The public-good trusted_root.json (Fulcio CAs, Rekor and CT log keys, TSA), read offline from
 * the seed that the npm package @sigstore/tuf ships (seeds.json: the TUF root and the
 * trusted_root.json target, base64). Its trust is the package's (lockfile integrity, npm
 * provenance); it is as fresh as the installed @sigstore/tuf. Operators who want a root fetched
 * through TUF, or a private instance, give a file instead (readTrustedRootFile).
 */
export function publicGoodTrustedRoot(): Result<unknown> {
  const path = '@sigstore/tuf/seeds.json';
  try {
    const file = createRequire(import.meta.url).resolve(path);
    const seeds: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const target = asObject(asObject(asObject(asObject(seeds)?.[PUBLIC_GOOD_TUF_URL])?.targets))?.[
      'trusted_root.json'
    ];
    if (typeof target !== 'string')
      return fail(
        'sigstore-trusted-root-invalid',
        path,
        `${path} has no trusted_root.json target for ${PUBLIC_GOOD_TUF_URL}`,
      );
    return { ok: true, value: JSON.parse(Buffer.from(target, 'base64').toString('utf8')) as unknown };
  } catch (err) {
    return fail(
      'sigstore-trusted-root-invalid',
      path,
      `cannot read the public-good trusted root: ${errorText(err)}`,
    );
  }
}

/** Reads an operator's trusted_root.json (strict JSON, bounded). */
export function readTrustedRootFile(file: string): Result<unknown> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    return fail('sigstore-trusted-root-invalid', file, `cannot read the trusted root: ${errorText(err)}`);
  }
  return parseStrictJson(buf.toString('utf8'), { maxBytes: MAX_TRUSTED_ROOT_BYTES, path: file });
}
