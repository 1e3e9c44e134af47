import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryKeyring } from '../keys/keyring.js';
import { filePathError, formatV2, parseV2, signV2, v2SigningPayload, type UnsignedManifestV2 } from './v2.js';

const keyring = new MemoryKeyring([['ci-2026', Buffer.from('ci-signing-key-2026')]]);
const unsigned: UnsignedManifestV2 = {
  apiVersion: 'modelgate.dev/v1',
  kind: 'ModelManifest',
  model: { name: 'fraud-detector', version: '3.1.0', source: 'git+https://example.com/ml/fraud@abc123' },
  files: [
    { path: 'shards/model-00001.bin', sha256: 'a'.repeat(64), size: 10 },
    { path: 'shards/model-00002.bin', sha256: 'b'.repeat(64), size: 20 },
  ],
  claims: { scan: 'passed', approvers: ['alice', 'bob'], dataClassification: 'internal', ticket: { id: 7 } },
  signedAt: '2026-04-26T03:15:42Z',
  expiresAt: '2026-07-25T03:15:42Z',
};
const signed = signV2(unsigned, keyring, 'ci-2026')!;

describe('v2 manifest', () => {
  it('signs the RFC 8785 canonical JSON of everything but the signature', () => {
    const payload = v2SigningPayload(unsigned);
    // JCS: keys sorted by UTF-16 code units, no whitespace.
    expect(
      payload.startsWith(
        '{"apiVersion":"modelgate.dev/v1","claims":{"approvers":["alice","bob"],"dataClassification":"internal","scan":"passed","ticket":{"id":7}},"expiresAt":',
      ),
    ).toBe(true);
    expect(signed.signature).toEqual({
      algorithm: 'HMAC-SHA256',
      keyId: 'ci-2026',
      value: createHmac('sha256', 'ci-signing-key-2026').update(payload).digest('hex'),
    });
    expect(v2SigningPayload(signed)).toBe(payload);
  });

  it('omits an absent expiresAt from the payload instead of writing null', () => {
    const noExpiry: UnsignedManifestV2 = { ...unsigned };
    delete noExpiry.expiresAt;
    expect(v2SigningPayload(noExpiry)).not.toContain('expiresAt');
  });

  it('parses what it formats', () => {
    expect(parseV2(JSON.parse(formatV2(signed)))).toEqual({ ok: true, value: signed });
  });

  type Loose = Record<string, any>;
  const at = (patch: (m: Loose) => void): unknown => {
    const copy = structuredClone(signed) as Loose;
    patch(copy);
    return copy;
  };
  it.each([
    ['a wrong apiVersion', at((m) => (m.apiVersion = 'v1')), 'bad-value', 'apiVersion'],
    ['an unknown top-level field', at((m) => (m.extra = 1)), 'unknown-field', 'extra'],
    ['an unknown model field', at((m) => (m.model.owner = 'x')), 'unknown-field', 'model.owner'],
    ['a missing model version', at((m) => delete m.model.version), 'missing-field', 'model.version'],
    ['no files', at((m) => (m.files = [])), 'wrong-type', 'files'],
    [
      'an upper-case digest',
      at((m) => (m.files[1].sha256 = 'B'.repeat(64))),
      'bad-digest',
      'files[1].sha256',
    ],
    ['a negative size', at((m) => (m.files[0].size = -5)), 'bad-size', 'files[0].size'],
    ['an absolute path', at((m) => (m.files[0].path = '/etc/passwd')), 'bad-path', 'files[0].path'],
    ['a .. segment', at((m) => (m.files[0].path = 'a/../../b')), 'bad-path', 'files[0].path'],
    ['a backslash', at((m) => (m.files[0].path = 'a\\b')), 'bad-path', 'files[0].path'],
    ['a duplicate path', at((m) => (m.files[1].path = m.files[0].path)), 'bad-path', 'files[1].path'],
    ['an unknown file field', at((m) => (m.files[0].mode = 'x')), 'unknown-field', 'files[0].mode'],
    ['approvers not a list', at((m) => (m.claims.approvers = 'alice')), 'wrong-type', 'claims.approvers'],
    [
      'customerFacing as a string',
      at((m) => (m.claims.customerFacing = 'yes')),
      'wrong-type',
      'claims.customerFacing',
    ],
    ['missing claims', at((m) => delete m.claims), 'missing-field', 'claims'],
    ['a signedAt without zone', at((m) => (m.signedAt = '2026-04-26T03:15:42')), 'bad-timestamp', 'signedAt'],
    [
      'expiresAt before signedAt',
      at((m) => (m.expiresAt = '2020-01-01T00:00:00Z')),
      'bad-timestamp',
      'expiresAt',
    ],
    [
      'another algorithm',
      at((m) => (m.signature.algorithm = 'HMAC-SHA1')),
      'unsupported-algorithm',
      'signature.algorithm',
    ],
    ['a bad key id', at((m) => (m.signature.keyId = 'a/b')), 'bad-value', 'signature.keyId'],
    ['a missing signature', at((m) => delete m.signature), 'missing-field', 'signature'],
  ])('rejects %s', (_n, value, code, path) => {
    const got = parseV2(value, 'cm:');
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problem).toMatchObject({ code, path: `cm:${path}` });
  });

  it.each([
    ['model.onnx', undefined],
    ['a/b/c.bin', undefined],
    ['..hidden/x', undefined],
    ['C:/x', 'must be relative'],
    ['a//b', 'empty or "."'],
    ['./a', 'empty or "."'],
    ['a\0b', 'NUL'],
  ])('file path %j', (p, fragment) => {
    const why = filePathError(p);
    if (fragment === undefined) expect(why).toBeUndefined();
    else expect(why).toContain(fragment);
  });

  it('keeps unknown claims as they are', () => {
    const got = parseV2(signed);
    expect(got.ok && got.value.claims.ticket).toEqual({ id: 7 });
  });
});
