import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_REVIEW_BYTES } from '../../src/admission/decode.js';
import type { Webhook } from '../../src/server/webhook.js';
import { reviews } from '../fixtures/reviews/reviews.js';
import {
  call,
  makeEnv,
  newServingCert,
  review,
  start,
  waitFor,
  type Env,
  type LogCapture,
} from './helpers.js';

let env: Env;
let webhook: Webhook;
let logs: LogCapture;
let agent: Agent;

beforeAll(async () => {
  env = await makeEnv();
  ({ webhook, logs } = await start(env));
  agent = new Agent({ keepAlive: true, ca: env.ca.certPem, maxSockets: 8 });
});

afterAll(async () => {
  agent.destroy();
  await webhook.shutdown();
});

const post = (body: unknown) => review(webhook.port, env.ca.certPem, body, agent);

describe('POST /validate decides reviews', () => {
  it('allows a Deployment whose manifest verifies with the ci key', async () => {
    const a = await post(reviews.allowed('uid-allow'));
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-allow', allowed: true },
    });
    const line = logs.find('admission').find((l) => l.uid === 'uid-allow')!;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'admission',
      kind: 'Deployment',
      namespace: 'ml',
      name: 'fraud-detector',
      operation: 'CREATE',
      user: 'alice@example.com',
      groups: ['system:authenticated', 'ml-engineers'],
      dryRun: false,
      decision: 'allow',
      mode: 'enforce',
    });
    expect(line.models).toEqual([
      expect.objectContaining({
        keyId: 'ci',
        format: 'v1',
        sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927',
      }),
    ]);
    expect(typeof line.time).toBe('string');
    expect(typeof line.durationMs).toBe('number');
    expect(Array.isArray(line.reasons)).toBe(true);
  });

  it('denies a manifest signed with an unknown key: 403, one line starting "modelgate: "', async () => {
    const a = await post(reviews.denied('uid-deny'));
    expect(a.status).toBe(200);
    expect(a.json.response).toMatchObject({ uid: 'uid-deny', allowed: false, status: { code: 403 } });
    expect(a.json.response.status.message).toMatch(/^modelgate: [^\n]+$/);
    expect(logs.find('admission').find((l) => l.uid === 'uid-deny')).toMatchObject({
      decision: 'deny',
      level: 'warn',
    });
  });

  it('warns in the warn-mode namespace: allowed with warnings', async () => {
    const a = await post(reviews.warned('uid-warn'));
    expect(a.json.response).toMatchObject({ uid: 'uid-warn', allowed: true });
    expect(a.json.response.warnings.length).toBeGreaterThan(0);
    expect(logs.find('admission').find((l) => l.uid === 'uid-warn')).toMatchObject({
      decision: 'warn',
      mode: 'warn',
    });
  });
});

/** The exact bytes the API server (or curl) gets back for a body it cannot use. */
function refusal(status: number, message: string, uid = ''): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code: status, message } },
  });
}

describe('malformed bodies get 400 with an exact message', () => {
  it.each([
    [
      'an empty body',
      '',
      'application/json',
      refusal(400, 'request body is empty; expected an AdmissionReview'),
    ],
    [
      'a body that is not JSON',
      'hello',
      'application/json',
      refusal(400, `request body is not valid JSON: Unexpected token 'h', "hello" is not valid JSON`),
    ],
    [
      'JSON that is not an AdmissionReview',
      '{"kind":"Deployment"}',
      'application/json',
      refusal(400, 'request body is not an AdmissionReview (kind must be "AdmissionReview")'),
    ],
    [
      'an AdmissionReview without a uid',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"}}}',
      'application/json',
      refusal(400, 'AdmissionReview request has no uid'),
    ],
    [
      'a wrong content type',
      '{}',
      'text/plain',
      refusal(400, 'content type must be application/json, got "text/plain"'),
    ],
  ])('%s', async (_name, body, contentType, expected) => {
    const a = await call(webhook.port, { ca: env.ca.certPem, agent, body, contentType });
    expect(a.status).toBe(400);
    expect(a.text).toBe(expected);
  });

  it('keeps the uid when the request is recognisable but broken', async () => {
    const body =
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"EXPLODE"}}';
    const a = await call(webhook.port, { ca: env.ca.certPem, agent, body, contentType: 'application/json' });
    expect(a.status).toBe(400);
    expect(a.json.response.uid).toBe('u-1');
  });

  it('refuses a body over MAX_REVIEW_BYTES with 413', async () => {
    const body = Buffer.alloc(MAX_REVIEW_BYTES + 1, 0x20);
    const a = await call(webhook.port, {
      ca: env.ca.certPem,
      agent: false,
      body,
      contentType: 'application/json',
    });
    expect(a.status).toBe(413);
    expect(a.text).toBe(refusal(413, `request body exceeds ${MAX_REVIEW_BYTES} bytes`));
  });

  it('accepts a large but legal UPDATE (object + oldObject near the etcd limit)', async () => {
    const r = reviews.allowed('uid-big');
    const filler = 'x'.repeat(1_400_000);
    r.request.object.metadata.annotations['example.com/blob'] = filler;
    r.request.operation = 'UPDATE';
    r.request.oldObject = structuredClone(r.request.object);
    r.request.oldObject.spec.replicas = 1;
    const a = await post(r);
    expect(a.status).toBe(200);
    expect(a.json.response.uid).toBe('uid-big');
  });
});

describe('health, readiness and metrics', () => {
  it('is healthy and ready once TLS, keys and policy are loaded', async () => {
    expect(
      (await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/healthz' })).status,
    ).toBe(200);
    const ready = await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/readyz' });
    expect([ready.status, ready.text]).toEqual([200, 'ok\n']);
  });

  it('exposes modelgate_* metrics without key material', async () => {
    await post(reviews.denied('uid-m'));
    const m = await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/metrics' });
    expect(m.status).toBe(200);
    expect(m.text).toMatch(
      /modelgate_requests_total\{decision="deny",kind="Deployment",operation="CREATE"\} \d+/,
    );
    expect(m.text).toMatch(/modelgate_request_duration_seconds_bucket/);
    expect(m.text).toMatch(/modelgate_verification_failures_total\{reason="[a-z0-9-]+"\} \d+/);
    expect(m.text).toMatch(/modelgate_keys_loaded 1/);
    expect(m.text).toMatch(/modelgate_certificate_expiry_timestamp_seconds \d+/);
    expect(m.text).toMatch(/modelgate_events_dropped_total/);
    const key = (await readFile(`${env.keysDir}/ci`, 'utf8')).trim();
    expect(m.text).not.toContain(key);
    expect(logs.lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain(key);
  });

  it('answers 404 for other paths', async () => {
    expect(
      (await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/nope' })).status,
    ).toBe(404);
  });
});

describe('policy hot reload', () => {
  it('a broken policy file keeps the last good policy and says so', async () => {
    const good = await readFile(env.policyFile, 'utf8');
    await writeFile(
      env.policyFile,
      'apiVersion: modelgate.dev/v1\nkind: Policy\nrules:\n  - name: staging\n    mode: sometimes\n',
    );
    await waitFor(() => logs.find('policy reload failed; keeping the last good policy').length > 0);
    const line = logs.find('policy reload failed; keeping the last good policy')[0]!;
    expect(line.level).toBe('error');
    expect(line.errors[0]).toMatch(new RegExp(`^${env.policyFile}:5:\\d+: .*mode`));
    // Still the last good policy: staging warns, the rest enforces.
    expect((await post(reviews.warned('uid-after-broken'))).json.response.allowed).toBe(true);
    expect((await post(reviews.denied('uid-after-broken-2'))).json.response.allowed).toBe(false);
    const m = await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/metrics' });
    expect(m.text).toMatch(/modelgate_policy_reloads_total\{result="error"\} 1/);

    // A fixed file is picked up: everything in warn mode now.
    await writeFile(
      env.policyFile,
      'apiVersion: modelgate.dev/v1\nkind: Policy\nrules:\n  - name: all\n    mode: warn\n',
    );
    await waitFor(() => logs.find('policy reloaded').length > 0);
    expect((await post(reviews.denied('uid-after-fix'))).json.response.allowed).toBe(true);
    await writeFile(env.policyFile, good);
    await waitFor(() => logs.find('policy reloaded').length > 1);
  });
});

describe('keys hot reload', () => {
  it('a key added to the keys directory is loaded without restart', async () => {
    await writeFile(`${env.keysDir}/ci-2027`, 'another-key');
    await waitFor(() => logs.find('signing keys reloaded').length > 0);
    expect(logs.find('signing keys reloaded')[0]!.keyIds).toEqual(['ci', 'ci-2027']);
    const m = await call(webhook.port, { ca: env.ca.certPem, agent, method: 'GET', path: '/metrics' });
    expect(m.text).toMatch(/modelgate_keys_loaded 2/);
    expect(m.text).not.toContain('another-key');
  });
});

// A throw inside the pure decision, to prove the failure mode: the real module, wrapped.
const boom = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/decision/decide.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/decision/decide.js')>();
  return {
    ...real,
    decideAdmission: (...args: Parameters<typeof real.decideAdmission>) => {
      if (boom.on) throw new Error('boom');
      return real.decideAdmission(...args);
    },
  };
});

describe('failure mode', () => {
  it.each([
    ['deny', false],
    ['allow', true],
  ] as const)(
    'a throw inside the decision answers by failure mode %s and keeps the uid',
    async (mode, allowed) => {
      const e = await makeEnv();
      const { webhook: w, logs: l } = await start(e, { failureMode: mode });
      boom.on = true;
      try {
        const a = await review(w.port, e.ca.certPem, reviews.allowed('uid-panic'), false);
        expect(a.status).toBe(200);
        expect(a.json.response.uid).toBe('uid-panic');
        expect(a.json.response.allowed).toBe(allowed);
        if (!allowed) expect(a.json.response.status).toMatchObject({ code: 500 });
        expect(l.find('internal error while deciding')[0]).toMatchObject({ uid: 'uid-panic', err: 'boom' });
      } finally {
        boom.on = false;
        await w.shutdown();
      }
    },
  );
});

describe('certificate files rotated under traffic', () => {
  it('serves every request while the certificate changes, new connections get the new one', async () => {
    const e = await makeEnv();
    const { webhook: w } = await start(e);
    const keepAlive = new Agent({ keepAlive: true, ca: e.ca.certPem, maxSockets: 4 });
    let failures = 0;
    let ok = 0;
    let stop = false;
    const peers = new Set<string>();
    const load = async (fresh: boolean) => {
      while (!stop) {
        try {
          const a = await review(w.port, e.ca.certPem, reviews.allowed(), fresh ? false : keepAlive);
          if (a.status === 200 && a.json.response.allowed) ok++;
          else failures++;
          peers.add(a.peer);
        } catch {
          failures++;
        }
      }
    };
    const workers = [load(false), load(false), load(true), load(true)];
    try {
      for (let i = 0; i < 3; i++) {
        const next = newServingCert(e);
        // Not atomic on purpose: for a moment the cert and the key do not match.
        await writeFile(e.certFile, next.certPem);
        await new Promise((r) => setTimeout(r, 60));
        await writeFile(e.keyFile, next.keyPem);
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      stop = true;
      await Promise.all(workers);
      keepAlive.destroy();
      await w.shutdown();
    }
    expect(failures).toBe(0);
    expect(ok).toBeGreaterThan(50);
    expect(peers.size).toBeGreaterThanOrEqual(4);
  });
});

describe('drain on shutdown', () => {
  it('answers every request accepted before shutdown, then refuses connections', async () => {
    const e = await makeEnv();
    const { webhook: w, logs: l } = await start(e);
    // Requests in flight at the signal: headers and half the body sent, the rest after it.
    const body = Buffer.from(JSON.stringify(reviews.allowed('uid-inflight')));
    const inflight = Array.from({ length: 5 }, (_, i) =>
      slowRequest(w.port, e.ca.certPem, body, `uid-inflight-${i}`),
    );
    await Promise.all(inflight.map((r) => r.started));
    // And a burst of ordinary requests racing the signal.
    const burstAgent = new Agent({ keepAlive: true, ca: e.ca.certPem, maxSockets: 8 });
    const burst = Array.from({ length: 200 }, (_, i) =>
      review(w.port, e.ca.certPem, reviews.allowed(`uid-burst-${i}`), burstAgent).then(
        (a) => ({ uid: `uid-burst-${i}`, ok: a.status === 200 && a.json.response.uid === `uid-burst-${i}` }),
        () => ({ uid: `uid-burst-${i}`, ok: false }),
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    const ready = await call(w.port, { ca: e.ca.certPem, agent: false, method: 'GET', path: '/readyz' });
    expect(ready.status).toBe(200);
    const done = w.shutdown();
    for (const r of inflight) r.finish();
    const answers = await Promise.all(inflight.map((r) => r.answer));
    expect(answers.map((a): [number, string] => [a.status, String(a.json.response.uid)])).toEqual(
      answers.map((_, i) => [200, `uid-inflight-${i}`]),
    );
    const results = await Promise.all(burst);
    await done;
    burstAgent.destroy();
    // Every request the server accepted (it logged a decision) was answered.
    const decided = new Set(l.find('admission').map((x) => x.uid as string));
    for (const r of results) if (decided.has(r.uid)) expect(r).toEqual({ uid: r.uid, ok: true });
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(0);
    await expect(
      call(w.port, { ca: e.ca.certPem, agent: false, method: 'GET', path: '/readyz' }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('is not ready while draining', async () => {
    const e = await makeEnv();
    const { webhook: w } = await start(e, { shutdownDelayMs: 300 });
    const done = w.shutdown();
    const r = await call(w.port, { ca: e.ca.certPem, agent: false, method: 'GET', path: '/readyz' });
    expect([r.status, r.text]).toEqual([503, 'not ready: shutting down\n']);
    await done;
  });
});

/** A POST whose body is sent in two halves, the second on demand. */
function slowRequest(port: number, ca: string, body: Buffer, uid: string) {
  const text = body.toString('utf8').replace('uid-inflight', uid);
  const bytes = Buffer.from(text);
  const half = Math.floor(bytes.length / 2);
  let finish = (): void => {};
  let started = (): void => {};
  const startedP = new Promise<void>((r) => (started = r));
  const answer = new Promise<{ status: number; json: any }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`,
      );
      socket.write(bytes.subarray(0, half), () => setTimeout(started, 20));
      finish = () => socket.write(bytes.subarray(half));
    });
    let data = '';
    socket.on('data', (c: Buffer) => {
      data += c.toString('utf8');
      const split = data.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(data);
      if (split > 0 && m && data.length - split - 4 >= Number(m[1])) {
        resolve({ status: Number(data.slice(9, 12)), json: JSON.parse(data.slice(split + 4)) });
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
  return { started: startedP, finish: () => finish(), answer };
}
