import { describe, expect, it } from 'vitest';
import { ALGORITHM_OF, ALGORITHMS, decodeSignatureValue, isSignatureAlgorithm, MAX_SIGNATURE_TEXT, SIGNATURE_ALGORITHMS } from './algorithms.js';

describe('the algorithm table', () => {
  it('binds each algorithm to one key type and back', () => {
    for (const a of SIGNATURE_ALGORITHMS) expect(ALGORITHM_OF[ALGORITHMS[a].keyType]).toBe(a);
    expect(SIGNATURE_ALGORITHMS).toEqual(['HMAC-SHA256', 'ECDSA-P256-SHA256', 'ECDSA-P384-SHA384', 'ECDSA-P521-SHA512', 'Ed25519']);
  });

  it.each(['hmac-sha256', 'ES256', 'EdDSA', 'ECDSA-P256-SHA512', 'toString', '__proto__', 'constructor', ''])(
    '%j is not an algorithm',
    (name) => {
      expect(isSignatureAlgorithm(name)).toBe(false);
    },
  );
});

describe('decodeSignatureValue: canonical base64 of a length the algorithm can produce', () => {
  const b64 = (n: number, fill = 7): string => Buffer.alloc(n, fill).toString('base64');

  it.each([
    ['Ed25519', 64],
    ['ECDSA-P256-SHA256', 8],
    ['ECDSA-P256-SHA256', 72],
    ['ECDSA-P384-SHA384', 104],
    ['ECDSA-P521-SHA512', 141],
  ] as const)('%s accepts %d bytes', (alg, n) => {
    expect(decodeSignatureValue(alg, b64(n))).toEqual(Buffer.alloc(n, 7));
  });

  it.each([
    ['Ed25519', '63 bytes', b64(63), /64 bytes, this one decodes to 63/],
    ['Ed25519', '65 bytes', b64(65), /64 bytes, this one decodes to 65/],
    ['ECDSA-P256-SHA256', '73 bytes', b64(73), /8 to 72 bytes/],
    ['ECDSA-P256-SHA256', '7 bytes', b64(7), /8 to 72 bytes/],
    ['ECDSA-P384-SHA384', '105 bytes', b64(105), /8 to 104 bytes/],
    ['ECDSA-P521-SHA512', '142 bytes (192 characters, over the text limit)', b64(142), /at most 188/],
    ['ECDSA-P256-SHA256', 'the empty string', '', /8 to 72/],
    ['ECDSA-P256-SHA256', 'unpadded base64', b64(64).replace(/=+$/, ''), /standard base64/],
    ['ECDSA-P256-SHA256', 'base64url', b64(64, 0xfb).replace(/\+/g, '-'), /standard base64/],
    ['ECDSA-P256-SHA256', 'a leading space', ` ${b64(64)}`, /standard base64/],
    ['ECDSA-P256-SHA256', 'a line break inside', `${b64(30)}\n${b64(30)}`, /standard base64/],
    ['ECDSA-P256-SHA256', 'non-zero unused bits', 'AAB=', /canonical/],
    ['ECDSA-P256-SHA256', 'one block over the limit', 'A'.repeat(MAX_SIGNATURE_TEXT + 4), /at most 188/],
    ['Ed25519', 'a megabyte of text', 'x'.repeat(1_000_000), /at most 188/],
  ] as const)('%s refuses %s', (alg, _what, text, why) => {
    const got = decodeSignatureValue(alg, text);
    expect(typeof got).toBe('string');
    expect(got).toMatch(why);
  });
});
