/**
 * Red-team bypasses replayed through the real API server (validation included) and the
 * controller-manager. Each `it.fails` asserts what SHOULD happen (a refusal); it is green while the
 * bypass exists. The StatefulSet case also shows the Pod the controller really makes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/net.js';
import {
  apply,
  denial,
  deployment,
  kOk,
  namespace,
  pod,
  showWebhookLogOnFailure,
  signedSeed,
  statefulSet,
  type Obj,
} from './lib.js';
import type { KubectlResult } from '../harness/kubectl.js';

let ns: string;
showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-redteam');
});

function expectRefused(r: KubectlResult): void {
  expect(r.code, `admitted: ${r.stderr}`).not.toBe(0);
  expect(denial(r)).toMatch(/^modelgate: /);
}

const FILE = '/models/model-0.onnx';

function signed(name: string, change: (spec: Record<string, any>) => void): Obj {
  const d = deployment(name, ns, { manifest: signedSeed }) as Record<string, any>;
  const spec = d.spec.template.spec;
  spec.initContainers.unshift({
    name: 'fetch',
    image: 'registry.example.com/fetch:1',
    volumeMounts: [{ name: 'models', mountPath: '/models' }],
  });
  change(spec);
  return d;
}

describe('red team (real API server)', () => {
  it('was a bypass, now refused: a file-level mount exactly at the verified path shadows the model volume in the verify container', async () => {
    const d = signed('shadow-file', (spec) => {
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'genuine', mountPath: '/genuine' });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: FILE, subPath: 'model-0.onnx', readOnly: true });
    });
    expectRefused(await apply(d));
  });

  it('was a bypass, now refused: "/models/" beside "/models" passes API validation and stacks a second volume', async () => {
    const d = signed('shadow-slash', (spec) => {
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'genuine', mountPath: '/genuine' });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: '/models/', readOnly: true });
    });
    expectRefused(await apply(d));
  });

  it('was a bypass, now refused: a native sidecar started before the writable downloader (fd passing)', async () => {
    const d = signed('fd-pass', (spec) => {
      spec.initContainers.unshift({ name: 'catcher', image: 'registry.example.com/catcher:1', restartPolicy: 'Always' });
    });
    expectRefused(await apply(d));
  });

  it('was a bypass, now refused: an out-of-scope pod mounting the model PVC writable, beside an inference pod on that PVC', async () => {
    const inference = pod('on-pvc', ns, { manifest: signedSeed }) as Record<string, any>;
    inference.spec.volumes = [{ name: 'models', persistentVolumeClaim: { claimName: 'models' } }];
    const writer = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'janitor', namespace: ns },
      spec: {
        containers: [{ name: 'swap', image: 'busybox:1.36', volumeMounts: [{ name: 'm', mountPath: '/m' }] }],
        volumes: [{ name: 'm', persistentVolumeClaim: { claimName: 'models' } }],
      },
    };
    const a = await apply(inference);
    const b = await apply(writer);
    expect(a.code === 0 && b.code === 0, `${a.stderr} ${b.stderr}`).toBe(false);
  });

  it('was a bypass, now refused: StatefulSet volumeClaimTemplate "models" turns the checked emptyDir into a PVC a sidecar writes', async () => {
    const name = 'vct';
    const s = statefulSet(name, ns, { manifest: signedSeed }) as Record<string, any>;
    s.spec.volumeClaimTemplates = [
      { metadata: { name: 'models' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    ];
    const spec = s.spec.template.spec;
    spec.volumes = [
      { name: 'models', emptyDir: {} },
      { name: 'alias', persistentVolumeClaim: { claimName: `models-${name}-0` } },
    ];
    spec.initContainers.push({
      name: 'swapper',
      image: 'busybox:1.36',
      restartPolicy: 'Always',
      volumeMounts: [{ name: 'alias', mountPath: '/alias' }],
    });
    const r = await apply(s);
    if (r.code === 0) {
      // Show what the controller made: both pod volumes name the same claim.
      const vols = await waitFor(
        `Pod ${name}-0`,
        async () => {
          const out = await kOk(['get', 'pods', '-n', ns, '-o', `jsonpath={.items[?(@.metadata.name=="${name}-0")].spec.volumes}`]);
          return out.trim() || undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      process.stderr.write(`[redteam] ${name}-0 volumes: ${vols}\n`);
      const parsed = JSON.parse(vols) as { name: string; persistentVolumeClaim?: { claimName: string } }[];
      const claims = parsed.filter((v) => v.name === 'models' || v.name === 'alias').map((v) => v.persistentVolumeClaim?.claimName);
      expect(claims).toEqual([`models-${name}-0`, `models-${name}-0`]);
    }
    expectRefused(r);
  });
});
