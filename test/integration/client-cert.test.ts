import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Webhook } from '../../src/server/webhook.js';
import { reviews } from '../fixtures/reviews/reviews.js';
import { issue, newCA, type Issued } from '../harness/pki.js';
import { call, makeEnv, start, waitFor, type Env, type LogCapture } from './helpers.js';

/**
 * `serve --client-ca` on the real HTTPS server: POST /validate needs a certificate that chains
 * to the CA; the probes do not; the audit line says who was verified; the CA file is reloaded.
 */
let env: Env;
let webhook: Webhook;
let logs: LogCapture;
let clientCaFile: string;
let apiserverCA: Issued;
let apiserver: Issued;
/** The client certificate of the rotated-in CA. */
let rotated: Issued;

beforeAll(async () => {
  env = await makeEnv();
  apiserverCA = newCA('apiserver-webhook-client-ca');
  apiserver = issue(apiserverCA, { commonName: 'kube-apiserver-webhook-client', usage: 'client' });
  clientCaFile = join(env.dir, 'client-ca.crt');
  await writeFile(clientCaFile, apiserverCA.certPem);
  ({ webhook, logs } = await start(env, { clientCaFile }));
});

afterAll(async () => {
  await webhook.shutdown();
});

const post = (uid: string, clientCert?: Issued) =>
  call(webhook.port, {
    ca: env.ca.certPem,
    agent: false,
    body: JSON.stringify(reviews.denied(uid)),
    contentType: 'application/json',
    clientCert,
  });

const recorded = (uid: string) => logs.find('admission').filter((l) => l.uid === uid);

describe('serve --client-ca', () => {
  it('decides a review from a caller whose certificate chains to the CA, and logs caller verified-client-cert', async () => {
    const a = await post('uid-mtls-ok', apiserver);
    expect(a.status).toBe(200);
    expect(a.json.response).toMatchObject({ uid: 'uid-mtls-ok', allowed: false });
    expect(recorded('uid-mtls-ok')).toEqual([expect.objectContaining({ caller: 'verified-client-cert' })]);
  });

  it.each([
    ['no client certificate', () => undefined, 'no certificate'],
    [
      'a certificate from another CA',
      () => issue(newCA('intruder-ca'), { commonName: 'x', usage: 'client' }),
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ],
  ])('refuses %s with 401 before deciding: no audit line', async (_, cert, tlsError) => {
    const uid = `uid-refused-${Math.random()}`;
    const a = await post(uid, cert());
    expect(a.status).toBe(401);
    expect(a.json.response.status.message).toMatch(/client certificate/);
    expect(recorded(uid)).toEqual([]);
    const refusals = logs.find('admission request without a verified client certificate refused');
    expect(refusals.at(-1)).toMatchObject({ remote: '127.0.0.1', tlsError });
  });

  it('serves /healthz, /readyz and /metrics without a client certificate (kubelet probes, scrapes)', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const a = await call(webhook.port, { ca: env.ca.certPem, agent: false, method: 'GET', path });
      expect(a.status, path).toBe(200);
    }
    const metrics = await call(webhook.port, {
      ca: env.ca.certPem,
      agent: false,
      method: 'GET',
      path: '/metrics',
    });
    expect(metrics.text).toMatch(/^modelgate_unauthenticated_requests_total [1-9]/m);
  });

  it('reloads the CA file: a certificate from the new CA is accepted, the old one refused', async () => {
    const nextCA = newCA('apiserver-webhook-client-ca-2');
    rotated = issue(nextCA, { commonName: 'kube-apiserver-webhook-client', usage: 'client' });
    await writeFile(clientCaFile, nextCA.certPem);
    await waitFor(async () => (await post(`uid-rotated-${Math.random()}`, rotated)).status === 200);
    expect((await post('uid-old-ca', apiserver)).status).toBe(401);
  });

  it('keeps the last good CA when the file is replaced by something that is not a certificate', async () => {
    await writeFile(clientCaFile, 'not a certificate\n');
    await waitFor(() => logs.lines.some((l) => String(l.msg).startsWith('client CA unusable')));
    expect((await post('uid-after-bad-ca', rotated)).status).toBe(200);
  });
});
