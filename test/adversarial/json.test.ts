/**
 * Hostile JSON in manifest text: duplicate keys, prototype keys, huge and deeply nested
 * documents, too many manifests. Plus properties of the strict parser and parseManifests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deployment } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../../src/manifest/json.js';
import { MAX_MANIFESTS, MAX_MANIFEST_TEXT_BYTES, parseManifests } from '../../src/manifest/parse.js';
import { decide, expectDenied, v2Manifest } from './helpers.js';

const v1Body = vectors.manifestText.trim().slice(1, -1); // the members, without braces
const evilHash = 'e'.repeat(64);

/** Object.prototype must be untouched after every hostile parse. */
function expectPrototypeClean(): void {
  const probe: Record<string, unknown> = {};
  for (const name of ['polluted', 'isAdmin', 'allowed', 'file_hash', 'signature', 'mode']) {
    expect(probe[name], `Object.prototype.${name} was polluted`).toBeUndefined();
  }
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as { constructor: unknown }).constructor).toBe(Object);
}

describe('duplicate keys are refused, whichever copy is valid', () => {
  it.each([
    ['two file_hash keys, the first valid', `{${v1Body}, "file_hash": "${evilHash}"}`],
    ['two file_hash keys, the last valid', `{"file_hash": "${evilHash}", ${v1Body}}`],
    ['two signature keys', `{${v1Body}, "signature": "${'0'.repeat(64)}"}`],
    ['a duplicate spelled with a \\u escape', `{${v1Body}, "file\\u005fhash": "${evilHash}"}`],
  ])('%s', (_, text) => {
    expect(() => void JSON.parse(text)).not.toThrow(); // JSON.parse would silently keep one of them
    expectDenied(decide(deployment(text)), 'invalid-json');
  });

  it('a duplicate inside a v2 file entry (two sha256) is refused', () => {
    const m = JSON.stringify(v2Manifest());
    const text = m.replace(`"sha256":"${vectors.sha256}"`, `"sha256":"${vectors.sha256}","sha256":"${evilHash}"`);
    expect(text).not.toBe(m);
    expectDenied(decide(deployment(text)), 'invalid-json');
  });

  it('a duplicate claim in v2 claims is refused', () => {
    const text = JSON.stringify(v2Manifest()).replace('"scan":"passed"', '"scan":"passed","scan":"failed"');
    expectDenied(decide(deployment(text)), 'invalid-json');
  });
});

describe('__proto__, constructor and prototype keys', () => {
  it.each([
    ['top-level __proto__', `{"__proto__": {"polluted": true, "file_hash": "${evilHash}"}, ${v1Body}}`],
    ['__proto__ in v2 claims', JSON.stringify(v2Manifest()).replace('"claims":{', '"claims":{"__proto__":{"isAdmin":true},')],
    ['constructor.prototype', `{"constructor": {"prototype": {"polluted": true}}, ${v1Body}}`],
    ['prototype key', `{"prototype": {"allowed": true}, ${v1Body}}`],
    ['escaped \\u005f\\u005fproto\\u005f\\u005f', `{"\\u005f\\u005fproto\\u005f\\u005f": {"polluted": 1}, ${v1Body}}`],
    ['__proto__ inside a list of manifests', `[{${v1Body}}, {"__proto__": {"mode": "audit"}}]`],
  ])('%s: denied, and Object.prototype is unpolluted afterwards', (_, text) => {
    expectDenied(decide(deployment(text)), 'invalid-json');
    expectPrototypeClean();
  });

  it('the strict parser never puts a key onto a prototype, even when asked to parse one', () => {
    const r = parseStrictJson('{"a": {"__proto__": {"polluted": true}}}');
    expect(r.ok).toBe(false);
    expectPrototypeClean();
  });
});

describe('size, depth and count limits: a fast deny, never a stack overflow', () => {
  const fast = { timeout: 5_000 };

  it('100 000 levels of [ are refused at the depth limit', fast, () => {
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    const started = performance.now();
    expectDenied(decide(deployment(text)), /invalid-json|too-large/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('deep nesting inside v2 claims (just past the limit) is refused', fast, () => {
    const deep = '{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH);
    const text = JSON.stringify(v2Manifest()).replace('"claims":{', `"claims":{"x":${deep},`);
    const r = parseStrictJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.message).toMatch(/nesting deeper/);
    expectDenied(decide(deployment(text)));
  });

  it('unbalanced deep nesting (only openers) is refused', fast, () => {
    expectDenied(decide(deployment('{"a":'.repeat(50_000))), 'invalid-json');
  });

  it('a manifest text over the byte limit is refused without parsing it', fast, () => {
    const text = `{"model_path": "${'A'.repeat(MAX_MANIFEST_TEXT_BYTES)}", ${v1Body.replace(/"model_path"[^,]*,/, '')}}`;
    expectDenied(decide(deployment(text)), 'too-large');
  });

  it('one manifest over 64 KiB inside an otherwise small list is refused', fast, () => {
    const big = `{${v1Body.replace('"fraud-detector.onnx"', `"${'m'.repeat(70 * 1024)}"`)}}`;
    expectDenied(decide(deployment(`[${big}]`)), /too-large|bad-value/);
  });

  it('multi-byte characters count as bytes, not UTF-16 units', fast, () => {
    const r = parseStrictJson(`"${'€'.repeat(30_000)}"`, { maxBytes: 64 * 1024 });
    expect(r.ok).toBe(false); // 90 000 bytes of UTF-8, 30 000 units
  });

  it(`a list of ${MAX_MANIFESTS + 1} valid manifests (over the count limit) is refused`, fast, () => {
    const text = JSON.stringify(Array.from({ length: MAX_MANIFESTS + 1 }, (): unknown => JSON.parse(vectors.manifestText)));
    expectDenied(decide(deployment(text)), 'too-many');
  });

  it('100 000 empty objects in one list are refused by count, quickly', fast, () => {
    const text = `[${Array.from({ length: 100_000 }, () => '{}').join(',')}]`;
    expectDenied(decide(deployment(text)), /too-many|too-large/);
  });

  it('an empty list of manifests is a deny, not "no problems"', () => {
    expectDenied(decide(deployment('[]')), 'no-manifest');
  });

  it.each([
    ['a huge number', `{${v1Body.replace('1048583', '1e400')}}`],
    ['a negative size', `{${v1Body.replace('1048583', '-1')}}`],
    ['a fractional size', `{${v1Body.replace('1048583', '1.5')}}`],
    ['a lone surrogate in model_path', `{${v1Body.replace('fraud-detector.onnx', '\\ud800x.onnx')}}`],
    ['a raw NUL in a string', `{${v1Body.replace('fraud-detector.onnx', 'a\u0000b')}}`],
    ['trailing garbage', `{${v1Body}} {"more": 1}`],
    ['a BOM before the document', `\ufeff{${v1Body}}`],
    ['single quotes', `{${v1Body}}`.replace(/"/g, "'")],
    ['a trailing comma', `{${v1Body},}`],
    ['a comment', `{${v1Body}} // ok`],
    ['NaN', `{${v1Body.replace('1048583', 'NaN')}}`],
  ])('%s is refused', (_, text) => {
    expectDenied(decide(deployment(text)));
  });
});

describe('property: the strict parser', () => {
  /** JSON values without duplicate keys (fc.dictionary has unique keys), minus the refused key names. */
  const jsonWithoutForbiddenKeys = fc.jsonValue().filter((v) => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v)));

  it('agrees with JSON.parse on valid JSON without duplicate keys', () => {
    fc.assert(
      fc.property(jsonWithoutForbiddenKeys, fc.constantFrom(0, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const r = parseStrictJson(text, { maxBytes: 10 * 1024 * 1024, maxDepth: 1000 });
        expect(r).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary strings, and refuses everything JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json().map((j) => j.slice(0, -1))), (text) => {
        const r = parseStrictJson(text);
        let native = true;
        try {
          JSON.parse(text);
        } catch {
          native = false;
        }
        if (!native) expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on mutated JSON (one character replaced, inserted or deleted)', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 2 }), fc.nat({ max: 1 }), (json, at, insert, del) => {
        const i = json.length === 0 ? 0 : at % json.length;
        const text = json.slice(0, i) + insert + json.slice(i + del);
        expect(() => parseStrictJson(text)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: parseManifests never throws', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(() => parseManifests(text, 'annotation modelgate.dev/manifest')).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('on arbitrary JSON values and on manifests with any one field replaced by any JSON value', () => {
    const base = [JSON.parse(vectors.manifestText) as Record<string, unknown>, v2Manifest() as unknown as Record<string, unknown>];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.tuple(fc.constantFrom(...base), fc.string(), fc.jsonValue()).map(([m, k, v]) => {
            const keys = Object.keys(m);
            const key = keys.includes(k) ? k : keys[k.length % keys.length]!;
            return { ...m, [key]: v };
          }),
        ),
        (value) => {
          const r = parseManifests(JSON.stringify(value) ?? 'null', 'test');
          if (!r.ok) expect(r.problem.code).toMatch(/^[a-z-]+$/);
        },
      ),
      { numRuns: 500 },
    );
  });
});
