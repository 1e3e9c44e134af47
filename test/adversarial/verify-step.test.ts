/**
 * An attacker writes the pod spec: every way to keep the verify init container's image and pins
 * while making it do nothing, or to change the bytes after it ran. Each must end in a deny that
 * names the field; the one exact form is admitted.
 */
import { describe, expect, it } from 'vitest';
import { deployment, workloadOfKind, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { VERIFY_ENTRYPOINT } from '../../src/manifest/verify-command.js';
import { decide, expectDenied, policyWith } from './helpers.js';

const SPEC = 'spec.template.spec';
const INIT = `${SPEC}.initContainers[0]`;
const PIN = vectors.sha256;
const FILE = '/models/fraud-detector.onnx';

/** The fixture Deployment with its verify step (and pod spec) changed by `change`. */
function withStep(change: (step: Obj, spec: Obj) => void): Obj {
  const d = deployment();
  change(d.spec.template.spec.initContainers[0], d.spec.template.spec);
  return d;
}

function reasonsOf(d: Obj, policy = policyWith({})): { code: string; message: string }[] {
  return decide(d, { policy }).record.reasons;
}

describe('the verify step counts only in its exact, inert form', () => {
  it('the documented form is admitted', () => {
    expect(decide(deployment()).response.allowed).toBe(true);
  });

  it('stating the image entrypoint exactly as the Dockerfile does is the same form', () => {
    expect(decide(withStep((s) => (s.command = [...VERIFY_ENTRYPOINT]))).response.allowed).toBe(true);
  });

  it.each<[string, (s: Obj, spec: Obj) => void, string]>([
    ['a help flag', (s) => s.args.push('--help'), `${INIT}.args`],
    ['a short help flag', (s) => s.args.push('-h'), `${INIT}.args`],
    ['a help flag after the pins', (s) => (s.args = ['verify', FILE, '--sha256', PIN, '-h']), `${INIT}.args`],
    ['an unknown flag', (s) => s.args.push('--dry-run'), `${INIT}.args`],
    ['a --json flag', (s) => s.args.push('--json'), `${INIT}.args`],
    ['a --manifest flag', (s) => s.args.push('--manifest', '/models/m.json'), `${INIT}.args`],
    ['a --keys-dir flag', (s) => s.args.push('--keys-dir', '/keys'), `${INIT}.args`],
    [
      'a command override (shell wrapper)',
      (s) => (s.command = ['sh', '-c', 'exit 0', '--']),
      `${INIT}.command`,
    ],
    [
      'a command that is the entrypoint plus a flag',
      (s) => (s.command = [...VERIFY_ENTRYPOINT, '--version']),
      `${INIT}.command`,
    ],
    ['node -e in the command', (s) => (s.command = ['node', '-e', 'process.exit(0)']), `${INIT}.command`],
    [
      'node --import in the command',
      (s) => (s.command = ['node', '--import', '/tmp/x.mjs', '/app/dist/cli/bin.js']),
      `${INIT}.command`,
    ],
    ['an empty command list', (s) => (s.command = []), `${INIT}.command`],
    [
      'NODE_OPTIONS in env',
      (s) => (s.env = [{ name: 'NODE_OPTIONS', value: '--require /tmp/x.js' }]),
      `${INIT}.env`,
    ],
    ['envFrom a ConfigMap', (s) => (s.envFrom = [{ configMapRef: { name: 'x' } }]), `${INIT}.envFrom`],
    ['a $(VAR) reference in args', (s) => (s.args = ['verify', '$(MODEL)', '--sha256', PIN]), `${INIT}.args`],
    [
      'a $(VAR) reference to a service link variable',
      (s) => s.args.push('$(KUBERNETES_SERVICE_HOST)'),
      `${INIT}.args`,
    ],
    [
      'restartPolicy: Always (a native sidecar)',
      (s) => (s.restartPolicy = 'Always'),
      `${INIT}.restartPolicy`,
    ],
    [
      'a postStart hook',
      (s) => (s.lifecycle = { postStart: { exec: { command: ['true'] } } }),
      `${INIT}.lifecycle`,
    ],
    ['a workingDir', (s) => (s.workingDir = '/tmp'), `${INIT}.workingDir`],
    [
      'a relative file path',
      (s) => (s.args = ['verify', 'models/fraud-detector.onnx', '--sha256', PIN]),
      `${INIT}.args`,
    ],
    [
      'a path with ..',
      (s) => (s.args = ['verify', '/models/../etc/passwd', '--sha256', PIN]),
      `${INIT}.args`,
    ],
    ['more pins than files', (s) => s.args.push('--sha256', 'b'.repeat(64)), `${INIT}.args`],
    [
      'a file with no pin',
      (s) => (s.args = ['verify', FILE, '/models/other', '--sha256', PIN]),
      `${INIT}.args`,
    ],
    [
      'an upper-case pin (the CLI refuses it)',
      (s) => (s.args = ['verify', FILE, '--sha256', PIN.toUpperCase()]),
      `${INIT}.args`,
    ],
    ['"verify" not first', (s) => (s.args = ['--json', 'verify', FILE, '--sha256', PIN]), `${INIT}.args[0]`],
    ['an argument that is not a string', (s) => s.args.push(7), `${INIT}.args`],
    [
      'the model volume mounted writable',
      (s) => (s.volumeMounts[0].readOnly = false),
      `${INIT}.volumeMounts[0]`,
    ],
    [
      'the model volume mounted through a subPath',
      (s) => (s.volumeMounts[0].subPath = 'v1'),
      `${INIT}.volumeMounts[0]`,
    ],
    ['no mount under the file', (s) => (s.volumeMounts = []), `${INIT}.volumeMounts`],
    [
      'a file in a configMap volume (the API can change it)',
      (s, spec) => {
        spec.volumes = [{ name: 'models', configMap: { name: 'm' } }];
      },
      `${INIT}.volumeMounts[0]`,
    ],
    [
      'a mount naming a volume the pod lacks',
      (s) => (s.volumeMounts[0].name = 'ghost'),
      `${INIT}.volumeMounts[0]`,
    ],
  ])('%s: refused, naming the field', (_, change, path) => {
    const d = withStep(change);
    expectDenied(decide(d), 'verify-step-not-inert');
    const reason = decide(d).record.reasons.find((r) => r.code === 'verify-step-not-inert');
    expect(reason?.message).toContain(path);
    expect(reason?.message).toContain('"verify-model"');
  });

  it('with verifyImages pinned by digest, the right image with inert-breaking args still does not count', () => {
    const policy = policyWith({ verifyImages: ['ghcr.io/modelgate/modelgate@sha256:*'] });
    const d = withStep((s) => {
      s.image = `ghcr.io/modelgate/modelgate@sha256:${'c'.repeat(64)}`;
      s.args.push('--help');
    });
    expectDenied(decide(d, { policy }), 'verify-step-not-inert');
  });

  it('an exact step of an image the policy does not trust is named, with its image field', () => {
    const policy = policyWith({ verifyImages: ['ghcr.io/modelgate/modelgate@sha256:*'] });
    const reasons = reasonsOf(deployment(), policy);
    expect(reasons.map((r) => r.code)).toEqual(['verify-init-missing']);
    expect(reasons[0]?.message).toContain(`${INIT}.image`);
  });

  it('240,000 arguments in the step are refused in bounded time, naming the field (parseArgs alone: seconds)', () => {
    const d = withStep((step) => (step.args = ['verify', FILE, '--sha256', PIN, ...Array.from({ length: 240_000 }, () => 'x')]));
    const t0 = performance.now();
    const reasons = reasonsOf(d);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(reasons.some((r) => r.message.includes('more than 32768'))).toBe(true);
  });

  it('a 10,000-file step (30,001 arguments, pieces of one grammar) is decided like a short one', () => {
    const files = Array.from({ length: 9_999 }, (_, i) => `/models/extra-${i}.json`);
    const d = withStep((step) => (step.args = ['verify', FILE, ...files, '--sha256', PIN, ...files.flatMap(() => ['--sha256', 'a'.repeat(64)])]));
    const t0 = performance.now();
    const reasons = reasonsOf(d);
    expect(performance.now() - t0).toBeLessThan(2000);
    // It parses: what is left to say is about the extra pins, not the grammar.
    expect(reasons.every((r) => !/Unknown option|arguments, more than/.test(r.message))).toBe(true);
  });

  it('a second, broken verify step beside an exact one changes nothing', () => {
    const d = deployment();
    d.spec.template.spec.initContainers.push({
      name: 'noise',
      image: 'ghcr.io/modelgate/modelgate:0.1.0',
      args: ['--help'],
    });
    expect(decide(d).response.allowed).toBe(true);
  });
});

describe('nothing that runs after the verify step or beside it can write the model volume', () => {
  const later =
    (c: Obj): ((s: Obj, spec: Obj) => void) =>
    (_s, spec) =>
      spec.initContainers.push(c);
  const rw = [{ name: 'models', mountPath: '/data' }];

  it.each<[string, (s: Obj, spec: Obj) => void, string]>([
    [
      'a serving container mounting it writable',
      (_s, spec) => (spec.containers[0].volumeMounts[0].readOnly = false),
      `${SPEC}.containers[0].volumeMounts[0]`,
    ],
    [
      'a serving container mounting it with readOnly absent',
      (_s, spec) => delete spec.containers[0].volumeMounts[0].readOnly,
      `${SPEC}.containers[0].volumeMounts[0]`,
    ],
    [
      'a later init container mounting it writable',
      later({ name: 'swap', image: 'busybox', volumeMounts: rw }),
      `${SPEC}.initContainers[1].volumeMounts[0]`,
    ],
    [
      'a native sidecar mounting it writable, even before the step',
      (_s, spec) => {
        spec.initContainers.unshift({
          name: 'side',
          image: 'busybox',
          restartPolicy: 'Always',
          volumeMounts: rw,
        });
      },
      `${SPEC}.initContainers[0].volumeMounts[0]`,
    ],
    [
      'a second volume of the same PVC mounted writable',
      (_s, spec) => {
        spec.volumes = [
          { name: 'models', persistentVolumeClaim: { claimName: 'models' } },
          { name: 'alias', persistentVolumeClaim: { claimName: 'models' } },
        ];
        spec.containers.push({
          name: 'w',
          image: 'busybox',
          volumeMounts: [{ name: 'alias', mountPath: '/x' }],
        });
      },
      `${SPEC}.containers[1].volumeMounts[0]`,
    ],
    [
      'the PVC as a block device in a serving container',
      (_s, spec) => {
        spec.containers[0].volumeDevices = [{ name: 'models', devicePath: '/dev/xvda' }];
      },
      `${SPEC}.containers[0].volumeDevices[0]`,
    ],
  ])('%s: refused, naming the mount', (_, change, path) => {
    const d = withStep(change);
    expectDenied(decide(d), 'model-volume-writable');
    expect(reasonsOf(d).find((r) => r.code === 'model-volume-writable')?.message).toContain(path);
  });

  it('a downloader init container before the step may write the volume', () => {
    const d = withStep((_s, spec) =>
      spec.initContainers.unshift({
        name: 'fetch',
        image: 'curl',
        volumeMounts: [{ name: 'models', mountPath: '/models' }],
      }),
    );
    expect(decide(d).response.allowed).toBe(true);
  });

  it('a container writing an unrelated emptyDir is not concerned', () => {
    const d = withStep((_s, spec) => {
      spec.volumes.push({ name: 'scratch', emptyDir: {} });
      spec.containers[0].volumeMounts.push({ name: 'scratch', mountPath: '/tmp' });
    });
    expect(decide(d).response.allowed).toBe(true);
  });
});

describe('labels: the pods carry the template labels; a level above may add, never contradict', () => {
  const classified = {
    requiredLabels: [{ name: 'modelgate.dev/data-classification', values: ['internal'] }],
  };

  it('a workload label that contradicts the template on a label the policy reads is refused, naming both paths', () => {
    const d = deployment();
    d.metadata.labels['modelgate.dev/data-classification'] = 'internal';
    d.spec.template.metadata.labels['modelgate.dev/data-classification'] = 'restricted';
    const r = decide(d, { policy: policyWith(classified) });
    expectDenied(r, 'label-contradicts-template');
    const message = r.record.reasons.find((x) => x.code === 'label-contradicts-template')?.message;
    expect(message).toContain('metadata.labels');
    expect(message).toContain('spec.template.metadata.labels');
  });

  it('the requirement is read from the template, not the workload', () => {
    const d = deployment();
    d.metadata.labels['modelgate.dev/data-classification'] = 'internal';
    expect(decide(d, { policy: policyWith(classified) }).response.allowed).toBe(true);
    const bad = deployment();
    bad.spec.template.metadata.labels['modelgate.dev/data-classification'] = 'restricted';
    expectDenied(decide(bad, { policy: policyWith(classified) }), 'label-value-not-allowed');
  });

  it('match.labels selects by what the pods carry: a workload label cannot take them out of scope', () => {
    const policy = policyWith({
      match: { namespaces: [], excludeNamespaces: [], kinds: [], images: [], labels: { tier: 'gold' } },
    });
    const d = deployment(vectors.wrongKeyManifestText);
    delete d.metadata.labels['modelgate.dev/inference'];
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    d.spec.template.spec.initContainers = [];
    d.metadata.annotations = {};
    d.metadata.labels.tier = 'silver';
    d.spec.template.metadata.labels.tier = 'gold';
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'x';
    expectDenied(decide(d, { policy }));
  });

  it("a CronJob's job template labels count as a level too", () => {
    const c = workloadOfKind('CronJob');
    c.spec.jobTemplate.metadata = { labels: { 'modelgate.dev/data-classification': 'internal' } };
    c.spec.jobTemplate.spec.template.metadata.labels['modelgate.dev/data-classification'] = 'restricted';
    expectDenied(decide(c, { policy: policyWith(classified) }), 'label-contradicts-template');
  });

  it('a label the policy never reads may differ', () => {
    const d = deployment();
    d.metadata.labels.version = '2';
    d.spec.template.metadata.labels.version = '3';
    expect(decide(d).response.allowed).toBe(true);
  });
});

describe('pods of a verified workload, decided from the pod itself', () => {
  /** A Pod as the ReplicaSet controller makes it: template labels and spec, no manifest annotation. */
  function controllerPod(label: boolean): Obj {
    const d = deployment();
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'fraud-detector-abc',
        namespace: 'ml',
        labels: { ...d.spec.template.metadata.labels },
      },
      spec: structuredClone(d.spec.template.spec),
    };
    if (!label) delete pod.metadata.labels['modelgate.dev/inference'];
    return pod;
  }

  it('kubectl debug is refused on a pod whose inference label sat only on its Deployment', () => {
    const old = controllerPod(false);
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox' }];
    expectDenied(
      decide(pod, { operation: 'UPDATE', oldObject: old, subResource: 'ephemeralcontainers' }),
      'ephemeral-container',
    );
  });

  it('a pod UPDATE that removes the inference label and the model annotation is refused', () => {
    const old = workloadOfKind('Pod');
    old.spec.initContainers = [];
    const pod = structuredClone(old);
    delete pod.metadata.labels['modelgate.dev/inference'];
    delete pod.metadata.annotations['modelgate.dev/manifest'];
    expectDenied(decide(pod, { operation: 'UPDATE', oldObject: old }), 'inference-mark-removed');
  });

  it('a pod UPDATE that removes only the label leaves a controller-made pod in scope (its verify step): refused', () => {
    const old = controllerPod(true);
    const pod = structuredClone(old);
    delete pod.metadata.labels['modelgate.dev/inference'];
    expectDenied(decide(pod, { operation: 'UPDATE', oldObject: old }));
  });

  it('a pod UPDATE that swaps an image on a running inference pod is verified again (and a controller pod has no manifest)', () => {
    const old = controllerPod(true);
    const pod = structuredClone(old);
    pod.spec.containers[0].image = 'evil.example/server:1';
    expectDenied(decide(pod, { operation: 'UPDATE', oldObject: old }), 'missing-manifest');
  });

  it('the controller-manager may still update what it owns', () => {
    const old = controllerPod(true);
    const pod = structuredClone(old);
    delete pod.metadata.labels['modelgate.dev/inference'];
    const r = decide(pod, {
      operation: 'UPDATE',
      oldObject: old,
      username: 'system:serviceaccount:kube-system:replicaset-controller',
    });
    expect(r.response.allowed).toBe(true);
  });
});

describe('volumes that reach the same storage under another name', () => {
  function statefulSet(): Obj {
    const s = workloadOfKind('StatefulSet');
    s.spec.volumeClaimTemplates = [
      { metadata: { name: 'models' }, spec: { accessModes: ['ReadWriteOnce'] } },
    ];
    s.spec.template.spec.volumes = [];
    return s;
  }
  const TPL = 'spec.template.spec';

  it('a StatefulSet whose model volume comes from a volumeClaimTemplate is admitted when the rule accepts shared volumes', () => {
    expect(decide(statefulSet(), { policy: policyWith({ sharedModelVolumes: true }) }).response.allowed).toBe(
      true,
    );
  });

  it('by default a model volume other pods can reach (a PVC) is refused, naming the volume', () => {
    const s = statefulSet();
    expectDenied(decide(s), 'model-volume-shared');
    expect(reasonsOf(s).find((r) => r.code === 'model-volume-shared')?.message).toContain(
      'sharedModelVolumes',
    );
  });

  it("a StatefulSet volume naming one of its claim template's PVCs, mounted writable, is refused", () => {
    const s = statefulSet();
    s.spec.template.spec.volumes.push({
      name: 'alias',
      persistentVolumeClaim: { claimName: 'models-fraud-detector-0' },
    });
    s.spec.template.spec.containers.push({
      name: 'w',
      image: 'busybox',
      volumeMounts: [{ name: 'alias', mountPath: '/x' }],
    });
    expectDenied(decide(s), 'model-volume-writable');
    expect(reasonsOf(s).find((r) => r.code === 'model-volume-writable')?.message).toContain(
      `${TPL}.containers[1]`,
    );
  });

  it("a volume naming a generic ephemeral volume's PVC (<pod>-<volume>), mounted writable, is refused", () => {
    const d = withStep((_s, spec) => {
      spec.volumes = [
        { name: 'models', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } },
        { name: 'alias', persistentVolumeClaim: { claimName: 'fraud-detector-models' } },
      ];
      spec.containers.push({
        name: 'w',
        image: 'busybox',
        volumeMounts: [{ name: 'alias', mountPath: '/x' }],
      });
    });
    expectDenied(decide(d), 'model-volume-writable');
  });

  it('two hostPath volumes are taken to share storage', () => {
    const d = withStep((_s, spec) => {
      spec.volumes = [
        { name: 'models', hostPath: { path: '/srv/models' } },
        { name: 'other', hostPath: { path: '/srv' } },
      ];
      spec.containers.push({
        name: 'w',
        image: 'busybox',
        volumeMounts: [{ name: 'other', mountPath: '/x' }],
      });
    });
    expectDenied(decide(d), 'model-volume-writable');
  });

  it('a writable emptyDir beside a PVC model volume is not', () => {
    const d = withStep((_s, spec) => {
      spec.volumes.push({ name: 'cache', emptyDir: {} });
      spec.containers.push({
        name: 'w',
        image: 'busybox',
        volumeMounts: [{ name: 'cache', mountPath: '/x' }],
      });
    });
    expect(decide(d).response.allowed).toBe(true);
  });
});

describe('what the red team found (each was admitted before)', () => {
  const SIGNED = '/models/fraud-detector.onnx';

  it.each<[string, (s: Obj, spec: Obj) => void]>([
    [
      'a second mount laid exactly over the verified file',
      (s, spec) => {
        spec.volumes.push({ name: 'genuine', emptyDir: {} });
        s.volumeMounts.push({
          name: 'genuine',
          mountPath: SIGNED,
          subPath: 'fraud-detector.onnx',
          readOnly: true,
        });
      },
    ],
    [
      'a second mount of another volume under the model mount',
      (s, spec) => {
        spec.volumes.push({ name: 'genuine', emptyDir: {} });
        s.volumeMounts.push({ name: 'genuine', mountPath: '/models/sub', readOnly: true });
      },
    ],
    [
      'the same directory mounted twice under different spellings',
      (s, spec) => {
        spec.volumes.push({ name: 'genuine', emptyDir: {} });
        s.volumeMounts.push({ name: 'genuine', mountPath: '//models/', readOnly: true });
      },
    ],
    [
      'a mount above the model mount',
      (s, spec) => {
        spec.volumes.push({ name: 'root', emptyDir: {} });
        s.volumeMounts.push({ name: 'root', mountPath: '/', readOnly: true });
      },
    ],
    [
      'a model volume over the verify program (/app)',
      (s) => {
        s.volumeMounts[0].mountPath = '/app/dist';
        s.args = ['verify', '/app/dist/model.onnx', '--sha256', PIN];
      },
    ],
    [
      'an extra volume over the verify program',
      (s, spec) => {
        spec.volumes.push({ name: 'code', emptyDir: {} });
        s.volumeMounts.push({ name: 'code', mountPath: '/app/dist/cli', readOnly: true });
      },
    ],
    [
      'an extra volume over /node_modules',
      (s, spec) => {
        spec.volumes.push({ name: 'code', emptyDir: {} });
        s.volumeMounts.push({ name: 'code', mountPath: '/node_modules' });
      },
    ],
    ['a NUL inside a file path', (s) => (s.args = ['verify', `${SIGNED}\u0000x`, '--sha256', PIN])],
  ])('%s: the verify step does not count', (_, change) => {
    expectDenied(decide(withStep(change)), 'verify-step-not-inert');
  });

  it('the ServiceAccount token the API server mounts into every container is harmless', () => {
    const d = withStep((s, spec) => {
      spec.volumes.push({ name: 'kube-api-access-x', projected: { sources: [] } });
      s.volumeMounts.push({
        name: 'kube-api-access-x',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
      });
    });
    expect(decide(d).response.allowed).toBe(true);
  });

  it('a writer before the verify step beside a native sidecar (it could pass its open file on) is refused', () => {
    const d = withStep((_s, spec) => {
      spec.initContainers.unshift(
        { name: 'catcher', image: 'busybox', restartPolicy: 'Always' },
        { name: 'fetch', image: 'curl', volumeMounts: [{ name: 'models', mountPath: '/models' }] },
      );
    });
    expectDenied(decide(d), 'model-volume-writable');
  });

  it('a writer before the verify step with a shared process namespace is refused', () => {
    const d = withStep((_s, spec) => {
      spec.shareProcessNamespace = true;
      spec.initContainers.unshift({
        name: 'fetch',
        image: 'curl',
        volumeMounts: [{ name: 'models', mountPath: '/models' }],
      });
    });
    expectDenied(decide(d), 'model-volume-writable');
  });

  it('with no verifyImages, an image merely named modelgate is not trusted: only the official one', () => {
    const d = withStep((s) => (s.image = 'attacker.example/modelgate:latest'));
    expectDenied(decide(d), 'verify-init-missing');
  });

  it.each([
    ['a hostPath', { hostPath: { path: '/srv/models' } }],
    ['an nfs export', { nfs: { server: 'nfs.example', path: '/models' } }],
    [
      'a generic ephemeral volume (its PVC can be named by other pods)',
      { ephemeral: { volumeClaimTemplate: { spec: {} } } },
    ],
  ])('a model on %s is refused unless the rule accepts shared volumes', (_, source) => {
    const d = withStep((_s, spec) => (spec.volumes = [{ name: 'models', ...source }]));
    expectDenied(decide(d), 'model-volume-shared');
    expect(decide(d, { policy: policyWith({ sharedModelVolumes: true }) }).response.allowed).toBe(true);
  });

  it('a model in an image volume is admitted', () => {
    const d = withStep(
      (_s, spec) =>
        (spec.volumes = [
          { name: 'models', image: { reference: 'registry.example/models@sha256:' + 'd'.repeat(64) } },
        ]),
    );
    expect(decide(d).response.allowed).toBe(true);
  });
});

describe('every label the policy reads, required labels without a claim included', () => {
  const owner = policyWith({ requiredLabels: [{ name: 'team', values: [] }] });

  it('a workload label contradicting the template on a required label is refused', () => {
    const d = deployment();
    d.metadata.labels.team = 'a';
    d.spec.template.metadata.labels.team = 'b';
    expectDenied(decide(d, { policy: owner }), 'label-contradicts-template');
  });

  it('an UPDATE that changes only a required label on the workload is verified again', () => {
    const oldObject = deployment(vectors.wrongKeyManifestText);
    oldObject.metadata.labels.team = 'a';
    const object = structuredClone(oldObject);
    object.metadata.labels.team = 'b';
    expectDenied(decide(object, { policy: owner, operation: 'UPDATE', oldObject }), 'bad-signature');
  });
});
