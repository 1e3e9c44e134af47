/**
 * Strict JSON for untrusted manifest text.
 *
 * JSON.parse silently keeps the last of two duplicate keys, so `{"sha256": good, "sha256": evil}`
 * could be read one way by the verifier and another way by a different tool. This small
 * recursive-descent parser follows RFC 8259 and additionally refuses duplicate keys,
 * prototype-polluting keys, lone surrogates (RFC 8785 cannot canonicalize them), oversized
 * text and deep nesting. It never throws: every failure is a Problem.
 */
import type { Problem, Result } from './types.js';

/**
 * Largest manifest text accepted, in UTF-8 bytes. A real v2 manifest with a few dozen shards
 * and claims is ~4 KiB; 64 KiB leaves room while keeping a hostile annotation cheap to reject.
 */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** Deepest nesting of arrays/objects. A manifest needs 4 (array → manifest → claims → value). */
export const MAX_JSON_DEPTH = 32;

/** Keys that would reach Object.prototype when assigned naively somewhere downstream. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StrictJsonOptions {
  maxBytes?: number;
  maxDepth?: number;
  /** Used as Problem.path. */
  path?: string;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Internal control flow only: caught in parseStrictJson and turned into a Problem. */
class JsonSyntaxError extends Error {
  readonly offset: number;

  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}

/** In `u` mode a surrogate *pair* is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;

// Plain fields, not parameter properties: Node's type stripping (hack/gen-policy-schema.ts) reads this file.
class Parser {
  private pos = 0;
  private readonly text: string;
  private readonly maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(this.pos, message);
  }

  private skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  private parseValue(depth: number): JsonValue {
    const c = this.text[this.pos];
    if (c === '{') return this.parseObject(depth + 1);
    if (c === '[') return this.parseArray(depth + 1);
    if (c === '"') return this.parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.parseNumber();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, true);
    if (this.text.startsWith('false', this.pos)) return this.literal(5, false);
    if (this.text.startsWith('null', this.pos)) return this.literal(4, null);
    return this.fail(c === undefined ? 'unexpected end of text' : `unexpected character ${JSON.stringify(c)}`);
  }

  private literal<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    this.skipWhitespace();
  }

  private parseObject(depth: number): { [key: string]: JsonValue } {
    this.enter(depth);
    const out: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    if (this.text[this.pos] === '}') return this.literal(1, out);
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const keyAt = this.pos;
      const key = this.parseString();
      if (FORBIDDEN_KEYS.has(key)) throw new JsonSyntaxError(keyAt, `forbidden key ${JSON.stringify(key)}`);
      if (seen.has(key)) throw new JsonSyntaxError(keyAt, `duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      this.skipWhitespace();
      this.expect(':');
      this.skipWhitespace();
      out[key] = this.parseValue(depth);
      if (this.endOfList('}')) return out;
    }
  }

  private parseArray(depth: number): JsonValue[] {
    this.enter(depth);
    const out: JsonValue[] = [];
    if (this.text[this.pos] === ']') return this.literal(1, out);
    for (;;) {
      out.push(this.parseValue(depth));
      if (this.endOfList(']')) return out;
    }
  }

  /** After a member: `,` → continue (false), the closing bracket → done (true). */
  private endOfList(close: string): boolean {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === close) {
      this.pos++;
      return true;
    }
    this.expect(',');
    this.skipWhitespace();
    return false;
  }

  private expect(ch: string): void {
    if (this.text[this.pos] !== ch) this.fail(`expected ${JSON.stringify(ch)}`);
    this.pos++;
  }

  private parseNumber(): number {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.text);
    if (!m) this.fail('malformed number');
    this.pos += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    return n;
  }

  private parseString(): string {
    const t = this.text;
    let out = '';
    let start = ++this.pos;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos++);
        return checkWellFormed(out, this.pos);
      }
      if (c < 0x20) this.fail('control character in string (escape it)');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos) + this.parseEscape();
      start = this.pos;
    }
    return this.fail('unterminated string');
  }

  private parseEscape(): string {
    const e = this.text[this.pos + 1];
    if (e === 'u') {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('malformed \\u escape');
      this.pos += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    const decoded = e === undefined ? undefined : ESCAPES[e];
    if (decoded === undefined) this.fail('malformed escape');
    this.pos += 2;
    return decoded;
  }
}

function checkWellFormed(s: string, offset: number): string {
  if (LONE_SURROGATE_RE.test(s)) throw new JsonSyntaxError(offset, 'string contains a lone UTF-16 surrogate');
  return s;
}

/** Parse untrusted JSON text strictly. Never throws. */
export function parseStrictJson(text: string, opts: StrictJsonOptions = {}): Result<JsonValue> {
  const path = opts.path ?? '';
  const maxBytes = opts.maxBytes ?? MAX_MANIFEST_BYTES;
  // Cheap pre-check on UTF-16 length (≤ UTF-8 bytes) before counting bytes exactly.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    return problem(path, 'too-large', `JSON text is larger than ${maxBytes} bytes`);
  }
  try {
    return { ok: true, value: new Parser(text, opts.maxDepth ?? MAX_JSON_DEPTH).parseDocument() };
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      return problem(path, 'invalid-json', `invalid JSON at offset ${err.offset}: ${err.message}`);
    }
    // A RangeError from a pathological input (should not happen within the depth limit).
    return problem(path, 'invalid-json', `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function problem(path: string, code: string, message: string): Result<never> {
  const p: Problem = { code, path, message };
  return { ok: false, problem: p };
}
