/**
 * Admission benchmark: POST /validate over HTTPS keep-alive with a realistic Deployment review
 * (the seed-v1 manifest in its annotation, an init container, a Triton container).
 *
 * From one run it prints:
 *  - p50/p99 latency at 1,000 req/s paced (targets ≤ 2 ms / ≤ 10 ms, zero errors);
 *  - saturation throughput of modelgate beside a bare node:https server doing the same
 *    decodeAdmissionReview + decideAdmission + JSON answer (target ≥ 0.5×);
 *  - RSS of the server process after 100,000 requests (target ≤ 150 MB);
 *  - under 8 connections of worst-case bodies (worstCaseBodies): the server's peak RSS (target
 *    < 256 MiB, the chart's limit) and /healthz latency sampled every 50 ms (target < 100 ms).
 *
 * modelgate runs as shipped (`node dist/cli/bin.js serve`) in its own process; the bare server
 * runs in this one; the load generator is a third process (this file with --loadgen), so
 * client CPU is not charged to either server. Only one server is under load at a time.
 * Latency is measured by the client from the moment a request is written to the moment its
 * answer has fully arrived. Needs the build (dist/). Only erasable TypeScript: Node runs it
 * by stripping types.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dist } from './dist.js';

export const ADMISSION_TARGETS = { p50Ms: 2, p99Ms: 10, ratio: 0.5, rssMB: 150 } as const;

/**
 * Under worst-case bodies: peak RSS under the chart's memory limit (256 Mi, else the pod is
 * OOM-killed) and every /healthz answered within 100 ms (the event loop is never held).
 */
export const WORST_CASE_TARGETS = { peakRssMiB: 256, healthzMaxMs: 100 } as const;

const REPO = new URL('..', import.meta.url);
const VECTORS = process.env.MODELGATE_VECTORS ?? fileURLToPath(new URL('../shared/vectors/seed-v1/', REPO));

type CertsModule = typeof import('../src/tls/certs.js');
type DecodeModule = typeof import('../src/admission/decode.js');
type RespondModule = typeof import('../src/admission/respond.js');
type DecideModule = typeof import('../src/decision/decide.js');
type PlanModule = typeof import('../src/decision/plan.js');
type KeysModule = typeof import('../src/keys/load.js');
type PolicyModule = typeof import('../src/policy/load.js');

export interface AdmissionBenchOptions {
  /** Paced rate (default 1000 req/s) and its duration (default 10 s). */
  rate?: number;
  pacedSeconds?: number;
  /** Saturation phase length per server (default 5 s) and concurrency (default 32). */
  saturationSeconds?: number;
  concurrency?: number;
  /** Requests after which RSS is read (default 100,000). */
  totalRequests?: number;
  /** Worst-case phase length (default 10 s) at 8 concurrent hostile bodies. */
  worstSeconds?: number;
}

export interface LoadResult {
  count: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Server-process CPU time per request (user + system), when measured. */
  cpuMsPerRequest?: number;
  /** Answers by HTTP status, when any status counts (the worst-case phase). */
  statuses?: Record<string, number>;
}

export interface WorstCaseResult {
  bodies: { label: string; bytes: number }[];
  load: LoadResult;
  /** Highest VmRSS sampled every 20 ms during the phase, and the baseline before it. */
  peakRssMiB: number;
  baselineRssMiB: number;
  /** GET /healthz every 50 ms from the driver while the hostile load runs. */
  healthz: { count: number; errors: number; p50: number; p99: number; max: number };
  /** The server's own event-loop delay over the phase (prom-client's monitorEventLoopDelay), in ms. */
  loopDelay: { p99: number; max: number };
  pass: { rss: boolean; healthz: boolean };
}

export interface AdmissionBenchResult {
  reviewBytes: number;
  concurrency: number;
  nodeFlags: string[];
  paced: LoadResult;
  /** The same paced load against the bare node:https server: what this machine allows at all. */
  pacedBare: LoadResult;
  /** The same paced load on modelgate from a second, independent client (hey, Go), when built. */
  pacedHey?: LoadResult;
  modelgate: LoadResult;
  bare: LoadResult;
  ratio: number;
  served: number;
  rssMB: number;
  worst?: WorstCaseResult;
  pass: { p50: boolean; p99: boolean; errors: boolean; ratio: boolean; rss: boolean };
}

/** The review the API server would send for `kubectl apply` of an inference Deployment. */
export function deploymentReview(manifestText: string, sha256: string, uid: string): Record<string, unknown> {
  const labels = {
    app: 'fraud-detector',
    'modelgate.dev/inference': 'true',
    'modelgate.dev/owner': 'risk-team',
  };
  const template = {
    metadata: { labels: { app: 'fraud-detector', 'modelgate.dev/inference': 'true' } },
    spec: {
      serviceAccountName: 'fraud-detector',
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [
        {
          name: 'verify-model',
          image: 'ghcr.io/modelgate/modelgate:0.1.0',
          args: ['verify', '/models/fraud-detector.onnx', '--sha256', sha256],
          volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
        },
      ],
      containers: [
        {
          name: 'server',
          image: 'nvcr.io/nvidia/tritonserver:24.08-py3',
          args: ['tritonserver', '--model-repository=/models'],
          ports: [
            { name: 'http', containerPort: 8000 },
            { name: 'grpc', containerPort: 8001 },
            { name: 'metrics', containerPort: 8002 },
          ],
          resources: {
            requests: { cpu: '2', memory: '8Gi' },
            limits: { 'nvidia.com/gpu': '1', memory: '16Gi' },
          },
          readinessProbe: { httpGet: { path: '/v2/health/ready', port: 8000 }, periodSeconds: 5 },
          volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
        },
      ],
      volumes: [{ name: 'models', persistentVolumeClaim: { claimName: 'models' } }],
    },
  };
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'fraud-detector',
      namespace: 'ml',
      labels,
      annotations: {
        'modelgate.dev/manifest': manifestText,
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          metadata: { labels },
          spec: { template },
        }),
      },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'fraud-detector' } },
      strategy: { type: 'RollingUpdate' },
      template,
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      name: 'fraud-detector',
      namespace: 'ml',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:ci:deployer',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
      },
      object,
      dryRun: false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'CreateOptions',
        fieldManager: 'kubectl-client-side-apply',
      },
    },
  };
}

/**
 * Image globs with several literal parts, each of which a compiled `^.*a.*b.*$` RegExp would
 * backtrack on quadratically: on the default rule of the test policy, they select nothing in the
 * normal review (it is labelled) and are tried against every image of the unlabelled hostile one.
 */
export const BENCH_IMAGE_GLOBS = ['*registry.example/*/llm-*:*', '*/models/*/serve-*@sha256:*'];

async function benchPolicy(): Promise<string> {
  const base = await readFile(new URL('test/fixtures/reviews/policy.yaml', REPO), 'utf8');
  const rule = '  - name: default\n    mode: enforce\n';
  if (!base.includes(rule)) throw new Error('test/fixtures/reviews/policy.yaml changed: update benchPolicy');
  const images = `    match:\n      images: ${JSON.stringify(BENCH_IMAGE_GLOBS)}\n`;
  // The review's model is on a PVC, which the shared-volume rule refuses by default (the bench
  // measures the cost of a decision that admits: accept the risk, as an operator may).
  return base.replace(rule, `${rule}${images}    sharedModelVolumes: true\n`);
}

const ENVELOPE_HEAD =
  '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"worst","x":';
const ENVELOPE_TAIL = '}}';
/** Just under the body limit (MAX_REVIEW_BYTES is 7 MiB), so express reads it whole. */
const NEAR_LIMIT = 7 * 1024 * 1024 - 1024;

/** `unit` repeated (joined by `sep`) inside a review envelope to just under the body limit. */
function filled(open: string, unit: string, sep: string, close: string): string {
  const room = NEAR_LIMIT - ENVELOPE_HEAD.length - ENVELOPE_TAIL.length - open.length - close.length;
  const n = Math.floor((room + sep.length) / (unit.length + sep.length));
  return ENVELOPE_HEAD + open + Array(n).fill(unit).join(sep) + close + ENVELOPE_TAIL;
}

/**
 * The bodies an attacker would send: each as large or as dense as the edge lets through, and
 * one that the edge accepts (just under the container and value caps) so the decision runs on it.
 */
export function worstCaseBodies(
  normal: Record<string, unknown>,
  caps: { containers: number; values: number },
): { label: string; body: string }[] {
  const depth = Math.floor((NEAR_LIMIT - ENVELOPE_HEAD.length - ENVELOPE_TAIL.length) / 2);
  const hostile = structuredClone(normal) as any;
  const object = hostile.request.object;
  delete object.metadata.labels['modelgate.dev/inference'];
  delete object.spec.template.metadata.labels['modelgate.dev/inference'];
  object.spec.template.spec.containers[0].image = 'registry.example/'.repeat(62_000); // ~1 MiB
  const dense = structuredClone(normal) as any;
  dense.request.uid = 'dense';
  // The normal review has a few hundred values of its own: leave it room under each cap.
  const objects = caps.containers - 1000;
  dense.request.object.spec.template.spec.padding = {
    objects: Array.from({ length: objects }, () => ({})),
    zeros: Array<number>(caps.values - 2 * objects - 2000).fill(0),
  };
  return [
    {
      label: 'nested empty arrays',
      body: ENVELOPE_HEAD + '['.repeat(depth) + ']'.repeat(depth) + ENVELOPE_TAIL,
    },
    { label: 'wide empty arrays', body: filled('[', '[]', ',', ']') },
    { label: 'maximal value count', body: filled('[', '0', ',', ']') },
    { label: 'accepted, just under the caps', body: JSON.stringify(dense) },
    { label: '1 MiB hostile glob image', body: JSON.stringify(hostile) },
  ];
}

interface Fixture {
  dir: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  keysDir: string;
  policyFile: string;
  body: string;
}

async function fixture(): Promise<Fixture> {
  const certs = await dist<CertsModule>('tls/certs.js');
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-'));
  const { ca, serving } = certs.createSelfSignedBundle({
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
  });
  const f: Fixture = {
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    caPem: ca.certPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    keysDir: join(dir, 'keys'),
    policyFile: join(dir, 'policy.yaml'),
    body: '',
  };
  await writeFile(f.policyFile, await benchPolicy());
  await writeFile(f.certFile, serving.certPem);
  await writeFile(f.keyFile, serving.keyPem);
  await mkdir(f.keysDir);
  await writeFile(join(f.keysDir, 'ci'), await readFile(join(VECTORS, 'signing.key')));
  const manifestText = await readFile(join(VECTORS, 'fraud-detector.manifest.json'), 'utf8');
  const sha256 = (JSON.parse(manifestText) as { file_hash: string }).file_hash;
  f.body = JSON.stringify(deploymentReview(manifestText, sha256, '705ab4f5-6393-11e8-b7cc-42010a800002'));
  return f;
}

/** The baseline: node:https, the same decode + decision + JSON answer, nothing else. */
async function bareServer(f: Fixture): Promise<{ server: Server; port: number }> {
  const [decode, respond, decide, plan, keys, policy] = await Promise.all([
    dist<DecodeModule>('admission/decode.js'),
    dist<RespondModule>('admission/respond.js'),
    dist<DecideModule>('decision/decide.js'),
    dist<PlanModule>('decision/plan.js'),
    dist<KeysModule>('keys/load.js'),
    dist<PolicyModule>('policy/load.js'),
  ]);
  const keyring = await keys.loadKeyDir(f.keysDir);
  const loaded = await policy.loadPolicyFile(f.policyFile);
  if (!loaded.ok) throw new Error('bench policy is invalid');
  const server = createServer({ cert: f.certPem, key: f.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const decoded = decode.decodeAdmissionReview(Buffer.concat(chunks), req.headers['content-type']);
      const response = decoded.ok
        ? decide.decideAdmission(plan.planAdmission(decoded.request, loaded.policy), {
            resolved: [],
            keyring,
            now: new Date(),
          }).response
        : respond.errored(decoded.uid ?? '', decoded.status, decoded.message);
      const out = JSON.stringify(respond.reviewResponse(response));
      res.writeHead(decoded.ok ? 200 : decoded.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(out),
      });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

// ---------------------------------------------------------------------------------------------
// Load generator (child process).

interface Phase {
  kind: 'paced' | 'closed';
  port: number;
  ca: string;
  body: string;
  /** paced: requests per second; closed: concurrent requests in flight. */
  rate?: number;
  concurrency?: number;
  seconds?: number;
  /** closed: stop after this many requests instead of `seconds`. */
  count?: number;
  /** closed: worker i sends bodies[i % length] instead of `body`; paced: request i sends bodies[i % length]. */
  bodies?: string[];
  /**
   * `body` holds PAD_MARK once: the load generator makes `variants` bodies from it, the i-th with
   * i spaces in its place (so each request's manifest text differs: no cache can answer it).
   */
  variants?: number;
  /** Any complete HTTP answer counts (tallied by status), not only an allowed 200. */
  anyStatus?: boolean;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function summarise(latencies: number[], errors: number, seconds: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  return {
    count: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

function once(agent: Agent, p: Phase, body: Buffer, statuses?: Record<string, number>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: p.port,
        method: 'POST',
        path: '/validate',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const status = String(res.statusCode);
          if (statuses) statuses[status] = (statuses[status] ?? 0) + 1;
          if (p.anyStatus || (res.statusCode === 200 && text.includes('"allowed":true')))
            resolve(performance.now() - started);
          else reject(new Error(`HTTP ${res.statusCode}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runPaced(p: Phase, agent: Agent, body: Buffer): Promise<LoadResult> {
  const bodies = p.bodies?.map((b) => Buffer.from(b)) ?? [body];
  const rate = p.rate ?? 1000;
  const total = Math.round(rate * (p.seconds ?? 10));
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        pending.push(
          once(agent, p, bodies[sent % bodies.length]!).then(
            (ms) => void latencies.push(ms),
            () => void errors++,
          ),
        );
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  return summarise(latencies, errors, (performance.now() - t0) / 1000);
}

async function runClosed(p: Phase, agent: Agent, body: Buffer): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const statuses: Record<string, number> = {};
  const bodies = p.bodies?.map((b) => Buffer.from(b)) ?? [body];
  const t0 = performance.now();
  const end = t0 + (p.seconds ?? 5) * 1000;
  const more = (): boolean => (p.count !== undefined ? issued < p.count : performance.now() < end);
  const worker = async (_: unknown, index: number): Promise<void> => {
    while (more()) {
      issued++;
      await once(agent, p, bodies[index % bodies.length]!, statuses).then(
        (ms) => void latencies.push(ms),
        () => void errors++,
      );
    }
  };
  await Promise.all(Array.from({ length: p.concurrency ?? 32 }, worker));
  return { ...summarise(latencies, errors, (performance.now() - t0) / 1000), statuses };
}

/** Where a padded body's variants differ (see Phase.variants): inside the manifest annotation's text. */
export const PAD_MARK = '@@PAD@@';

function loadgen(): void {
  process.on('message', (phase: Phase) => {
    const msg =
      phase.variants === undefined
        ? phase
        : { ...phase, bodies: Array.from({ length: phase.variants }, (_, i) => phase.body.replace(PAD_MARK, ' '.repeat(i))) };
    const agent = new Agent({ keepAlive: true, ca: msg.ca, maxSockets: Math.max(16, msg.concurrency ?? 16) });
    const body = Buffer.from(msg.body);
    const run = msg.kind === 'paced' ? runPaced(msg, agent, body) : runClosed(msg, agent, body);
    void run.then(
      (result) => {
        agent.destroy();
        process.send?.({ ok: true, result });
      },
      (err: unknown) => process.send?.({ ok: false, error: String(err) }),
    );
  });
  process.send?.({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// Driver (this process: the servers).

function startLoadgen(): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--loadgen'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('error', reject);
  });
}

function drive(child: ChildProcess, phase: Phase): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    child.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
      if (m.ok && m.result) resolve(m.result);
      else reject(new Error(m.error ?? 'load generator failed'));
    });
    child.send(phase);
  });
}

/** `modelgate serve` as shipped (dist/cli/bin.js), in its own process; audit lines go to /dev/null. */
const HEY = new URL('.tools/bin/hey', REPO);

/**
 * The paced load again from hey, a Go client: the Node load generator's own tail dominates the
 * p99 at 1,000 req/s on 2 cores, so a second client tells the server's share apart.
 */
async function heyPaced(
  port: number,
  f: Fixture,
  rate: number,
  seconds: number,
): Promise<LoadResult | undefined> {
  if (!existsSync(HEY)) return undefined;
  const bodyFile = join(f.dir, 'review.json');
  await writeFile(bodyFile, f.body);
  const workers = 10;
  const args = ['-z', `${seconds}s`, '-c', String(workers), '-q', String(rate / workers), '-m', 'POST'];
  args.push('-T', 'application/json', '-D', bodyFile, `https://127.0.0.1:${port}/validate`);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(fileURLToPath(HEY), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  return parseHey(out, seconds);
}

export function parseHey(out: string, seconds: number): LoadResult {
  const secs = (re: RegExp): number => Math.round(Number(re.exec(out)?.[1] ?? NaN) * 1e6) / 1e3; // → ms
  const ok = Number(/\[200\]\s+(\d+) responses/.exec(out)?.[1] ?? 0);
  const all = [...out.matchAll(/\[(\d+)\]\s+(\d+) responses/g)].reduce((n, m) => n + Number(m[2]), 0);
  const errorSection = out.split('Error distribution:')[1] ?? '';
  const failed = [...errorSection.matchAll(/^\s*\[(\d+)\]\t/gm)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    count: ok,
    errors: all - ok + failed,
    seconds,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: secs(/50%+ in ([\d.]+) secs/),
    p90: secs(/90%+ in ([\d.]+) secs/),
    p99: secs(/99%+ in ([\d.]+) secs/),
    max: secs(/Slowest:\s+([\d.]+) secs/),
  };
}

async function startServe(f: Fixture): Promise<{ child: ChildProcess; port: number; nodeFlags: string[] }> {
  const bin = new URL('dist/cli/bin.js', REPO);
  if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run `make build` first');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const args = [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--tls-cert',
    f.certFile,
    '--tls-key',
    f.keyFile,
  ];
  args.push('--keys-dir', f.keysDir, '--policy', f.policyFile, '--shutdown-delay-ms', '0');
  const nodeFlags = await serveNodeFlags();
  const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(bin), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '' },
  });
  const agent = new Agent({ ca: f.caPem });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/readyz', agent }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return { child, port, nodeFlags };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('modelgate serve did not become ready');
}

/**
 * The Node flags `modelgate serve` runs with in the image: those of the Dockerfile's
 * ENTRYPOINT ["node", ...flags, "/app/dist/cli/bin.js"], so the bench measures what ships.
 * BENCH_SERVE_NODE_FLAGS overrides them.
 */
export async function serveNodeFlags(): Promise<string[]> {
  const override = process.env.BENCH_SERVE_NODE_FLAGS;
  if (override !== undefined) return override.split(' ').filter(Boolean);
  const dockerfile = await readFile(new URL('Dockerfile', REPO), 'utf8').catch(() => '');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!entry) return [];
  try {
    const argv = JSON.parse(entry) as string[];
    return argv.slice(1).filter((a) => a.startsWith('--'));
  } catch {
    return [];
  }
}

/** utime + stime of a process, in ms (Linux /proc; 0 elsewhere). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * 10; // clock ticks of 10 ms
}

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? (Number(kb) * 1024) / 1e6 : Number.NaN;
}

/** Samples VmRSS every `everyMs` until stopped; resolves with the highest, in MiB. */
function sampleRss(pid: number, everyMs: number): { stop: () => Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await rssMB(pid)) * (1e6 / 2 ** 20));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** GET /healthz every `everyMs` (whether or not the previous one returned) until stopped. */
function probeHealthz(
  port: number,
  ca: string,
  everyMs: number,
): { stop: () => Promise<WorstCaseResult['healthz']> } {
  const agent = new Agent({ keepAlive: true, ca });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const probe = (): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - started);
          else errors++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const timer = setInterval(() => pending.push(probe()), everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      agent.destroy();
      const r = summarise(latencies, errors, 1);
      return { count: r.count, errors, p50: r.p50, p99: r.p99, max: r.max };
    },
  };
}

function scrape(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

/** 8 connections sending the worst-case bodies in turn for `seconds`, with RSS and /healthz sampled. */
async function worstCase(
  child: ChildProcess,
  serve: { port: number; pid: number },
  f: Fixture,
  seconds: number,
): Promise<WorstCaseResult> {
  const only = process.env.BENCH_WORST_ONLY; // a label substring, to study one body alone
  const decode = await dist<DecodeModule>('admission/decode.js');
  const caps = { containers: decode.MAX_JSON_CONTAINERS, values: decode.MAX_JSON_VALUES };
  const bodies = worstCaseBodies(JSON.parse(f.body) as Record<string, unknown>, caps).filter(
    (b) => only === undefined || b.label.includes(only),
  );
  const baselineRssMiB = (await rssMB(serve.pid)) * (1e6 / 2 ** 20);
  await scrape(serve.port, f.caPem); // prom-client resets its event-loop histogram on each scrape
  const rss = sampleRss(serve.pid, 20);
  const healthz = probeHealthz(serve.port, f.caPem, 50);
  const load = await drive(child, {
    kind: 'closed',
    port: serve.port,
    ca: f.caPem,
    body: '',
    bodies: bodies.map((b) => b.body),
    concurrency: 8,
    seconds,
    anyStatus: true,
  });
  const h = await healthz.stop();
  const peakRssMiB = await rss.stop();
  const metrics = await scrape(serve.port, f.caPem);
  const gauge = (name: string): number =>
    Number(
      new RegExp(`^modelgate_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(metrics)?.[1] ??
        NaN,
    ) * 1000;
  const loopDelay = { p99: gauge('p99'), max: gauge('max') };
  return {
    bodies: bodies.map((b) => ({ label: b.label, bytes: Buffer.byteLength(b.body) })),
    load,
    peakRssMiB,
    baselineRssMiB,
    healthz: h,
    loopDelay,
    pass: {
      rss: peakRssMiB < WORST_CASE_TARGETS.peakRssMiB,
      healthz: h.errors === 0 && h.max < WORST_CASE_TARGETS.healthzMaxMs,
    },
  };
}

async function measureCpu(read: () => Promise<number>, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const before = await read();
  const r = await run();
  return { ...r, cpuMsPerRequest: ((await read()) - before) / Math.max(1, r.count) };
}

const ownCpuMs = (): Promise<number> => {
  const u = process.cpuUsage();
  return Promise.resolve((u.user + u.system) / 1000);
};

export async function runAdmissionBench(
  opts: AdmissionBenchOptions = {},
): Promise<{ results: AdmissionBenchResult; lines: string[] }> {
  const f = await fixture();
  const serve = await startServe(f);
  const pid = serve.child.pid ?? 0;
  const bare = await bareServer(f);
  const child = await startLoadgen();
  const base = { ca: f.caPem, body: f.body };
  const concurrency = opts.concurrency ?? 32;
  const saturation = opts.saturationSeconds ?? 5;
  try {
    // Warm-up (JIT, TLS sessions), then the measured phases.
    await drive(child, { ...base, kind: 'closed', port: serve.port, concurrency: 8, count: 3000 });
    await drive(child, { ...base, kind: 'closed', port: bare.port, concurrency: 8, count: 3000 });
    const pace = {
      ...base,
      kind: 'paced' as const,
      rate: opts.rate ?? 1000,
      seconds: opts.pacedSeconds ?? 10,
    };
    const paced = await drive(child, { ...pace, port: serve.port });
    const pacedBare = await drive(child, { ...pace, port: bare.port });
    const pacedHey = await heyPaced(serve.port, f, pace.rate, pace.seconds);
    const mg = await measureCpu(
      () => cpuMs(pid),
      () => drive(child, { ...base, kind: 'closed', port: serve.port, concurrency, seconds: saturation }),
    );
    const bareResult = await measureCpu(ownCpuMs, () =>
      drive(child, { ...base, kind: 'closed', port: bare.port, concurrency, seconds: saturation }),
    );
    let served = 3000 + paced.count + paced.errors + mg.count + mg.errors;
    const total = opts.totalRequests ?? 100_000;
    if (served < total) {
      const rest = await drive(child, {
        ...base,
        kind: 'closed',
        port: serve.port,
        concurrency,
        count: total - served,
      });
      served += rest.count + rest.errors;
    }
    const rss = await rssMB(pid);
    const worst = await worstCase(child, { port: serve.port, pid }, f, opts.worstSeconds ?? 10);
    const results = summariseBench({
      f,
      paced,
      pacedBare,
      pacedHey,
      mg,
      bareResult,
      served,
      rss,
      concurrency,
      nodeFlags: serve.nodeFlags,
    });
    results.worst = worst;
    return { results, lines: [...formatAdmission(results), ...formatWorstCase(worst)] };
  } finally {
    child.kill();
    serve.child.kill('SIGTERM');
    bare.server.closeAllConnections();
    bare.server.close();
    await rm(f.dir, { recursive: true, force: true });
  }
}

function summariseBench(r: {
  f: Fixture;
  paced: LoadResult;
  pacedBare: LoadResult;
  pacedHey: LoadResult | undefined;
  mg: LoadResult;
  bareResult: LoadResult;
  served: number;
  rss: number;
  concurrency: number;
  nodeFlags: string[];
}): AdmissionBenchResult {
  const ratio = r.mg.rps / r.bareResult.rps;
  const rssMB = r.rss;
  return {
    reviewBytes: Buffer.byteLength(r.f.body),
    concurrency: r.concurrency,
    nodeFlags: r.nodeFlags,
    paced: r.paced,
    pacedBare: r.pacedBare,
    ...(r.pacedHey ? { pacedHey: r.pacedHey } : {}),
    modelgate: r.mg,
    bare: r.bareResult,
    ratio,
    served: r.served,
    rssMB,
    pass: {
      p50: r.paced.p50 <= ADMISSION_TARGETS.p50Ms,
      p99: r.paced.p99 <= ADMISSION_TARGETS.p99Ms,
      errors: r.paced.errors + r.mg.errors + (r.pacedHey?.errors ?? 0) === 0,
      ratio: ratio >= ADMISSION_TARGETS.ratio,
      rss: rssMB <= ADMISSION_TARGETS.rssMB,
    },
  };
}

const mark = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');
const ms = (v: number): string => `${v.toFixed(2)} ms`;

export function formatAdmission(r: AdmissionBenchResult): string[] {
  const p = r.paced;
  return [
    `admission: POST /validate over HTTPS keep-alive, ${r.reviewBytes}-byte Deployment review (v1 manifest in annotation), load generator in a child process`,
    `  ${mark(r.pass.p50 && r.pass.p99)} paced ${(p.count / p.seconds).toFixed(0)} req/s for ${p.seconds.toFixed(1)} s: p50 ${ms(p.p50)}, p90 ${ms(p.p90)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (targets p50 ≤ ${ADMISSION_TARGETS.p50Ms} ms, p99 ≤ ${ADMISSION_TARGETS.p99Ms} ms)`,
    `       same pace against the bare node:https server (same decision, in the bench process): p50 ${ms(r.pacedBare.p50)}, p90 ${ms(r.pacedBare.p90)}, p99 ${ms(r.pacedBare.p99)}, max ${ms(r.pacedBare.max)}: modelgate's p99 is ${(p.p99 / r.pacedBare.p99).toFixed(1)}× the machine's own`,
    r.pacedHey
      ? `       same pace on modelgate from hey (Go client, 10 workers): p50 ${ms(r.pacedHey.p50)}, p90 ${ms(r.pacedHey.p90)}, p99 ${ms(r.pacedHey.p99)}, max ${ms(r.pacedHey.max)}, ${r.pacedHey.errors} errors`
      : '       (hey not built: `bash tools/build.sh hey` adds a second, independent client)',
    `  ${mark(r.pass.errors)} errors: paced ${p.errors}, saturation ${r.modelgate.errors} (target 0)`,
    `  ${mark(r.pass.ratio)} saturation: modelgate ${r.modelgate.rps.toFixed(0)} req/s (p99 ${ms(r.modelgate.p99)}) vs bare node:https + same decision ${r.bare.rps.toFixed(0)} req/s (p99 ${ms(r.bare.p99)}): ${r.ratio.toFixed(2)}× (target ≥ ${ADMISSION_TARGETS.ratio}×)`,
    `       server CPU per request: modelgate ${ms(r.modelgate.cpuMsPerRequest ?? 0)}, bare ${ms(r.bare.cpuMsPerRequest ?? 0)}; concurrency ${r.concurrency}, ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)} at the end`,
    `  ${mark(r.pass.rss)} modelgate serve process RSS after ${r.served} requests: ${r.rssMB.toFixed(1)} MB (target ≤ ${ADMISSION_TARGETS.rssMB} MB; node flags: ${r.nodeFlags.join(' ') || 'none'})`,
  ];
}

export function formatWorstCase(w: WorstCaseResult): string[] {
  const statuses = Object.entries(w.load.statuses ?? {})
    .map(([status, n]) => `${n}× ${status}`)
    .join(', ');
  return [
    `worst case: 8 connections for ${w.load.seconds.toFixed(1)} s, each sending in turn: ${w.bodies.map((b) => `${b.label} (${(b.bytes / 2 ** 20).toFixed(2)} MiB)`).join('; ')}`,
    `       ${w.load.count} answers (${statuses || 'none'}), ${w.load.errors} transport errors; latency p50 ${ms(w.load.p50)}, p99 ${ms(w.load.p99)}, max ${ms(w.load.max)}`,
    `  ${mark(w.pass.rss)} modelgate serve peak RSS ${w.peakRssMiB.toFixed(1)} MiB (from ${w.baselineRssMiB.toFixed(1)} MiB before the phase; target < ${WORST_CASE_TARGETS.peakRssMiB} MiB, the chart's memory limit)`,
    `  ${mark(w.pass.healthz)} GET /healthz every 50 ms meanwhile: ${w.healthz.count} answered, ${w.healthz.errors} failed; p50 ${ms(w.healthz.p50)}, p99 ${ms(w.healthz.p99)}, max ${ms(w.healthz.max)} (target max < ${WORST_CASE_TARGETS.healthzMaxMs} ms)`,
    `       the server's own event-loop delay over the phase: p99 ${ms(w.loopDelay.p99)}, max ${ms(w.loopDelay.max)}; load average ${loadavg()[0]?.toFixed(1)} (the client, the server and anything else share ${availableParallelism()} cores)`,
  ];
}

// ---------------------------------------------------------------------------------------------
// A 1,000-file OMS bundle in the annotation beside a v2 manifest, through the same modelgate serve.

type SignaturesModule = typeof import('./signatures.js');
type V2Module = typeof import('../src/manifest/v2.js');

export interface OmsAdmissionOptions {
  /** Files the OMS bundle lists (default 1,000). */
  files?: number;
  /** Paced rate for every variant (default 100 req/s: a 1,000-file review is ~0.23 MB, ~2-5 ms of server CPU) and its duration (default 10 s). */
  rate?: number;
  seconds?: number;
}

export interface OmsAdmissionVariant {
  label: string;
  reviewBytes: number;
  paced: LoadResult;
  pass: boolean;
}

/** The fixture Deployment with an OMS verify step (the whole model directory, pinned to the payload) and the bundle mounted. */
export function omsDeploymentReview(bundleText: string, payloadSha256: string, uid: string): Record<string, unknown> {
  const review = deploymentReview(bundleText, payloadSha256, uid) as any;
  const spec = review.request.object.spec.template.spec;
  spec.initContainers[0].args = ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', payloadSha256];
  spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
  spec.volumes.push({ name: 'bundle', configMap: { name: 'fraud-detector-signature' } });
  return review as Record<string, unknown>;
}

async function omsFixture(f: Fixture, files: number): Promise<{ v2Body: string; omsBody: string }> {
  const sig = (await import(new URL('./signatures.ts', import.meta.url).href)) as SignaturesModule;
  const { signV2 } = await dist<V2Module>('manifest/v2.js');
  const keys = await dist<KeysModule>('keys/load.js');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString().trim().split('\n');
  const authority = `omsAuthorities:\n  - name: oms-ci\n    method: key\n    publicKeys:\n      - |\n${pem.map((l) => `        ${l}`).join('\n')}\n`;
  await writeFile(f.policyFile, `${await benchPolicy()}${authority}`);
  const sha256 = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';
  const v2 = signV2(
    {
      apiVersion: 'modelgate.dev/v1',
      kind: 'ModelManifest',
      model: { name: 'fraud-detector', version: '3.1.0', source: 's3://models-prod/fraud-detector/3.1.0' },
      files: [{ path: 'fraud-detector.onnx', sha256, size: 1048583 }],
      claims: { scan: 'passed', approvers: ['alice', 'bob'], dataClassification: 'internal' },
      signedAt: '2026-04-26T03:15:42Z',
    },
    await keys.loadKeyDir(f.keysDir),
    'ci',
  );
  if (v2 === undefined) throw new Error('bench: cannot sign the v2 manifest with key ci');
  const bundle = await sig.keyMethodBundle(files, privateKey);
  const uid = '705ab4f5-6393-11e8-b7cc-42010a800003';
  return {
    v2Body: JSON.stringify(deploymentReview(JSON.stringify(v2), sha256, uid)),
    // The marker sits after the bundle, inside the annotation's text: trailing whitespace, still the same bundle.
    omsBody: JSON.stringify(omsDeploymentReview(`${bundle.text}${PAD_MARK}`, bundle.payloadSha256, uid)),
  };
}

/**
 * Admission latency, paced, through one `modelgate serve` (as shipped) with: a v2 manifest
 * (HMAC-SHA256); a 1,000-file OMS bundle (key method), the same text every time (after the first,
 * a verdict cache hit); the same bundle cold (each request's text differs by trailing whitespace,
 * 300 variants in turn, more than the cache's 256 entries or 32 MiB hold, so every one is parsed
 * and verified).
 */
export async function runOmsAdmissionBench(opts: OmsAdmissionOptions = {}): Promise<{ results: OmsAdmissionVariant[]; lines: string[] }> {
  const files = opts.files ?? Number(process.env.BENCH_OMS_FILES ?? 1000);
  const rate = opts.rate ?? Number(process.env.BENCH_OMS_RATE ?? 100);
  const seconds = opts.seconds ?? Number(process.env.BENCH_OMS_SECONDS ?? 10);
  const f = await fixture();
  const { v2Body, omsBody } = await omsFixture(f, files);
  const serve = await startServe(f);
  const pid = serve.child.pid ?? 0;
  const child = await startLoadgen();
  const variants: { label: string; body: string; variants?: number }[] = [
    { label: 'v2 manifest (HMAC-SHA256)', body: v2Body },
    { label: `OMS bundle, ${files} files, key method, same text each time (verdict cache hit)`, body: omsBody.replace(PAD_MARK, '') },
    { label: `OMS bundle, ${files} files, key method, cold (300 texts in turn, more than the cache holds: every one parsed and verified)`, body: omsBody, variants: 300 },
  ];
  const results: OmsAdmissionVariant[] = [];
  try {
    for (const v of variants) {
      const base = { ca: f.caPem, body: v.body, port: serve.port, ...(v.variants ? { variants: v.variants } : {}) };
      await drive(child, { ...base, kind: 'paced', rate, seconds: 2 }); // warm-up (JIT, TLS, the cache)
      const paced = await measureCpu(() => cpuMs(pid), () => drive(child, { ...base, kind: 'paced', rate, seconds }));
      const pass = paced.errors === 0 && paced.p50 <= ADMISSION_TARGETS.p50Ms && paced.p99 <= ADMISSION_TARGETS.p99Ms;
      results.push({ label: v.label, reviewBytes: Buffer.byteLength(v.body.replace(PAD_MARK, '')), paced, pass });
    }
  } finally {
    child.kill();
    serve.child.kill('SIGTERM');
    await rm(f.dir, { recursive: true, force: true });
  }
  return { results, lines: formatOmsAdmission(results, rate, seconds) };
}

export function formatOmsAdmission(results: OmsAdmissionVariant[], rate: number, seconds: number): string[] {
  return [
    `admission with an OMS bundle vs a v2 manifest: POST /validate over HTTPS keep-alive to one modelgate serve, paced ${rate} req/s for ${seconds} s each, ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)} (targets p50 ≤ ${ADMISSION_TARGETS.p50Ms} ms, p99 ≤ ${ADMISSION_TARGETS.p99Ms} ms)`,
    ...results.map(
      (r) =>
        `  ${mark(r.pass)} ${r.label}, ${r.reviewBytes}-byte review: p50 ${ms(r.paced.p50)}, p90 ${ms(r.paced.p90)}, p99 ${ms(r.paced.p99)}, max ${ms(r.paced.max)}, ${r.paced.errors} errors; server CPU ${ms(r.paced.cpuMsPerRequest ?? 0)} per request`,
    ),
  ];
}

if (process.argv.includes('--loadgen')) {
  loadgen();
} else if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  (process.argv.includes('--oms') ? runOmsAdmissionBench() : runAdmissionBench()).then(
    ({ lines }) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
