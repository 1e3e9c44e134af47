import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryKeyring } from '../keys/keyring.js';
import { parseManifests } from './parse.js';
import type { Manifest, ManifestV2 } from './types.js';
import { signV2, type UnsignedManifestV2 } from './v2.js';
import { verifyManifest, type VerifyOptions } from './verify.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const VECTORS = VECTORS_DIR.replace(/\/$/, '');
const seedKey = readFileSync(`${VECTORS}/signing.key`);
const keyring = new MemoryKeyring([
  ['ci-2026', seedKey],
  ['other', Buffer.from('unrelated-key')],
]);

function load(file: string): Manifest {
  const r = parseManifests(readFileSync(`${VECTORS}/${file}`, 'utf8'), file);
  if (!r.ok) throw new Error(r.problem.message);
  return r.value[0]!;
}
const v1Good = load('fraud-detector.manifest.json');
const v1WrongKey = load('wrong-key.manifest.json');

const unsigned: UnsignedManifestV2 = {
  apiVersion: 'modelgate.dev/v1',
  kind: 'ModelManifest',
  model: { name: 'fraud-detector', version: '3', source: 'ci' },
  files: [
    {
      path: 'model.onnx',
      sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927',
      size: 1048583,
    },
  ],
  claims: { scan: 'passed' },
  signedAt: '2026-04-26T03:15:42Z',
  expiresAt: '2026-05-26T03:15:42Z',
};
const v2Good: Manifest = { format: 'v2', body: signV2(unsigned, keyring, 'ci-2026')! };
const v2 = (patch: (m: ManifestV2) => void): Manifest => {
  const body = structuredClone(v2Good.body);
  patch(body);
  return { format: 'v2', body };
};
const base: VerifyOptions = { origin: 'test' };

describe('verifyManifest', () => {
  it('accepts the seed vector with the seed key, naming the key, with a v1 warning', () => {
    const got = verifyManifest(v1Good, keyring, base);
    expect(got).toMatchObject({
      ok: true,
      value: {
        format: 'v1',
        keyId: 'ci-2026',
        name: 'fraud-detector.onnx',
        origin: 'test',
        signedAt: '2026-04-26T03:15:42.118203',
      },
    });
    expect(got.ok && got.value.files).toEqual([
      { path: 'fraud-detector.onnx', sha256: unsigned.files[0]!.sha256, size: 1048583 },
    ]);
    expect(got.ok && got.value.warnings?.[0]?.code).toBe('v1-weak-binding');
  });

  it('accepts a v2 manifest with its key', () => {
    const got = verifyManifest(v2Good, keyring, { ...base, now: new Date('2026-05-01T00:00:00Z') });
    expect(got).toMatchObject({
      ok: true,
      value: {
        format: 'v2',
        keyId: 'ci-2026',
        name: 'fraud-detector@3',
        source: 'ci',
        claims: { scan: 'passed' },
        expiresAt: '2026-05-26T03:15:42Z',
      },
    });
  });

  it.each([
    ['v1 signed with a key we do not have', v1WrongKey, base, 'bad-signature'],
    ['v1 whose signing key is revoked', v1Good, { ...base, revokedKeyIds: ['ci-2026'] }, 'revoked-key'],
    ['v1 whose signing key is not trusted', v1Good, { ...base, trustedKeyIds: ['other'] }, 'untrusted-key'],
    ['v1 when no allowed key is loaded', v1WrongKey, { ...base, trustedKeyIds: ['missing'] }, 'unknown-key'],
    [
      'v1 with an altered hash',
      { format: 'v1', body: { ...(v1Good.body as never as object), file_hash: 'f'.repeat(64) } } as Manifest,
      base,
      'bad-signature',
    ],
    ['v2 with a changed claim', v2((m) => (m.claims.scan = 'skipped')), base, 'bad-signature'],
    ['v2 with a changed file size', v2((m) => (m.files[0]!.size = 1)), base, 'bad-signature'],
    ['v2 with a changed expiry', v2((m) => (m.expiresAt = '2036-01-01T00:00:00Z')), base, 'bad-signature'],
    ['v2 naming an unloaded key', v2((m) => (m.signature.keyId = 'ci-2027')), base, 'unknown-key'],
    ['v2 naming a revoked key', v2Good, { ...base, revokedKeyIds: ['ci-2026'] }, 'revoked-key'],
    ['v2 naming an untrusted key', v2Good, { ...base, trustedKeyIds: ['other'] }, 'untrusted-key'],
    ['v2 signed by another loaded key', v2((m) => (m.signature.keyId = 'other')), base, 'bad-signature'],
    [
      'v2 with another algorithm',
      v2((m) => ((m.signature as { algorithm: string }).algorithm = 'none')),
      base,
      'unsupported-algorithm',
    ],
    ['v2 past its expiry', v2Good, { ...base, now: new Date('2026-06-01T00:00:00Z') }, 'expired'],
    [
      'v2 with a lone surrogate (cannot be canonicalized)',
      v2((m) => (m.model.name = '\ud800')),
      base,
      'bad-signature',
    ],
  ])('refuses %s', (_n, manifest, opts, code) => {
    const got = verifyManifest(manifest, keyring, opts);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problem).toMatchObject({ code, path: 'test' });
  });

  it('never puts key bytes in a problem', () => {
    const got = verifyManifest(v1WrongKey, keyring, base);
    expect(JSON.stringify(got)).not.toContain(seedKey.toString());
  });
});
