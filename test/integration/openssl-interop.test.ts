/**
 * The signature encodings of docs/manifests.md against the real `openssl` binary: signatures
 * OpenSSL makes over the JCS payload verify in modelgate, and modelgate's verify in OpenSSL.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyPairs } from '../fixtures/keypairs.js';
import type { AsymmetricAlgorithm, PublicKeyType } from '../../src/keys/algorithms.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { privateKeySigner } from '../../src/keys/signer.js';
import { signV2With, v2SigningPayload, type UnsignedManifestV2 } from '../../src/manifest/v2.js';
import { verifyManifest } from '../../src/manifest/verify.js';

const dir = mkdtempSync(join(tmpdir(), 'mg-openssl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unsigned: UnsignedManifestV2 = {
  apiVersion: 'modelgate.dev/v1',
  kind: 'ModelManifest',
  model: { name: 'fraud', version: '1', source: 'ci' },
  files: [{ path: 'model.onnx', sha256: 'a'.repeat(64), size: 1 }],
  claims: { scan: 'passed', approvers: ['ålice', 'bob'] },
  signedAt: '2026-04-26T03:15:42Z',
};
const payloadFile = join(dir, 'payload.json');
writeFileSync(payloadFile, v2SigningPayload(unsigned));

const CASES: Array<[PublicKeyType, AsymmetricAlgorithm, string[], string[]]> = [
  ['ec-p256', 'ECDSA-P256-SHA256', ['dgst', '-sha256', '-sign'], ['dgst', '-sha256', '-verify']],
  ['ec-p384', 'ECDSA-P384-SHA384', ['dgst', '-sha384', '-sign'], ['dgst', '-sha384', '-verify']],
  ['ec-p521', 'ECDSA-P521-SHA512', ['dgst', '-sha512', '-sign'], ['dgst', '-sha512', '-verify']],
];

function files(t: PublicKeyType): { priv: string; pub: string } {
  const priv = join(dir, `${t}.private.pem`);
  const pub = join(dir, t);
  writeFileSync(priv, keyPairs[t].privatePem);
  writeFileSync(pub, keyPairs[t].publicPem);
  return { priv, pub };
}

const keyring = new MemoryKeyring(Object.values(keyPairs).map((k) => [k.type, Buffer.from(k.publicPem)] as const));
const verifies = (value: string, t: PublicKeyType, algorithm: AsymmetricAlgorithm): boolean =>
  verifyManifest({ format: 'v2', body: { ...unsigned, signature: { algorithm, keyId: t, value } } }, keyring, { origin: 't' }).ok;

describe('openssl interop', () => {
  it.each(CASES)('%s: an OpenSSL DER signature verifies in modelgate, and modelgate\'s in OpenSSL', (t, algorithm, signArgs, verifyArgs) => {
    const { priv, pub } = files(t);
    const sigFile = join(dir, `${t}.sig`);
    execFileSync('openssl', [...signArgs, priv, '-out', sigFile, payloadFile]);
    expect(verifies(readFileSync(sigFile).toString('base64'), t, algorithm)).toBe(true);
    const ours = signV2With(unsigned, privateKeySigner(t, keyPairs[t].privateKey, t)).signature.value;
    writeFileSync(sigFile, Buffer.from(ours, 'base64'));
    expect(execFileSync('openssl', [...verifyArgs, pub, '-signature', sigFile, payloadFile]).toString()).toContain('Verified OK');
  });

  it('Ed25519: openssl pkeyutl -rawin signs what modelgate verifies, and the reverse', () => {
    const { priv, pub } = files('ed25519');
    const sigFile = join(dir, 'ed.sig');
    execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', priv, '-in', payloadFile, '-out', sigFile]);
    expect(verifies(readFileSync(sigFile).toString('base64'), 'ed25519', 'Ed25519')).toBe(true);
    const ours = signV2With(unsigned, privateKeySigner('ed25519', keyPairs.ed25519.privateKey, 'ed25519')).signature.value;
    writeFileSync(sigFile, Buffer.from(ours, 'base64'));
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', payloadFile, '-sigfile', sigFile]).toString();
    expect(out).toMatch(/Signature Verified Successfully/);
  });
});
