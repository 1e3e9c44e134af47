/**
 * Public-key signing end to end: keys made by the real `modelgate keygen`, manifests signed by
 * the real `modelgate sign` with the private keys, and only the PUBLIC keys written into the
 * webhook's keys Secret (kubelet layout, hot reload). Deployments through kubectl and the real
 * API server: an EC P-256 and an Ed25519 signed model are admitted, a tampered one refused, and
 * an HMAC "signature" keyed with the public key's own PEM refused as algorithm-mismatch.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeysDir } from '../harness/keysDir.js';
import { waitFor } from '../harness/net.js';
import { cliBin } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';
import {
  apply,
  ctx,
  decisions,
  denial,
  deployment,
  expectAdmitted,
  expectRefused,
  k,
  namespace,
  seedKey,
  showWebhookLogOnFailure,
  type Obj,
} from './lib.js';
import type { ManifestV2 } from '../../src/manifest/types.js';
import { v2SigningPayload } from '../../src/manifest/v2.js';

const run = promisify(execFile);
const EC_ID = 'ci-ec-2026';
const ED_ID = 'ci-ed-2026';

let ns: string;
let work: string;
let signed = 0;

showWebhookLogOnFailure();

async function cli(...args: string[]): Promise<string> {
  return (await run(process.execPath, [cliBin, ...args])).stdout;
}

/** `modelgate sign --format v2` with a keygen private key, on a fresh random model file. */
async function sign(keyId: string): Promise<ManifestV2> {
  const dir = path.join(work, `model-${++signed}`);
  fs.mkdirSync(dir);
  const model = path.join(dir, 'model.onnx');
  fs.writeFileSync(model, randomBytes(512));
  // prettier-ignore
  await cli('sign', model, '--format', 'v2', '--key-file', path.join(work, 'keys', `${keyId}.private.pem`),
    '--key-id', keyId, '--name', 'fraud', '--version', `1.0.${signed}`, '--source', 's3://models-prod/fraud',
    '--claim', 'scan=passed');
  return JSON.parse(fs.readFileSync(path.join(dir, 'model.manifest.json'), 'utf8')) as ManifestV2;
}

function workload(name: string, m: ManifestV2 | Obj): Obj {
  const files = (m as ManifestV2).files;
  return deployment(name, ns, {
    annotations: { 'modelgate.dev/manifest': JSON.stringify(m) },
    pin: files.map((f) => f.sha256),
  });
}

/** The webhook's reason codes for one decided workload. */
function codesOf(name: string): string[] {
  const line = decisions().find((d) => d.name === name && d.namespace === ns);
  return ((line?.reasons ?? []) as { code: string }[]).map((r) => r.code);
}

const publicKey = (id: string): string => fs.readFileSync(path.join(work, 'keys', id), 'utf8');

beforeAll(async () => {
  ns = await namespace('e2e-pubkeys');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-e2e-pubkeys-'));
  const keys = path.join(work, 'keys');
  fs.mkdirSync(keys);
  await cli('keygen', '--type', 'ec-p256', '--key-id', EC_ID, '--out-dir', keys);
  await cli('keygen', '--type', 'ed25519', '--key-id', ED_ID, '--out-dir', keys);
  // The Secret gets the public halves only (what keygen named after the key id).
  new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey, [EC_ID]: publicKey(EC_ID), [ED_ID]: publicKey(ED_ID) });
  const probe = await sign(ED_ID);
  let n = 0;
  await waitFor(
    'the webhook to load the public keys',
    async () => {
      const r = await apply(workload(`probe-${n++}`, probe));
      if (r.code === 0) return true;
      if (denial(r)?.startsWith('modelgate: ')) return undefined;
      throw new Error(r.stderr);
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
});

afterAll(() => {
  new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey }); // back to the suite's one key
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('models signed with key pairs, verified with public keys only', () => {
  it('the webhook logs the public keys by type (no key that can sign besides the seed HMAC key)', async () => {
    const lines = (): string[] => fs.readFileSync(ctx().webhookLog, 'utf8').split('\n').filter((l) => l.startsWith('{'));
    const lastReload = (): Obj | undefined =>
      lines()
        .map((l) => JSON.parse(l) as Obj)
        .filter((l) => l.msg === 'signing keys reloaded')
        .at(-1);
    await expect
      .poll(() => lastReload()?.keyTypes, { timeout: 10_000 })
      .toEqual({ [SEED_KEY_ID]: 'hmac', [EC_ID]: 'ec-p256', [ED_ID]: 'ed25519' });
    expect(lines().join('\n')).not.toContain(publicKey(EC_ID).split('\n')[1]);
  });

  it('admits a Deployment whose v2 manifest is signed with an EC P-256 key (ECDSA-P256-SHA256)', async () => {
    const m = await sign(EC_ID);
    expect(m.signature.algorithm).toBe('ECDSA-P256-SHA256');
    const r = await apply(workload('ec-signed', m));
    expectAdmitted(r);
    expect((await k(['get', 'deployment', 'ec-signed', '-n', ns])).code).toBe(0);
    // The decision line is written asynchronously (pino): poll for it.
    await expect.poll(() => decisions().find((d) => d.name === 'ec-signed' && d.namespace === ns), { timeout: 10_000 }).toMatchObject({
      decision: 'allow',
      models: [expect.objectContaining({ keyId: EC_ID, algorithm: 'ECDSA-P256-SHA256', format: 'v2' })],
    });
  });

  it('refuses the same EC-signed manifest with a claim changed after signing', async () => {
    const m = await sign(EC_ID);
    const r = await apply(workload('ec-tampered', { ...m, claims: { ...m.claims, scan: 'skipped-but-passed' } }));
    expectRefused(r, `fraud@${m.model.version}`);
    await expect.poll(() => codesOf('ec-tampered'), { timeout: 10_000 }).toContain('bad-signature');
    expect((await k(['get', 'deployment', 'ec-tampered', '-n', ns])).code).not.toBe(0);
  });

  it('admits a Deployment whose v2 manifest is signed with an Ed25519 key', async () => {
    const m = await sign(ED_ID);
    expect(m.signature.algorithm).toBe('Ed25519');
    expectAdmitted(await apply(workload('ed-signed', m)));
  });

  it('refuses an HMAC-SHA256 "signature" keyed with the EC public key itself (algorithm-mismatch)', async () => {
    const m = await sign(EC_ID);
    const forged = createHmac('sha256', publicKey(EC_ID)).update(v2SigningPayload(m)).digest('hex');
    const r = await apply(workload('hmac-with-public', { ...m, signature: { algorithm: 'HMAC-SHA256', keyId: EC_ID, value: forged } }));
    const message = expectRefused(r, `fraud@${m.model.version}`);
    expect(message).toContain(`key "${EC_ID}" is an EC P-256 public key`);
    await expect.poll(() => codesOf('hmac-with-public'), { timeout: 10_000 }).toContain('algorithm-mismatch');
  });

  it('refuses an EC signature presented as Ed25519 for the EC key (algorithm-mismatch)', async () => {
    const m = await sign(EC_ID);
    const r = await apply(workload('ec-as-ed', { ...m, signature: { ...m.signature, algorithm: 'Ed25519', value: Buffer.alloc(64, 7).toString('base64') } }));
    expectRefused(r, `fraud@${m.model.version}`);
    await expect.poll(() => codesOf('ec-as-ed'), { timeout: 10_000 }).toContain('algorithm-mismatch');
  });

  it('refuses a private key put into the keys Secret: the reload fails, naming the id, and the last good keys stay', async () => {
    const privateKey = fs.readFileSync(path.join(work, 'keys', `${EC_ID}.private.pem`), 'utf8');
    new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey, [EC_ID]: publicKey(EC_ID), [ED_ID]: publicKey(ED_ID), 'ci-leaked': privateKey });
    const failures = (): Obj[] =>
      fs
        .readFileSync(ctx().webhookLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Obj)
        .filter((l) => String(l.msg).startsWith('signing keys reload failed') && String(l.reason).includes('"ci-leaked" is a private key'));
    await expect.poll(() => failures().length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(JSON.stringify(failures())).not.toContain(privateKey.split('\n')[1]);
    expectAdmitted(await apply(workload('after-private-key', await sign(EC_ID))));
    new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey, [EC_ID]: publicKey(EC_ID), [ED_ID]: publicKey(ED_ID) });
  });
});
