/**
 * OMS bundles through the real API server: a model signed by model_signing 1.1.1 (key method),
 * its bundle carried as-is in a ConfigMap (modelgate.dev/manifest-configmap: name/model.sig), a
 * `modelgate serve` of its own whose policy trusts the signer's public key (omsAuthorities). The
 * Deployment is admitted (also with the bundle in a configMap volume and the OMS verify step
 * pinned to its payload; a wrong pin refused); pointing at a tampered bundle, refused in one line.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhook, type Webhook } from '../harness/webhook.js';
import { ecKey, makeModel, omsToolAvailable, signModel, tempDir, withPayload } from '../harness/oms.js';
import { apply, configMap, ctx, deployment, expectAdmitted, expectRefused, kOk, namespace, unique } from './lib.js';

const available = omsToolAvailable();
const NS = 'oms-e2e';
const PROBE = 'oms-probe';
const FILES = { 'weights.bin': Buffer.alloc(4096, 3), 'config.json': '{"layers": 4}\n' };
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

let webhook: Webhook | undefined;
let bundle = '';

describe.skipIf(!available)('OMS (model_signing) bundles on a real API server', () => {
  beforeAll(async () => {
    const key = ecKey('P-256');
    bundle = signModel(makeModel(FILES), { key: key.privatePath });
    const work = tempDir('oms-e2e-');
    const policyFile = path.join(work, 'policy.yaml');
    const pem = key.publicPem.trim().split('\n').map((l) => `        ${l}`).join('\n');
    fs.writeFileSync(
      policyFile,
      `apiVersion: modelgate.dev/v1\nkind: Policy\nomsAuthorities:\n  - name: ml-ci\n    method: key\n    publicKeys:\n      - |\n${pem}\nrules:\n  - name: oms\n    keys: {trusted: [ml-ci]}\n`,
    );
    for (const ns of [NS, PROBE]) await namespace(ns);
    const { kubeconfig, server, caPem } = ctx();
    webhook = await startWebhook({
      cluster: { kubeconfig, server, caPem },
      keys: { unused: 'not-an-oms-key' },
      policyFile,
      probeNamespace: PROBE,
      only: { configName: 'modelgate-oms-e2e', namespaces: [NS, PROBE] },
    });
  });

  afterAll(async () => {
    await webhook?.stop();
  });

  /** The bundle named by the ConfigMap annotation; the OMS verify step reads it from that ConfigMap, mounted. */
  function omsDeployment(name: string, cm: string, text = bundle): Record<string, unknown> {
    const payload = Buffer.from((JSON.parse(text) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64');
    const d = deployment(name, NS, { annotations: { 'modelgate.dev/manifest-configmap': `${cm}/model.sig` }, pin: ['0'.repeat(64)] });
    const spec = (d.spec as any).template.spec;
    spec.initContainers[0].args = ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', sha256(payload)];
    spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
    spec.volumes.push({ name: 'bundle', configMap: { name: cm } });
    return d;
  }

  it('admits a Deployment whose ConfigMap carries the model_signing bundle', async () => {
    const cm = unique('oms-good');
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'model.sig': bundle })));
    expectAdmitted(await apply(omsDeployment(unique('oms-ok'), cm)));
    const log = fs.readFileSync(webhook!.logFile, 'utf8');
    expect(log).toMatch(/"format":"oms"/);
  });

  it('admits a Deployment whose configMap volume carries the bundle, checked whole by the OMS verify step', async () => {
    const cm = unique('oms-vol');
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'fraud.manifest.json': bundle })));
    const payload = Buffer.from((JSON.parse(bundle) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64');
    const d = deployment(unique('oms-step'), NS, { annotations: { 'modelgate.dev/manifest-volume': 'bundle' }, pin: ['0'.repeat(64)] });
    const spec = (d.spec as any).template.spec;
    spec.initContainers[0].args = ['verify', '/models', '--oms-bundle', '/bundle/fraud.manifest.json', '--oms-payload-sha256', sha256(payload)];
    spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
    spec.volumes.push({ name: 'bundle', configMap: { name: cm } });
    expectAdmitted(await apply(d));
    spec.initContainers[0].args[5] = 'b'.repeat(64);
    const message = expectRefused(await apply(d), 'model');
    expect(message).toContain(sha256(payload));
  });

  it('refuses the same Deployment when a resource name in the bundle was changed', async () => {
    const cm = unique('oms-bad');
    const tampered = withPayload(bundle, (s) => { s.predicate.resources[0].name = 'evil.bin'; });
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'model.sig': tampered })));
    const message = expectRefused(await apply(omsDeployment(unique('oms-no'), cm, tampered)), 'OMS bundle');
    expect(message).toMatch(/signature matches none of the 1 public key/);
  });
});
