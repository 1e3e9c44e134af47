/**
 * The inputs of a CEL validation, built from the decision's facts: the admitted object and the old
 * one, the request, the verified models, the effective pod labels and the clock. Only verified
 * models reach `models`: the decision passes the manifests whose signature matched a loaded key,
 * and nothing else; a manifest that failed verification is a problem of its own, never an input.
 */
import { celList, celMap } from '@bufbuild/cel';
import type { CelInput } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import type { AdmissionRequest } from '../../admission/types.js';
import { parseTimestamp } from '../../manifest/fields.js';
import type { VerifiedModel } from '../../manifest/types.js';
import type { Workload } from '../../workload/types.js';

/** What `buildInputs` reads. */
export interface InputFacts {
  request: AdmissionRequest;
  workload: Workload;
  models: VerifiedModel[];
  now: Date;
}

type Json = null | boolean | number | bigint | string | Json[] | Map<string, Json> | Timestamp;

/**
 * JSON as CEL sees it: a whole number is an int (CEL `int`, as the API server's CEL reads
 * `replicas`), other numbers doubles; an object a Map, never a plain object, which the evaluator
 * would take for a protobuf message if it had a "$typeName" key (the object is the attacker's).
 * The decoder bounded the object's depth (MAX_JSON_DEPTH), so this recursion is bounded too.
 */
export function celJson(value: unknown): Json {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(celJson);
  if (typeof value === 'object') {
    const out = new Map<string, Json>();
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      if (v !== undefined) out.set(k, celJson(v));
    return out;
  }
  return null;
}

/**
 * The admitted object as CEL reads it, converted only where an expression reads it (a Deployment
 * has hundreds of fields; a policy reads a few): a read-only Map view of one JSON object whose
 * values are converted as celJson does, once each. Keys are the object's own properties only.
 * A JSON object is never read as a plain object: the evaluator would take one with a "$typeName"
 * key for a protobuf message.
 */
class JsonObjectView extends Map<string, unknown> {
  private readonly source: Record<string, unknown>;
  private readonly converted = new Map<string, unknown>();
  private names: string[] | undefined;

  constructor(source: Record<string, unknown>) {
    super(); // a Map, as the evaluator requires (instanceof), holding nothing itself
    this.source = source;
  }

  override get size(): number {
    return this.keyList().length;
  }

  override get(key: string): unknown {
    if (this.converted.has(key)) return this.converted.get(key);
    if (typeof key !== 'string' || !Object.hasOwn(this.source, key) || this.source[key] === undefined)
      return undefined;
    const value = jsonView(this.source[key]);
    this.converted.set(key, value);
    return value;
  }

  override has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  override keys(): MapIterator<string> {
    return this.keyList()[Symbol.iterator]();
  }

  override *values(): MapIterator<unknown> {
    for (const k of this.keyList()) yield this.get(k);
  }

  override *entries(): MapIterator<[string, unknown]> {
    for (const k of this.keyList()) yield [k, this.get(k)];
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(callback: (value: unknown, key: string, map: Map<string, unknown>) => void): void {
    for (const k of this.keyList()) callback(this.get(k), k, this);
  }

  private keyList(): string[] {
    this.names ??= Object.keys(this.source).filter((k) => this.source[k] !== undefined);
    return this.names;
  }
}

/** One JSON value as CEL reads it: objects as lazy views, lists converted one level at a time. */
export function jsonView(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(jsonView);
  if (value !== null && typeof value === 'object')
    return new JsonObjectView(value as Record<string, unknown>);
  return value ?? null;
}

function timestamp(text: string | undefined): Timestamp | null {
  if (text === undefined) return null;
  const ms = parseTimestamp(text, false);
  return ms === undefined ? null : timestampFromDate(new Date(ms));
}

/**
 * One verified model, in terms every manifest format can fill (v1, v2 and others to come):
 * absent facts are null (v1 has no version, source or signed claims).
 */
export function modelInput(m: VerifiedModel): Map<string, Json> {
  const suffix = m.version === undefined ? '' : `@${m.version}`;
  const name = suffix !== '' && m.name.endsWith(suffix) ? m.name.slice(0, -suffix.length) : m.name;
  return new Map<string, Json>([
    ['name', name],
    ['version', m.version ?? null],
    ['source', m.source ?? null],
    ['format', m.format],
    ['keyId', m.keyId],
    ['files', m.files.map((f) => celJson({ path: f.path, sha256: f.sha256, size: f.size }))],
    ['signedAt', timestamp(m.signedAt)],
    ['expiresAt', timestamp(m.expiresAt)],
    ['claims', celJson(m.claims)],
  ]);
}

function requestInput(r: AdmissionRequest): Json {
  return celJson({
    operation: r.operation,
    namespace: r.namespace ?? '',
    name: r.name ?? '',
    dryRun: r.dryRun === true,
    kind: { group: r.kind.group, version: r.kind.version, kind: r.kind.kind },
    subResource: r.subResource ?? '',
    userInfo: {
      username: r.userInfo.username,
      uid: r.userInfo.uid ?? '',
      groups: r.userInfo.groups ?? [],
      extra: r.userInfo.extra ?? {},
    },
  });
}

/**
 * Small inputs as CEL values once per request: the evaluator otherwise wraps a plain object
 * again at every access, in every expression (bench/cel.ts: ~40% of a simple validation).
 * The object stays JSON (Maps, lists), wrapped only where an expression reads it.
 */
function prewrapped(value: Json): CelInput {
  if (Array.isArray(value)) return celList(value.map(prewrapped));
  if (value instanceof Map)
    return celMap(new Map([...value].map(([k, v]): [string, CelInput] => [k, prewrapped(v)])));
  return value;
}

/** The bindings of every expression of one rule for one request (variables are added as they run). */
export function buildInputs(facts: InputFacts): Record<string, unknown> {
  return {
    object: jsonView(facts.request.object ?? {}),
    oldObject: facts.request.oldObject ? jsonView(facts.request.oldObject) : null,
    request: prewrapped(requestInput(facts.request)),
    models: prewrapped(facts.models.map(modelInput)),
    labels: prewrapped(celJson(facts.workload.labels)),
    now: timestampFromDate(facts.now),
  };
}
