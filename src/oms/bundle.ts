/**
 * Strict parser for the Sigstore bundle `model_signing` writes. Every field is typed and bounded
 * and refused when unknown, with the field path in the problem; nothing here is trusted yet (the
 * signature is checked in verify.ts, the payload parsed only after that, in statement.ts).
 */
import { isObject, type Obj } from '../json/object.js';
import { FieldReader, joinPath, wholePath } from '../manifest/fields.js';
import type { Result } from '../manifest/types.js';
import type { DsseEnvelope, OmsBundle, OmsMethod } from './types.js';

/** The media types of a Sigstore bundle v0.3 (model_signing 1.1.1 writes the first). */
export const OMS_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
];
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * Largest bundle accepted, in UTF-8 bytes: a ConfigMap's limit (1 MiB). A bundle for 1,000 files
 * is ~190 KiB (each resource is ~140 bytes of JSON, base64-encoded in the payload).
 */
export const MAX_OMS_BUNDLE_BYTES = 1024 * 1024;
/** Certificates in x509CertificateChain: leaf, intermediates, root; real chains have 2 to 4. */
export const MAX_OMS_CERTIFICATES = 8;
/** One certificate, base64 DER: real ones are 0.5 to 2 KiB. */
export const MAX_OMS_CERTIFICATE_CHARS = 16 * 1024;
/** An ECDSA P-521 DER signature is at most 139 bytes (188 base64 characters); room for others. */
const MAX_SIGNATURE_CHARS = 1024;

const TOP_FIELDS = ['mediaType', 'verificationMaterial', 'dsseEnvelope'] as const;
const MATERIAL_FIELDS = [
  'publicKey',
  'x509CertificateChain',
  'certificate',
  'tlogEntries',
  'timestampVerificationData',
] as const;
const ENVELOPE_FIELDS = ['payload', 'payloadType', 'signatures'] as const;
const SIGNATURE_FIELDS = ['sig', 'keyid'] as const;

/** True when a parsed value declares itself a Sigstore bundle (format detection). */
export function looksLikeOmsBundle(v: unknown): boolean {
  return isObject(v) && typeof v.mediaType === 'string' && v.mediaType.startsWith('application/vnd.dev.sigstore.bundle');
}

/**
 * Standard, padded base64 only (what model_signing writes): the decoding must round-trip. Node's
 * decoder skips characters outside the alphabet and accepts the URL-safe one, but its encoder
 * writes only canonical, padded standard base64, so a text equal to the re-encoding of its
 * decoding is exactly that (a regular expression over the text said the same again, at ~0.4 ms
 * for a 1,000-file payload).
 */
function base64(r: FieldReader, [obj, key, path]: [Obj, string, string], maxChars: number): Buffer {
  const text = r.string(obj, key, path, maxChars);
  if (text === '') return Buffer.alloc(0);
  const bytes = Buffer.from(text, 'base64');
  if (text.length % 4 !== 0 || bytes.toString('base64') !== text) {
    r.fail('bad-base64', joinPath(path, key), 'must be standard base64 with padding');
  }
  return bytes;
}

function readEnvelope(r: FieldReader, o: Obj, path: string): DsseEnvelope {
  const at = joinPath(path, 'dsseEnvelope');
  const e = r.object(o.dsseEnvelope, at, 'a DSSE envelope {payload, payloadType, signatures}');
  r.onlyKeys(e, ENVELOPE_FIELDS, at);
  const payload = base64(r, [e, 'payload', at], MAX_OMS_BUNDLE_BYTES);
  const payloadType = r.string(e, 'payloadType', at, 128);
  if (payloadType !== '' && payloadType !== IN_TOTO_PAYLOAD_TYPE)
    r.fail('bad-value', joinPath(at, 'payloadType'), `must be "${IN_TOTO_PAYLOAD_TYPE}"`);
  const sigsAt = joinPath(at, 'signatures');
  if (!Array.isArray(e.signatures) || e.signatures.length !== 1) {
    r.fail(e.signatures === undefined ? 'missing-field' : 'wrong-type', sigsAt, 'must be a list of exactly one signature');
    return { payload, payloadType, signature: Buffer.alloc(0) };
  }
  const sigAt = joinPath(sigsAt, 0);
  const s = r.object(e.signatures[0], sigAt, 'a signature {sig, keyid}');
  r.onlyKeys(s, SIGNATURE_FIELDS, sigAt);
  // keyid is unsigned and model_signing leaves it empty: its type is checked, its value never used.
  if (s.keyid !== undefined && (typeof s.keyid !== 'string' || s.keyid.length > 256))
    r.fail('wrong-type', joinPath(sigAt, 'keyid'), 'must be a string of at most 256 characters');
  return { payload, payloadType, signature: base64(r, [s, 'sig', sigAt], MAX_SIGNATURE_CHARS) };
}

function readCertificate(r: FieldReader, v: unknown, at: string): Buffer {
  const c = r.object(v, at, 'a certificate {rawBytes}');
  r.onlyKeys(c, ['rawBytes'], at);
  return base64(r, [c, 'rawBytes', at], MAX_OMS_CERTIFICATE_CHARS);
}

function readChain(r: FieldReader, m: Obj, at: string): Buffer[] {
  const chainAt = joinPath(at, 'x509CertificateChain');
  const chain = r.object(m.x509CertificateChain, chainAt, 'an object {certificates}');
  r.onlyKeys(chain, ['certificates'], chainAt);
  const listAt = joinPath(chainAt, 'certificates');
  const list = chain.certificates;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OMS_CERTIFICATES) {
    r.fail(list === undefined ? 'missing-field' : 'wrong-type', listAt, `must be a list of 1 to ${MAX_OMS_CERTIFICATES} certificates`);
    return [];
  }
  return list.map((c, i) => readCertificate(r, c, joinPath(listAt, i)));
}

/** Which method the verification material is for: exactly one of publicKey, x509CertificateChain, certificate. */
function methodOf(r: FieldReader, m: Obj, at: string): OmsMethod | undefined {
  const present = (['publicKey', 'x509CertificateChain', 'certificate'] as const).filter((k) => m[k] !== undefined);
  if (present.length !== 1) {
    r.fail('bad-value', wholePath(at), 'must hold exactly one of publicKey (key method), x509CertificateChain (certificate method), certificate (sigstore method)');
    return undefined;
  }
  return present[0] === 'publicKey' ? 'key' : present[0] === 'x509CertificateChain' ? 'certificate' : 'sigstore';
}

/** The key and certificate methods carry no log entries or timestamps; modelgate does not read any there. */
function noTransparency(r: FieldReader, m: Obj, at: string): void {
  if (m.tlogEntries !== undefined && !(Array.isArray(m.tlogEntries) && m.tlogEntries.length === 0))
    r.fail('unsupported-field', joinPath(at, 'tlogEntries'), 'must be empty for the key and certificate methods (only the sigstore method verifies log entries)');
  if (m.timestampVerificationData !== undefined)
    r.fail('unsupported-field', joinPath(at, 'timestampVerificationData'), 'is not read for the key and certificate methods: leave it out');
}

interface Material {
  method: OmsMethod;
  publicKeyHint?: string;
  certificates: Buffer[];
}

function readMaterial(r: FieldReader, o: Obj, path: string): Material {
  const at = joinPath(path, 'verificationMaterial');
  const m = r.object(o.verificationMaterial, at, 'an object');
  r.onlyKeys(m, MATERIAL_FIELDS, at);
  const method = methodOf(r, m, at) ?? 'key';
  if (method === 'sigstore') {
    const certAt = joinPath(at, 'certificate');
    return { method, certificates: [readCertificate(r, m.certificate, certAt)] };
  }
  noTransparency(r, m, at);
  if (method === 'certificate') return { method, certificates: readChain(r, m, at) };
  const keyAt = joinPath(at, 'publicKey');
  const k = r.object(m.publicKey, keyAt, 'an object {hint}');
  r.onlyKeys(k, ['hint'], keyAt);
  const hint = k.hint === undefined ? undefined : r.string(k, 'hint', keyAt, 128);
  return hint === undefined ? { method, certificates: [] } : { method, publicKeyHint: hint, certificates: [] };
}

/**
 * Validate an untrusted parsed value as an OMS bundle. Size is bounded by the caller (the manifest
 * text limit); here every list is bounded and every string has a maximum length.
 */
export function parseOmsBundle(value: unknown, path = ''): Result<OmsBundle> {
  const r = new FieldReader();
  const o = r.object(value, path, 'a Sigstore bundle object');
  r.onlyKeys(o, TOP_FIELDS, path);
  const mediaType = r.string(o, 'mediaType', path, 128);
  if (mediaType !== '' && !OMS_MEDIA_TYPES.includes(mediaType))
    r.fail('unsupported-format', joinPath(path, 'mediaType'), `must be "${OMS_MEDIA_TYPES[0] ?? ''}" (a Sigstore bundle v0.3, as model_signing writes), got ${JSON.stringify(mediaType.slice(0, 128))}`);
  const material = readMaterial(r, o, path);
  const envelope = readEnvelope(r, o, path);
  return r.result({ ...material, envelope, raw: o });
}
