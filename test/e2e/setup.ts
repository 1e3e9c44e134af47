/**
 * globalSetup of the e2e project: one control plane and one webhook for the whole suite (the
 * files run one after another), torn down at the end — also when a test fails or the run is
 * interrupted (see test/harness/sandbox.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startControlPlane, type ControlPlane } from '../harness/controlPlane.js';
import { repoRoot } from '../harness/sandbox.js';
import { startWebhook, type Webhook } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';

const fixtures = path.join(repoRoot, 'test', 'e2e', 'fixtures');

function log(msg: string): void {
  process.stderr.write(`[e2e] ${msg}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const cp: ControlPlane = await startControlPlane({ log });
  let webhook: Webhook;
  const policyFile = path.join(fixtures, 'policy.yaml');
  try {
    webhook = await startWebhook({
      cluster: cp,
      keys: { [SEED_KEY_ID]: fs.readFileSync(path.join(fixtures, 'seed-v1', 'signing.key'), 'utf8') },
      policyFile,
      probeNamespace: 'e2e-probe',
    });
  } catch (err) {
    log(`webhook did not come up; control plane logs:\n${cp.logTails(20)}`);
    await cp.stop();
    throw err;
  }
  log(`webhook ${webhook.url} registered from the ${webhook.install.source} (${webhook.install.how})`);
  log(`control plane + webhook ready in ${Date.now() - t0} ms; admin kubeconfig ${cp.kubeconfig}`);
  project.provide('e2e', {
    kubeconfig: cp.kubeconfig,
    server: cp.server,
    caPem: cp.caPem,
    webhookClientCaPem: cp.webhookClientCaPem ?? '',
    keysDir: webhook.keys.dir,
    webhookLog: webhook.logFile,
    webhookUrl: webhook.url,
    policyFile,
    installSource: webhook.install.source,
    installHow: webhook.install.how,
    webhookUser: `system:serviceaccount:${webhook.install.namespace}:${webhook.install.serviceAccount}`,
  });
  return async () => {
    if (process.env.E2E_SHOW_LOGS === '1') log(`logs:\n${webhook.logTails(30)}\n${cp.logTails(30)}`);
    await webhook.stop();
    await cp.stop();
    log(`torn down (${Date.now() - t0} ms after start)`);
  };
}
