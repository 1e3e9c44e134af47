/**
 * `make bench` (BENCH_ONLY=scan for this part alone): the background scanner at scale, on a
 * real kube-apiserver + etcd (test/harness/controlPlane.ts; no controller-manager, so the
 * Deployments stay Deployments and nothing else competes for the two cores).
 *
 *   1. populate: BENCH_SCAN_WORKLOADS (default 5,000) real Deployments in BENCH_SCAN_NAMESPACES
 *      (default 50) namespaces, half signed with key A, half with key B; parallel creates over one
 *      kept-alive connection pool (the scanner's own client, src/kube/scan-api.ts);
 *   2. a cold full scan (lists, decisions, 50 PolicyReports created), then a steady one (no writes);
 *   3. key A revoked in the policy: the re-decision scan (half the workloads fail, reports replaced).
 * Each prints wall time, API requests by verb, RSS and heap, and the cost per workload.
 * Run: node --experimental-strip-types --expose-gc --import ./test/harness/tsResolve.ts bench/scan.ts
 */
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferenceDeployment } from '../test/fixtures/inference.js';
import { startControlPlane, toolsBin } from '../test/harness/controlPlane.js';
import { repoRoot } from '../test/harness/sandbox.js';
import { dist } from './dist.js';

type ScannerModule = typeof import('../src/scan/scanner.js');
type ScanApiModule = typeof import('../src/kube/scan-api.js');
type KeysModule = typeof import('../src/keys/load.js');
type PolicyModule = typeof import('../src/policy/load.js');
type LoggerModule = typeof import('../src/audit/logger.js');
type Policy = import('../src/policy/types.js').Policy;
type ScanStats = import('../src/scan/scanner.js').ScanStats;

const KEYS = { 'bench-a': randomBytes(32).toString('hex'), 'bench-b': randomBytes(32).toString('hex') };

function policyText(revoked: string[]): string {
  return [
    'apiVersion: modelgate.dev/v1',
    'kind: Policy',
    `revokedKeys: [${revoked.join(', ')}]`,
    'rules:',
    '  - name: bench',
    '    mode: enforce',
    "    match: { namespaces: ['bench-*'] }",
    '',
  ].join('\n');
}

/** A signed inference Deployment as a user would apply it (v1 manifest, verify init container). */
function workload(i: number, namespace: string, namespaces: number): Record<string, unknown> {
  // Every namespace gets both keys: a revocation changes every report.
  const keyId = Math.floor(i / namespaces) % 2 === 0 ? 'bench-a' : 'bench-b';
  const hash = createHash('sha256').update(`model-${i}`).digest('hex');
  const manifest = {
    model_path: `model-${i % 20}.onnx`,
    file_hash: hash,
    signature: createHmac('sha256', KEYS[keyId]).update(hash, 'utf8').digest('hex'),
    signed_at: '2026-11-30T10:00:00.000000',
    file_size: 1024,
  };
  return inferenceDeployment({
    name: `infer-${i}`,
    namespace,
    manifest: JSON.stringify(manifest),
    pins: [hash],
    modelPaths: ['/models/model.onnx'],
  });
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function requests(r: Record<string, number>): string {
  const total = Object.values(r).reduce((a, b) => a + b, 0);
  return `${total} (${Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})`;
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_SCAN_WORKLOADS ?? 5000);
  const namespaces = Number(process.env.BENCH_SCAN_NAMESPACES ?? 50);
  const out: string[] = [];
  const say = (line: string): void => {
    out.push(line);
    process.stderr.write(`[bench scan] ${line}\n`);
  };
  const cp = await startControlPlane({
    controllerManager: false,
    log: (m) => process.stderr.write(`[bench scan] ${m}\n`),
  });
  const work = mkdtempSync(join(tmpdir(), 'modelgate-bench-scan-'));
  try {
    const { Scanner } = await dist<ScannerModule>('scan/scanner.js');
    const { scanApi } = await dist<ScanApiModule>('kube/scan-api.js');
    const { loadKeyDir } = await dist<KeysModule>('keys/load.js');
    const { parsePolicy } = await dist<PolicyModule>('policy/load.js');
    const { createLogger } = await dist<LoggerModule>('audit/logger.js');
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    config.loadFromFile(cp.kubeconfig);
    const api = await scanApi(config);
    const signal = (): AbortSignal => AbortSignal.timeout(60_000);

    // The CRD, as the chart installs it (scanner.policyReports.installCRD=true).
    const { execFileSync } = await import('node:child_process');
    const bin = toolsBin;
    const crd = execFileSync(join(bin, 'helm'), [
      'template',
      'm',
      join(repoRoot, 'charts', 'modelgate'),
      '--set',
      'keys.existingSecret=k',
      '--set',
      'scanner.policyReports.installCRD=true',
      '--show-only',
      'templates/policyreport-crd.yaml',
    ]);
    execFileSync(join(bin, 'kubectl'), ['--kubeconfig', cp.kubeconfig, 'apply', '-f', '-'], { input: crd });
    execFileSync(join(bin, 'kubectl'), [
      '--kubeconfig',
      cp.kubeconfig,
      'wait',
      '--for',
      'condition=established',
      '--timeout=60s',
      'crd/policyreports.wgpolicyk8s.io',
    ]);

    // 1. populate
    let t0 = performance.now();
    const nsNames = Array.from({ length: namespaces }, (_, i) => `bench-${i}`);
    await Promise.all(
      nsNames.map((name) =>
        api.create(
          '/api/v1/namespaces',
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
          signal(),
        ),
      ),
    );
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < total; i = next++) {
        const ns = nsNames[i % namespaces] ?? 'bench-0';
        await api.create(`/apis/apps/v1/namespaces/${ns}/deployments`, workload(i, ns, namespaces), signal());
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const populateMs = performance.now() - t0;
    say(
      `populated ${total} Deployments in ${namespaces} namespaces: ${(populateMs / 1000).toFixed(1)} s (${Math.round(total / (populateMs / 1000))} creates/s, 16 in flight over the 4-socket pool)`,
    );

    // 2. scans
    const keysDir = join(work, 'keys');
    mkdirSync(keysDir);
    for (const [id, key] of Object.entries(KEYS)) writeFileSync(join(keysDir, id), key);
    const keyring = await loadKeyDir(keysDir);
    let policy: Policy = load(parsePolicy(policyText([]), 'bench'));
    const before = memory();
    let scannedOnce: (() => void) | undefined;
    const scanner = new Scanner({
      api,
      resolve: () => Promise.resolve([]),
      keyring: () => keyring,
      policy: () => policy,
      logger: createLogger({ level: 'warn' }),
      sink: { scanned: () => scannedOnce?.() },
      periodMs: 3_600_000,
      reports: true,
    });
    const report = (what: string, s: ScanStats): void => {
      const m = memory();
      const fail = scanner.results().filter((r) => r.result === 'fail').length;
      say(
        `${what}: ${(s.durationMs / 1000).toFixed(2)} s for ${s.listed} listed / ${s.inScope} in scope (${fail} failing); ` +
          `${(s.durationMs / s.inScope).toFixed(3)} ms per workload; API requests ${requests(s.requests)}; ` +
          `reports written ${s.reportsWritten}; RSS ${mib(m.rss)} (+${mib(m.rss - before.rss)} over the process before the scanner), ` +
          `heap ${mib(m.heap)} (+${mib(m.heap - before.heap)}: ${Math.round((m.heap - before.heap) / s.inScope)} bytes per workload held)`,
      );
    };
    report('full scan, cold (creates the reports)', await scanner.scanOnce());
    report('full scan, steady (nothing changed: no writes)', await scanner.scanOnce());
    policy = load(parsePolicy(policyText(['bench-a']), 'bench'));
    t0 = performance.now();
    const revoked = await scanner.scanOnce();
    report('re-decision after revoking key bench-a', revoked);
    const check = await api.get(
      '/apis/wgpolicyk8s.io/v1alpha2/namespaces/bench-0/policyreports/modelgate',
      signal(),
    );
    const summary = JSON.stringify((check ?? {}).summary);
    say(
      `bench-0 PolicyReport summary after the revocation: ${summary}; report size ${JSON.stringify(check).length} bytes`,
    );

    // 4. one workload re-signed and updated while the scanner watches (as the leader does).
    const started = new Promise<void>((resolve) => (scannedOnce = resolve));
    scanner.start();
    await started;
    scannedOnce = undefined;
    await new Promise((r) => setTimeout(r, 500)); // the watches connect
    const path = '/apis/apps/v1/namespaces/bench-0/deployments/infer-0';
    const current = (await api.get(path, signal())) as Record<string, any>;
    const uid = String(current.metadata.uid);
    const resigned = workload(namespaces, 'bench-0', namespaces); // signed with bench-b
    current.metadata.annotations = (resigned.metadata as Record<string, any>).annotations;
    current.spec.template.spec = (resigned.spec as Record<string, any>).template.spec;
    const reqBefore = { ...api.requests };
    t0 = performance.now();
    await api.replace(path, current, signal());
    for (;;) {
      if (scanner.results().find((r) => r.uid === uid)?.result === 'pass') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const decidedMs = performance.now() - t0;
    for (;;) {
      const rep = await api.get(
        '/apis/wgpolicyk8s.io/v1alpha2/namespaces/bench-0/policyreports/modelgate',
        signal(),
      );
      if (JSON.stringify(rep?.summary).includes('"fail":49')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const reportedMs = performance.now() - t0;
    const spent: Record<string, number> = {};
    for (const [k, v] of Object.entries(api.requests))
      if (v - (reqBefore[k] ?? 0) > 0) spent[k] = v - (reqBefore[k] ?? 0);
    say(
      `one workload re-signed and updated, seen by the watch: re-decided ${decidedMs.toFixed(0)} ms after the update, ` +
        `its report rewritten ${reportedMs.toFixed(0)} ms after (1 s debounce); requests ${requests(spent)} (incl. this bench's update and polling)`,
    );
    await scanner.stop();
    say(`peak RSS of this process ${mib(process.resourceUsage().maxRSS * 1024)}`);
    const file = join(repoRoot, 'bench', 'out', 'scan.txt');
    mkdirSync(join(repoRoot, 'bench', 'out'), { recursive: true });
    writeFileSync(file, `${out.join('\n')}\n`);
    console.log(['== background scan (bench/scan.ts) ==', ...out, `(also in ${file})`].join('\n'));
  } finally {
    await cp.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function load(r: ReturnType<PolicyModule['parsePolicy']>): Policy {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
