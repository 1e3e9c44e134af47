/**
 * Hostile manifests aimed at signature verification: tampered hash or signature, malformed
 * signatures, and algorithm confusion between v1 and v2. Each must end in a deny.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deployment } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { parseManifests } from '../../src/manifest/parse.js';
import { verifyManifest } from '../../src/manifest/verify.js';
import { decide, expectDenied, expectNoSecret, flipHex, keyring, v2Manifest } from './helpers.js';

const v1 = JSON.parse(vectors.manifestText) as Record<string, unknown>;
const v1Text = (over: Record<string, unknown>): string => JSON.stringify({ ...v1, ...over });
const v2Text = (mutate: (m: Record<string, any>) => void): string => {
  const m = structuredClone(v2Manifest()) as Record<string, any>;
  mutate(m);
  return JSON.stringify(m);
};

describe('tampered v1 manifests are denied', () => {
  it('the seed vector itself is admitted (the control case)', () => {
    expect(decide(deployment()).response.allowed).toBe(true);
  });

  it.each([
    ['a hash of other bytes, the signature left as it was', v1Text({ file_hash: flipHex(vectors.sha256, 10) })],
    ['the signature of another model', v1Text({ signature: keyring.sign('ci', 'f'.repeat(64)) })],
    ['a signature with its last digit changed', v1Text({ signature: flipHex(vectors.signature, 63) })],
    ['the hash re-signed with the signature of the hash, not HMAC', v1Text({ signature: vectors.sha256 })],
    ['a manifest signed with a key modelgate does not hold', vectors.wrongKeyManifestText],
  ])('%s', (_, text) => {
    expectDenied(decide(deployment(text)), /bad-signature|unknown-key/);
  });
});

describe('malformed signatures are refused before any HMAC is compared', () => {
  it.each([
    ['63 hex digits', vectors.signature.slice(0, 63)],
    ['65 hex digits', `${vectors.signature}0`],
    ['128 hex digits (a SHA-512 length)', vectors.signature.repeat(2)],
    ['the empty string', ''],
    ['upper-case hex of the right signature', vectors.signature.toUpperCase()],
    ['non-hex letters', `${vectors.signature.slice(0, 62)}zz`],
    ['base64 of the right signature bytes', Buffer.from(vectors.signature, 'hex').toString('base64')],
    ['surrounding whitespace', ` ${vectors.signature} `],
    ['a number', 1234],
    ['null', null],
    ['an array', [vectors.signature]],
  ])('signature as %s', (_, signature) => {
    expectDenied(decide(deployment(v1Text({ signature }))), /bad-digest|wrong-type|bad-value|missing-field/);
  });

  it('an upper-case file_hash (same bytes, other text) is refused, not normalised', () => {
    expectDenied(decide(deployment(v1Text({ file_hash: vectors.sha256.toUpperCase() }))), 'bad-digest');
  });
});

describe('algorithm confusion', () => {
  it.each(['none', 'HMAC-SHA1', 'hmac-sha256', 'HS256', 'HMAC-SHA256 ', ''])(
    'a v2 manifest claiming signature.algorithm %j is denied',
    (algorithm) => {
      const text = v2Text((m) => {
        m.signature.algorithm = algorithm;
      });
      expectDenied(decide(deployment(text)), /unsupported-algorithm|bad-value/);
    },
  );

  it('a v2 manifest with algorithm "none" and an empty signature value is denied', () => {
    const text = v2Text((m) => {
      m.signature = { algorithm: 'none', keyId: 'ci', value: '' };
    });
    expectDenied(decide(deployment(text)));
  });

  it('a v2 manifest without any signature is denied', () => {
    expectDenied(decide(deployment(v2Text((m) => delete m.signature))), 'missing-field');
  });

  it('a v1 manifest carrying v2 fields (apiVersion, files, claims) is denied, not read as either', () => {
    const text = v1Text({
      apiVersion: 'modelgate.dev/v1',
      kind: 'ModelManifest',
      claims: { scan: 'passed' },
      files: [{ path: 'evil.onnx', sha256: 'e'.repeat(64), size: 1 }],
    });
    expectDenied(decide(deployment(text)), 'unknown-field');
  });

  it('a v2 manifest whose signature.value is the v1 signature of its hash (format downgrade) is denied', () => {
    const text = v2Text((m) => {
      m.signature.value = vectors.signature;
    });
    expectDenied(decide(deployment(text)), 'bad-signature');
  });

  it('a v2 manifest claiming to be v1 (apiVersion v1, kind Manifest) is denied', () => {
    const text = v2Text((m) => {
      m.apiVersion = 'v1';
      m.kind = 'Manifest';
    });
    expectDenied(decide(deployment(text)));
  });

  it('a v2 body with a v1 file_hash/signature pair bolted on is denied', () => {
    const text = v2Text((m) => {
      m.file_hash = vectors.sha256;
      m.signature_v1 = vectors.signature;
    });
    expectDenied(decide(deployment(text)), 'unknown-field');
  });

  it('a v2 manifest naming a keyId that is a path is denied', () => {
    const text = v2Text((m) => {
      m.signature.keyId = '../../etc/modelgate/keys/ci';
    });
    expectDenied(decide(deployment(text)), 'bad-value');
  });

  it('a v2 manifest naming the other loaded key (signature made with "ci") is denied', () => {
    const text = v2Text((m) => {
      m.signature.keyId = 'ops-2027';
    });
    expectDenied(decide(deployment(text)), 'bad-signature');
  });
});

describe('tampered v2 manifests are denied', () => {
  it('the untampered v2 manifest is admitted (the control case)', () => {
    const d = decide(deployment(JSON.stringify(v2Manifest())));
    expect(d.response).toMatchObject({ allowed: true });
    expectNoSecret(d);
  });

  it.each([
    ['files[0].sha256', (m: Record<string, any>) => (m.files[0].sha256 = flipHex(m.files[0].sha256, 0))],
    ['files[0].path', (m: Record<string, any>) => (m.files[0].path = 'other.onnx')],
    ['files[0].size', (m: Record<string, any>) => void (m.files[0].size += 1)],
    ['a file added', (m: Record<string, any>) => void m.files.push({ path: 'extra.bin', sha256: 'a'.repeat(64), size: 1 })],
    ['claims.scan', (m: Record<string, any>) => (m.claims.scan = 'skipped')],
    ['a claim added', (m: Record<string, any>) => (m.claims.approvers = ['mallory', 'eve'])],
    ['model.source', (m: Record<string, any>) => (m.model.source = 'https://evil.example/model')],
    ['signedAt', (m: Record<string, any>) => (m.signedAt = '2026-04-30T00:00:00Z')],
    ['expiresAt added', (m: Record<string, any>) => (m.expiresAt = '2099-01-01T00:00:00Z')],
  ])('changing %s after signing', (_, mutate) => {
    expectDenied(decide(deployment(v2Text(mutate))), 'bad-signature');
  });
});

describe('property: a signature that differs from the right one in any single hex digit is refused', () => {
  it('v1, through parse and verify', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 15 }), (i, by) => {
        const parsed = parseManifests(v1Text({ signature: flipHex(vectors.signature, i, by) }), 'test');
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const verified = verifyManifest(parsed.value[0]!, keyring, { origin: 'test' });
        expect(verified.ok).toBe(false);
        expectNoSecret(verified);
      }),
      { numRuns: 300 },
    );
  });

  it('v2, through the whole decision', () => {
    const right = v2Manifest();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 15 }), (i, by) => {
        const m = structuredClone(right);
        m.signature.value = flipHex(m.signature.value, i, by);
        expectDenied(decide(deployment(JSON.stringify(m))), 'bad-signature');
      }),
      { numRuns: 200 },
    );
  });
});
