/**
 * The bypasses a namespace user found, replayed through the real API server and kubectl: a
 * verify step made inert, a writable model volume, workload labels that contradict the pods',
 * kubectl debug on a pod whose label sat only on its Deployment, and a pod UPDATE that takes
 * its marks away. Each is refused with a line that names the field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KubectlResult } from '../harness/kubectl.js';
import { waitFor } from '../harness/net.js';
import {
  apply,
  cronJob,
  denial,
  deployment,
  expectAdmitted,
  k,
  kOk,
  modelAnnotations,
  namespace,
  pod,
  showWebhookLogOnFailure,
  signedSeed,
  wrongKeySeed,
  type Obj,
} from './lib.js';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-bypasses');
});

const INIT = 'spec.template.spec.initContainers[0]';

/** A signed Deployment whose pod spec `change` rewrites. */
function signedWith(name: string, change: (spec: Obj & Record<string, any>) => void): Obj {
  const d = deployment(name, ns, { manifest: signedSeed }) as Record<string, any>;
  change(d.spec.template.spec);
  return d;
}

function expectDenied(r: KubectlResult, ...says: string[]): void {
  expect(r.code, `expected a refusal: ${r.stderr}`).not.toBe(0);
  const message = denial(r);
  expect(message, `not a webhook denial: ${r.stderr}`).toMatch(/^modelgate: /);
  for (const s of says) expect(message).toContain(s);
}

describe('a verify step counts only in its exact, inert form (real API server)', () => {
  it.each<[string, (spec: Record<string, any>) => void, string]>([
    ['a help flag', (s) => s.initContainers[0].args.push('--help'), `${INIT}.args`],
    ['a shell command around the real args', (s) => (s.initContainers[0].command = ['sh', '-c', 'true']), `${INIT}.command`],
    [
      'NODE_OPTIONS in env',
      (s) => (s.initContainers[0].env = [{ name: 'NODE_OPTIONS', value: '--import=data:text/javascript,process.exit(0)' }]),
      `${INIT}.env`,
    ],
    ['a $(VAR) reference Kubernetes expands', (s) => s.initContainers[0].args.push('$(HOSTNAME)'), `${INIT}.args`],
    ['restartPolicy: Always (a native sidecar)', (s) => (s.initContainers[0].restartPolicy = 'Always'), `${INIT}.restartPolicy`],
  ])('%s: refused, naming the field', async (_, change, field) => {
    expectDenied(await apply(signedWith('inert', change)), '"verify-model"', field);
  });

  it('a serving container that mounts the model volume writable is refused, naming the mount', async () => {
    const d = signedWith('writable', (s) => (s.containers[0].volumeMounts[0].readOnly = false));
    expectDenied(await apply(d), 'spec.template.spec.containers[0].volumeMounts[0]', 'readOnly: true');
  });

  it('a downloader init container before the verify step may write the volume: admitted', async () => {
    const d = signedWith('downloader', (s) =>
      s.initContainers.unshift({
        name: 'fetch',
        image: 'registry.example.com/fetch:1',
        volumeMounts: [{ name: 'models', mountPath: '/models' }],
      }),
    );
    expectAdmitted(await apply(d));
  });
});

describe('labels the pods carry (real API server)', () => {
  it('a Deployment label that contradicts its template on a label the policy reads is refused with both paths', async () => {
    const d = deployment('contradicts', ns, { manifest: signedSeed }) as Record<string, any>;
    d.metadata.labels['modelgate.dev/data-classification'] = 'public';
    d.spec.template.metadata.labels['modelgate.dev/data-classification'] = 'restricted';
    expectDenied(await apply(d), 'metadata.labels', 'spec.template.metadata.labels');
  });

  it('a pod template manifest that differs from the Deployment\'s (never verified, carried by every pod) is refused with both paths', async () => {
    const d = deployment('shadowed', ns, { manifest: signedSeed }) as Record<string, any>;
    d.spec.template.metadata.annotations = modelAnnotations({ manifest: wrongKeySeed });
    expectDenied(await apply(d), 'annotation modelgate.dev/manifest at metadata.annotations differs', 'spec.template.metadata.annotations');
    d.spec.template.metadata.annotations = modelAnnotations({ manifest: signedSeed });
    expectAdmitted(await apply(d));
  });

  it("a CronJob's job template labels may not contradict its pod template either", async () => {
    const c = cronJob('contradicts', ns, { manifest: signedSeed }) as Record<string, any>;
    c.spec.jobTemplate.metadata = { labels: { 'modelgate.dev/customer-facing': 'false' } };
    c.spec.jobTemplate.spec.template.metadata.labels['modelgate.dev/customer-facing'] = 'true';
    expectDenied(await apply(c), 'spec.jobTemplate.metadata.labels');
  });
});

describe('pods of a verified workload (real API server and controller-manager)', () => {
  it('kubectl debug is refused on a controller-made pod whose inference label sits only on the Deployment', async () => {
    const d = deployment('label-on-top', ns, { manifest: signedSeed }) as Record<string, any>;
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    expectAdmitted(await apply(d));
    const name = await waitFor(
      'a Pod of Deployment label-on-top',
      async () => {
        const out = await kOk(['get', 'pods', '-n', ns, '-l', 'app=label-on-top', '-o', 'jsonpath={.items[0].metadata.name}']);
        return out.trim() || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const r = await k(['debug', `pod/${name}`, '-n', ns, '--image=busybox:1.36', '--container=debugger']);
    expectDenied(r, 'ephemeral');
  });

  it('a pod UPDATE that removes its inference label and model annotation is refused, and kubectl debug stays refused', async () => {
    expectAdmitted(await apply(pod('marked', ns, { manifest: signedSeed })));
    const patch = {
      metadata: { labels: { 'modelgate.dev/inference': null }, annotations: { 'modelgate.dev/manifest': null } },
    };
    const r = await k(['patch', 'pod', 'marked', '-n', ns, '--type=merge', '-p', JSON.stringify(patch)]);
    expectDenied(r);
    const current = JSON.parse(await kOk(['get', 'pod', 'marked', '-n', ns, '-o', 'json']));
    expect(current.metadata.labels['modelgate.dev/inference']).toBe('true');
    const debug = await k(['debug', 'pod/marked', '-n', ns, '--image=busybox:1.36', '--container=debugger']);
    expectDenied(debug, 'ephemeral');
  });
});
