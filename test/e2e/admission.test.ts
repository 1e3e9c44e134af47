import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/sandbox.js';
import {
  apply,
  decisions,
  deployment,
  events,
  expectAdmitted,
  expectRefused,
  k,
  namespace,
  seedKey,
  showWebhookLogOnFailure,
  signedSeed,
  tampered,
  unique,
  waitForEvent,
  warnings,
  wrongKeySeed,
} from './lib.js';

const MODEL = 'fraud-detector.onnx';
let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-admission');
});

describe('a Deployment through kubectl, decided by modelgate in the API server', () => {
  it('admits a model whose manifest verifies with the mounted key', async () => {
    const r = await apply(deployment('fraud-detector', ns, { manifest: signedSeed }));
    expectAdmitted(r);
    expect(r.stdout).toContain('deployment.apps/fraud-detector created');
    // v1 manifests bind only the hash: admitted, and kubectl shows modelgate saying so.
    expect(warnings(r).some((w) => w.startsWith('modelgate: ') && w.includes('v1'))).toBe(true);
    expect((await k(['get', 'deployment', 'fraud-detector', '-n', ns])).code).toBe(0);
  });

  it('refuses a tampered manifest with one line that starts "modelgate: " and names the model', async () => {
    const r = await apply(deployment('tampered', ns, { manifest: tampered(signedSeed) }));
    expectRefused(r, MODEL);
    expect((await k(['get', 'deployment', 'tampered', '-n', ns])).code).not.toBe(0);
  });

  it('refuses a manifest signed with a key the cluster does not have', async () => {
    expectRefused(await apply(deployment('wrong-key', ns, { manifest: wrongKeySeed })), MODEL);
  });

  it('refuses an inference workload that declares no manifest at all', async () => {
    const r = await apply(deployment('no-manifest', ns));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/denied the request: modelgate: /);
  });

  it('never puts a key into what kubectl prints', async () => {
    const r = await apply(deployment('wrong-key-2', ns, { manifest: wrongKeySeed }));
    expect(r.stderr).not.toContain(seedKey);
  });

  it('records the rejections as ModelRejected Events regarding the workload', async () => {
    for (const name of ['tampered', 'wrong-key', 'no-manifest']) {
      const e = await waitForEvent(ns, 'ModelRejected', `Deployment/${name}`);
      expect(e.reportingController).toBe('modelgate.dev/webhook');
    }
    const r = await k(['get', 'events', '-n', ns]);
    expect(r.stdout).toContain('ModelRejected');
    expect(r.stdout).toContain('deployment/tampered');
    expect(r.stdout).not.toContain(seedKey);
  });

  it("lists them with the command the chart's NOTES print (a field selector the API server accepts)", async () => {
    const notes = fs.readFileSync(path.join(repoRoot, 'charts', 'modelgate', 'templates', 'NOTES.txt'), 'utf8');
    const commands = notes
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('kubectl get events'));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      const args = command.split(/\s+/).slice(1);
      const r = await k([...args, '-o', 'json']);
      expect(r.code, `${command}: ${r.stderr}`).toBe(0);
      const items = (JSON.parse(r.stdout) as { items: { reason?: string }[] }).items;
      const ours = items.filter((e) => e.reason === 'ModelRejected');
      expect(ours.length, command).toBeGreaterThan(0);
    }
  });

  it('decides `kubectl apply --dry-run=server` but writes no Event for it', async () => {
    const dry = unique('dry-run');
    const r = await apply(deployment(dry, ns, { manifest: tampered(signedSeed) }), '--dry-run=server');
    expectRefused(r, MODEL);
    // A real rejection after the dry run: once its Event is there, the dry run's would be too.
    const real = unique('after-dry-run');
    expectRefused(await apply(deployment(real, ns, { manifest: tampered(signedSeed) })), MODEL);
    await waitForEvent(ns, 'ModelRejected', `Deployment/${real}`);
    expect((await events(ns)).filter((e) => e.regarding === `Deployment/${dry}`)).toEqual([]);
    const logged = decisions().find((d) => d.name === dry);
    expect(logged).toMatchObject({ dryRun: true, decision: 'deny' });
  });

  it('logs each decision as one JSON line with the audit fields', () => {
    const line = decisions().find((d) => d.name === 'tampered' && d.decision === 'deny');
    expect(line).toMatchObject({ kind: 'Deployment', namespace: ns, operation: 'CREATE', dryRun: false });
    expect(line).toHaveProperty('uid');
    expect(line).toHaveProperty('user');
    expect(line).toHaveProperty('reasons');
    expect(JSON.stringify(decisions())).not.toContain(seedKey);
  });
});
