/**
 * Verify cost per v2 manifest for each signature algorithm against HMAC-SHA256: the webhook's
 * verifyManifest (JCS of the manifest + the signature check) on a typical one-file manifest
 * with claims, as each admission runs it. Needs the build (dist/):
 *   node --experimental-strip-types --no-warnings bench/verify-algorithms.ts
 * BENCH_ROUNDS (default 5) rounds of BENCH_MS (default 400) ms per algorithm; the median round.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = (p: string): string => pathToFileURL(resolve(import.meta.dirname, '..', 'dist', p)).href;
const { MemoryKeyring } = (await import(dist('keys/keyring.js'))) as typeof import('../src/keys/keyring.js');
const { privateKeySigner } = (await import(dist('keys/signer.js'))) as typeof import('../src/keys/signer.js');
const { signV2, signV2With } = (await import(dist('manifest/v2.js'))) as typeof import('../src/manifest/v2.js');
const { verifyManifest } = (await import(dist('manifest/verify.js'))) as typeof import('../src/manifest/verify.js');

type PublicKeyType = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519';
const pairs: Record<PublicKeyType, { privateKey: KeyObject; publicKey: KeyObject }> = {
  'ec-p256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ec-p384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'ec-p521': generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: generateKeyPairSync('ed25519'),
};
const types = Object.keys(pairs) as PublicKeyType[];
const keyring = new MemoryKeyring([
  ['hmac', Buffer.from('ci-signing-key-2026-0123456789abcdef')],
  ...types.map((t) => [t, Buffer.from(pairs[t].publicKey.export({ format: 'pem', type: 'spki' }) as string)] as const),
]);

const unsigned = {
  apiVersion: 'modelgate.dev/v1' as const,
  kind: 'ModelManifest' as const,
  model: { name: 'fraud-detector', version: '3.1.0', source: 's3://models-prod/fraud-detector/3.1.0' },
  files: [{ path: 'model.onnx', sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927', size: 1048583 }],
  claims: { scan: 'passed', approvers: ['alice', 'bob'], dataClassification: 'internal', requester: 'ci' },
  signedAt: '2026-04-26T03:15:42Z',
};

const manifests = [
  { name: 'HMAC-SHA256', body: signV2(unsigned, keyring, 'hmac')! },
  ...types.map((t) => ({ name: '', body: signV2With(unsigned, privateKeySigner(t, pairs[t].privateKey, t)) })),
].map((m) => ({ name: m.body.signature.algorithm, manifest: { format: 'v2' as const, body: m.body } }));

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const ms = Number(process.env.BENCH_MS ?? 400);

function round(manifest: (typeof manifests)[number]['manifest']): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) if (!verifyManifest(manifest, keyring, { origin: 'bench' }).ok) throw new Error('did not verify');
    n += 20;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / n; // µs per manifest
}

const results: Array<{ name: string; us: number }> = [];
for (const { name, manifest } of manifests) {
  round(manifest); // warm-up
  const us = Array.from({ length: rounds }, () => round(manifest)).sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  results.push({ name, us });
}
const hmac = results[0]!.us;
console.log(`verifyManifest per v2 manifest (JCS + signature), median of ${rounds} x ${ms} ms, node ${process.version}`);
for (const r of results)
  console.log(`  ${r.name.padEnd(18)} ${r.us.toFixed(1).padStart(8)} µs   ${(r.us / hmac).toFixed(1).padStart(6)}x HMAC   ${Math.round(1e6 / r.us).toString().padStart(7)}/s`);
