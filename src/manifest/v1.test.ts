import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryKeyring } from '../keys/keyring.js';
import { parseStrictJson } from './json.js';
import { formatV1, parseV1, pythonJsonString, pythonUtcIsoformat, signV1 } from './v1.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const VECTORS = VECTORS_DIR.replace(/\/$/, '');
const vectorText = readFileSync(`${VECTORS}/fraud-detector.manifest.json`, 'utf8');
const vector = JSON.parse(vectorText) as Record<string, unknown>;
const keyring = new MemoryKeyring([['ci', readFileSync(`${VECTORS}/signing.key`)]]);

describe('v1 manifest', () => {
  it('formats the vector byte for byte (Python json.dumps(indent=2), no final newline)', () => {
    const parsed = parseV1(vector);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(formatV1(parsed.value)).toBe(vectorText);
  });

  it('signs the vector model the way the seed did', () => {
    const body = signV1(
      {
        modelPath: 'fraud-detector.onnx',
        sha256: vector.file_hash as string,
        size: 1048583,
        signedAt: new Date('2026-04-26T03:15:42.118Z'),
      },
      keyring,
      'ci',
    );
    expect(body).toEqual({ ...vector, signed_at: '2026-04-26T03:15:42.118000' });
    expect(
      signV1({ modelPath: 'm', sha256: 'a'.repeat(64), size: 0, signedAt: new Date() }, keyring, 'nope'),
    ).toBeUndefined();
  });

  it.each([
    ['plain ASCII', 'models/fraud.onnx', '"models/fraud.onnx"'],
    ['quotes and backslashes', 'a"b\\c', '"a\\"b\\\\c"'],
    ['control characters', '\n\t\r\b\f\u0001\u001f', '"\\n\\t\\r\\b\\f\\u0001\\u001f"'],
    ['DEL and Latin-1', '\u007fé', '"\\u007f\\u00e9"'],
    ['Thai text', 'โมเดล', '"\\u0e42\\u0e21\\u0e40\\u0e14\\u0e25"'],
    ['an astral character as a surrogate pair', '😀', '"\\ud83d\\ude00"'],
    ['a slash (not escaped by Python)', 'a/b', '"a/b"'],
  ])('escapes %s like Python ensure_ascii', (_n, input, want) => {
    expect(pythonJsonString(input)).toBe(want);
  });

  it.each([
    ['with microseconds', '2026-04-26T03:15:42.118Z', '2026-04-26T03:15:42.118000'],
    ['whole second (Python omits the fraction)', '2026-04-26T03:15:42.000Z', '2026-04-26T03:15:42'],
  ])('writes signed_at %s', (_n, iso, want) => {
    expect(pythonUtcIsoformat(new Date(iso))).toBe(want);
  });

  const bad = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...vector, ...patch });
  const without = (key: string): Record<string, unknown> =>
    Object.fromEntries(Object.entries(vector).filter(([k]) => k !== key));
  it.each([
    ['a missing file_hash', without('file_hash'), 'missing-field', 'file_hash', 'is required'],
    [
      'a numeric model_path',
      bad({ model_path: 5 }),
      'wrong-type',
      'model_path',
      'must be a string, got number',
    ],
    [
      'an upper-case hash',
      bad({ file_hash: (vector.file_hash as string).toUpperCase() }),
      'bad-digest',
      'file_hash',
      'lower-case',
    ],
    ['a short hash', bad({ file_hash: 'abc' }), 'bad-digest', 'file_hash', 'got 3'],
    ['a non-hex signature', bad({ signature: 'g'.repeat(64) }), 'bad-digest', 'signature', 'only hex digits'],
    ['a negative size', bad({ file_size: -1 }), 'bad-size', 'file_size', 'non-negative'],
    ['a fractional size', bad({ file_size: 1.5 }), 'bad-size', 'file_size', 'whole number'],
    ['a string size', bad({ file_size: '10' }), 'wrong-type', 'file_size', 'must be a number'],
    ['a non-date signed_at', bad({ signed_at: 'yesterday' }), 'bad-timestamp', 'signed_at', 'ISO 8601'],
    [
      'an impossible date',
      bad({ signed_at: '2026-02-30T00:00:00' }),
      'bad-timestamp',
      'signed_at',
      'ISO 8601',
    ],
    ['an unknown field', bad({ key_id: 'x' }), 'unknown-field', 'key_id', 'unknown field'],
    ['an empty model_path', bad({ model_path: '' }), 'bad-value', 'model_path', 'must not be empty'],
  ])('rejects %s', (...[, value, code, path, fragment]) => {
    const got = parseV1(value);
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.problem).toMatchObject({ code, path });
    expect(got.problem.message).toContain(fragment);
  });

  it('accepts timezone-aware timestamps (datetime.now(timezone.utc).isoformat())', () => {
    expect(parseV1(bad({ signed_at: '2026-04-26T03:15:42.118203+00:00' })).ok).toBe(true);
  });

  it('round-trips non-ASCII paths through the strict parser', () => {
    const body = { ...(vector as never as Parameters<typeof formatV1>[0]), model_path: 'โมเดล/ü.onnx' };
    const again = parseStrictJson(formatV1(body));
    expect(again).toEqual({ ok: true, value: body });
  });
});

const hasPython = spawnSync('python3', ['--version']).status === 0;
describe.skipIf(!hasPython)('formatV1 against the real Python json.dumps(indent=2)', () => {
  it('writes the same bytes for arbitrary model paths and sizes (property, one python3 run)', () => {
    const base = vector as never as Parameters<typeof formatV1>[0];
    const samples = fc.sample(
      fc.record({
        model_path: fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
        file_size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      }),
      { numRuns: 300, seed: 2026 },
    );
    const bodies = samples.map((x) => ({ ...base, ...x }));
    const script =
      'import json,sys\nfor m in json.load(sys.stdin): print(json.dumps(json.dumps(m, indent=2)))';
    const py = spawnSync('python3', ['-c', script], { input: JSON.stringify(bodies), encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const expected = py.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string);
    expect(bodies.map(formatV1)).toEqual(expected);
  });
});
