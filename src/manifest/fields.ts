/**
 * Field-by-field validation of untrusted manifest objects. A FieldReader records the FIRST
 * problem it meets (with its field path) and hands back harmless placeholders afterwards, so a
 * validator reads top to bottom and checks `reader.problem` once at the end.
 */
import { isObject, type Obj } from '../json/object.js';
import type { Problem, Result } from './types.js';

const SHA256_RE = /^[0-9a-f]{64}$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * `files[0].sha256`. A base ending in ':' is an origin (`annotation modelgate.dev/manifest:`),
 * which field names follow directly: `annotation modelgate.dev/manifest:files[0].sha256`.
 */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' || base.endsWith(':') ? `${base}${key}` : `${base}.${key}`;
}

/** A path for the thing itself: a bare origin loses its trailing ':'. */
export function wholePath(path: string): string {
  return path.endsWith(':') ? path.slice(0, -1) : path;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Why `s` is not a lowercase sha256 hex digest, or undefined when it is one. */
export function digestError(s: string): string | undefined {
  if (SHA256_RE.test(s)) return undefined;
  if (/^[0-9a-fA-F]{64}$/.test(s))
    return 'must be lower-case hex (upper-case A-F found); sha256sum and modelgate sign print lower case';
  if (!/^[0-9a-fA-F]*$/.test(s)) return 'must contain only hex digits 0-9a-f';
  return `must be 64 hex characters (a SHA-256), got ${s.length}`;
}

/**
 * Epoch milliseconds of an ISO 8601 / RFC 3339 timestamp, or undefined when malformed or not a
 * real date. Without a zone (Python's naive `utcnow().isoformat()`) it is read as UTC.
 */
export function parseTimestamp(s: string, requireZone: boolean): number | undefined {
  const m = TIMESTAMP_RE.exec(s);
  if (!m || (requireZone && m[8] === undefined)) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const back = new Date(t);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    sec > 59
  ) {
    return undefined;
  }
  return t - zoneOffsetMs(m[8]);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

export class FieldReader {
  problem: Problem | undefined;

  fail(code: string, path: string, message: string): void {
    this.problem ??= { code, path, message };
  }

  result<T>(value: T): Result<T> {
    return this.problem ? { ok: false, problem: this.problem } : { ok: true, value };
  }

  object(v: unknown, path: string, what = 'an object'): Obj {
    if (isObject(v)) return v;
    this.fail(
      v === undefined ? 'missing-field' : 'wrong-type',
      wholePath(path),
      v === undefined ? `is required (${what})` : `must be ${what}, got ${typeName(v)}`,
    );
    return {};
  }

  onlyKeys(obj: Obj, allowed: readonly string[], path: string): void {
    const extra = Object.keys(obj).find((k) => !allowed.includes(k));
    if (extra !== undefined)
      this.fail(
        'unknown-field',
        joinPath(path, extra),
        `unknown field (allowed here: ${allowed.join(', ')})`,
      );
  }

  string(obj: Obj, key: string, path: string, maxLength = 1024): string {
    const v = obj[key];
    const at = joinPath(path, key);
    if (typeof v !== 'string') {
      this.fail(
        v === undefined ? 'missing-field' : 'wrong-type',
        at,
        v === undefined ? 'is required (a string)' : `must be a string, got ${typeName(v)}`,
      );
      return '';
    }
    if (v.length === 0) this.fail('bad-value', at, 'must not be empty');
    if (v.length > maxLength) this.fail('bad-value', at, `must be at most ${maxLength} characters`);
    return v;
  }

  digest(obj: Obj, key: string, path: string): string {
    const v = this.string(obj, key, path, 64);
    const why = v === '' ? undefined : digestError(v);
    if (why !== undefined) this.fail('bad-digest', joinPath(path, key), why);
    return v;
  }

  size(obj: Obj, key: string, path: string): number {
    const v = obj[key];
    const at = joinPath(path, key);
    if (typeof v !== 'number') {
      this.fail(
        v === undefined ? 'missing-field' : 'wrong-type',
        at,
        v === undefined ? 'is required (a byte count)' : `must be a number, got ${typeName(v)}`,
      );
      return 0;
    }
    if (!Number.isSafeInteger(v) || v < 0)
      this.fail('bad-size', at, `must be a non-negative whole number of bytes, got ${v}`);
    return v;
  }

  timestamp(obj: Obj, key: string, path: string, requireZone: boolean): string {
    const v = this.string(obj, key, path, 64);
    if (v !== '' && parseTimestamp(v, requireZone) === undefined) {
      const want = requireZone
        ? 'an RFC 3339 UTC time like 2026-04-26T03:15:42Z'
        : 'an ISO 8601 time like 2026-04-26T03:15:42.118203';
      this.fail('bad-timestamp', joinPath(path, key), `must be ${want}, got ${JSON.stringify(v)}`);
    }
    return v;
  }
}
