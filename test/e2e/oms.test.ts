/**
 * OMS bundles through the real API server, one per signing method: a model signed by
 * model_signing 1.1.1 with a key and with a certificate chain, and a sigstore-method bundle made
 * against a private Sigstore instance (test/fixtures/sigstore.ts). The key-method bundle (first),
 * its bundle carried as-is in a ConfigMap (modelgate.dev/manifest-configmap: name/model.sig), a
 * `modelgate serve` of its own whose policy trusts the signer's public key (omsAuthorities). The
 * Deployment is admitted (also with the bundle in a configMap volume and the OMS verify step
 * pinned to its payload; a wrong pin refused); pointing at a tampered bundle, refused in one line.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/net.js';
import { startWebhook, type Webhook } from '../harness/webhook.js';
import { ecKey, makeModel, makePki, omsToolAvailable, signModel, tempDir, withPayload } from '../harness/oms.js';
import { makeInstance, modelStatement, signModel as signSigstore } from '../fixtures/sigstore.js';
import { apply, configMap, ctx, deployment, expectAdmitted, expectRefused, kOk, namespace, unique } from './lib.js';

const available = omsToolAvailable();
const NS = 'oms-e2e';
const PROBE = 'oms-probe';
const FILES = { 'weights.bin': Buffer.alloc(4096, 3), 'config.json': '{"layers": 4}\n' };
/** The same files as Buffers, for the sigstore fixture's statement. */
const FILE_BYTES = Object.fromEntries(Object.entries(FILES).map(([n, c]) => [n, Buffer.from(c)]));
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

let webhook: Webhook | undefined;
let bundle = '';
let certBundle = '';
let sigstoreBundle = '';
const indent = (text: string, n: number): string => text.trim().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

describe.skipIf(!available)('OMS (model_signing) bundles on a real API server', () => {
  beforeAll(async () => {
    const key = ecKey('P-256');
    bundle = signModel(makeModel(FILES), { key: key.privatePath });
    const work = tempDir('oms-e2e-');
    const policyFile = path.join(work, 'policy.yaml');
    const pki = makePki();
    const leaf = pki.leaf();
    certBundle = signModel(makeModel(FILES), { key: leaf.key, cert: leaf.cert, chain: [path.join(pki.dir, 'int.pem'), path.join(pki.dir, 'root.pem')] });
    const instance = makeInstance('modelgate-e2e');
    const signer = { subject: 'ml-release@example.com', issuer: 'https://accounts.example.com' };
    sigstoreBundle = JSON.stringify(signSigstore(instance, { identity: signer.subject, issuer: signer.issuer, payload: modelStatement('model', FILE_BYTES) }).bundle);
    fs.writeFileSync(
      policyFile,
      [
        'apiVersion: modelgate.dev/v1',
        'kind: Policy',
        'omsAuthorities:',
        '  - name: ml-ci',
        '    method: key',
        '    publicKeys:',
        '      - |',
        indent(key.publicPem, 8),
        '  - name: ml-pki',
        '    method: certificate',
        '    roots:',
        '      - |',
        indent(pki.rootPem, 8),
        '    identities: [ci@example.com]',
        '  - name: ml-sigstore',
        '    method: sigstore',
        '    trustedRoot: |',
        indent(JSON.stringify(instance.trustedRoot, null, 2), 6),
        `    signers: [{subject: ${signer.subject}, issuer: "${signer.issuer}"}]`,
        'rules:',
        '  - name: oms',
        '    keys: {trusted: [ml-ci, ml-pki, ml-sigstore]}',
        '',
      ].join('\n'),
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
    // The audit line is written asynchronously (pino): wait for it.
    await waitFor('an audit line with format oms', () =>
      Promise.resolve(/"format":"oms"/.test(fs.readFileSync(webhook!.logFile, 'utf8')) || undefined),
    { timeoutMs: 10_000, intervalMs: 200 });
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

  it.each([
    ['certificate (model_signing, an X.509 chain to the policy root)', () => certBundle, 'ml-pki'],
    ['sigstore (Fulcio certificate + Rekor entry of a private instance, verified offline)', () => sigstoreBundle, 'ml-sigstore'],
  ])('admits a Deployment whose bundle is signed with the %s method', async (_, text, authority) => {
    const cm = unique('oms-m');
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'model.sig': text() })));
    const name = unique('oms-m');
    expectAdmitted(await apply(omsDeployment(name, cm, text())));
    // The audit line is written asynchronously (pino): wait for it.
    const line = await waitFor(`the audit line of ${name}`, () =>
      Promise.resolve(fs.readFileSync(webhook!.logFile, 'utf8').split('\n').find((l) => l.includes(`"name":"${name}"`))),
    { timeoutMs: 10_000, intervalMs: 200 });
    expect(line).toMatch(new RegExp(`"keyId":"${authority}"`));
  });

  it('refuses a sigstore bundle whose payload was swapped for another statement', async () => {
    const cm = unique('oms-sb');
    const forged = JSON.parse(sigstoreBundle) as { dsseEnvelope: { payload: string } };
    forged.dsseEnvelope.payload = modelStatement('model', { ...FILE_BYTES, 'weights.bin': Buffer.from('evil') }).toString('base64');
    const text = JSON.stringify(forged);
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'model.sig': text })));
    expectRefused(await apply(omsDeployment(unique('oms-sno'), cm, text)), 'OMS bundle');
  });

  it('refuses the same Deployment when a resource name in the bundle was changed', async () => {
    const cm = unique('oms-bad');
    const tampered = withPayload(bundle, (s) => { s.predicate.resources[0].name = 'evil.bin'; });
    await kOk(['apply', '-f', '-'], JSON.stringify(configMap(cm, NS, { 'model.sig': tampered })));
    const message = expectRefused(await apply(omsDeployment(unique('oms-no'), cm, tampered)), 'OMS bundle');
    expect(message).toMatch(/signature matches none of the 1 public key/);
  });
});
