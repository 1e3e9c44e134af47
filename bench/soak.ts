/**
 * The Events soak (issue 15 item 1): `modelgate serve` with the Node flags it runs with when
 * installed — the image's (`--max-semi-space-size=2`, the Dockerfile's ENTRYPOINT) and the
 * chart's (`NODE_OPTIONS=--max-old-space-size=128`: half the 256 Mi limit) — Events on,
 * talking to a real kube-apiserver, under twice the admission bench's paced target (2 × 1,000
 * = 2,000 reviews/s) for BENCH_SOAK_SECONDS (default 600). Every review is a real (not dry-run)
 * CREATE of a distinct Deployment: 3 in 4 are signed and allowed (a ModelVerified Event each),
 * 1 in 4 is refused (ModelRejected), so nearly every decision wants an Event of its own — the
 * worst case for the Event path, which must stay bounded (aggregation, a paced writer, a queue
 * of 1,000; the rest dropped and counted).
 *
 * Reviews go straight to POST /validate (the API server cannot create 2,000 Deployments a second
 * on this machine); the Events go to the API server. The webhook's RSS is read from /proc every
 * second. Reported: the rate reached, latency, peak RSS against the chart's 256 MiB limit, and
 * the RSS slope over the last half (least squares, MiB per minute; flat = within ±1 MiB/min).
 *
 * Run: BENCH_SOAK_SECONDS=120 node --experimental-strip-types --no-warnings
 *      --import ./test/harness/tsResolve.ts bench/soak.ts
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { admissionReview, inferenceDeployment, randomSignedV1 } from '../test/fixtures/inference.js';
import { startControlPlane } from '../test/harness/controlPlane.js';
import { repoRoot, Sandbox } from '../test/harness/sandbox.js';
import { startWebhook } from '../test/harness/webhook.js';

export const SOAK_TARGETS = { rssMiB: 256, slopeMiBPerMin: 1 } as const;

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 2000);
const IN_FLIGHT = 32;
/** Trials: other Node flags (default: the image's and the chart's) and `--events` (default: all). */
const NODE_FLAGS = (process.env.BENCH_SOAK_NODE_FLAGS ?? '--max-semi-space-size=2 --max-old-space-size=128').split(' ').filter(Boolean);
const EVENTS = process.env.BENCH_SOAK_EVENTS ?? 'all';
const KEY = fs.readFileSync(path.join(repoRoot, 'test/e2e/fixtures/seed-v1/signing.key'), 'utf8');

function say(msg: string): void {
  process.stderr.write(`[soak] ${msg}\n`);
}

function review(i: number, m: { text: string; sha256: string }): string {
  const refused = i % 4 === 3;
  const object = inferenceDeployment({
    name: `soak-${i}`,
    namespace: 's-soak',
    ...(!refused && { manifest: m.text }),
    pins: [m.sha256],
    modelPaths: ['/models/fraud-detector.onnx'],
    serverImage: 'nvcr.io/nvidia/tritonserver:24.05-py3',
  });
  return JSON.stringify(
    admissionReview(object, {
      uid: randomBytes(16).toString('hex'),
      username: 'ci@example.com',
      groups: ['system:authenticated'],
    }),
  );
}

function post(agent: https.Agent, url: string, body: string): Promise<{ ok: boolean; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = https.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ ok: false, ms: performance.now() - t0 }));
    req.end(body);
  });
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

/** Least-squares slope of (t seconds, y) in y-units per minute. */
export function slopePerMinute(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 60;
}

function metric(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

export async function runSoak(): Promise<{ lines: string[] }> {
  const cp = await startControlPlane({ controllerManager: false, log: say });
  const sandbox = Sandbox.create('modelgate-soak');
  const policyFile = sandbox.path('policy.yaml');
  fs.writeFileSync(
    policyFile,
    stringify({ apiVersion: 'modelgate.dev/v1', kind: 'Policy', rules: [{ name: 'soak', match: { namespaces: ['s-*'] } }] }),
  );
  const hook = await startWebhook({
    cluster: cp,
    keys: { 'ci-2026': KEY },
    policyFile,
    probeNamespace: 's-soak',
    nodeFlags: NODE_FLAGS,
    logLevel: 'info',
    args: ['--events', EVENTS],
  });
  try {
    const pid = hook.pid();
    const agent = new https.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, ca: hook.caPem });
    const samples: [number, number][] = [];
    const latencies: number[] = [];
    let errors = 0;
    let sent = 0;
    const m = randomSignedV1(KEY);
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    let inFlight = 0;
    const sampler = setInterval(() => {
      const at = (performance.now() - t0) / 1000;
      samples.push([at, rssMiB(pid)]);
      if (samples.length % 30 === 0) say(`${at.toFixed(0)} s: ${sent} sent, RSS ${rssMiB(pid).toFixed(0)} MiB`);
    }, 1000);
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - t0) * RATE) / 1000);
      while (sent < due && inFlight < IN_FLIGHT) {
        inFlight++;
        const i = sent++;
        void post(agent, hook.url, review(i, m)).then((r) => {
          inFlight--;
          if (!r.ok) errors++;
          if (i % 10 === 0) latencies.push(r.ms);
        });
      }
      await sleep(1);
    }
    while (inFlight > 0) await sleep(10);
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    const metrics = await hook.metrics();
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const peak = Math.max(...samples.map(([, y]) => y));
    const half = samples.filter(([x]) => x >= seconds / 2);
    const slope = slopePerMinute(half);
    const mark = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');
    return {
      lines: [
        `soak: ${seconds.toFixed(0)} s at ${(sent / seconds).toFixed(0)} reviews/s (asked ${RATE}), ${IN_FLIGHT} in flight, --events ${EVENTS}, node ${NODE_FLAGS.join(' ')}; load average ${loadavg()[0]?.toFixed(1)}`,
        `  latency p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms; errors ${errors}`,
        `  ${mark(peak < SOAK_TARGETS.rssMiB)} RSS peak ${peak.toFixed(0)} MiB (chart limit ${SOAK_TARGETS.rssMiB} MiB), start ${samples[0]?.[1].toFixed(0)} MiB, end ${samples.at(-1)?.[1].toFixed(0)} MiB`,
        `  ${mark(Math.abs(slope) <= SOAK_TARGETS.slopeMiBPerMin)} RSS slope over the last half ${slope.toFixed(2)} MiB/min (flat: within ±${SOAK_TARGETS.slopeMiBPerMin})`,
        `  Events: ${metric(metrics, 'modelgate_events_sent_total')} written, ${metric(metrics, 'modelgate_events_aggregated_total')} folded, ${metric(metrics, 'modelgate_events_dropped_total')} dropped (counted), queue ${metric(metrics, 'modelgate_event_queue_length')} at the end, of ${sent} decisions`,
      ],
    };
  } finally {
    await hook.stop();
    await sandbox.stop();
    await cp.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runSoak().then(
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
