import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REVIEW_BYTES } from '../../src/admission/decode.js';
import type { Webhook } from '../../src/server/webhook.js';
import { reviews } from '../fixtures/reviews/reviews.js';
import { call, makeEnv, newServingCert, review, start, waitFor, type Env, type LogCapture } from './helpers.js';

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
    expect(a.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-allow', allowed: true } });
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
    expect(line.models).toEqual([expect.objectContaining({ keyId: 'ci', format: 'v1', sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927' })]);
    expect(typeof line.time).toBe('string');
    expect(typeof line.durationMs).toBe('number');
    expect(Array.isArray(line.reasons)).toBe(true);
  });

  it('denies a manifest signed with an unknown key: 403, one line starting "modelgate: "', async () => {
    const a = await post(reviews.denied('uid-deny'));
    expect(a.status).toBe(200);
    expect(a.json.response).toMatchObject({ uid: 'uid-deny', allowed: false, status: { code: 403 } });
    expect(a.json.response.status.message).toMatch(/^modelgate: [^\n]+$/);
    expect(logs.find('admission').find((l) => l.uid === 'uid-deny')).toMatchObject({ decision: 'deny', level: 'warn' });
  });

  it('warns in the warn-mode namespace: allowed with warnings', async () => {
    const a = await post(reviews.warned('uid-warn'));
    expect(a.json.response).toMatchObject({ uid: 'uid-warn', allowed: true });
    expect(a.json.response.warnings.length).toBeGreaterThan(0);
    expect(logs.find('admission').find((l) => l.uid === 'uid-warn')).toMatchObject({ decision: 'warn', mode: 'warn' });
  });
});
