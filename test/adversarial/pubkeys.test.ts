/**
 * Hostile manifests aimed at public-key verification, through the whole decision: algorithm
 * confusion both ways (a public key used as an HMAC secret, an HMAC key with a public-key
 * algorithm), a forged HMAC keyed with the public key's own PEM/DER bytes, the wrong curve or
 * hash, truncated and oversized signatures. Each must end in a deny naming why.
 */
import { createHmac, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment } from '../fixtures/objects.js';
import { keyPairs, newKeyPair, PUBLIC_KEY_TYPES } from '../fixtures/keypairs.js';
import { vectors } from '../fixtures/vectors.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { MAX_MANIFESTS_PER_WORKLOAD, verifyWorkloadModels } from '../../src/decision/models.js';
import { planAdmission } from '../../src/decision/plan.js';
import type { Decision } from '../../src/decision/types.js';
import { ALGORITHM_OF, ALGORITHMS, type PublicKeyType } from '../../src/keys/algorithms.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { privateKeySigner } from '../../src/keys/signer.js';
import type { ManifestV2 } from '../../src/manifest/types.js';
import { signV2, signV2With, v2SigningPayload } from '../../src/manifest/v2.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import type { ModelRef, Workload } from '../../src/workload/types.js';
import { expectDenied, NOW, policyWith, SEED_KEY, unsignedV2 } from './helpers.js';

/** The seed's HMAC key as "ci" beside one public key per supported type, "pub-<type>". */
const keyring = new MemoryKeyring([
  ['ci', Buffer.from(SEED_KEY)],
  ...PUBLIC_KEY_TYPES.map((t) => [`pub-${t}`, Buffer.from(keyPairs[t].publicPem)] as const),
]);

const unsigned = unsignedV2();
const payload = v2SigningPayload(unsigned);

const signedBy = (t: PublicKeyType, keyId = `pub-${t}`): ManifestV2 =>
  signV2With(unsigned, privateKeySigner(keyId, keyPairs[t].privateKey, t));

function decide(manifest: unknown, policy = defaultPolicy()): Decision {
  const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
  return decideAdmission(planAdmission(admissionRequest(deployment(text)), policy), { resolved: [], keyring, now: NOW });
}

function expectAdmitted(d: Decision): void {
  expect(d.response.allowed, JSON.stringify(d.record.reasons)).toBe(true);
}

const withSignature = (algorithm: string, keyId: string, value: string): Record<string, unknown> => ({
  ...unsigned,
  signature: { algorithm, keyId, value },
});

describe('control: each algorithm is admitted with its own key', () => {
  it.each(PUBLIC_KEY_TYPES)('%s', (t) => {
    const d = decide(signedBy(t));
    expectAdmitted(d);
    expect(d.record.models).toEqual([expect.objectContaining({ keyId: `pub-${t}`, format: 'v2' })]);
  });

  it('HMAC-SHA256 with the HMAC key', () => {
    expectAdmitted(decide(signV2(unsigned, keyring, 'ci')!));
  });
});

describe('a public key is never an HMAC secret', () => {
  it.each(PUBLIC_KEY_TYPES)('HMAC-SHA256 keyed with the %s public key bytes (PEM, PEM without newline, DER, base64 DER) is denied: algorithm-mismatch', (t) => {
    const { publicPem, publicDer } = keyPairs[t];
    for (const secret of [publicPem, publicPem.trimEnd(), publicDer, publicDer.toString('base64')]) {
      const forged = createHmac('sha256', secret).update(payload).digest('hex');
      expectDenied(decide(withSignature('HMAC-SHA256', `pub-${t}`, forged)), 'algorithm-mismatch');
    }
  });

  it('a v1 manifest HMAC-signed with a public key PEM as the secret matches no key', () => {
    const forged = createHmac('sha256', keyPairs['ec-p256'].publicPem).update(vectors.sha256, 'utf8').digest('hex');
    const v1 = { ...(JSON.parse(vectors.manifestText) as object), signature: forged };
    expectDenied(decide(v1), 'bad-signature');
  });
});

describe('an HMAC key is never used with a public-key algorithm', () => {
  it.each(PUBLIC_KEY_TYPES)('a valid %s signature claiming the HMAC key id "ci" is denied: algorithm-mismatch', (t) => {
    expectDenied(decide(signedBy(t, 'ci')), 'algorithm-mismatch');
  });

  it('the HMAC bytes re-encoded as base64 under an Ed25519 claim are denied', () => {
    const hmac = createHmac('sha256', SEED_KEY).update(payload).digest();
    expectDenied(decide(withSignature('Ed25519', 'ci', Buffer.concat([hmac, hmac]).toString('base64'))), 'algorithm-mismatch');
  });
});

describe('the curve and hash must be the key\'s own', () => {
  it('a v2 manifest claiming Ed25519 for an EC key is denied', () => {
    const m = signedBy('ec-p256');
    expectDenied(decide({ ...m, signature: { ...m.signature, algorithm: 'Ed25519', value: Buffer.alloc(64, 9).toString('base64') } }), 'algorithm-mismatch');
  });

  it('a v2 manifest claiming ECDSA-P256-SHA256 for an Ed25519 key is denied', () => {
    const m = signedBy('ed25519');
    expectDenied(decide({ ...m, signature: { ...m.signature, algorithm: 'ECDSA-P256-SHA256', value: Buffer.alloc(70, 0x30).toString('base64') } }), 'algorithm-mismatch');
  });

  it.each([
    ['ec-p256', 'ECDSA-P384-SHA384'],
    ['ec-p384', 'ECDSA-P256-SHA256'],
    ['ec-p384', 'ECDSA-P521-SHA512'],
    ['ec-p521', 'ECDSA-P384-SHA384'],
  ] as const)('a %s key claimed as %s is denied', (t, claimed) => {
    const m = signedBy(t);
    const value = sign(ALGORITHMS[claimed].hash, Buffer.from(payload), { key: keyPairs[t].privateKey, dsaEncoding: 'der' }).toString('base64');
    expectDenied(decide({ ...m, signature: { ...m.signature, algorithm: claimed, value } }), /algorithm-mismatch|bad-value/);
  });

  it('a P-256 key signing with SHA-512 under its own algorithm name is denied (the hash is part of the algorithm)', () => {
    const value = sign('sha512', Buffer.from(payload), { key: keyPairs['ec-p256'].privateKey, dsaEncoding: 'der' }).toString('base64');
    expectDenied(decide(withSignature('ECDSA-P256-SHA256', 'pub-ec-p256', value)), 'bad-signature');
  });

  it('a signature by another key pair of the same curve under a trusted id is denied', () => {
    const other = newKeyPair('ec-p256');
    expectDenied(decide(signV2With(unsigned, privateKeySigner('pub-ec-p256', other.privateKey, 'ec-p256'))), 'bad-signature');
  });
});

/**
 * The value in the base64url alphabet. A signature whose base64 has no "+" or "/" reads the same
 * in both: then its first character becomes "-", so the case always tests the other alphabet.
 */
function base64url(value: string): string {
  const url = value.replace(/\+/g, '-').replace(/\//g, '_');
  return url !== value ? url : `-${value.slice(1)}`;
}

describe('malformed signature values are refused before any key is used', () => {
  const ec = signedBy('ec-p256');
  const ed = signedBy('ed25519');
  const der = Buffer.from(ec.signature.value, 'base64');
  const raw = Buffer.from(ed.signature.value, 'base64');
  it.each([
    ['Ed25519 truncated to 63 bytes', ed, raw.subarray(0, 63).toString('base64')],
    ['Ed25519 extended to 65 bytes', ed, Buffer.concat([raw, Buffer.alloc(1)]).toString('base64')],
    ['Ed25519 as hex', ed, raw.toString('hex')],
    ['ECDSA oversized (73 bytes)', ec, Buffer.concat([der, Buffer.alloc(73 - der.length)]).toString('base64')],
    ['ECDSA as P1363 r||s wrapped to 200 characters', ec, 'A'.repeat(200)],
    ['ECDSA with a trailing space', ec, `${ec.signature.value} `],
    ['ECDSA base64url', ec, base64url(ec.signature.value)],
    ['empty', ec, ''],
  ])('%s', (_n, m, value) => {
    expectDenied(decide({ ...m, signature: { ...m.signature, value } }), /bad-value|bad-signature/);
  });

  it('a megabyte of base64 is refused at the edge (annotation size), never decoded', () => {
    const d = decide({ ...ec, signature: { ...ec.signature, value: 'A'.repeat(1 << 20) } });
    expectDenied(d);
    expect(JSON.stringify(d.record.reasons).length).toBeLessThan(4096);
  });

  it('ECDSA DER truncated by one byte (still valid base64, within bounds) fails the signature check', () => {
    expectDenied(decide({ ...ec, signature: { ...ec.signature, value: der.subarray(0, der.length - 1).toString('base64') } }), 'bad-signature');
  });

  it('ECDSA DER re-encoded with a long-form length (BER, same r and s) is refused: one encoding only', () => {
    const body = der.subarray(2);
    const ber = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);
    expectDenied(decide({ ...ec, signature: { ...ec.signature, value: ber.toString('base64') } }), /bad-signature|bad-value/); // bad-value when the 72-byte bound is exceeded
  });

  it('ECDSA DER with a trailing byte appended fails the signature check (no trailing garbage)', () => {
    expectDenied(decide({ ...ec, signature: { ...ec.signature, value: Buffer.concat([der, Buffer.from([0])]).toString('base64') } }), /bad-signature|bad-value/);
  });
});

describe('trust, rotation and revocation by key id, as for HMAC', () => {
  it('a public key that policy does not trust is denied: key-not-trusted', () => {
    expectDenied(decide(signedBy('ed25519'), policyWith({ trustedKeys: ['ci'] })), 'key-not-trusted');
  });

  it('a revoked public key is denied: key-revoked', () => {
    expectDenied(decide(signedBy('ec-p384'), policyWith({}, { revokedKeys: ['pub-ec-p384'] })), 'key-revoked');
  });
});

describe('property: any single-byte change of a valid asymmetric signature is denied', () => {
  it.each(PUBLIC_KEY_TYPES)('%s', (t) => {
    const m = signedBy(t);
    const bytes = Buffer.from(m.signature.value, 'base64');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, by) => {
        const changed = Buffer.from(bytes);
        changed[i] = (changed[i]! + by) % 256;
        const d = decide({ ...m, signature: { ...m.signature, value: changed.toString('base64') } });
        expect(d.response.allowed).toBe(false);
      }),
      { numRuns: 60 },
    );
    expect(ALGORITHM_OF[t]).toBe(m.signature.algorithm);
  });
});

describe('bounded cost: signature checks per workload are capped', () => {
  it(`more than ${MAX_MANIFESTS_PER_WORKLOAD} P-521 manifests in one workload are refused without verifying them all`, () => {
    const m = signedBy('ec-p521');
    const refs: ModelRef[] = Array.from({ length: 40 }, (_, i) => ({
      source: 'annotation',
      path: `metadata.annotations[modelgate.dev/manifest-${i}]`,
      text: JSON.stringify(Array.from({ length: 16 }, () => m)), // 640 manifests naming a loaded key
    }));
    const workload = { refs } as unknown as Workload;
    const t0 = performance.now();
    const findings = verifyWorkloadModels(workload, [], keyring);
    const ms = performance.now() - t0;
    expect(findings.problems.map((p) => p.code)).toContain('too-many-manifests');
    expect(findings.models.length).toBeLessThanOrEqual(MAX_MANIFESTS_PER_WORKLOAD);
    // 64 P-521 checks at most (about 1-2 ms each on this machine), not 640.
    expect(ms).toBeLessThan(2_000);
  });

  it(`exactly ${MAX_MANIFESTS_PER_WORKLOAD} manifests are all verified`, () => {
    const m = signedBy('ed25519');
    const refs: ModelRef[] = Array.from({ length: 4 }, (_, i) => ({
      source: 'annotation',
      path: `metadata.annotations[m-${i}]`,
      text: JSON.stringify(Array.from({ length: 16 }, () => m)),
    }));
    const findings = verifyWorkloadModels({ refs } as unknown as Workload, [], keyring);
    expect(findings.problems).toEqual([]);
    expect(findings.models).toHaveLength(MAX_MANIFESTS_PER_WORKLOAD);
  });
});
