import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseStrictJson } from './json.js';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function hasForbiddenKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).some(([k, x]) => FORBIDDEN.has(k) || hasForbiddenKey(x));
  }
  return false;
}

describe('parseStrictJson', () => {
  it('agrees with JSON.parse on valid JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        fc.pre(!hasForbiddenKey(value));
        const text = JSON.stringify(value, null, indent);
        const got = parseStrictJson(text, { maxBytes: 1 << 20 });
        expect(got).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with JSON.parse on whether arbitrary text is JSON (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        let expected: boolean;
        try {
          JSON.parse(text);
          expected = true;
        } catch {
          expected = false;
        }
        const got = parseStrictJson(text);
        // We may reject more (duplicates, forbidden keys, lone surrogates), never accept more.
        if (!expected) expect(got.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses any object that repeats a key, at any depth (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 }),
        fc.nat(),
        fc.jsonValue({ maxDepth: 2 }),
        (obj, pick, other) => {
          fc.pre(!hasForbiddenKey(obj));
          const keys = Object.keys(obj);
          const dup = keys[pick % keys.length]!;
          const text = `[${JSON.stringify(obj).slice(0, -1)},${JSON.stringify(dup)}:${JSON.stringify(other)}}]`;
          const got = parseStrictJson(text, { maxBytes: 1 << 20 });
          expect(got.ok).toBe(false);
          expect(got.ok ? '' : got.problem.message).toContain(`duplicate key ${JSON.stringify(dup)}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a duplicate key', '{"a":1,"a":2}', 'duplicate key "a"'],
    ['a duplicate key written with an escape', '{"a":1,"\\u0061":2}', 'duplicate key "a"'],
    ['a __proto__ key', '{"__proto__":{"x":1}}', 'forbidden key "__proto__"'],
    ['a nested constructor key', '{"a":[{"constructor":1}]}', 'forbidden key "constructor"'],
    ['a prototype key', '{"prototype":1}', 'forbidden key "prototype"'],
    ['a lone surrogate', '"\\ud800"', 'lone UTF-16 surrogate'],
    ['trailing text', '{} {}', 'unexpected text after'],
    ['a trailing comma', '[1,]', 'unexpected character'],
    ['a raw control character', '"a\nb"', 'control character'],
    ['a bad escape', '"\\x"', 'malformed escape'],
    ['a leading zero', '01', 'unexpected text after'],
    ['NaN', 'NaN', 'unexpected character'],
    ['a huge number', '1e400', 'out of range'],
    ['empty text', '', 'unexpected end'],
    ['single quotes', "{'a':1}", 'expected a string key'],
  ])('rejects %s', (_name, text, fragment) => {
    const got = parseStrictJson(text, { path: 'annotation' });
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.problem.code).toBe('invalid-json');
    expect(got.problem.path).toBe('annotation');
    expect(got.problem.message).toContain(fragment);
  });

  it('rejects nesting deeper than the limit and accepts it at the limit', () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    expect(parseStrictJson(deep(MAX_JSON_DEPTH)).ok).toBe(true);
    const got = parseStrictJson(deep(MAX_JSON_DEPTH + 1));
    expect(got.ok).toBe(false);
    expect(got.ok ? '' : got.problem.message).toContain('nesting deeper');
  });

  it('does not overflow the stack on very deep input', () => {
    const got = parseStrictJson('['.repeat(50_000), { maxBytes: 1 << 20 });
    expect(got.ok).toBe(false);
  });

  it.each([
    ['ASCII over the limit', 'x'.repeat(101), 100],
    ['multi-byte text over the limit in UTF-8 but not in UTF-16', '"' + 'é'.repeat(60) + '"', 100],
  ])('rejects %s as too-large', (_name, text, maxBytes) => {
    const got = parseStrictJson(text, { maxBytes });
    expect(got).toEqual({
      ok: false,
      problem: { code: 'too-large', path: '', message: 'JSON text is larger than 100 bytes' },
    });
  });

  it('decodes escapes including surrogate pairs', () => {
    expect(parseStrictJson('"\\ud83d\\ude00 \\"\\\\\\/\\b\\f\\n\\r\\t"')).toEqual({
      ok: true,
      value: '😀 "\\/\b\f\n\r\t',
    });
  });
});
