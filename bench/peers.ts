/**
 * Side by side on a local control plane (issue 15 item 3): what a Deployment create costs with
 * no webhook (the floor), a ValidatingAdmissionPolicy, a no-op Go webhook (standard library,
 * tools/noop-webhook), modelgate with Events (as shipped) and without (`--events none`), and
 * Kyverno built from its Go module when BENCH_PEERS=1 (never in CI).
 *
 * One etcd + kube-apiserver + kube-controller-manager (test/harness/controlPlane.ts); each
 * contender is registered for its own namespace only, so one cluster serves all of them and
 * every request of a cell goes through exactly one. The workload is the issue's: a Deployment
 * with a signed manifest in its annotation and a `modelgate verify` init container.
 *
 * Rounds are interleaved (each round runs every cell for every contender, the contenders'
 * order rotated per round) so slow drifts of a shared machine hit all of them alike. Per cell:
 * dry-run (`?dryRun=All`) or real creates, at 1 or 8 in flight; per round the p50 and p99 of
 * the client-side latency; reported: the median across rounds with min–max, the p50 added
 * over the floor in the same round, modelgate's added p50 over the no-op webhook's, CPU per
 * request of each process (from /proc, user + system) and each process's peak RSS.
 *
 * Env: BENCH_ROUNDS (7), BENCH_PER_CELL (500), BENCH_PEERS=1 (Kyverno), TOOLS_BIN (.tools/bin).
 * Run: node --experimental-strip-types --no-warnings --import ./test/harness/tsResolve.ts bench/peers.ts
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { inferenceDeployment, randomSignedV1 } from '../test/fixtures/inference.js';
import { startControlPlane, type ControlPlane } from '../test/harness/controlPlane.js';
import { kubectl, kubectlOk } from '../test/harness/kubectl.js';
import { freePort, get, waitFor } from '../test/harness/net.js';
import { issue, newCA } from '../test/harness/pki.js';
import { repoRoot, Sandbox } from '../test/harness/sandbox.js';
import { ensureNamespace, startWebhook, type Webhook } from '../test/harness/webhook.js';

type Obj = Record<string, unknown>;

const env = process.env;
const ROUNDS = Number(env.BENCH_ROUNDS ?? 7);
const PER_CELL = Number(env.BENCH_PER_CELL ?? 500);
const PEERS = env.BENCH_PEERS === '1';
const TOOLS_BIN = env.TOOLS_BIN ?? path.join(repoRoot, '.tools', 'bin');
const SEED_KEY_ID = 'ci-2026';
/** As installed: the image's ENTRYPOINT flag and the chart's NODE_OPTIONS for its 256Mi limit. */
const INSTALLED_NODE_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=128'];
const SEED_KEY = fs.readFileSync(path.join(repoRoot, 'test/e2e/fixtures/seed-v1/signing.key'), 'utf8');

/** Issue 15 item 2: modelgate's added p50 at most 1.5× the no-op webhook's. */
export const PEER_TARGETS = { addedVsNoop: 1.5, cpuEventsVsNone: 2 } as const;

interface Cell {
  dryRun: boolean;
  concurrency: number;
}
const CELLS: Cell[] = [
  { dryRun: true, concurrency: 1 },
  { dryRun: false, concurrency: 1 },
  { dryRun: true, concurrency: 8 },
  { dryRun: false, concurrency: 8 },
];
const cellName = (c: Cell): string => `${c.dryRun ? 'dry-run' : 'real'} c=${c.concurrency}`;

interface Contender {
  name: string;
  namespace: string;
  /** The webhook's own process (CPU and RSS), when it has one. */
  pid?: () => number | undefined;
}

function say(msg: string): void {
  process.stderr.write(`[peers] ${msg}\n`);
}

// ---- the workload

function deployment(name: string, namespace: string, manifest: { text: string; sha256: string }): Obj {
  return inferenceDeployment({
    name,
    namespace,
    manifest: manifest.text,
    pins: [manifest.sha256],
    modelPaths: ['/models/fraud-detector.onnx'],
    serverImage: 'nvcr.io/nvidia/tritonserver:24.05-py3',
  });
}

// ---- the contenders

function vapObjects(namespace: string): Obj[] {
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'bench-model-manifest' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] },
          ],
        },
        validations: [
          {
            expression: "has(object.metadata.annotations) && 'modelgate.dev/manifest' in object.metadata.annotations",
            message: 'no modelgate.dev/manifest annotation',
          },
          {
            expression:
              "object.spec.template.spec.?initContainers.orValue([]).exists(c, c.?args.orValue([]).size() > 2 && c.args[0] == 'verify')",
            message: 'no verify init container',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'bench-model-manifest' },
      spec: {
        policyName: 'bench-model-manifest',
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        },
      },
    },
  ];
}

/** The no-op webhook: registered for the same resources as modelgate's chart, one namespace. */
async function startNoop(cp: ControlPlane, sandbox: Sandbox, namespace: string, like: Webhook): Promise<() => number | undefined> {
  const bin = path.join(TOOLS_BIN, 'noop-webhook');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: bash tools/build.sh noop-webhook`);
  const ca = newCA('bench-noop-ca');
  const serving = issue(ca, { commonName: 'noop', usage: 'server', ipSans: ['127.0.0.1'], dnsSans: ['localhost'] });
  fs.writeFileSync(sandbox.path('noop.crt'), serving.certPem);
  fs.writeFileSync(sandbox.path('noop.key'), serving.keyPem, { mode: 0o600 });
  const port = await freePort();
  sandbox.spawn('noop-webhook', bin, [
    `--addr=127.0.0.1:${port}`,
    `--tls-cert=${sandbox.path('noop.crt')}`,
    `--tls-key=${sandbox.path('noop.key')}`,
  ]);
  await waitFor(
    'noop-webhook /healthz',
    async () => ((await get(`https://127.0.0.1:${port}/healthz`, { ca: ca.certPem })).status === 200 ? true : undefined),
    { timeoutMs: 10_000 },
  );
  const template = like.install.webhookConfigs[0]?.webhooks as Obj[] | undefined;
  const rules = (template?.[0]?.rules as Obj[] | undefined) ?? [];
  const config = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'bench-noop' },
    webhooks: [
      {
        name: 'noop.bench.modelgate.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(ca.certPem).toString('base64') },
        rules,
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      },
    ],
  };
  await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], JSON.stringify(config));
  return () => sandbox.process('noop-webhook')?.pid;
}

/** Throws, with the tail of its log, when a contender's process has exited. */
function assertAlive(sandbox: Sandbox, name: string): void {
  const proc = sandbox.process(name);
  const gone = !proc || proc.child.exitCode !== null || proc.child.signalCode !== null;
  if (gone)
    throw new Error(
      `${name} is not running (exit ${proc?.child.exitCode ?? proc?.child.signalCode ?? '?'}):\n${sandbox.logTails(30)}`,
    );
}

/**
 * Kyverno 1.19.1 out of cluster (BENCH_PEERS=1): built by tools/build.sh kyverno, its CRDs from
 * its module, one ClusterPolicy with the same two checks as the VAP, for one namespace.
 * Out of cluster it runs in its debug mode (`--serverIP`): its own cert manager writes the CA
 * and serving pair into Secrets of its namespace, with 127.0.0.1 in the SANs, and its webhook
 * controller registers `https://127.0.0.1:<port>/validate/...` with that CA as caBundle. Its
 * config ConfigMap limits every webhook it registers to the bench namespace, so the other
 * contenders' requests never reach it. Ready when a Deployment without the annotation is
 * refused by Kyverno's policy.
 */
export async function startKyverno(
  cp: ControlPlane,
  sandbox: Sandbox,
  namespace: string,
): Promise<() => number | undefined> {
  execFileSync('bash', [path.join(repoRoot, 'tools/build.sh'), 'kyverno'], { stdio: 'inherit' });
  const moduleDir = execFileSync('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/kyverno/kyverno'], {
    cwd: path.join(repoRoot, 'tools/kyverno'),
    encoding: 'utf8',
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
  }).trim();
  await kubectlOk(cp.kubeconfig, ['apply', '--server-side', '-R', '-f', path.join(moduleDir, 'config/crds')]);
  // Right after the apply a CRD may have no conditions yet, which `kubectl wait` reports as an error.
  await waitFor(
    "Kyverno's CRDs established",
    async () =>
      (await kubectl(cp.kubeconfig, ['wait', '--for=condition=Established', '--timeout=5s', 'crd', '--all']))
        .code === 0
        ? true
        : undefined,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await ensureNamespace(cp.kubeconfig, 'kyverno');
  const onlyBench = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } };
  const configMaps = ['kyverno', 'kyverno-metrics'].map((name) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'kyverno' },
    data: name === 'kyverno' ? { webhooks: JSON.stringify(onlyBench) } : {},
  }));
  await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], configMaps.map((o) => JSON.stringify(o)).join('\n'));
  const port = await freePort();
  sandbox.spawn(
    'kyverno',
    path.join(TOOLS_BIN, 'kyverno'),
    [
      `--kubeconfig=${cp.kubeconfig}`,
      `--serverIP=127.0.0.1:${port}`,
      '--webhookServerHost=127.0.0.1',
      `--webhookServerPort=${port}`,
      // The chart's names; its in-process cert manager creates both Secrets.
      '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca',
      '--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair',
      '--disableMetrics',
      '--metricsHost=127.0.0.1',
      `--metricsPort=${await freePort()}`,
      '--controllerRuntimeMetricsAddress=0',
      '--leaderElectionRetryPeriod=1s',
    ],
    {
      env: {
        ...process.env,
        KYVERNO_NAMESPACE: 'kyverno',
        KYVERNO_SERVICEACCOUNT_NAME: 'kyverno',
        KYVERNO_DEPLOYMENT: 'kyverno',
        KYVERNO_POD_NAME: 'kyverno-bench',
        INIT_CONFIG: 'kyverno',
        METRICS_CONFIG: 'kyverno-metrics',
      },
    },
  );
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'bench-model-manifest' },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [
        {
          name: 'manifest-and-verify-step',
          match: { any: [{ resources: { kinds: ['Deployment'], namespaces: [namespace] } }] },
          validate: {
            message: 'no modelgate.dev/manifest annotation or verify init container',
            // A pattern's list of scalars is compared element by element, so the VAP's two
            // checks are written as JMESPath conditions instead.
            deny: {
              conditions: {
                any: [
                  {
                    key: `{{ request.object.metadata.annotations."modelgate.dev/manifest" || '' }}`,
                    operator: 'Equals',
                    value: '',
                  },
                  {
                    key: "{{ length(request.object.spec.template.spec.initContainers[?length(args || `[]`) > `2` && args[0] == 'verify'] || `[]`) }}",
                    operator: 'Equals',
                    value: 0,
                  },
                ],
              },
            },
          },
        },
      ],
    },
  };
  await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], JSON.stringify(policy));
  const bare = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'kyverno-probe', namespace },
    spec: deployment('kyverno-probe', namespace, { text: '', sha256: '' }).spec,
  };
  await waitFor(
    'Kyverno to refuse a Deployment without the annotation',
    async () => {
      const r = await kubectl(cp.kubeconfig, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(bare));
      if (r.code === 0) return undefined;
      if (/bench-model-manifest/.test(r.stderr)) return true;
      throw new Error(r.stderr.trim());
    },
    { timeoutMs: 180_000, intervalMs: 1_000, guard: () => assertAlive(sandbox, 'kyverno') },
  );
  return () => sandbox.process('kyverno')?.pid;
}

// ---- measuring

/** A contender whose process is gone would measure as free: fail the run instead. */
function assertRunning(who: Contender): void {
  if (!who.pid) return;
  const pid = who.pid();
  let state: string;
  try {
    const stat = pid === undefined ? '' : fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    state = '';
  }
  if (state === '' || state === 'Z')
    throw new Error(`${who.name}'s process (pid ${pid ?? 'none'}) is gone: its figures would be zeros`);
}

/** Every contender with a process must have spent CPU on its requests, or it was never called. */
function assertCalled(contenders: Contender[], samples: Map<string, Sample[]>): void {
  for (const who of contenders.filter((c) => c.pid)) {
    const spent = CELLS.flatMap((c) => samples.get(`${who.name}|${cellName(c)}`) ?? []).reduce(
      (n, s) => n + (s.cpu[who.name] ?? 0),
      0,
    );
    if (!(spent > 0))
      throw new Error(`${who.name} spent no CPU over ${ROUNDS} rounds: its webhook was never called`);
  }
}

interface Sample {
  p50: number;
  p99: number;
  errors: number;
  /** CPU ms per request by process name. */
  cpu: Record<string, number>;
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function post(agent: https.Agent, url: string, body: string): Promise<{ status: number; ms: number; text: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = https.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, text }));
    });
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - t0, text: err.message }));
    req.end(body);
  });
}

async function runCell(
  ctx: { cp: ControlPlane; agent: https.Agent; procs: Record<string, () => number | undefined> },
  who: Contender,
  cell: Cell,
  tag: string,
): Promise<Sample> {
  const manifest = randomSignedV1(SEED_KEY);
  const url = `${ctx.cp.server}/apis/apps/v1/namespaces/${who.namespace}/deployments${cell.dryRun ? '?dryRun=All' : ''}`;
  const before = Object.fromEntries(Object.entries(ctx.procs).map(([n, pid]) => [n, cpuMs(pid())]));
  const latencies: number[] = [];
  let errors = 0;
  let lastError = '';
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < PER_CELL; i = next++) {
      const r = await post(ctx.agent, url, JSON.stringify(deployment(`${tag}-${i}`, who.namespace, manifest)));
      latencies.push(r.ms);
      if (r.status !== 201) {
        errors++;
        lastError = `${r.status} ${r.text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: cell.concurrency }, worker));
  assertRunning(who);
  if (errors > 0) say(`${who.name} ${cellName(cell)}: ${errors} errors, e.g. ${lastError}`);
  const cpu = Object.fromEntries(
    Object.entries(ctx.procs).map(([n, pid]) => [n, (cpuMs(pid()) - (before[n] ?? 0)) / PER_CELL]),
  );
  latencies.sort((a, b) => a - b);
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), errors, cpu };
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

const f2 = (n: number): string => n.toFixed(2);
const range = (xs: number[]): string => `${f2(med(xs))} [${f2(Math.min(...xs))}–${f2(Math.max(...xs))}]`;

export interface PeersResult {
  lines: string[];
}

export async function runPeersBench(): Promise<PeersResult> {
  const t0 = Date.now();
  const cp = await startControlPlane({ log: say });
  const sandbox = Sandbox.create('modelgate-peers');
  const hooks: Webhook[] = [];
  try {
    const policyFile = sandbox.path('policy.yaml');
    fs.writeFileSync(
      policyFile,
      stringify({
        apiVersion: 'modelgate.dev/v1',
        kind: 'Policy',
        rules: [{ name: 'bench', mode: 'enforce', match: { namespaces: ['b-mg*'] } }],
      }),
    );
    const contenders: Contender[] = [
      { name: 'none', namespace: 'b-none' },
      { name: 'vap', namespace: 'b-vap' },
    ];
    for (const c of contenders) await ensureNamespace(cp.kubeconfig, c.namespace);
    await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], vapObjects('b-vap').map((o) => JSON.stringify(o)).join('\n'));
    const mg = await startWebhook({
      cluster: cp,
      keys: { [SEED_KEY_ID]: SEED_KEY },
      policyFile,
      probeNamespace: 'b-mg',
      only: { configName: 'modelgate-bench', namespaces: ['b-mg'] },
      logLevel: 'info',
      nodeFlags: INSTALLED_NODE_FLAGS,
    });
    hooks.push(mg);
    const mgQuiet = await startWebhook({
      cluster: cp,
      keys: { [SEED_KEY_ID]: SEED_KEY },
      policyFile,
      probeNamespace: 'b-mg0',
      only: { configName: 'modelgate-bench-no-events', namespaces: ['b-mg0'] },
      args: ['--events', 'none'],
      nodeFlags: INSTALLED_NODE_FLAGS,
    });
    hooks.push(mgQuiet);
    await ensureNamespace(cp.kubeconfig, 'b-noop');
    const noopPid = await startNoop(cp, sandbox, 'b-noop', mg);
    contenders.push(
      { name: 'noop-go', namespace: 'b-noop', pid: noopPid },
      { name: 'modelgate', namespace: 'b-mg', pid: () => mg.pid() },
      { name: 'modelgate-no-events', namespace: 'b-mg0', pid: () => mgQuiet.pid() },
    );
    if (PEERS) {
      await ensureNamespace(cp.kubeconfig, 'b-kyv');
      contenders.push({ name: 'kyverno', namespace: 'b-kyv', pid: await startKyverno(cp, sandbox, 'b-kyv') });
    }
    const procs: Record<string, () => number | undefined> = {
      'kube-apiserver': () => cp.sandbox.process('kube-apiserver')?.pid,
      etcd: () => cp.sandbox.process('etcd')?.pid,
      'kube-controller-manager': () => cp.sandbox.process('kube-controller-manager')?.pid,
      ...Object.fromEntries(contenders.filter((c) => c.pid).map((c) => [c.name, c.pid as () => number | undefined])),
    };
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ...cp.admin });
    const ctx = { cp, agent, procs };
    say(`control plane and ${contenders.length} contenders ready in ${Date.now() - t0} ms; ${ROUNDS} rounds × ${PER_CELL} requests per cell`);
    // Warm every path once (TLS sessions, JIT) before anything is recorded.
    for (const who of contenders) for (const cell of CELLS) await runCellShort(ctx, who, cell);
    const samples = new Map<string, Sample[]>();
    const peakRss: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [ci, cell] of CELLS.entries()) {
        const order = contenders.map((_, i) => contenders[(i + round) % contenders.length] as Contender);
        for (const who of order) {
          const s = await runCell(ctx, who, cell, `r${round}c${ci}-${randomBytes(2).toString('hex')}`);
          const key = `${who.name}|${cellName(cell)}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          for (const [n, pid] of Object.entries(procs)) peakRss[n] = Math.max(peakRss[n] ?? 0, rssMiB(pid()));
        }
      }
      say(`round ${round + 1}/${ROUNDS} done (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    assertCalled(contenders, samples);
    const metrics = await mg.metrics();
    agent.destroy();
    return { lines: report(contenders, samples, peakRss, metrics) };
  } finally {
    for (const h of hooks) await h.stop();
    await sandbox.stop();
    await cp.stop();
  }
}

async function runCellShort(
  ctx: { cp: ControlPlane; agent: https.Agent; procs: Record<string, () => number | undefined> },
  who: Contender,
  cell: Cell,
): Promise<void> {
  const manifest = randomSignedV1(SEED_KEY);
  const url = `${ctx.cp.server}/apis/apps/v1/namespaces/${who.namespace}/deployments${cell.dryRun ? '?dryRun=All' : ''}`;
  for (let i = 0; i < 10; i++) {
    const r = await post(ctx.agent, url, JSON.stringify(deployment(`warm-${randomBytes(3).toString('hex')}`, who.namespace, manifest)));
    if (r.status !== 201) throw new Error(`${who.name} warm-up ${cellName(cell)}: ${r.status} ${r.text.slice(0, 300)}`);
  }
}

function metricValue(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function report(contenders: Contender[], samples: Map<string, Sample[]>, peakRss: Record<string, number>, metrics: string): string[] {
  const lines = [
    `peers: ${ROUNDS} interleaved rounds × ${PER_CELL} Deployment creates per cell, load average ${loadavg()[0]?.toFixed(1)}; ms, median across rounds [min–max]`,
  ];
  for (const cell of CELLS) {
    const of = (name: string): Sample[] => samples.get(`${name}|${cellName(cell)}`) ?? [];
    const floor = of('none');
    lines.push(`  ${cellName(cell)}: p50 floor (no webhook) ${range(floor.map((s) => s.p50))}, p99 ${range(floor.map((s) => s.p99))}`);
    const added = (name: string): number[] => of(name).map((s, r) => s.p50 - (floor[r]?.p50 ?? 0));
    for (const who of contenders.filter((c) => c.name !== 'none')) {
      const a = added(who.name);
      const errors = of(who.name).reduce((n, s) => n + s.errors, 0);
      lines.push(
        `    ${who.name.padEnd(20)} p50 ${range(of(who.name).map((s) => s.p50))}  added ${range(a)}  p99 ${range(of(who.name).map((s) => s.p99))}${errors ? `  errors ${errors}` : ''}`,
      );
    }
    const noop = med(added('noop-go'));
    const mgAdded = med(added('modelgate'));
    const ratio = mgAdded / noop;
    lines.push(
      `    ${ratio <= PEER_TARGETS.addedVsNoop ? 'ok  ' : 'MISS'} modelgate added p50 ${f2(mgAdded)} ms = ${f2(ratio)}× the no-op Go webhook's ${f2(noop)} ms (target ≤ ${PEER_TARGETS.addedVsNoop}×)`,
    );
  }
  lines.push('  CPU ms per request (median across rounds; real c=8 / dry-run c=8):');
  const names = Object.keys(samples.values().next().value?.[0]?.cpu ?? {});
  for (const who of contenders) {
    const cells = [CELLS[3], CELLS[2]].map((c) => samples.get(`${who.name}|${cellName(c as Cell)}`) ?? []);
    const parts = names
      .filter((n) => n === who.name || ['kube-apiserver', 'etcd', 'kube-controller-manager'].includes(n))
      .map((n) => `${n} ${cells.map((ss) => f2(med(ss.map((s) => s.cpu[n] ?? 0)))).join(' / ')}`);
    lines.push(`    via ${who.name.padEnd(20)} ${parts.join(', ')}`);
  }
  const cpuOf = (name: string): number => med((samples.get(`${name}|${cellName(CELLS[3] as Cell)}`) ?? []).map((s) => s.cpu[name] ?? 0));
  const cpuRatio = cpuOf('modelgate') / cpuOf('modelgate-no-events');
  lines.push(
    `    ${cpuRatio <= PEER_TARGETS.cpuEventsVsNone ? 'ok  ' : 'MISS'} modelgate CPU per real create with Events ${f2(cpuOf('modelgate'))} ms = ${f2(cpuRatio)}× without (${f2(cpuOf('modelgate-no-events'))} ms; target ≤ ${PEER_TARGETS.cpuEventsVsNone}×)`,
  );
  lines.push(`  peak RSS MiB: ${Object.entries(peakRss).map(([n, v]) => `${n} ${v.toFixed(0)}`).join(', ')}`);
  lines.push(
    `  modelgate Events: ${metricValue(metrics, 'modelgate_events_sent_total')} written, ${metricValue(metrics, 'modelgate_events_aggregated_total')} folded into series, ${metricValue(metrics, 'modelgate_events_dropped_total')} dropped (counted) of ${metricValue(metrics, 'modelgate_requests_total')} decisions`,
  );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runPeersBench().then(
    ({ lines }) => {
      console.log(lines.join('\n'));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
