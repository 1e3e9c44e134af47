import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhook, type Webhook } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';
import { apply, ctx, deployment, expectAdmitted, k, namespace, seedKey, signedSeed } from './lib.js';

/**
 * A second modelgate instance, registered (same chart-rendered configuration, failurePolicy
 * Fail) for one namespace only, so stopping it does not disturb the other files.
 */
const NS = 'e2e-failclosed';
let second: Webhook;

beforeAll(async () => {
  await namespace(NS);
  const { kubeconfig, server, caPem, policyFile } = ctx();
  second = await startWebhook({
    cluster: { kubeconfig, server, caPem },
    keys: { [SEED_KEY_ID]: seedKey },
    policyFile,
    probeNamespace: NS,
    only: { configName: 'modelgate-failclosed-e2e', namespaces: [NS] },
  });
});

afterAll(async () => {
  await second?.stop();
});

describe('the webhook down, with failurePolicy: Fail', () => {
  it('is registered with failurePolicy Fail', async () => {
    const out = await k([
      'get',
      'validatingwebhookconfiguration',
      'modelgate-failclosed-e2e',
      '-o',
      'jsonpath={.webhooks[*].failurePolicy}',
    ]);
    expect(out.stdout).toBe('Fail');
  });

  it('admits a signed model while it runs', async () => {
    expectAdmitted(await apply(deployment('while-up', NS, { manifest: signedSeed })));
  });

  it('refuses creation while it is stopped, instead of silently admitting', async () => {
    await second.stopServer();
    const r = await apply(deployment('while-down', NS, { manifest: signedSeed }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed calling webhook/);
    expect((await k(['get', 'deployment', 'while-down', '-n', NS])).code).not.toBe(0);
  });

  it('admits again once it is back', async () => {
    await second.startServer();
    expectAdmitted(await apply(deployment('back-up', NS, { manifest: signedSeed })));
  });
});
