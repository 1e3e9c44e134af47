/**
 * The background scanner on the real API server (docs/scanner.md): the revocation drill and
 * the Lease hand-over. Two `modelgate serve` replicas with the chart's RBAC and their own
 * policy file; only the Lease holder scans, both answer admission.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toolsBin } from '../harness/controlPlane.js';
import { get, waitFor } from '../harness/net.js';
import { repoRoot } from '../harness/sandbox.js';
import { cliBin, startWebhook, type Webhook } from '../harness/webhook.js';
import {
  apply,
  configMap,
  ctx,
  deployment,
  kOk,
  namespace,
  signV1,
  tampered,
  unique,
  type Obj,
} from './lib.js';

const run = promisify(execFile);

const KEYS = { 'scan-a': 'drill-key-A-0123456789abcdef', 'scan-b': 'drill-key-B-fedcba9876543210' };
/**
 * The chart's default period: no step below waits for a periodic scan. A new or updated workload
 * is re-decided from the watches, a revocation from the policy reload, a new leader scans at once.
 */
const PERIOD = '10m';
/** Short, so the hand-over takes seconds (the chart's default: 15s). */
const LEASE_S = 4;

let work: string;
let policyFile: string;
let ns: string;
const replicas: Webhook[] = [];

function writePolicy(revokedKeys: string[]): void {
  const doc = [
    'apiVersion: modelgate.dev/v1',
    'kind: Policy',
    `revokedKeys: [${revokedKeys.map((k) => `'${k}'`).join(', ')}]`,
    'rules:',
    '  - name: scan-drill',
    '    mode: enforce',
    '    match:',
    "      namespaces: ['scan-drill-*']",
    '',
  ].join('\n');
  // Written beside and renamed: the reloader never sees half a file.
  fs.writeFileSync(`${policyFile}.tmp`, doc);
  fs.renameSync(`${policyFile}.tmp`, policyFile);
}

function logLines(w: Webhook): Obj[] {
  if (!fs.existsSync(w.logFile)) return [];
  return fs
    .readFileSync(w.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Obj);
}

async function metrics(w: Webhook): Promise<string> {
  const r = await get(`https://127.0.0.1:${w.port}/metrics`, { ca: w.caPem });
  return r.body;
}

function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

async function leader(): Promise<Webhook | undefined> {
  for (const w of replicas) {
    const up = await metrics(w).catch(() => '');
    if (metricValue(up, 'modelgate_scan_leader') === 1) return w;
  }
  return undefined;
}

async function report(): Promise<Obj | undefined> {
  const r = await kOk(['get', 'policyreports.wgpolicyk8s.io', '-n', ns, '-o', 'json']).catch(() => '');
  const items = r ? ((JSON.parse(r) as { items: Obj[] }).items ?? []) : [];
  return items.find((i) => (i.metadata as Obj).name === 'modelgate');
}

type Result = { result: string; message: string; properties: Record<string, string>; resources: Obj[] };

async function resultFor(name: string): Promise<Result | undefined> {
  const rep = await report();
  const results = (rep?.results ?? []) as Result[];
  return results.find((r) => r.resources[0]?.name === name);
}

async function auditRunning(...args: string[]): Promise<Obj[]> {
  const { stdout } = await run(process.execPath, [
    cliBin,
    'audit',
    '--running',
    '--kubeconfig',
    ctx().kubeconfig,
    '-o',
    'json',
    ...args,
  ]);
  return JSON.parse(stdout) as Obj[];
}

async function installCrd(): Promise<void> {
  const { stdout } = await run(path.join(toolsBin, 'helm'), [
    'template',
    'modelgate',
    path.join(repoRoot, 'charts', 'modelgate'),
    '--namespace',
    'modelgate',
    '--set',
    'keys.existingSecret=modelgate-keys',
    '--set',
    'scanner.policyReports.installCRD=true',
    '--show-only',
    'templates/policyreport-crd.yaml',
  ]);
  // Server-side, as chart-dryrun.test.ts applies the chart: no client-side last-applied annotation.
  await kOk(['apply', '--server-side', '-f', '-'], stdout);
  await kOk(['wait', '--for', 'condition=established', '--timeout=30s', 'crd/policyreports.wgpolicyk8s.io']);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelgate-scan-'));
  policyFile = path.join(work, 'policy.yaml');
  writePolicy([]);
  ns = await namespace(unique('scan-drill'));
  const { kubeconfig, server, caPem } = ctx();
  for (const id of ['a', 'b']) {
    replicas.push(
      await startWebhook({
        cluster: { kubeconfig, server, caPem },
        keys: KEYS,
        policyFile,
        probeNamespace: ns,
        only: { configName: `modelgate-scan-e2e-${id}`, namespaces: [ns] },
        env: { POD_NAME: `scan-replica-${id}` },
        scan: [
          '--scan-period',
          PERIOD,
          '--scan-lease-duration',
          `${LEASE_S}s`,
          '--scan-configmap-poll',
          '2s',
        ],
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const w of replicas) await w.stop();
  await kOk(['delete', 'lease', '-n', 'modelgate', 'modelgate-scanner', '--ignore-not-found']).catch(
    () => '',
  );
  await kOk(['delete', 'crd', 'policyreports.wgpolicyk8s.io', '--ignore-not-found']).catch(() => '');
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

afterEach((t) => {
  if (t.task.result?.state !== 'fail') return;
  for (const w of replicas) process.stderr.write(`----- scanner replica -----\n${w.logTails(15)}\n`);
});

/**
 * Deletes the workload with its ReplicaSets and Pods until none is left: a ReplicaSet may make one
 * more Pod while it is being deleted, and nothing else would remove it.
 */
async function deleteAll(selector: string): Promise<void> {
  await waitFor(
    `no objects ${selector} left`,
    async () => {
      await kOk(['delete', 'deployment,replicaset,pod', '-n', ns, '-l', selector, '--wait=false']);
      const left = await kOk(['get', 'deployment,replicaset,pod', '-n', ns, '-l', selector, '-o', 'name']);
      return left.trim() === '' ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  );
}

describe('the scanner without the PolicyReport CRD', () => {
  it('elects one replica, which says in its log that reports are skipped', async () => {
    const w = await waitFor('a scanner leader', leader, { timeoutMs: 30_000, intervalMs: 300 });
    expect(replicas.filter((r) => r !== w)).toHaveLength(1);
    await waitFor(
      'the CRD-absent log line',
      () =>
        Promise.resolve(
          logLines(w).some((l) =>
            String(l.msg).includes('PolicyReport CRD (wgpolicyk8s.io/v1alpha2) not installed'),
          )
            ? true
            : undefined,
        ),
      { timeoutMs: 20_000, intervalMs: 300 },
    );
  });
});

describe('audit --running without the CRD', () => {
  it('exits 2 and says how to install it', async () => {
    const r = await run(process.execPath, [
      cliBin,
      'audit',
      '--running',
      '--kubeconfig',
      ctx().kubeconfig,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PolicyReport CRD .* not installed.*scanner\.policyReports\.installCRD=true/);
  });
});

describe('revocation drill: admit with key A, revoke A, re-sign with B', () => {
  const name = 'drill-model';

  it('reports an admitted workload signed with key A as passing', async () => {
    await installCrd();
    const r = await apply(deployment(name, ns, { manifest: signV1(KEYS['scan-a'], 'drill.onnx') }));
    expect(r.code, r.stderr).toBe(0);
    const res = await waitFor(
      'a pass result for the workload',
      async () => {
        const x = await resultFor(name);
        return x?.result === 'pass' ? x : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(res.properties.keyIds).toBe('scan-a');
    expect(res.properties.models).toMatch(/^drill\.onnx:scan-a:[0-9a-f]{12}$/);
  });

  it('admission answered on both replicas, not only on the leader', () => {
    for (const w of replicas) {
      const admitted = logLines(w).filter((l) => l.msg === 'admission' && l.name === name);
      expect(admitted.map((l) => l.decision)).toContain('allow');
    }
  });

  it('names the workload and the revoked key in the report, the metric and audit --running within the re-decision delay', async () => {
    const revokedAt = Date.now();
    writePolicy(['scan-a']);
    const res = await waitFor(
      'a fail result',
      async () => {
        const x = await resultFor(name);
        return x?.result === 'fail' ? x : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const delayMs = Date.now() - revokedAt;
    process.stderr.write(
      `[scanner e2e] revoked key seen in the PolicyReport ${delayMs} ms after the policy was written\n`,
    );
    // Policy reload (settle + poll, 2 s) + debounce (1 s) + one scan; well under one period.
    expect(delayMs).toBeLessThan(10_000);
    expect(res.properties.reasons).toContain('key-revoked');
    expect(res.properties.keyIds).toBe('scan-a');
    expect(res.message).toMatch(/"scan-a".*revoked/);

    const w = await waitFor('the leader', leader, { timeoutMs: 10_000, intervalMs: 300 });
    const text = await waitFor(
      'the failing metric',
      async () => {
        const m = await metrics(w);
        return (metricValue(m, 'modelgate_scan_failing_workloads', 'reason="key-revoked"') ?? 0) >= 1
          ? m
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300 },
    );
    expect(metricValue(text, 'modelgate_scan_workloads', 'result="fail"')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'modelgate_scan_last_timestamp_seconds')).toBeGreaterThan(revokedAt / 1000);

    const entries = await auditRunning('--namespace', ns, '--key', 'scan-a');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      decision: 'deny',
      kind: 'Deployment',
      name,
      reasons: ['key-revoked'],
    });
    const table = (
      await run(process.execPath, [
        cliBin,
        'audit',
        '--running',
        '--kubeconfig',
        ctx().kubeconfig,
        '-n',
        ns,
        '--reason',
        'key-revoked',
      ])
    ).stdout;
    expect(table).toContain(`Deployment/${name}`);
  });

  it('passes again once re-signed with key B and updated (seen by the watch, not a period)', async () => {
    const updatedAt = Date.now();
    const r = await apply(deployment(name, ns, { manifest: signV1(KEYS['scan-b'], 'drill.onnx') }));
    expect(r.code, r.stderr).toBe(0);
    const res = await waitFor(
      'a pass result again',
      async () => {
        const x = await resultFor(name);
        return x?.result === 'pass' ? x : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    const delayMs = Date.now() - updatedAt;
    process.stderr.write(
      `[scanner e2e] the re-signed update is in the PolicyReport ${delayMs} ms after kubectl apply\n`,
    );
    expect(delayMs).toBeLessThan(10_000);
    expect(res.properties.keyIds).toBe('scan-b');
    expect(await auditRunning('--namespace', ns, '--decision', 'deny')).toEqual([]);
    const w = await waitFor('the leader', leader, { timeoutMs: 10_000, intervalMs: 300 });
    await waitFor(
      'the metric to clear',
      async () =>
        metricValue(await metrics(w), 'modelgate_scan_failing_workloads', 'reason="key-revoked"') ===
        undefined
          ? true
          : undefined,
      { timeoutMs: 10_000, intervalMs: 300 },
    );
  });
});

describe('a referenced ConfigMap changes', () => {
  it('re-decides the workload that reads it, at the next poll of the ConfigMap', async () => {
    const good = signV1(KEYS['scan-b'], 'cm.onnx');
    const cm = (entry: unknown): Obj => configMap('drill-manifests', ns, { 'm.json': JSON.stringify(entry) });
    await kOk(['apply', '-f', '-'], cm(good));
    const annotations = { 'modelgate.dev/manifest-configmap': 'drill-manifests/m.json' };
    const r = await apply(deployment('cm-model', ns, { annotations, pin: [good.file_hash] }));
    expect(r.code, r.stderr).toBe(0);
    await waitFor(
      'a pass result',
      async () => ((await resultFor('cm-model'))?.result === 'pass' ? true : undefined),
      {
        timeoutMs: 20_000,
        intervalMs: 300,
      },
    );
    const changedAt = Date.now();
    await kOk(['apply', '-f', '-'], cm(tampered(good)));
    const res = await waitFor(
      'a fail result after the ConfigMap changed',
      async () => {
        const x = await resultFor('cm-model');
        return x?.result === 'fail' ? x : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    const delayMs = Date.now() - changedAt;
    process.stderr.write(
      `[scanner e2e] a tampered ConfigMap manifest is in the PolicyReport ${delayMs} ms after the edit\n`,
    );
    expect(res.properties.reasons).toContain('bad-signature');
    expect(delayMs).toBeLessThan(10_000);
    // The e2e control plane runs no garbage collector: the ReplicaSet and Pods go by hand.
    await deleteAll('app=cm-model');
  });
});

describe('Lease hand-over between two serve replicas', () => {
  async function takeover(
    stop: (w: Webhook) => Promise<void>,
  ): Promise<{ ms: number; next: Webhook; old: Webhook }> {
    const old = await waitFor('the leader', leader, { timeoutMs: 10_000, intervalMs: 200 });
    const t0 = Date.now();
    await stop(old);
    const others = replicas.filter((r) => r !== old);
    const next = await waitFor(
      'another replica to take the Lease',
      async () => {
        for (const w of others) if (metricValue(await metrics(w), 'modelgate_scan_leader') === 1) return w;
        return undefined;
      },
      { timeoutMs: LEASE_S * 1000 * 3, intervalMs: 100 },
    );
    return { ms: Date.now() - t0, next, old };
  }

  it('a cleanly stopped leader releases the Lease: the other replica scans at once', async () => {
    const { ms, old } = await takeover((w) => w.stopServer());
    process.stderr.write(`[scanner e2e] hand-over after SIGTERM: ${ms} ms\n`);
    expect(ms).toBeLessThan(LEASE_S * 1000);
    await old.startServer();
  });

  it('a crashed leader (SIGKILL) is replaced within the lease duration', async () => {
    const { ms, next, old } = await takeover((w) => w.crashServer());
    process.stderr.write(`[scanner e2e] hand-over after SIGKILL: ${ms} ms (lease ${LEASE_S} s)\n`);
    // Seen unchanged for the lease duration, by the follower's clock, plus one retry round.
    expect(ms).toBeLessThan(LEASE_S * 1000 + 2000);
    // It scans as soon as it holds the Lease (the period is 10 minutes).
    const before = (Date.now() - ms) / 1000;
    await waitFor(
      'the new leader to have scanned since the crash',
      async () =>
        Number(metricValue(await metrics(next), 'modelgate_scan_last_timestamp_seconds') ?? 0) > before
          ? true
          : undefined,
      { timeoutMs: 15_000, intervalMs: 300 },
    );
    expect((await resultFor('drill-model'))?.result).toBe('pass');
    await old.startServer();
  });
});

describe('a deleted workload', () => {
  it('leaves the report (the watch sees the deletion; the empty report is removed)', async () => {
    // Its ReplicaSet and Pods too (the e2e control plane runs no garbage collector): one left
    // behind would still run the model, and is decided as itself once its owner is gone.
    await deleteAll('app=drill-model');
    await waitFor(
      'the report to go',
      async () => {
        const left = await report();
        if (left) throw new Error(`still there: ${JSON.stringify(left.results).slice(0, 600)}`);
        return true;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 300,
      },
    );
  });
});
