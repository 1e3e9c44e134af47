import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyPairs, PUBLIC_KEY_TYPES } from '../../test/fixtures/keypairs.js';
import { ALGORITHM_OF, type AsymmetricAlgorithm } from './algorithms.js';
import { MemoryKeyring } from './keyring.js';
import { KeyLoadError } from './material.js';
import { manifestSigner, parseSigningKey } from './signer.js';

const bytes = (s: string): Buffer => Buffer.from(s);

describe('parseSigningKey (modelgate sign only)', () => {
  it.each(PUBLIC_KEY_TYPES)('a PKCS#8 %s private key signs what its public key verifies', (t) => {
    const key = parseSigningKey('ci', bytes(keyPairs[t].privatePem));
    expect(key).toMatchObject({ kind: 'private', keyId: 'ci', type: t });
    const signer = manifestSigner(key);
    expect(signer.algorithm).toBe(ALGORITHM_OF[t]);
    const ring = new MemoryKeyring([['ci', bytes(keyPairs[t].publicPem)]]);
    expect(ring.verifyAsymmetric('ci', signer.algorithm as AsymmetricAlgorithm, 'payload', signer.sign('payload'))).toBe(true);
  });

  it('reads a SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey) too', () => {
    const sec1 = keyPairs['ec-p384'].privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    expect(parseSigningKey('ci', bytes(sec1))).toMatchObject({ kind: 'private', type: 'ec-p384' });
  });

  it('an HMAC key stays HMAC and signs HMAC-SHA256 hex', () => {
    const key = parseSigningKey('ci', bytes('ci-signing-key-2026'));
    expect(key.kind).toBe('hmac');
    expect(manifestSigner(key).algorithm).toBe('HMAC-SHA256');
    expect(manifestSigner(key).sign('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['a public key', keyPairs['ec-p256'].publicPem, /is a public key, which cannot sign: pass the private key/],
    ['an encrypted private key', keyPairs['ec-p256'].privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string, /is encrypted/],
    ['an RSA private key', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /RSA is not supported/],
    ['a secp256k1 private key', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /curve secp256k1/],
    ['a PKCS#1 RSA private key', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string, /PEM "RSA PRIVATE KEY" block/],
    ['a corrupt private key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /not a valid private key/],
  ])('refuses %s, naming the id only', (_n, pem, message) => {
    let err: unknown;
    try {
      parseSigningKey('ci', bytes(pem));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyLoadError);
    expect(String(err)).toMatch(message);
    expect(String(err)).not.toContain(pem.split('\n')[1]);
  });
});
