import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { request } from 'node:https';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview } from '../fixtures/objects.js';
import { waitFor } from '../harness/net.js';
import { issue, newCA, type Issued } from '../harness/pki.js';
import { cliBin, startWebhook, type Webhook } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';
import {
  apply,
  ctx,
  decisions,
  deployment,
  events,
  expectAdmitted,
  expectRefused,
  namespace,
  seedKey,
  signedSeed,
  tampered,
  type EventSummary,
  type Obj,
} from './lib.js';

/**
 * Caller authentication on the real kube-apiserver. The suite's API server always runs with an
 * AdmissionConfiguration that presents a client certificate (its own CA) to any webhook that
 * asks (test/harness/controlPlane.ts). This file starts a second modelgate with
 * `--client-ca` = that CA, registered for one namespace only, and shows: what the API server
 * sends is decided and recorded as caller "verified-client-cert"; what anyone else posts
 * straight to the port is refused (401) and recorded nowhere as a decision.
 */
const NS = 'e2e-mtls';
const INSTANCE = 'modelgate-mtls-e2e';
let mtls: Webhook;

beforeAll(async () => {
  await namespace(NS);
  const { kubeconfig, server, caPem, policyFile, webhookClientCaPem } = ctx();
  mtls = await startWebhook({
    cluster: { kubeconfig, server, caPem },
    keys: { [SEED_KEY_ID]: seedKey },
    policyFile,
    probeNamespace: NS,
    only: { configName: 'modelgate-mtls-e2e', namespaces: [NS] },
    clientCaPem: webhookClientCaPem,
    // The Events' reportingInstance: tells this instance's Events from the suite webhook's,
    // which is registered for every namespace and so decides the same requests.
    env: { POD_NAME: INSTANCE },
  });
});

afterAll(async () => {
  await mtls?.stop();
});

function linesOf(file: string): Obj[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Obj);
}

const admissionLines = (name: string): Obj[] =>
  linesOf(mtls.logFile).filter((l) => l.msg === 'admission' && l.name === name);

/** Events are asynchronous: wait for this instance's Event about Deployment/name. */
function eventOf(name: string): Promise<EventSummary> {
  return waitFor(
    `${INSTANCE}'s Event regarding Deployment/${name}`,
    async () =>
      (await events(NS)).find(
        (e) => e.reportingInstance === INSTANCE && e.regarding === `Deployment/${name}`,
      ),
    // Sent off the request path, first attempt at once: seconds at most on loopback.
    { timeoutMs: 20_000, intervalMs: 300 },
  );
}

/** POST an AdmissionReview straight to the instance's port, as a pod on the network could. */
function postDirect(review: Obj, clientCert?: Issued): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = request(
      mtls.url,
      {
        method: 'POST',
        ca: mtls.caPem,
        ...(clientCert ? { cert: clientCert.certPem, key: clientCert.keyPem } : {}),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A rejection that names a user who never sent it: what a forged audit record would carry. */
function forged(name: string, uid: string): Obj {
  const obj = deployment(name, NS, { manifest: tampered(signedSeed) });
  return admissionReview(obj, { uid, username: 'victim@example.com', groups: ['system:authenticated'] });
}

describe('serve --client-ca behind the real kube-apiserver (AdmissionConfiguration with a client certificate)', () => {
  it('decides a real kubectl apply and records caller verified-client-cert on the log line and the Event', async () => {
    expectRefused(
      await apply(deployment('mtls-tampered', NS, { manifest: tampered(signedSeed) })),
      'fraud-detector',
    );
    expect(admissionLines('mtls-tampered')).toEqual([
      expect.objectContaining({ decision: 'deny', caller: 'verified-client-cert', user: 'e2e-admin' }),
    ]);
    const event = await eventOf('mtls-tampered');
    expect(event.reason).toBe('ModelRejected');
    expect(event.annotations['modelgate.dev/caller']).toBe('verified-client-cert');

    expectAdmitted(await apply(deployment('mtls-signed', NS, { manifest: signedSeed })));
    expect(admissionLines('mtls-signed')).toEqual([
      expect.objectContaining({ decision: 'allow', caller: 'verified-client-cert' }),
    ]);
  });

  it('the suite webhook (no --client-ca) decided the same request and says so: caller unauthenticated', () => {
    const line = decisions().find((l) => l.name === 'mtls-tampered' && l.namespace === NS);
    expect(line).toMatchObject({ decision: 'deny', caller: 'unauthenticated' });
  });

  it.each([
    ['without a client certificate', (): Issued | undefined => undefined],
    [
      'with a client certificate from another CA',
      (): Issued | undefined =>
        issue(newCA('intruder-ca'), { commonName: 'kube-apiserver', usage: 'client' }),
    ],
  ])('refuses a direct POST %s with 401, and records no decision or Event for it', async (how, cert) => {
    const name = `forged-${how.includes('another') ? 'other-ca' : 'no-cert'}`;
    const uid = `uid-${name}`;
    const answer = await postDirect(forged(name, uid), cert());
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(/client certificate/);
    // A barrier: a genuine decision made after the forged POST. Events leave in order, so once
    // its Event exists, an Event for the forged request would exist too.
    const barrier = `mtls-barrier-${name}`;
    expectRefused(await apply(deployment(barrier, NS, { manifest: tampered(signedSeed) })), 'fraud-detector');
    await eventOf(barrier);
    expect(admissionLines(name)).toEqual([]);
    expect(linesOf(mtls.logFile).some((l) => l.uid === uid)).toBe(false);
    const all = await events(NS);
    expect(all.filter((e) => e.regarding === `Deployment/${name}`)).toEqual([]);
    expect(all.some((e) => e.annotations['modelgate.dev/user'] === 'victim@example.com')).toBe(false);
    expect(
      linesOf(mtls.logFile).some(
        (l) => l.msg === 'admission request without a verified client certificate refused',
      ),
    ).toBe(true);
  });

  it('modelgate audit --authenticated-only lists the verified decisions from the Events, not the suite webhook’s', async () => {
    const run = promisify(execFile);
    const args = [
      cliBin,
      'audit',
      '--kubeconfig',
      ctx().kubeconfig,
      '--namespace',
      NS,
      '--authenticated-only',
      '--json',
    ];
    // Retried, and a failing run's error is what waitFor reports: this test failed once (cause not
    // captured) in a run together with policy-rules.test.ts, and not in the runs after it.
    const rows = await waitFor(
      'modelgate audit to list mtls-tampered as verified',
      async () => {
        const found = JSON.parse((await run(process.execPath, args)).stdout) as {
          name: string;
          caller: string;
        }[];
        return found.some((r) => r.name === 'mtls-tampered') ? found : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(rows.every((r) => r.caller === 'verified-client-cert')).toBe(true);
  });
});
