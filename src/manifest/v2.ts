/**
 * Manifest v2 (modelgate's own): binds model identity, every file, the pipeline's claims and
 * the signing time. The signature (HMAC-SHA256 or a public-key algorithm, src/keys/algorithms.ts)
 * is over the RFC 8785 (JCS) canonical JSON of the manifest without its `signature` member.
 */
import canonicalize from 'canonicalize';
import { API_VERSION } from '../vocabulary/keys.js';
import {
  decodeSignatureValue,
  isSignatureAlgorithm,
  MAX_SIGNATURE_TEXT,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
} from '../keys/algorithms.js';
import { isValidKeyId } from '../keys/keyring.js';
import type { Keyring } from '../keys/types.js';
import { isObject, type Obj } from '../json/object.js';
import { FieldReader, joinPath, parseTimestamp } from './fields.js';
import type { Claims, ManifestV2, ModelFile, Result } from './types.js';

export const V2_API_VERSION = API_VERSION;
export const V2_KIND = 'ModelManifest';
/** The HMAC algorithm (the default); SIGNATURE_ALGORITHMS lists every accepted one. */
export const V2_ALGORITHM = 'HMAC-SHA256';
/** Sharded models have tens of files; a thousand is generous and keeps hashing bounded. */
export const MAX_V2_FILES = 1024;

const TOP_FIELDS = [
  'apiVersion',
  'kind',
  'model',
  'files',
  'claims',
  'signedAt',
  'expiresAt',
  'signature',
] as const;
const MODEL_FIELDS = ['name', 'version', 'source'] as const;
const FILE_FIELDS = ['path', 'sha256', 'size'] as const;
const SIGNATURE_FIELDS = ['algorithm', 'keyId', 'value'] as const;

export type UnsignedManifestV2 = Omit<ManifestV2, 'signature'>;

/** Why a manifest file path is unsafe, or undefined. Paths are relative, `/`-separated. */
export function filePathError(p: string): string | undefined {
  if (p.includes('\0')) return 'must not contain NUL';
  if (p.includes('\\')) return 'must use "/" as separator, not "\\"';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p))
    return 'must be relative (to the model directory), not absolute';
  const segments = p.split('/');
  if (segments.includes('..')) return 'must not contain ".." segments';
  if (segments.some((s) => s === '' || s === '.')) return 'must not contain empty or "." segments';
  return undefined;
}

function readModel(r: FieldReader, o: Obj, path: string): ManifestV2['model'] {
  const at = joinPath(path, 'model');
  const m = r.object(o.model, at);
  r.onlyKeys(m, MODEL_FIELDS, at);
  return {
    name: r.string(m, 'name', at, 253),
    version: r.string(m, 'version', at, 128),
    source: r.string(m, 'source', at, 4096),
  };
}

function readFile(r: FieldReader, v: unknown, at: string): ModelFile {
  const f = r.object(v, at, 'a file entry {path, sha256, size}');
  r.onlyKeys(f, FILE_FIELDS, at);
  const file = {
    path: r.string(f, 'path', at, 4096),
    sha256: r.digest(f, 'sha256', at),
    size: r.size(f, 'size', at),
  };
  const why = file.path === '' ? undefined : filePathError(file.path);
  if (why !== undefined) r.fail('bad-path', joinPath(at, 'path'), why);
  return file;
}

function readFiles(r: FieldReader, o: Obj, path: string): ModelFile[] {
  const at = joinPath(path, 'files');
  if (!Array.isArray(o.files) || o.files.length === 0 || o.files.length > MAX_V2_FILES) {
    r.fail(
      o.files === undefined ? 'missing-field' : 'wrong-type',
      at,
      `must be a list of 1 to ${MAX_V2_FILES} files`,
    );
    return [];
  }
  const files = (o.files as unknown[]).map((f, i) => readFile(r, f, joinPath(at, i)));
  const seen = new Set<string>();
  files.forEach((f, i) => {
    if (seen.has(f.path))
      r.fail('bad-path', joinPath(joinPath(at, i), 'path'), `lists ${JSON.stringify(f.path)} twice`);
    seen.add(f.path);
  });
  return files;
}

const CLAIM_TYPES: Readonly<Record<string, (v: unknown) => boolean>> = {
  scan: (v) => typeof v === 'string',
  dataClassification: (v) => typeof v === 'string',
  explainabilityReport: (v) => typeof v === 'string',
  requester: (v) => typeof v === 'string',
  customerFacing: (v) => typeof v === 'boolean',
  approvers: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string'),
};

function readClaims(r: FieldReader, o: Obj, path: string): Claims {
  const at = joinPath(path, 'claims');
  const c = r.object(o.claims, at, 'an object of signed claims (may be {})');
  for (const [name, check] of Object.entries(CLAIM_TYPES)) {
    if (c[name] !== undefined && !check(c[name])) {
      const want =
        name === 'approvers' ? 'a list of strings' : name === 'customerFacing' ? 'true or false' : 'a string';
      r.fail('wrong-type', joinPath(at, name), `must be ${want}`);
    }
  }
  return c;
}

/** The value's grammar depends on the algorithm: hex for HMAC, canonical base64 otherwise. */
function readSignatureValue(r: FieldReader, s: Obj, at: string, algorithm: SignatureAlgorithm | undefined): string {
  if (algorithm === undefined || algorithm === V2_ALGORITHM) return r.digest(s, 'value', at);
  const value = r.string(s, 'value', at, MAX_SIGNATURE_TEXT);
  if (value === '' || value.length > MAX_SIGNATURE_TEXT) return value;
  const decoded = decodeSignatureValue(algorithm, value);
  if (typeof decoded === 'string') r.fail('bad-value', joinPath(at, 'value'), decoded);
  return value;
}

function readSignature(r: FieldReader, o: Obj, path: string): ManifestV2['signature'] {
  const at = joinPath(path, 'signature');
  const s = r.object(o.signature, at, 'a signature {algorithm, keyId, value}');
  r.onlyKeys(s, SIGNATURE_FIELDS, at);
  const name = r.string(s, 'algorithm', at, 64);
  const algorithm = isSignatureAlgorithm(name) ? name : undefined;
  if (name !== '' && algorithm === undefined) {
    r.fail(
      'unsupported-algorithm',
      joinPath(at, 'algorithm'),
      `must be one of ${SIGNATURE_ALGORITHMS.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  const keyId = r.string(s, 'keyId', at, 253);
  if (keyId !== '' && !isValidKeyId(keyId))
    r.fail('bad-value', joinPath(at, 'keyId'), 'must match [A-Za-z0-9._-]{1,253}');
  const value = readSignatureValue(r, s, at, algorithm);
  return { algorithm: algorithm ?? V2_ALGORITHM, keyId, value };
}

function readHeader(r: FieldReader, o: Obj, path: string): void {
  if (o.apiVersion !== V2_API_VERSION)
    r.fail('bad-value', joinPath(path, 'apiVersion'), `must be "${V2_API_VERSION}"`);
  if (o.kind !== V2_KIND) r.fail('bad-value', joinPath(path, 'kind'), `must be "${V2_KIND}"`);
}

function readTimes(r: FieldReader, o: Obj, path: string): Pick<ManifestV2, 'signedAt' | 'expiresAt'> {
  const signedAt = r.timestamp(o, 'signedAt', path, true);
  if (o.expiresAt === undefined) return { signedAt };
  const expiresAt = r.timestamp(o, 'expiresAt', path, true);
  const from = parseTimestamp(signedAt, true);
  const to = parseTimestamp(expiresAt, true);
  if (from !== undefined && to !== undefined && to <= from)
    r.fail('bad-timestamp', joinPath(path, 'expiresAt'), 'must be after signedAt');
  return { signedAt, expiresAt };
}

/** Validate an untrusted parsed value as a v2 manifest. Unknown fields are refused (except in claims). */
export function parseV2(value: unknown, path = ''): Result<ManifestV2> {
  const r = new FieldReader();
  const o = r.object(value, path, 'a v2 manifest object');
  readHeader(r, o, path);
  r.onlyKeys(o, TOP_FIELDS, path);
  const model = readModel(r, o, path);
  const files = readFiles(r, o, path);
  const claims = readClaims(r, o, path);
  const times = readTimes(r, o, path);
  const signature = readSignature(r, o, path);
  return r.result({ apiVersion: V2_API_VERSION, kind: V2_KIND, model, files, claims, ...times, signature });
}

/** The exact text a v2 signature covers: JCS of the manifest without `signature`. */
export function v2SigningPayload(m: UnsignedManifestV2 | ManifestV2): string {
  const unsigned: Obj = {
    apiVersion: m.apiVersion,
    kind: m.kind,
    model: m.model,
    files: m.files,
    claims: m.claims,
    signedAt: m.signedAt,
  };
  if (m.expiresAt !== undefined) unsigned.expiresAt = m.expiresAt;
  const text = canonicalize(unsigned);
  if (text === undefined) throw new Error('manifest cannot be canonicalized');
  return text;
}

/** Sign an unsigned v2 manifest with an HMAC key; undefined when the keyring has no such HMAC key. */
export function signV2(m: UnsignedManifestV2, keyring: Keyring, keyId: string): ManifestV2 | undefined {
  const value = keyring.sign(keyId, v2SigningPayload(m));
  if (value === undefined) return undefined;
  return { ...m, signature: { algorithm: V2_ALGORITHM, keyId, value } };
}

/** Whatever signs a v2 payload: an HMAC key or a private key (src/keys/signer.ts). */
export interface ManifestSigner {
  readonly keyId: string;
  readonly algorithm: SignatureAlgorithm;
  /** The `signature.value` text for this payload, in the algorithm's encoding. */
  sign(payload: string): string;
}

/** Sign an unsigned v2 manifest with any signer. */
export function signV2With(m: UnsignedManifestV2, signer: ManifestSigner): ManifestV2 {
  const value = signer.sign(v2SigningPayload(m));
  return { ...m, signature: { algorithm: signer.algorithm, keyId: signer.keyId, value } };
}

/** The file a CI job writes: pretty JSON with a final newline. */
export function formatV2(m: ManifestV2): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** True when a parsed value looks like it means to be v2 (for format detection). */
export function looksLikeV2(v: unknown): boolean {
  return isObject(v) && ('apiVersion' in v || 'kind' in v);
}
