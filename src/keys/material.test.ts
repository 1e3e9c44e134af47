import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyPairs, PUBLIC_KEY_TYPES, refusedPublicPems } from '../../test/fixtures/keypairs.js';
import { KeyLoadError, parseVerificationKey } from './material.js';

const bytes = (s: string | Buffer): Buffer => Buffer.from(s);
const p256 = keyPairs['ec-p256'];

/** The refusal for `content` loaded as key "k1": a KeyLoadError naming the id, never the content. */
function refusal(content: string | Buffer): KeyLoadError {
  try {
    parseVerificationKey('k1', bytes(content));
  } catch (err) {
    expect(err).toBeInstanceOf(KeyLoadError);
    const e = err as KeyLoadError;
    expect(e.message).toMatch(/^key "k1" /);
    const text = Buffer.isBuffer(content) ? content.toString('latin1') : content;
    // No line of the key's body (PEM base64) appears in the message.
    for (const line of text.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')))
      expect(e.message).not.toContain(line);
    return e;
  }
  throw new Error('not refused');
}

describe('parseVerificationKey: what a keys-Secret file is', () => {
  it.each(PUBLIC_KEY_TYPES)('a PEM "PUBLIC KEY" of type %s is a public key of that type', (type) => {
    const parsed = parseVerificationKey('k1', bytes(keyPairs[type].publicPem));
    expect(parsed.type).toBe(type);
    expect(parsed.key.type).toBe('public');
  });

  it('a public key with CRLF line ends and without a final newline is the same key', () => {
    const crlf = p256.publicPem.trimEnd().replace(/\n/g, '\r\n');
    const parsed = parseVerificationKey('k1', bytes(crlf));
    expect(parsed.type).toBe('ec-p256');
    expect(parsed.type !== 'hmac' && parsed.digest).toBe((parseVerificationKey('k1', bytes(p256.publicPem)) as { digest: string }).digest);
  });

  it.each([
    ['printable text', 'ci-signing-key-2026'],
    ['64 hex characters (what keygen --type hmac writes)', 'a'.repeat(64)],
    ['random bytes', randomBytes(48)],
    ['text starting with "0" (0x30, a DER SEQUENCE tag)', '0123456789abcdef'],
  ])('%s stays an HMAC secret', (_n, content) => {
    expect(parseVerificationKey('k1', bytes(content)).type).toBe('hmac');
  });

  it.each([
    ['PKCS#8 "PRIVATE KEY" (EC)', p256.privatePem],
    ['PKCS#8 "PRIVATE KEY" (Ed25519)', keyPairs.ed25519.privatePem],
    ['SEC1 "EC PRIVATE KEY"', p256.privateKey.export({ format: 'pem', type: 'sec1' }) as string],
    ['"RSA PRIVATE KEY"', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string],
    ['"ENCRYPTED PRIVATE KEY"', p256.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string],
    ['"OPENSSH PRIVATE KEY"', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n'],
    ['DER PKCS#8', p256.privateKey.export({ format: 'der', type: 'pkcs8' })],
    ['a private key with its public key after it', `${p256.privatePem}${p256.publicPem}`],
  ])('a private key is refused: %s', (_n, content) => {
    const e = refusal(content);
    expect(e.message).toMatch(/private key/);
    expect(e.message).toMatch(/must not be able to sign/);
    expect(e.message).toMatch(/public key there instead/);
  });

  it.each(Object.entries(refusedPublicPems()))('an unsupported public key is refused: %s', (name, pem) => {
    const e = refusal(pem);
    expect(e.message).toMatch(name.startsWith('RSA') ? /RSA is not supported/ : /not supported/);
    expect(e.message).toContain('EC P-256, P-384, P-521 or Ed25519');
  });

  it('names the curve of a refused EC key', () => {
    expect(refusal(refusedPublicPems()['EC secp256k1']!).message).toContain('curve secp256k1');
  });

  it.each([
    ['a PKCS#1 "RSA PUBLIC KEY"', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'pkcs1' }) as string, /RSA/],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', /certificate: put its public key there/],
    ['another PEM block', '-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n', /PEM "FOO" block/],
    ['two public keys in one file', `${p256.publicPem}${keyPairs.ed25519.publicPem}`, /2 PEM blocks: one key per file/],
    ['text before the PEM block', `note: prod key\n${p256.publicPem}`, /well-formed/],
    ['a PEM body that is not base64', '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n', /well-formed/],
    ['mismatched END label', p256.publicPem.replace('END PUBLIC KEY', 'END PRIVATE KEX'), /well-formed/],
    ['a PEM body that is not SPKI', '-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n', /not a valid SubjectPublicKeyInfo/],
    ['a DER public key', p256.publicDer, /DER-encoded public key/],
    ['an OpenSSH public key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci@example', /OpenSSH public key/],
    ['an OpenSSH ECDSA public key', 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAy ci', /OpenSSH public key/],
    ['a JWK', JSON.stringify(p256.publicKey.export({ format: 'jwk' })), /JWK/],
  ])('refuses %s', (_n, content, message) => {
    expect(refusal(content).message).toMatch(message);
  });

  it('an HMAC made with the public key PEM as the secret is what the refusal prevents: a public key is never HMAC bytes', () => {
    const parsed = parseVerificationKey('k1', bytes(p256.publicPem.trimEnd()));
    expect(parsed.type).not.toBe('hmac');
    // For the record: anyone can compute this, which is why PEM text never becomes an HMAC key.
    expect(createHmac('sha256', p256.publicPem).update('x').digest('hex')).toHaveLength(64);
  });
});

describe('property: any file content either loads or is refused with a KeyLoadError, never a crash', () => {
  const outcome = (content: Uint8Array): string => {
    try {
      return parseVerificationKey('k1', content).type;
    } catch (err) {
      expect(err).toBeInstanceOf(KeyLoadError);
      return 'refused';
    }
  };

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), (b) => {
        expect(['hmac', 'refused']).toContain(outcome(b));
      }),
      { numRuns: 500 },
    );
  });

  it('PEM-looking text with a random body', () => {
    fc.assert(
      fc.property(fc.constantFrom('PUBLIC KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'CERTIFICATE'), fc.base64String({ maxLength: 300 }), (label, body) => {
        const text = `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
        expect(outcome(Buffer.from(text))).toBe('refused');
      }),
      { numRuns: 300 },
    );
  });

  it('a real public key with one byte of its DER changed loads as the same type or is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: p256.publicDer.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, by) => {
        const der = Buffer.from(p256.publicDer);
        der[i] = (der[i]! + by) % 256;
        const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`;
        expect(['ec-p256', 'refused']).toContain(outcome(Buffer.from(pem)));
      }),
      { numRuns: 300 },
    );
  });
});
