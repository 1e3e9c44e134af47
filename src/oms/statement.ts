/**
 * The in-toto Statement inside an OMS bundle, parsed only after its signature was verified. Only
 * the model_signing predicate is accepted. The statement's subject digest is a hash over the
 * resource digests alone (it binds no file names), so modelgate never relies on it: the signed
 * `resources` list (name and digest of every file or shard) is what a model is pinned to.
 */
import type { Obj } from '../json/object.js';
import { FieldReader, joinPath } from '../manifest/fields.js';
import { parseStrictJson } from '../manifest/json.js';
import type { Result } from '../manifest/types.js';
import { filePathError } from '../manifest/v2.js';
import { MAX_OMS_BUNDLE_BYTES } from './bundle.js';
import type { OmsResource, OmsSerialization, OmsStatement } from './types.js';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const MODEL_SIGNING_PREDICATE = 'https://model_signing/signature/v1.0';
/** Files or shards one bundle may list: 4,096 (a 4 TB model in 1 GB shards); keeps checking bounded. */
export const MAX_OMS_RESOURCES = 4096;
export const MAX_OMS_IGNORE_PATHS = 64;
/** The one hash modelgate accepts: the verify step re-hashes files with SHA-256. */
export const OMS_HASH_TYPES: readonly string[] = ['sha256'];

const TOP_FIELDS = ['_type', 'subject', 'predicateType', 'predicate'] as const;
const SERIALIZATION_FIELDS = ['method', 'hash_type', 'shard_size', 'ignore_paths', 'allow_symlinks'] as const;
const RESOURCE_FIELDS = ['name', 'algorithm', 'digest'] as const;
const DECIMAL_RE = /^(0|[1-9]\d{0,15})$/;

function readSubject(r: FieldReader, o: Obj, path: string): string {
  const at = joinPath(path, 'subject');
  if (!Array.isArray(o.subject) || o.subject.length !== 1) {
    r.fail(o.subject === undefined ? 'missing-field' : 'wrong-type', at, 'must be a list of exactly one subject');
    return '';
  }
  const sAt = joinPath(at, 0);
  const s = r.object(o.subject[0], sAt, 'a subject {name, digest}');
  r.onlyKeys(s, ['name', 'digest'], sAt);
  const dAt = joinPath(sAt, 'digest');
  const d = r.object(s.digest, dAt, 'a digest {sha256}');
  r.onlyKeys(d, ['sha256'], dAt);
  r.digest(d, 'sha256', dAt); // shape only: it binds no file names, so nothing rests on it
  return r.string(s, 'name', sAt, 253);
}

function readIgnorePaths(r: FieldReader, s: Obj, at: string): string[] {
  const listAt = joinPath(at, 'ignore_paths');
  const list = s.ignore_paths ?? [];
  if (!Array.isArray(list) || list.length > MAX_OMS_IGNORE_PATHS) {
    r.fail('wrong-type', listAt, `must be a list of at most ${MAX_OMS_IGNORE_PATHS} paths`);
    return [];
  }
  return list.map((p, i) => {
    const itemAt = joinPath(listAt, i);
    if (typeof p !== 'string' || p === '' || p.length > 4096) {
      r.fail('wrong-type', itemAt, 'must be a non-empty string of at most 4096 characters');
      return '';
    }
    const why = filePathError(p);
    if (why !== undefined) r.fail('bad-path', itemAt, why);
    return p;
  });
}

function readShardSize(r: FieldReader, s: Obj, at: string, method: string): number | undefined {
  const v = s.shard_size;
  if (method !== 'shards') {
    if (v !== undefined) r.fail('bad-value', joinPath(at, 'shard_size'), 'is only for the shards method');
    return undefined;
  }
  // model_signing writes it as a float (1000000000.0); the value must still be a whole number of bytes.
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    r.fail(v === undefined ? 'missing-field' : 'bad-value', joinPath(at, 'shard_size'), 'must be a whole number of bytes >= 1');
    return undefined;
  }
  return v;
}

function readSerialization(r: FieldReader, p: Obj, path: string): OmsSerialization {
  const at = joinPath(path, 'serialization');
  const s = r.object(p.serialization, at, 'an object {method, hash_type, ...}');
  r.onlyKeys(s, SERIALIZATION_FIELDS, at);
  const method = r.string(s, 'method', at, 16);
  if (method !== '' && method !== 'files' && method !== 'shards')
    r.fail('bad-value', joinPath(at, 'method'), `must be "files" or "shards", got ${JSON.stringify(method)}`);
  const hashType = r.string(s, 'hash_type', at, 32);
  if (hashType !== '' && !OMS_HASH_TYPES.includes(hashType))
    r.fail('unsupported-hash', joinPath(at, 'hash_type'), `must be ${OMS_HASH_TYPES.join(' or ')} (the verify step re-hashes with it), got ${JSON.stringify(hashType)}`);
  if (typeof s.allow_symlinks !== 'boolean')
    r.fail(s.allow_symlinks === undefined ? 'missing-field' : 'wrong-type', joinPath(at, 'allow_symlinks'), 'must be true or false');
  const shardSize = readShardSize(r, s, at, method);
  const out: OmsSerialization = {
    method: method === 'shards' ? 'shards' : 'files',
    hashType,
    ignorePaths: readIgnorePaths(r, s, at),
    allowSymlinks: s.allow_symlinks === true,
  };
  if (shardSize !== undefined) out.shardSize = shardSize;
  return out;
}

/** `path:start:end` → its parts (the path may itself hold ':'), or why not. */
export function parseShardName(name: string): { file: string; start: number; end: number } | string {
  const last = name.lastIndexOf(':');
  const middle = last < 0 ? -1 : name.lastIndexOf(':', last - 1);
  if (middle <= 0) return 'must be "path:start:end" for a shard';
  const [start, end] = [name.slice(middle + 1, last), name.slice(last + 1)];
  if (!DECIMAL_RE.test(start) || !DECIMAL_RE.test(end)) return 'start and end must be decimal byte offsets';
  return { file: name.slice(0, middle), start: Number(start), end: Number(end) };
}

function fileNameError(file: string, single: boolean): string | undefined {
  if (file === '.') return single ? undefined : '"." (a single-file model) must be the only file';
  return filePathError(file);
}

function shardError(s: { start: number; end: number }, size: number): string | undefined {
  if (s.start % size !== 0) return `start ${s.start} is not a multiple of the shard size ${size}`;
  if (s.end < s.start || s.end - s.start > size) return `range ${s.start}:${s.end} is not within one shard of ${size} bytes`;
  return undefined;
}

function readResource(r: FieldReader, v: unknown, at: string, ser: OmsSerialization): OmsResource {
  const o = r.object(v, at, 'a resource {name, algorithm, digest}');
  r.onlyKeys(o, RESOURCE_FIELDS, at);
  const name = r.string(o, 'name', at, 4096 + 40);
  const algorithm = r.string(o, 'algorithm', at, 64);
  const digest = r.digest(o, 'digest', at);
  const want = ser.method === 'shards' ? `${ser.hashType}-sharded-${ser.shardSize ?? 0}` : ser.hashType;
  if (algorithm !== '' && algorithm !== want)
    r.fail('bad-value', joinPath(at, 'algorithm'), `must be "${want}" (from serialization), got ${JSON.stringify(algorithm)}`);
  if (ser.method === 'files') return { name, file: name, algorithm, digest };
  const shard = parseShardName(name);
  if (typeof shard === 'string') {
    r.fail('bad-path', joinPath(at, 'name'), shard);
    return { name, file: name, algorithm, digest };
  }
  const why = shardError(shard, ser.shardSize ?? 1);
  if (why !== undefined) r.fail('bad-value', joinPath(at, 'name'), why);
  return { name, algorithm, digest, ...shard };
}

function readResources(r: FieldReader, p: Obj, path: string, ser: OmsSerialization): OmsResource[] {
  const at = joinPath(path, 'resources');
  const list = p.resources;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OMS_RESOURCES) {
    r.fail(list === undefined ? 'missing-field' : 'wrong-type', at, `must be a list of 1 to ${MAX_OMS_RESOURCES} resources`);
    return [];
  }
  const resources = list.map((v, i) => readResource(r, v, joinPath(at, i), ser));
  const files = new Set(resources.map((x) => x.file));
  const seen = new Set<string>();
  resources.forEach((x, i) => {
    const why = x.file === '' ? undefined : fileNameError(x.file, files.size === 1);
    if (why !== undefined) r.fail('bad-path', joinPath(joinPath(at, i), 'name'), why);
    if (seen.has(x.name)) r.fail('bad-path', joinPath(joinPath(at, i), 'name'), `lists ${JSON.stringify(x.name)} twice`);
    seen.add(x.name);
  });
  return resources;
}

/** Validate a parsed value as a model_signing in-toto Statement. */
export function parseOmsStatementValue(value: unknown, path = ''): Result<OmsStatement> {
  const r = new FieldReader();
  const o = r.object(value, path, 'an in-toto Statement object');
  r.onlyKeys(o, TOP_FIELDS, path);
  if (o._type !== IN_TOTO_STATEMENT_V1) r.fail('bad-value', joinPath(path, '_type'), `must be "${IN_TOTO_STATEMENT_V1}"`);
  if (o.predicateType !== MODEL_SIGNING_PREDICATE)
    r.fail('unsupported-predicate', joinPath(path, 'predicateType'), `must be "${MODEL_SIGNING_PREDICATE}" (a model_signing signature)`);
  const name = readSubject(r, o, path);
  const pAt = joinPath(path, 'predicate');
  const p = r.object(o.predicate, pAt, 'an object {serialization, resources}');
  r.onlyKeys(p, ['serialization', 'resources'], pAt);
  const serialization = readSerialization(r, p, pAt);
  const resources = r.problem ? [] : readResources(r, p, pAt, serialization);
  return r.result({ name, serialization, resources });
}

/** Parse the signed payload bytes (strict JSON: no duplicate keys, bounded depth and size). */
export function parseOmsStatement(payload: Buffer, path: string): Result<OmsStatement> {
  const text = payload.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(payload))
    return { ok: false, problem: { code: 'bad-payload', path, message: 'the signed payload is not valid UTF-8' } };
  const json = parseStrictJson(text, { maxBytes: MAX_OMS_BUNDLE_BYTES, path });
  if (!json.ok) return json;
  return parseOmsStatementValue(json.value, path);
}
