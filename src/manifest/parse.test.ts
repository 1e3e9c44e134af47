import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFESTS, parseManifests } from './parse.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const v1Text = readFileSync(`${VECTORS_DIR}fraud-detector.manifest.json`, 'utf8');
const v2Value = {
  apiVersion: 'modelgate.dev/v1',
  kind: 'ModelManifest',
  model: { name: 'm', version: '1', source: 's' },
  files: [{ path: 'm.bin', sha256: 'a'.repeat(64), size: 1 }],
  claims: {},
  signedAt: '2026-04-26T03:15:42Z',
  signature: { algorithm: 'HMAC-SHA256', keyId: 'k', value: 'b'.repeat(64) },
};
const v2Text = JSON.stringify(v2Value);
const ORIGIN = 'annotation modelgate.dev/manifest';

describe('parseManifests', () => {
  it.each([
    ['one v1 manifest', v1Text, ['v1']],
    ['one v2 manifest', v2Text, ['v2']],
    ['a list of both', `[${v1Text}, ${v2Text}]`, ['v1', 'v2']],
  ])('reads %s', (_n, text, formats) => {
    const got = parseManifests(text, ORIGIN);
    expect(got.ok && got.value.map((m) => m.format)).toEqual(formats);
  });

  it.each([
    ['invalid JSON', '{', 'invalid-json', ORIGIN],
    [
      'duplicate keys smuggling a second hash',
      v1Text.replace('"file_size"', `"file_hash": "${'0'.repeat(64)}", "file_size"`),
      'invalid-json',
      ORIGIN,
    ],
    ['an empty list', '[]', 'no-manifest', ORIGIN],
    [
      'too many manifests',
      `[${Array(MAX_MANIFESTS + 1)
        .fill(v2Text)
        .join(',')}]`,
      'too-many',
      ORIGIN,
    ],
    ['a string', '"hello"', 'wrong-type', ORIGIN],
    ['an unrelated object', '{"hello": 1}', 'unknown-format', ORIGIN],
    [
      'a bad second manifest, with its index',
      `[${v1Text}, ${v1Text.replace('"file_size": 1048583', '"file_size": "1048583"')}]`,
      'wrong-type',
      `${ORIGIN}:[1].file_size`,
    ],
    ['a bad v2 field', v2Text.replace('"m.bin"', '"../m.bin"'), 'bad-path', `${ORIGIN}:files[0].path`],
    [
      'one oversized manifest',
      `[${JSON.stringify({ ...v2Value, claims: { big: 'x'.repeat(70_000) } })}]`,
      'too-large',
      `${ORIGIN}[0]`,
    ],
  ])('refuses %s', (_n, text, code, path) => {
    const got = parseManifests(text, ORIGIN);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problem).toMatchObject({ code, path });
  });
});
