import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Webhook } from '../../src/server/webhook.js';
import { reviews } from '../fixtures/reviews/reviews.js';
import { call, makeEnv, review, start, type Env } from './helpers.js';

let env: Env;
let webhook: Webhook;

beforeAll(async () => {
  env = await makeEnv();
  ({ webhook } = await start(env, { metricsPort: 0 }));
});

afterAll(async () => {
  await webhook.shutdown();
});

/** One plain-HTTP request to the metrics listener. */
function plain(method: string, path: string): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: webhook.metricsPort, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          type: String(res.headers['content-type']),
        }),
      );
    });
    req.on('error', reject);
    req.end(method === 'POST' ? JSON.stringify(reviews.allowed('uid-metrics-port')) : undefined);
  });
}

describe('serve --metrics-port: metrics on their own plain-HTTP listener', () => {
  it('answers GET /metrics there with the modelgate series', async () => {
    expect(webhook.metricsPort).toBeGreaterThan(0);
    expect(webhook.metricsPort).not.toBe(webhook.port);
    await review(webhook.port, env.ca.certPem, reviews.allowed('uid-counted'));
    const m = await plain('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(m.text).toMatch(/^modelgate_requests_total\{.*decision="allow".*\} 1$/m);
  });

  it('does not serve /validate, /healthz or /readyz there', async () => {
    expect((await plain('POST', '/validate')).status).toBe(404);
    expect((await plain('GET', '/healthz')).status).toBe(404);
    expect((await plain('GET', '/readyz')).status).toBe(404);
  });

  it('no longer serves /metrics on the webhook port, which keeps /validate and the probes', async () => {
    const m = await call(webhook.port, { ca: env.ca.certPem, method: 'GET', path: '/metrics' });
    expect(m.status).toBe(404);
    expect((await call(webhook.port, { ca: env.ca.certPem, method: 'GET', path: '/readyz' })).status).toBe(200);
    const a = await review(webhook.port, env.ca.certPem, reviews.allowed('uid-still-validates'));
    expect(a.json.response).toMatchObject({ uid: 'uid-still-validates', allowed: true });
  });
});
