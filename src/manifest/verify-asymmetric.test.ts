/** v2 manifests signed with key pairs: round trips per algorithm, tampering, key-type binding. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyPairs, newKeyPair, PUBLIC_KEY_TYPES } from '../../test/fixtures/keypairs.js';
import { ALGORITHM_OF, ALGORITHMS, decodeSignatureValue, type PublicKeyType } from '../keys/algorithms.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { privateKeySigner } from '../keys/signer.js';
import { parseManifests } from './parse.js';
import type { Manifest, ManifestV2 } from './types.js';
import { signV2, signV2With, v2SigningPayload, type UnsignedManifestV2 } from './v2.js';
import { verifyManifest, type VerifyOptions } from './verify.js';

const HMAC_SECRET = 'ci-signing-key-2026';
const keyring = new MemoryKeyring([
  ['ci-hmac', Buffer.from(HMAC_SECRET)],
  ...PUBLIC_KEY_TYPES.map((t) => [`ci-${t}`, Buffer.from(keyPairs[t].publicPem)] as const),
]);

const unsigned: UnsignedManifestV2 = {
  apiVersion: 'modelgate.dev/v1',
  kind: 'ModelManifest',
  model: { name: 'fraud-detector', version: '3', source: 'ci' },
  files: [{ path: 'model.onnx', sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927', size: 1048583 }],
  claims: { scan: 'passed' },
  signedAt: '2026-04-26T03:15:42Z',
};

const signedBy = (t: PublicKeyType, keyId = `ci-${t}`): ManifestV2 =>
  signV2With(unsigned, privateKeySigner(keyId, keyPairs[t].privateKey, t));

/** Through the parser, as the webhook reads it: the text a pod spec would carry. */
function check(m: ManifestV2 | Record<string, unknown>, opts: Partial<VerifyOptions> = {}): { ok: boolean; code?: string; message?: string } {
  const parsed = parseManifests(JSON.stringify(m), 'test');
  if (!parsed.ok) return { ok: false, code: parsed.problem.code, message: parsed.problem.message };
  const r = verifyManifest(parsed.value[0] as Manifest, keyring, { origin: 'test', ...opts });
  return r.ok ? { ok: true } : { ok: false, code: r.problem.code, message: r.problem.message };
}

describe.each(PUBLIC_KEY_TYPES)('%s', (t) => {
  const m = signedBy(t);

  it('signs with the algorithm the key is bound to and verifies, naming the key id', () => {
    expect(m.signature.algorithm).toBe(ALGORITHM_OF[t]);
    const parsed = parseManifests(JSON.stringify(m), 'test');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const r = verifyManifest(parsed.value[0]!, keyring, { origin: 'test' });
    expect(r).toMatchObject({ ok: true, value: { keyId: `ci-${t}`, format: 'v2', name: 'fraud-detector@3' } });
  });

  it.each([
    ['files[0].sha256', (x: ManifestV2) => void (x.files[0]!.sha256 = 'f'.repeat(64))],
    ['files[0].size', (x: ManifestV2) => void (x.files[0]!.size += 1)],
    ['claims.scan', (x: ManifestV2) => void (x.claims.scan = 'skipped')],
    ['model.version', (x: ManifestV2) => void (x.model.version = '4')],
    ['expiresAt added', (x: ManifestV2) => void (x.expiresAt = '2099-01-01T00:00:00Z')],
  ])('refuses the manifest with %s changed after signing', (_n, mutate) => {
    const bad = structuredClone(m);
    mutate(bad);
    expect(check(bad)).toMatchObject({ ok: false, code: 'bad-signature' });
  });

  it('refuses a signature from another key pair of the same type under this id', () => {
    const other = signV2With(unsigned, privateKeySigner(`ci-${t}`, newKeyPair(t).privateKey, t));
    expect(check(other)).toMatchObject({ ok: false, code: 'bad-signature' });
  });

  it('honours policy by key id exactly as for HMAC: trusted, untrusted, revoked', () => {
    expect(check(m, { trustedKeyIds: [`ci-${t}`] }).ok).toBe(true);
    expect(check(m, { trustedKeyIds: ['ci-hmac'] })).toMatchObject({ ok: false, code: 'untrusted-key' });
    expect(check(m, { revokedKeyIds: [`ci-${t}`] })).toMatchObject({ ok: false, code: 'revoked-key' });
    expect(check(signedBy(t, 'not-loaded'))).toMatchObject({ ok: false, code: 'unknown-key' });
  });
});

describe('the algorithm is bound to the key type: no algorithm confusion', () => {
  const payload = v2SigningPayload(unsigned);
  const withSig = (algorithm: string, keyId: string, value: string): Record<string, unknown> => ({ ...unsigned, signature: { algorithm, keyId, value } });

  it.each(PUBLIC_KEY_TYPES)('an HMAC-SHA256 claim against the %s public key id is algorithm-mismatch, even with an HMAC keyed by its PEM or DER', (t) => {
    for (const secret of [keyPairs[t].publicPem, keyPairs[t].publicPem.trimEnd(), keyPairs[t].publicDer]) {
      const forged = createHmac('sha256', secret).update(payload).digest('hex');
      const r = check(withSig('HMAC-SHA256', `ci-${t}`, forged));
      expect(r).toMatchObject({ ok: false, code: 'algorithm-mismatch' });
      expect(r.message).toContain(`key "ci-${t}" is an`);
    }
  });

  it.each(PUBLIC_KEY_TYPES)('a %s signature presented for the HMAC key id is algorithm-mismatch', (t) => {
    const m = signedBy(t, 'ci-hmac');
    expect(check(m)).toMatchObject({ ok: false, code: 'algorithm-mismatch' });
  });

  it('an HMAC manifest still verifies beside the public keys (control)', () => {
    expect(check(signV2(unsigned, keyring, 'ci-hmac')!).ok).toBe(true);
  });

  it.each([
    ['ec-p256', 'ECDSA-P384-SHA384'],
    ['ec-p256', 'ECDSA-P521-SHA512'],
    ['ec-p384', 'ECDSA-P256-SHA256'],
    ['ec-p521', 'ECDSA-P256-SHA256'],
    ['ec-p256', 'Ed25519'],
    ['ed25519', 'ECDSA-P256-SHA256'],
  ] as const)('a %s key with a manifest claiming %s is algorithm-mismatch', (t, claimed) => {
    const m = signedBy(t);
    // A value of a length the claimed algorithm allows, so the key-type check is what refuses.
    const fits = typeof decodeSignatureValue(claimed, m.signature.value) !== 'string';
    const value = fits ? m.signature.value : Buffer.alloc(ALGORITHMS[claimed].minBytes === 64 ? 64 : 70, 1).toString('base64');
    const r = check({ ...m, signature: { ...m.signature, algorithm: claimed, value } });
    expect(r).toMatchObject({ ok: false, code: 'algorithm-mismatch' });
    expect(r.message).toContain(`which verifies ${ALGORITHM_OF[t]} only`);
  });

  it('the key-type check runs after trust: an untrusted or revoked key says so first', () => {
    const m = signedBy('ec-p256', 'ci-hmac');
    expect(check(m, { revokedKeyIds: ['ci-hmac'] })).toMatchObject({ ok: false, code: 'revoked-key' });
    expect(check(m, { trustedKeyIds: ['ci-ec-p256'] })).toMatchObject({ ok: false, code: 'untrusted-key' });
  });

  it('a v1 manifest is never checked against a public key', () => {
    const hash = unsigned.files[0]!.sha256;
    const pubOnly = new MemoryKeyring([['ci-ec', Buffer.from(keyPairs['ec-p256'].publicPem)]]);
    const v1 = {
      model_path: 'model.onnx',
      file_hash: hash,
      signature: createHmac('sha256', keyPairs['ec-p256'].publicPem).update(hash).digest('hex'),
      signed_at: '2026-04-26T03:15:42',
      file_size: 1,
    };
    const parsed = parseManifests(JSON.stringify(v1), 'test');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const r = verifyManifest(parsed.value[0]!, pubOnly, { origin: 'test' });
    expect(r).toMatchObject({ ok: false, problem: { code: 'unknown-key' } });
    expect(r.ok ? '' : r.problem.message).toMatch(/public keys verify v2 manifests only/);
  });
});

describe('signature.value grammar for the public-key algorithms (parsed before any key is used)', () => {
  const m = signedBy('ed25519');
  it.each([
    ['hex instead of base64', Buffer.from(m.signature.value, 'base64').toString('hex'), /64 bytes, this one decodes to 96/],
    ['truncated by one byte', Buffer.from(m.signature.value, 'base64').subarray(0, 63).toString('base64'), /64 bytes/],
    ['one byte too long', Buffer.concat([Buffer.from(m.signature.value, 'base64'), Buffer.alloc(1)]).toString('base64'), /64 bytes/],
    ['base64url', m.signature.value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') + 'A', /standard base64|canonical/],
    ['empty', '', /must not be empty/],
  ])('Ed25519 value %s is refused as bad-value', (_n, value, why) => {
    const r = check({ ...m, signature: { ...m.signature, value } });
    expect(r).toMatchObject({ ok: false, code: 'bad-value' });
    expect(r.message).toMatch(why);
  });
});
