import { createHash, createHmac, sign } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keyPairs, PUBLIC_KEY_TYPES } from '../../test/fixtures/keypairs.js';
import { ALGORITHM_OF, ALGORITHMS, SIGNATURE_ALGORITHMS, type AsymmetricAlgorithm, type PublicKeyType } from './algorithms.js';
import { MemoryKeyring } from './keyring.js';

const SECRET = 'ci-signing-key-2026';
const ring = new MemoryKeyring([
  ['ci-2026', Buffer.from(SECRET)],
  ['old', Buffer.from('previous-key')],
]);
const HASH = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';
const VECTOR_SIG = '094814c8f4832a5c1ecbc28c1f393c86c816b3d17617a10b526e74b8b70cbd6d';

describe('MemoryKeyring', () => {
  it('signs like the seed vector (HMAC-SHA256 over the hex hash)', () => {
    expect(ring.sign('ci-2026', HASH)).toBe(VECTOR_SIG);
    expect(ring.sign('ci-2026', HASH)).toBe(createHmac('sha256', SECRET).update(HASH).digest('hex'));
  });

  it.each([
    ['the right key and signature', 'ci-2026', VECTOR_SIG, true],
    ['another loaded key', 'old', VECTOR_SIG, false],
    ['an unknown key id', 'nope', VECTOR_SIG, false],
    ['upper-case hex', 'ci-2026', VECTOR_SIG.toUpperCase(), false],
    ['a short signature', 'ci-2026', VECTOR_SIG.slice(0, 62), false],
    ['a long signature', 'ci-2026', VECTOR_SIG + '00', false],
    ['non-hex characters', 'ci-2026', 'zz' + VECTOR_SIG.slice(2), false],
    ['an empty signature', 'ci-2026', '', false],
    ['one flipped nibble', 'ci-2026', VECTOR_SIG.slice(0, -1) + 'e', false],
  ])('verify with %s → %s', (_n, id, sig, want) => {
    expect(ring.verify(id, HASH, sig)).toBe(want);
  });

  it('lists ids sorted and never shows key bytes', () => {
    expect(ring.ids()).toEqual(['ci-2026', 'old']);
    expect(ring.has('old')).toBe(true);
    const shown = [
      JSON.stringify(ring),
      inspect(ring),
      inspect({ nested: ring }, { depth: 5, showHidden: true }),
      String(ring),
    ];
    for (const s of shown) {
      expect(s).toContain('ci-2026');
      expect(s).not.toContain(SECRET);
      expect(s).not.toContain('previous-key');
      expect(s).not.toContain(Buffer.from(SECRET).toString('hex'));
    }
    expect(Object.keys(ring)).toEqual([]);
  });

  it.each([
    ['an invalid id', [['a/b', Buffer.from('k')]], 'invalid key id "a/b"'],
    ['an empty key', [['empty', Buffer.alloc(0)]], 'key "empty" is empty'],
    [
      'a duplicate id',
      [
        ['a', Buffer.from('k')],
        ['a', Buffer.from('k')],
      ],
      'appears twice',
    ],
  ] as const)('refuses %s', (_n, entries, message) => {
    expect(() => new MemoryKeyring(entries)).toThrow(message);
  });
});

describe('MemoryKeyring with public keys beside HMAC secrets', () => {
  const MESSAGE = '{"apiVersion":"modelgate.dev/v1"}';
  const mixed = new MemoryKeyring([
    ['hmac-1', Buffer.from(SECRET)],
    ...PUBLIC_KEY_TYPES.map((t) => [t, Buffer.from(keyPairs[t].publicPem)] as const),
  ]);
  const signWith = (t: PublicKeyType, message = MESSAGE): string =>
    sign(ALGORITHMS[ALGORITHM_OF[t]].hash, Buffer.from(message), { key: keyPairs[t].privateKey, dsaEncoding: 'der' }).toString('base64');

  it('tells each key type by id', () => {
    expect(mixed.ids()).toEqual(['ec-p256', 'ec-p384', 'ec-p521', 'ed25519', 'hmac-1']);
    expect(PUBLIC_KEY_TYPES.map((t) => mixed.keyType(t))).toEqual(PUBLIC_KEY_TYPES);
    expect(mixed.keyType('hmac-1')).toBe('hmac');
    expect(mixed.keyType('nope')).toBeUndefined();
  });

  it.each(PUBLIC_KEY_TYPES)('%s: verifies its own algorithm, refuses a tampered message or signature', (t) => {
    const alg = ALGORITHM_OF[t] as AsymmetricAlgorithm;
    const sig = signWith(t);
    expect(mixed.verifyAsymmetric(t, alg, MESSAGE, sig)).toBe(true);
    expect(mixed.verifyAsymmetric(t, alg, `${MESSAGE} `, sig)).toBe(false);
    const bytes = Buffer.from(sig, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expect(mixed.verifyAsymmetric(t, alg, MESSAGE, bytes.toString('base64'))).toBe(false);
  });

  it.each(PUBLIC_KEY_TYPES)('%s: never verifies with another algorithm, even its own signature', (t) => {
    const sig = signWith(t);
    for (const other of SIGNATURE_ALGORITHMS.filter((a) => a !== ALGORITHM_OF[t] && a !== 'HMAC-SHA256'))
      expect(mixed.verifyAsymmetric(t, other as AsymmetricAlgorithm, MESSAGE, sig)).toBe(false);
  });

  it('a public key never signs and never verifies an HMAC, even one made with its own PEM or DER as the secret', () => {
    for (const t of PUBLIC_KEY_TYPES) {
      expect(mixed.sign(t, MESSAGE)).toBeUndefined();
      for (const secret of [keyPairs[t].publicPem, keyPairs[t].publicPem.trimEnd(), keyPairs[t].publicDer]) {
        const forged = createHmac('sha256', secret).update(MESSAGE).digest('hex');
        expect(mixed.verify(t, MESSAGE, forged)).toBe(false);
      }
    }
  });

  it('an HMAC secret never verifies an asymmetric algorithm', () => {
    const hmac = mixed.sign('hmac-1', MESSAGE)!;
    for (const alg of SIGNATURE_ALGORITHMS.filter((a) => a !== 'HMAC-SHA256')) {
      expect(mixed.verifyAsymmetric('hmac-1', alg, MESSAGE, Buffer.from(hmac, 'hex').toString('base64'))).toBe(false);
      expect(mixed.verifyAsymmetric('hmac-1', alg, MESSAGE, signWith('ec-p256'))).toBe(false);
    }
    expect(mixed.verify('hmac-1', MESSAGE, hmac)).toBe(true);
  });

  it('refuses malformed values without throwing: not base64, wrong length, DER garbage of the right length', () => {
    expect(mixed.verifyAsymmetric('ec-p256', 'ECDSA-P256-SHA256', MESSAGE, 'not base64!')).toBe(false);
    expect(mixed.verifyAsymmetric('ed25519', 'Ed25519', MESSAGE, Buffer.alloc(63).toString('base64'))).toBe(false);
    expect(mixed.verifyAsymmetric('ec-p256', 'ECDSA-P256-SHA256', MESSAGE, Buffer.alloc(70, 0x30).toString('base64'))).toBe(false);
    expect(mixed.verifyAsymmetric('nope', 'Ed25519', MESSAGE, signWith('ed25519'))).toBe(false);
  });

  it('names public keys by their SPKI digest; HMAC keys have none', () => {
    expect(mixed.publicKeyDigest('ec-p256')).toBe(createHash('sha256').update(keyPairs['ec-p256'].publicDer).digest('hex'));
    expect(mixed.publicKeyDigest('hmac-1')).toBeUndefined();
    expect(mixed.publicKeyDigest('nope')).toBeUndefined();
  });

  it('shows ids only, never key bytes', () => {
    const shown = [JSON.stringify(mixed), inspect(mixed, { showHidden: true, depth: 9 }), String(mixed)].join('\n');
    expect(shown).not.toContain(SECRET);
    for (const t of PUBLIC_KEY_TYPES) expect(shown).not.toContain(keyPairs[t].publicPem.split('\n')[1]);
  });
});
