/**
 * Faults (issue 15 item 4), on a private control plane of their own (etcd + kube-apiserver,
 * started here and torn down at the end), so killing, restarting and pausing its parts never
 * disturbs the e2e project's shared cluster. One `modelgate serve` process, registered with the
 * chart's ValidatingWebhookConfiguration (failurePolicy Fail), runs with `serve`'s defaults
 * (queue 1000, Events 100 at once then 20/s) except `--deadline-ms 2000` (so the etcd pause
 * exceeds it), with a policy and keys mounted the way the kubelet mounts a ConfigMap and a
 * Secret (test/harness/keysDir.ts).
 *
 * Each `describe` says what the fault may lose; the assertions check that nothing else is lost.
 */
import { randomBytes } from 'node:crypto';
import * as https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decisions, signV1, type ManifestV1 } from '../e2e/lib.js';
import { admissionReview, inferenceDeployment } from '../fixtures/inference.js';
import { startControlPlane, type ControlPlane } from '../harness/controlPlane.js';
import { KeysDir } from '../harness/keysDir.js';
import { get, waitFor, type TlsClient } from '../harness/net.js';
import { Sandbox } from '../harness/sandbox.js';
import { ensureNamespace, startWebhook, type Webhook } from '../harness/webhook.js';

type Obj = Record<string, unknown>;

const SEED_KEY_ID = 'ci-2026';
const SEED_KEY = 'faults-seed-key-5b9e1c';
const DEADLINE_MS = 2000;

function say(msg: string): void {
  process.stderr.write(`[faults] ${msg}\n`);
}

// ---- manifests and workloads (the seed's v1 format, signed here)

interface Models {
  manifests?: ManifestV1[];
  annotations?: Record<string, string>;
  /** The verify init container's hashes (default: the manifests'). */
  pins?: string[];
}

function deployment(name: string, namespace: string, models: Models = {}): Obj {
  const { manifests = [], annotations } = models;
  return inferenceDeployment({
    name,
    namespace,
    ...(manifests.length > 0 && { manifest: JSON.stringify(manifests) }),
    ...(annotations && { annotations }),
    pins: models.pins ?? manifests.map((m) => m.file_hash),
  });
}

function review(object: Obj, dryRun: boolean): Obj {
  return admissionReview(object, {
    uid: randomBytes(16).toString('hex'),
    groups: ['system:authenticated'],
    dryRun,
  });
}

// ---- HTTP: kept-alive clients for the API server (admin) and the webhook

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function request(agent: https.Agent, url: string, method: string, body?: Obj): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = https.request(
      url,
      { method, agent, headers: { 'content-type': 'application/json' }, timeout: 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message, ms: performance.now() - started }));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function agentFor(tls: TlsClient): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets: 8, ...tls });
}

// ---- metrics and logs

function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Runs `fn` with `concurrency` workers until `n` calls were made. */
async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) out[i] = await fn(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

// ---- the cluster

const KEYS_1 = { [SEED_KEY_ID]: SEED_KEY, a: 'key-a-first-7d1f0e', b: 'key-b-first-93c2aa' };
const KEYS_2 = { [SEED_KEY_ID]: SEED_KEY, a: 'key-a-second-1e88b4', b: 'key-b-second-c05f21' };

function policyText(rule: string, mode: 'enforce' | 'warn'): string {
  return stringify({
    apiVersion: 'modelgate.dev/v1',
    kind: 'Policy',
    rules: [{ name: rule, mode, match: { namespaces: ['f-*'] } }],
  });
}
const POLICY_1 = { 'policy.yaml': policyText('swap-1', 'enforce') };
const POLICY_2 = { 'policy.yaml': policyText('swap-2', 'warn') };

let cp: ControlPlane;
let hook: Webhook;
let dirs: Sandbox;
let policyDir: KeysDir;
let admin: https.Agent;
let toHook: https.Agent;

async function create(obj: Obj): Promise<Answer> {
  const ns = (obj.metadata as { namespace: string }).namespace;
  return request(admin, `${cp.server}/apis/apps/v1/namespaces/${ns}/deployments`, 'POST', obj);
}

async function validate(body: Obj): Promise<Answer> {
  return request(toHook, hook.url, 'POST', body);
}

async function metrics(): Promise<string> {
  return hook.metrics();
}

/** The metrics once no Event is queued or being sent. */
async function drained(timeoutMs = 60_000): Promise<string> {
  return waitFor(
    'the Event queue to drain',
    async () => {
      const m = await metrics();
      return metric(m, 'modelgate_event_queue_length') === 0 ? m : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

beforeAll(async () => {
  const t0 = Date.now();
  cp = await startControlPlane({ controllerManager: false, log: say });
  dirs = Sandbox.create('modelgate-faults');
  policyDir = new KeysDir(dirs.path('policy'), POLICY_1);
  try {
    hook = await startWebhook({
      cluster: cp,
      keys: KEYS_1,
      policyFile: dirs.path('policy', 'policy.yaml'),
      probeNamespace: 'f-probe',
      args: ['--deadline-ms', String(DEADLINE_MS)],
    });
  } catch (err) {
    say(`webhook did not come up:\n${cp.logTails(20)}`);
    throw err;
  }
  admin = agentFor(cp.admin);
  toHook = agentFor({ ca: hook.caPem });
  for (const ns of ['f-kill', 'f-restart', 'f-etcd', 'f-storm', 'f-swap']) await ensureNamespace(cp.kubeconfig, ns);
  say(`private control plane + webhook ready in ${Date.now() - t0} ms`);
});

afterAll(async () => {
  admin?.destroy();
  toHook?.destroy();
  if (process.env.E2E_SHOW_LOGS === '1') say(`${hook?.logTails(30)}\n${cp?.logTails(30)}`);
  await hook?.stop();
  await cp?.stop();
  await dirs?.stop();
});

describe('the webhook SIGKILLed and restarted under a steady stream of creates', () => {
  // May lose: no decision. Creates sent while it is down are refused (fail closed) and so never
  // happen; every create the API server admitted has its audit line. Events still queued in the
  // killed process are lost with it (at most --event-queue-size, uncounted: the process is gone);
  // the audit log has those decisions.
  it('refuses while down, serves again once ready, and every admitted create is in the audit log', async () => {
    const seed = signV1(SEED_KEY, 'stream.onnx');
    const results: { name: string; at: number; answer: Answer }[] = [];
    let stop = false;
    const stream = (async (): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `s-${i}`;
        results.push({ name, at: Date.now(), answer: await create(deployment(name, 'f-kill', { manifests: [seed] })) });
        await sleep(20);
      }
    })();
    await sleep(1500);
    const killedAt = Date.now();
    await hook.killServer();
    await sleep(1000);
    const restartAt = Date.now();
    await hook.startServer();
    const readyAt = Date.now();
    await sleep(2500);
    stop = true;
    await stream;

    const admitted = results.filter((r) => r.answer.status === 201);
    const refused = results.filter((r) => r.answer.status !== 201);
    const whileDown = results.filter((r) => r.at > killedAt + 50 && r.at < restartAt);
    const firstBack = admitted.find((r) => r.at >= restartAt);
    say(
      `stream: ${results.length} creates, ${admitted.length} admitted, ${refused.length} refused; ` +
        `readiness ${readyAt - restartAt} ms after restart; first admitted create ${
          firstBack ? firstBack.at - readyAt : 'none'
        } ms after ready`,
    );
    // Fail closed: every create sent while no server ran was refused, by the API server, for
    // want of the webhook (not admitted unverified).
    expect(whileDown.length).toBeGreaterThan(5);
    for (const r of whileDown) {
      expect(r.answer.status, r.answer.body).not.toBe(201);
      expect(r.answer.body).toMatch(/failed calling webhook/);
    }
    // Every refusal is such a failure to reach it; nothing else went wrong.
    for (const r of refused) expect(r.answer.body).toMatch(/failed calling webhook/);
    // Back within its readiness time (the process starts, loads, /readyz 200 — under 10 s here).
    expect(readyAt - restartAt).toBeLessThan(10_000);
    expect(firstBack).toBeDefined();
    expect(firstBack!.at - readyAt).toBeLessThan(1000);
    // Every admitted create was answered by the webhook and is in its audit log, also those
    // answered in the last moments before the SIGKILL.
    const logged = new Set(
      decisions(hook.logFile)
        .filter((d) => d.namespace === 'f-kill' && d.decision === 'allow' && d.dryRun === false)
        .map((d) => d.name),
    );
    expect(admitted.filter((r) => !logged.has(r.name)).map((r) => r.name)).toEqual([]);
  });
});

describe('kube-apiserver restarted while the webhook runs', () => {
  // May lose: Events whose retries ran out while the API server was down, each counted in
  // modelgate_events_dropped_total{cause="failed"}. Nothing else: no crash, readiness stays.
  it('delivers queued Events or counts them dropped, resolves ConfigMaps again, and never goes unready', async () => {
    const pid = hook.pid();
    const before = await drained();
    const sent0 = metric(before, 'modelgate_events_sent_total');
    const dropped0 = metric(before, 'modelgate_events_dropped_total');
    // 300 refusals of 300 objects: 100 Events go at once (the burst), 200 are paced at 20/s,
    // so most are still queued when the API server goes away.
    const answers = await pool(300, 4, (i) => validate(review(deployment(`r-${i}`, 'f-restart'), false)));
    expect(answers.every((a) => a.status === 200 && a.body.includes('"allowed":false'))).toBe(true);
    const t0 = Date.now();
    let unready = 0;
    let probing = true;
    const probe = (async (): Promise<void> => {
      while (probing) {
        const r = await get(hook.url.replace('/validate', '/readyz'), { ca: hook.caPem }).catch(() => ({ status: 0 }));
        if (r.status !== 200) unready++;
        await sleep(200);
      }
    })();
    await cp.restartApiserver();
    say(`kube-apiserver stopped and ready again in ${Date.now() - t0} ms`);

    // Every Event was delivered or counted dropped.
    const settled = await drained(120_000);
    probing = false;
    await probe;
    const sent = metric(settled, 'modelgate_events_sent_total') - sent0;
    const dropped = metric(settled, 'modelgate_events_dropped_total') - dropped0;
    const listed = await request(admin, `${cp.server}/apis/events.k8s.io/v1/namespaces/f-restart/events`, 'GET');
    const items = (JSON.parse(listed.body) as { items: { regarding?: { name?: string } }[] }).items.filter((e) =>
      e.regarding?.name?.startsWith('r-'),
    );
    say(`Events across the restart: ${sent} sent (${items.length} listed), ${dropped} dropped and counted`);
    expect(sent + dropped).toBe(300);
    expect(items.length).toBeGreaterThanOrEqual(sent - 1);
    expect(items.length).toBeLessThanOrEqual(300);
    // ConfigMap resolution recovers: a manifest in a ConfigMap created after the restart.
    const cm = signV1(SEED_KEY, 'from-cm.onnx');
    const created = await request(admin, `${cp.server}/api/v1/namespaces/f-restart/configmaps`, 'POST', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'after-restart', namespace: 'f-restart' },
      data: { 'model.manifest.json': JSON.stringify(cm) },
    });
    expect(created.status, created.body).toBe(201);
    const viaCm = await waitFor(
      'a create with a ConfigMap manifest admitted after the restart',
      async () => {
        const r = await create(
          deployment(`cm-${randomBytes(2).toString('hex')}`, 'f-restart', {
            annotations: { 'modelgate.dev/manifest-configmap': 'after-restart/model.manifest.json' },
            pins: [cm.file_hash],
          }),
        );
        return r.status === 201 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(viaCm.status).toBe(201);

    // No crash (same process), never unready.
    expect(hook.pid()).toBe(pid);
    expect(unready).toBe(0);
  });
});

describe('etcd paused (SIGSTOP) for 10 s', () => {
  // May lose: nothing. A decision that needs the cluster (a ConfigMap manifest) fails closed at
  // --deadline-ms; one that needs nothing from the cluster is answered as usual.
  it('keeps its deadlines and /healthz while the API server cannot reach its storage', async () => {
    const seed = signV1(SEED_KEY, 'paused.onnx');
    const cmRef = deployment('needs-cm', 'f-etcd', {
      annotations: { 'modelgate.dev/manifest-configmap': 'never-read/m.json' },
      pins: [seed.file_hash],
    });
    const plain = deployment('annotated', 'f-etcd', { manifests: [seed] });
    cp.sandbox.signal('etcd', 'SIGSTOP');
    const pausedAt = Date.now();
    try {
      const health: number[] = [];
      const answers: { kind: string; answer: Answer }[] = [];
      while (Date.now() - pausedAt < 10_000) {
        const h0 = performance.now();
        const h = await get(hook.url.replace('/validate', '/healthz'), { ca: hook.caPem });
        expect(h.status).toBe(200);
        health.push(performance.now() - h0);
        // Dry runs: decided the same way, without Events (which would wait on etcd too).
        answers.push({ kind: 'plain', answer: await validate(review(plain, true)) });
        answers.push({ kind: 'configmap', answer: await validate(review(cmRef, true)) });
      }
      const cmAnswers = answers.filter((a) => a.kind === 'configmap').map((a) => a.answer);
      const plainAnswers = answers.filter((a) => a.kind === 'plain').map((a) => a.answer);
      say(
        `etcd paused: /healthz max ${Math.max(...health).toFixed(1)} ms; ConfigMap decisions max ${Math.max(
          ...cmAnswers.map((a) => a.ms),
        ).toFixed(0)} ms (deadline ${DEADLINE_MS}); annotation decisions max ${Math.max(
          ...plainAnswers.map((a) => a.ms),
        ).toFixed(1)} ms`,
      );
      expect(Math.max(...health)).toBeLessThan(1000);
      for (const a of plainAnswers) {
        expect(a.status).toBe(200);
        expect(a.body).toContain('"allowed":true');
        expect(a.ms).toBeLessThan(1000);
      }
      for (const a of cmAnswers) {
        expect(a.status).toBe(200);
        // Refused (fail closed) within the deadline plus scheduling slack, never hung.
        expect(a.body).toContain('"allowed":false');
        expect(a.ms).toBeLessThan(DEADLINE_MS + 1500);
      }
    } finally {
      cp.sandbox.signal('etcd', 'SIGCONT');
    }
    const back = await waitFor(
      'a create admitted after etcd resumed',
      async () => {
        const r = await create(deployment(`after-pause-${randomBytes(2).toString('hex')}`, 'f-etcd', { manifests: [seed] }));
        return r.status === 201 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(back.status).toBe(201);
    const ready = await get(hook.url.replace('/validate', '/readyz'), { ca: hook.caPem });
    expect(ready.status).toBe(200);
  });
});

describe('an Event storm: thousands of refusals a minute', () => {
  // May lose: Events beyond the queue bound (counted as dropped, cause queue-full); with the
  // defaults (queue 1000, 100 at once then 20/s) none is lost here. Repeats for one object are
  // folded into its series, counted in modelgate_events_aggregated_total.
  it('keeps the queue bounded, caps the writes by aggregation and leaves admission latency alone', async () => {
    const objects = 200;
    const total = 3000;
    const refusal = (i: number, dryRun: boolean): Obj =>
      review(deployment(`storm-${i % objects}`, 'f-storm', { annotations: { attempt: String(i) } }), dryRun);
    // Baseline: the same refusals as dry runs (no Event at all).
    const baseline = await pool(600, 4, (i) => validate(refusal(i, true)));
    const before = await drained();
    let maxQueue = 0;
    let sampling = true;
    const sampler = (async (): Promise<void> => {
      while (sampling) {
        maxQueue = Math.max(maxQueue, metric(await metrics(), 'modelgate_event_queue_length'));
        await sleep(100);
      }
    })();
    const t0 = performance.now();
    const storm = await pool(total, 4, (i) => validate(refusal(i, false)));
    const seconds = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    for (const a of [...baseline, ...storm]) expect(a.body).toContain('"allowed":false');
    const after = await metrics();
    const aggregated =
      metric(after, 'modelgate_events_aggregated_total') - metric(before, 'modelgate_events_aggregated_total');
    const settled = await drained();
    const sent = metric(settled, 'modelgate_events_sent_total') - metric(before, 'modelgate_events_sent_total');
    const dropped =
      metric(settled, 'modelgate_events_dropped_total') - metric(before, 'modelgate_events_dropped_total');
    const p50Base = median(baseline.map((a) => a.ms));
    const p50Storm = median(storm.map((a) => a.ms));
    say(
      `storm: ${total} refusals of ${objects} objects in ${seconds.toFixed(1)} s (${Math.round(
        (total / seconds) * 60,
      )}/min): ${sent} Events written, ${aggregated} folded, ${dropped} dropped; queue max ${maxQueue}; ` +
        `p50 ${p50Storm.toFixed(2)} ms vs ${p50Base.toFixed(2)} ms for the same dry runs (no Events)`,
    );
    expect(total / seconds).toBeGreaterThan(1000 / 60);
    expect(maxQueue).toBeLessThanOrEqual(1000);
    // One write per object; every repeat folded; nothing dropped.
    expect(aggregated).toBe(total - objects);
    expect(sent).toBe(objects);
    expect(dropped).toBe(0);
    // Latency: the Event work is off the request path.
    expect(p50Storm).toBeLessThan(p50Base * 1.5 + 1);
  });
});

describe('the policy ConfigMap and the keys Secret swapped (atomic ..data symlink swap) under load', () => {
  // May lose: nothing. Each decision sees one whole keys Secret and one whole policy.
  it('no request sees a half-loaded state', async () => {
    // Two models in every request: model a signed with key a, model b with key b, from the
    // first Secret. Under the first Secret both verify, under the second neither; a half-loaded
    // Secret would verify exactly one.
    const ma = signV1(KEYS_1.a, 'model-a.onnx');
    const mb = signV1(KEYS_1.b, 'model-b.onnx');
    const obj = deployment('swap', 'f-swap', { manifests: [ma, mb] });
    let swapping = true;
    let swaps = 0;
    const swapper = (async (): Promise<void> => {
      for (let i = 1; swapping; i++) {
        hook.keys.write(i % 2 ? KEYS_2 : KEYS_1);
        policyDir.write(i % 3 ? POLICY_2 : POLICY_1);
        swaps++;
        // Long enough for the watcher's settle (100 ms) to take some states, short enough to race.
        await sleep(120 + Math.random() * 200);
      }
      hook.keys.write(KEYS_1);
      policyDir.write(POLICY_1);
    })();
    const uids: string[] = [];
    const deadline = Date.now() + 6000;
    await pool(4, 4, async () => {
      while (Date.now() < deadline) {
        const body = review(obj, false);
        uids.push((body.request as { uid: string }).uid);
        const a = await validate(body);
        expect(a.status).toBe(200);
      }
    });
    swapping = false;
    await swapper;
    const ours = new Set(uids);
    const lines = decisions(hook.logFile).filter((d) => ours.has(d.uid as string));
    const badSignatures = (d: Obj): number =>
      (d.reasons as { code: string }[]).filter((r) => r.code === 'bad-signature').length;
    const seen = new Map<string, number>();
    for (const d of lines) {
      const k = `${String(d.rule)}/${String(d.mode)}/${badSignatures(d)}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    const reloadErrors = metric(await metrics(), 'modelgate_reloads_total', 'result="error"');
    say(`swap: ${swaps} swaps, ${lines.length} decisions: ${JSON.stringify(Object.fromEntries(seen))}; reload errors ${reloadErrors}`);
    expect(lines.length).toBe(uids.length);
    for (const d of lines) {
      expect([0, 2]).toContain(badSignatures(d));
      expect([
        ['swap-1', 'enforce'],
        ['swap-2', 'warn'],
      ]).toContainEqual([d.rule, d.mode]);
    }
    // Both states were really seen under load.
    expect(lines.some((d) => badSignatures(d) === 0)).toBe(true);
    expect(lines.some((d) => badSignatures(d) === 2)).toBe(true);
    expect(new Set(lines.map((d) => d.rule)).size).toBe(2);
    expect(reloadErrors).toBe(0);
  });
});
