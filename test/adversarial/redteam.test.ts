/**
 * Red-team pass over the verify step, the writable-volume guard, scope and UPDATE paths, written
 * as a namespace user who writes the whole pod spec. Every test states what SHOULD happen (a deny).
 *
 * `it.fails` marks a BYPASS that was found: the webhook admits what it should refuse. The file is
 * green while the bypass exists; when a fix lands, the `it.fails` turns red and should become `it`.
 */
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, workloadOfKind, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { classifyRequest } from '../../src/decision/classify.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { decide, expectDenied, policyWith } from './helpers.js';
import { allowed, emptyDirModel, FILE, PIN, PINNED, withSpec } from './podspec.js';

// ---------------------------------------------------------------------------------------------
// BYPASS 1: the verify container reads other bytes at FILE than the volume the webhook guards.
// ---------------------------------------------------------------------------------------------
describe('the verify step must read FILE from the volume the webhook believes it checks', () => {
  it('(control) the emptyDir + downloader form is admitted', () => {
    expect(allowed(withSpec(emptyDirModel))).toBe(true);
  });

  /**
   * The downloader writes the genuine signed bytes to emptyDir "genuine" and unsigned bytes to
   * "models". The verify container gets "genuine" bind-mounted (subPath) exactly AT FILE: mountOf()
   * only considers mounts whose path is a strict prefix of FILE (`startsWith(dir + '/')`), so it
   * concludes FILE lies in "models". At runtime the deeper mount wins (containerd sorts mounts by
   * depth) and verify hashes the genuine bytes. The serving container mounts "models" read-only at
   * /models — the honest-looking form — and serves the unsigned bytes. Nothing writes after verify.
   */
  it('was a bypass, now refused: a file-level mount exactly at FILE in the verify container shadows the model volume', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'genuine', mountPath: '/genuine' });
      spec.initContainers[1].volumeMounts.push({
        name: 'genuine',
        mountPath: FILE,
        subPath: 'fraud-detector.onnx',
        readOnly: true,
      });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused: the same with a hostPath File volume mounted at FILE (no subPath)', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'genuine', hostPath: { path: '/srv/genuine.onnx', type: 'File' } });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: FILE, readOnly: true });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  /**
   * API validation checks mountPath uniqueness on the literal string, so "/models" and "/models/"
   * (or "//models", "/models/.") are both accepted; the runtime cleans both to /models and the
   * later one is mounted on top. mountOf() normalises both to the same depth and keeps the FIRST.
   */
  it('was a bypass, now refused: a second mount at "/models/" (same path, other spelling) stacked over the model volume', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'genuine', mountPath: '/genuine' });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: '/models/', readOnly: true });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused: the same with "//models"', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'genuine', mountPath: '/genuine' });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: '//models', readOnly: true });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('a deeper directory mount under the model mount is seen (FILE inside it counts there, not in "models")', () => {
    // FILE is at /models/fraud-detector.onnx; a mount at /models/sub does not contain it: no effect.
    // But a mount at /models/x with FILE=/models/x/f.onnx picks the deeper volume: the webhook is right.
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'other', emptyDir: {} });
      spec.initContainers[1].volumeMounts.push({ name: 'other', mountPath: '/models/x', readOnly: true });
      spec.initContainers[1].args = ['verify', '/models/x/fraud-detector.onnx', '--sha256', PIN];
      // a sidecar writes "other" after the verify step: refused, because the webhook saw FILE in "other"
      spec.containers.push({
        name: 'w',
        image: 'busybox',
        volumeMounts: [{ name: 'other', mountPath: '/o' }],
      });
    });
    // Nested mounts in the verify container are refused outright: one could shadow the other.
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });
});

// ---------------------------------------------------------------------------------------------
// BYPASS 2: storage the webhook calls pod-private, or not aliased, is reachable by another name.
// ---------------------------------------------------------------------------------------------
describe('the verified bytes must not be writable through another name for the same storage', () => {
  /**
   * StatefulSet: the controller gives each pod a volume per volumeClaimTemplate, named like the
   * template, and DROPS a template volume of the same name. The webhook never reads
   * spec.volumeClaimTemplates: it sees "models" as an emptyDir (own:models), while the pod gets
   * PVC "models-fraud-detector-0". A second volume naming that claim is a "different" PVC to the
   * webhook, and a native sidecar writes through it after the verify step.
   */
  it('was a bypass, now refused: StatefulSet volumeClaimTemplate "models" replaces the emptyDir the webhook checked', () => {
    const s = workloadOfKind('StatefulSet');
    s.spec.serviceName = 'fraud-detector';
    s.spec.replicas = 1;
    s.spec.volumeClaimTemplates = [
      {
        metadata: { name: 'models' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ];
    const spec = s.spec.template.spec;
    spec.volumes = [
      { name: 'models', emptyDir: {} },
      { name: 'alias', persistentVolumeClaim: { claimName: 'models-fraud-detector-0' } },
    ];
    spec.initContainers.push({
      name: 'swapper',
      image: 'busybox',
      restartPolicy: 'Always',
      volumeMounts: [{ name: 'alias', mountPath: '/alias' }],
    });
    expectDenied(decide(s, { policy: PINNED }));
  });

  it('was a bypass, now refused: StatefulSet volumeClaimTemplate alone: the webhook never sees that "models" is a shared PVC', () => {
    // Without any alias in the pod, the VCT PVC is an ordinary PVC any other pod in the namespace
    // can mount writable by name (see the cross-pod case below) while the webhook thinks "emptyDir".
    const s = workloadOfKind('StatefulSet');
    s.spec.volumeClaimTemplates = [
      { metadata: { name: 'models' }, spec: { accessModes: ['ReadWriteMany'] } },
    ];
    s.spec.template.spec.volumes = [{ name: 'models', emptyDir: {} }];
    expectDenied(decide(s, { policy: PINNED }));
  });

  /**
   * A generic ephemeral volume is a PVC named "<pod>-<volume>", created in the namespace. The
   * webhook calls `ephemeral` pod-private (own:models); a persistentVolumeClaim volume naming
   * "fraud-detector-models" is the same storage under another name.
   */
  it('was a bypass, now refused: ephemeral volume "models" of Pod "fraud-detector" aliased by claimName "fraud-detector-models"', () => {
    const p = workloadOfKind('Pod');
    p.spec.volumes = [
      {
        name: 'models',
        ephemeral: {
          volumeClaimTemplate: {
            spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
          },
        },
      },
      { name: 'alias', persistentVolumeClaim: { claimName: 'fraud-detector-models' } },
    ];
    p.spec.containers.push({
      name: 'swapper',
      image: 'busybox',
      volumeMounts: [{ name: 'alias', mountPath: '/a' }],
    });
    expectDenied(decide(p, { policy: PINNED }));
  });

  /**
   * The documented model volume is a PVC (the fixture's claimName "models"). Any other pod in the
   * namespace, with no inference mark and no model, is out of scope and may mount that claim
   * writable (RWX, or RWO on the same node). It rewrites the file after the verify step ran; the
   * serving container reads it on its next (re)start — init containers do not run again.
   */
  it('an out-of-scope pod could mount a model PVC writable: so a PVC model volume is refused by default', () => {
    const inference = withSpec(
      (spec) => (spec.volumes = [{ name: 'models', persistentVolumeClaim: { claimName: 'models' } }]),
    );
    const writer: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'janitor', namespace: 'ml', labels: { app: 'janitor' } },
      spec: {
        containers: [
          {
            name: 'swap',
            image: 'busybox',
            command: ['sh', '-c', 'sleep 120; cp /evil.onnx /m/fraud-detector.onnx; sleep infinity'],
            volumeMounts: [{ name: 'm', mountPath: '/m' }],
          },
        ],
        volumes: [{ name: 'm', persistentVolumeClaim: { claimName: 'models' } }],
      },
    };
    const both = allowed(inference) && allowed(writer);
    expect(both, 'a model on a shared PVC and a writer of that PVC were both admitted').toBe(false);
  });

  /** Aliasing is by volume type only: nfs and an inline CSI nfs volume of the same export differ. */
  it('was a bypass, now refused: nfs model volume, writable inline-CSI (nfs.csi.k8s.io) volume of the same export', () => {
    const d = withSpec((spec) => {
      spec.volumes = [
        { name: 'models', nfs: { server: 'nfs.example', path: '/exports/models' } },
        {
          name: 'alias',
          csi: {
            driver: 'nfs.csi.k8s.io',
            volumeAttributes: { server: 'nfs.example', share: '/exports/models' },
          },
        },
      ];
      spec.containers.push({
        name: 'swapper',
        image: 'busybox',
        volumeMounts: [{ name: 'alias', mountPath: '/a' }],
      });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  /** An emptyDir lives on the node under /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/. */
  it('(where hostPath is allowed) emptyDir model, sidecar with hostPath /var/lib/kubelet/pods rw: refused', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'kubelet', hostPath: { path: '/var/lib/kubelet/pods' } });
      spec.containers.push({
        name: 'swapper',
        image: 'busybox',
        volumeMounts: [{ name: 'kubelet', mountPath: '/k' }],
      });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('two hostPath volumes (different paths) are aliased by type: refused', () => {
    const d = withSpec((spec) => {
      spec.volumes = [
        { name: 'models', hostPath: { path: '/srv/models' } },
        { name: 'alias', hostPath: { path: '/srv' } },
      ];
      spec.containers.push({
        name: 'w',
        image: 'busybox',
        volumeMounts: [{ name: 'alias', mountPath: '/a' }],
      });
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it('the model PVC listed twice, the second mounted writable by a sidecar: refused', () => {
    const d = withSpec((spec) => {
      spec.volumes = [{ name: 'models', persistentVolumeClaim: { claimName: 'models' } }];
      spec.volumes.push({ name: 'again', persistentVolumeClaim: { claimName: 'models', readOnly: false } });
      spec.initContainers.push({
        name: 'side',
        image: 'busybox',
        restartPolicy: 'Always',
        volumeMounts: [{ name: 'again', mountPath: '/again' }],
      });
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it('an init container after the verify step mounting the model volume twice, once rw: refused', () => {
    const d = withSpec((spec) => {
      spec.initContainers.push({
        name: 'late',
        image: 'busybox',
        volumeMounts: [
          { name: 'models', mountPath: '/r', readOnly: true },
          { name: 'models', mountPath: '/w' },
        ],
      });
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it.each<[string, unknown]>([
    ['readOnly: "true" (a string)', 'true'],
    ['readOnly: 1', 1],
    ['readOnly: null', null],
  ])('a serving mount with %s is writable: refused', (_, value) => {
    const d = withSpec((spec) => (spec.containers[0].volumeMounts[0].readOnly = value));
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });
});

// ---------------------------------------------------------------------------------------------
// BYPASS 3: a writer that "runs before the verify step" hands a writable fd to a running sidecar.
// ---------------------------------------------------------------------------------------------
describe('a writer before the verify step must not outlive it', () => {
  /**
   * Native sidecars start in order with the init containers and keep running. The downloader
   * (a plain init container before the step, allowed rw) opens FILE O_RDWR (or /models O_PATH)
   * and passes the fd over an abstract unix socket — every container shares the pod's network
   * namespace — to a sidecar that mounts no model volume at all. The downloader exits, verify
   * hashes the good bytes, then the sidecar writes through the fd: the open file description
   * keeps the downloader's writable mount alive. The webhook sees a sidecar with no mounts.
   */
  it('was a bypass, now refused: native sidecar (no mounts) started before a writable downloader init container', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.initContainers.unshift({
        name: 'fd-catcher',
        image: 'registry.example.com/catcher:1',
        restartPolicy: 'Always',
      });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused: with shareProcessNamespace the sidecar can even take the path via /proc/<pid>/root', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.shareProcessNamespace = true;
      spec.initContainers.unshift({ name: 'peeker', image: 'busybox', restartPolicy: 'Always' });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('(control) a sidecar declared AFTER the downloader cannot receive its fds; only the order matters', () => {
    // Documented for the fix: a sidecar at a higher index than every pre-verify writer starts after
    // those writers have exited (init containers run one by one), so it cannot be handed an fd.
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.initContainers.push({ name: 'late-side', image: 'busybox', restartPolicy: 'Always' });
    });
    expect(allowed(d)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// BYPASS 4: the built-in default policy trusts any image whose name ends in "modelgate".
// ---------------------------------------------------------------------------------------------
describe('verify images', () => {
  it('was a bypass, now refused (no policy file / rule without verifyImages): attacker.example/modelgate:latest counts as the verify step', () => {
    // ENTRYPOINT ["true"] in the attacker's image: the exact inert args, and nothing is hashed.
    const d = withSpec((spec) => (spec.initContainers[0].image = 'attacker.example/modelgate:latest'));
    expectDenied(decide(d, { policy: defaultPolicy() }));
  });

  it.each([
    'attacker.example/modelgate:latest',
    'ghcr.io/modelgate/modelgate:0.1.0-evil',
    'ghcr.io/modelgate/modelgate:0.1.0@sha256:' + 'a'.repeat(64),
    'GHCR.io/modelgate/modelgate:0.1.0',
    ' ghcr.io/modelgate/modelgate:0.1.0',
  ])('with verifyImages pinned, %s does not count: refused', (image) => {
    const d = withSpec((spec) => (spec.initContainers[0].image = image));
    expectDenied(decide(d, { policy: PINNED }));
  });
});

// ---------------------------------------------------------------------------------------------
// Refusal-worthy changes on running inference pods.
// ---------------------------------------------------------------------------------------------
describe('changes to a running inference pod', () => {
  /** A Pod as the ReplicaSet controller makes it from workloadOfKind('Deployment'): manifest in template annotations. */
  function controllerPod(): Obj {
    const d = workloadOfKind('Deployment');
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'fraud-detector-7d9f-abcde',
        namespace: 'ml',
        labels: { ...d.spec.template.metadata.labels },
        annotations: { ...d.spec.template.metadata.annotations },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'fraud-detector-7d9f',
            uid: 'u',
            controller: true,
          },
        ],
      },
      spec: structuredClone(d.spec.template.spec),
    };
  }

  /**
   * `kubectl set image pod/...` on a controller-made pod whose template carried the manifest: it is
   * re-verified against the pod's own (copied) annotation and admitted. The serving image now
   * differs from the template the Deployment was admitted with, and the verify step does not run
   * again (init containers do not re-run on an image change). Refusal-worthy per the brief.
   */
  it('swapping the serving image of a running inference pod is decided like a new pod with that image', () => {
    // The pod carries its manifest (template annotations): verified again, the verify step is
    // still there, and the model volume stayed read-only for everything after it, so the bytes
    // the new image reads are the verified ones. Serving images are the policy's match.images.
    const old = controllerPod();
    const pod = structuredClone(old);
    pod.spec.containers[0].image = 'evil.example/server:latest';
    expect(decide(pod, { operation: 'UPDATE', oldObject: old, policy: PINNED }).record.decision).toBe(
      'allow',
    );
  });

  it('swapping the verify init container image to an untrusted one on a running pod: refused', () => {
    const old = controllerPod();
    const pod = structuredClone(old);
    pod.spec.initContainers[0].image = 'attacker.example/modelgate:latest';
    expectDenied(decide(pod, { operation: 'UPDATE', oldObject: old, policy: PINNED }));
  });

  it('kubectl debug on the controller-made pod: refused', () => {
    const old = controllerPod();
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox', targetContainerName: 'server' }];
    expectDenied(
      decide(pod, {
        operation: 'UPDATE',
        oldObject: old,
        subResource: 'ephemeralcontainers',
        policy: PINNED,
      }),
      'ephemeral-container',
    );
  });

  it('kubectl debug after the inference label was removed in an earlier UPDATE: still refused (verify step keeps it in scope)', () => {
    const old = controllerPod();
    const unlabeled = structuredClone(old);
    delete unlabeled.metadata.labels['modelgate.dev/inference'];
    // step 1: label removal is re-verified (annotation still there) — allowed or not, the pod stays in scope
    decide(unlabeled, { operation: 'UPDATE', oldObject: old, policy: PINNED });
    const dbg = structuredClone(unlabeled);
    dbg.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
    expectDenied(
      decide(dbg, {
        operation: 'UPDATE',
        oldObject: unlabeled,
        subResource: 'ephemeralcontainers',
        policy: PINNED,
      }),
      'ephemeral-container',
    );
  });

  it('removing the annotation in a second UPDATE after the label went in a first: refused', () => {
    const p = workloadOfKind('Pod');
    p.spec.initContainers = [];
    const noLabel = structuredClone(p);
    delete noLabel.metadata.labels['modelgate.dev/inference'];
    const bare = structuredClone(noLabel);
    delete bare.metadata.annotations['modelgate.dev/manifest'];
    expectDenied(
      decide(bare, {
        operation: 'UPDATE',
        oldObject: noLabel,
        policy: policyWith({ requireVerifyInit: false }),
      }),
      'inference-mark-removed',
    );
  });

  it('a pods/ephemeralcontainers request whose oldObject lacks the marks but object has them: refused', () => {
    const old = controllerPod();
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
    const r = classifyRequest(
      admissionRequest(pod, { operation: 'UPDATE', oldObject: old, subResource: 'ephemeralcontainers' }),
      PINNED,
    );
    expect(r.kind).toBe('check');
  });
});

// ---------------------------------------------------------------------------------------------
// Argument grammar, JSON shapes, labels, kinds: correctly refused.
// ---------------------------------------------------------------------------------------------
describe('argv and JSON oddities are refused', () => {
  const argvCases: [string, unknown[]][] = [
    ['--sha256= (empty inline value)', ['verify', FILE, '--sha256=']],
    ['--sha256=PIN then an option after --', ['verify', FILE, `--sha256=${PIN}`, '--', '--help']],
    ['"--" before the pins', ['verify', '--', FILE, '--sha256', PIN]],
    ['"-" as a file', ['verify', '-', '--sha256', PIN]],
    ['--no-json', ['verify', FILE, '--sha256', PIN, '--no-json']],
    ['--json=false', ['verify', FILE, '--sha256', PIN, '--json=false']],
    ['abbreviated --sha', ['verify', FILE, '--sha', PIN]],
    ['--SHA256 upper case', ['verify', FILE, '--SHA256', PIN]],
    ['fullwidth "ｖerify"', ['ｖerify', FILE, '--sha256', PIN]],
    ['"verify " with a trailing space', ['verify ', FILE, '--sha256', PIN]],
    ['a file with a trailing slash', ['verify', '/models/', '--sha256', PIN]],
    ['a file with "//"', ['verify', '/models//fraud-detector.onnx', '--sha256', PIN]],
    ['a file with "/./"', ['verify', '/models/./fraud-detector.onnx', '--sha256', PIN]],
    ['pin with a sha256: prefix', ['verify', FILE, '--sha256', `sha256:${PIN}`]],
    ['pin with trailing newline', ['verify', FILE, '--sha256', `${PIN}\n`]],
    ['-h grouped into a short flag cluster', ['verify', FILE, '--sha256', PIN, '-hh']],
    ['$$( escape', ['verify', FILE, '--sha256', PIN, '$$(X)']],
    ['args as a string', 'verify /models/fraud-detector.onnx --sha256 x' as unknown as unknown[]],
  ];
  it.each(argvCases)('%s: refused', (_, args) => {
    const d = withSpec((spec) => (spec.initContainers[0].args = args));
    expectDenied(decide(d, { policy: PINNED }));
  });

  /**
   * Hygiene, not a bypass: a NUL inside a file argument passes every check (it is absolute,
   * normalised, under /models). The runtime cannot exec an argv containing NUL (EINVAL), so the
   * verify step fails and the pod never starts: fails closed. Refuse it anyway.
   */
  it('HYGIENE: a file argument containing NUL is admitted (the pod then fails to start)', () => {
    const d = withSpec(
      (spec) =>
        (spec.initContainers[0].args = ['verify', '/models/fraud-detector.onnx\u0000x', '--sha256', PIN]),
    );
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('a file pinned outside every mount (the image filesystem): refused', () => {
    const d = withSpec(
      (spec) => (spec.initContainers[0].args = ['verify', '/app/dist/cli/bin.js', '--sha256', PIN]),
    );
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('the model volume mounted at "/" in the verify container: counted only as that volume', () => {
    // mountOf() treats "/" as containing everything; the runtime would shadow the image root and
    // the verify step could not run at all (no node binary): the pod fails closed. Not a bypass.
    const d = withSpec((spec) => (spec.initContainers[0].volumeMounts[0].mountPath = '/'));
    expect(typeof decide(d, { policy: PINNED }).response.allowed).toBe('boolean');
  });

  it('subPath: "" on the verify mount: refused (conservative)', () => {
    const d = withSpec((spec) => (spec.initContainers[0].volumeMounts[0].subPath = ''));
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });

  it('a verify step whose model volume is an image volume (immutable, pod-private) is admitted; a configMap is not', () => {
    const img = withSpec(
      (spec) =>
        (spec.volumes = [
          { name: 'models', image: { reference: 'registry.example.com/m@sha256:' + 'b'.repeat(64) } },
        ]),
    );
    expect(allowed(img)).toBe(true);
    const cm = withSpec(
      (spec) => (spec.volumes = [{ name: 'models', projected: { sources: [{ configMap: { name: 'm' } }] } }]),
    );
    expectDenied(decide(cm, { policy: PINNED }), 'verify-step-not-inert');
  });

  it('a command that is the entrypoint with a non-string element: refused', () => {
    const d = withSpec(
      (spec) => (spec.initContainers[0].command = ['node', '--max-semi-space-size=2', { x: 1 }]),
    );
    expectDenied(decide(d, { policy: PINNED }));
  });
});

describe('scope and kinds', () => {
  it('an inference label key in other case ("modelgate.dev/Inference") does not count, but the verify step still puts it in scope', () => {
    const d = deployment(vectors.wrongKeyManifestText);
    delete d.metadata.labels['modelgate.dev/inference'];
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    d.spec.template.metadata.labels['modelgate.dev/Inference'] = 'true';
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('a CronJob whose jobTemplate.metadata says inference=false while the pod template says true: in scope', () => {
    const c = workloadOfKind('CronJob', vectors.wrongKeyManifestText);
    c.spec.jobTemplate.metadata = { labels: { 'modelgate.dev/inference': 'false' } };
    expectDenied(decide(c, { policy: PINNED }));
  });

  it('a Pod made by the replication-controller SA is a controller request, now that ReplicationControllers are checked', () => {
    const p = workloadOfKind('Pod', vectors.wrongKeyManifestText);
    const d = decide(p, {
      username: 'system:serviceaccount:kube-system:replication-controller',
      policy: PINNED,
    });
    expect(d.record.reasons.map((r) => r.code)).toEqual(['controller-request']);
  });

  it('a user impersonating nothing but naming a controller in groups is checked', () => {
    const p = workloadOfKind('Pod', vectors.wrongKeyManifestText);
    expectDenied(
      decide(p, {
        groups: ['system:kube-controller-manager', 'system:serviceaccounts:kube-system'],
        policy: PINNED,
      }),
    );
  });

  it('dryRun changes nothing in the verdict', () => {
    const p = workloadOfKind('Pod', vectors.wrongKeyManifestText);
    expectDenied(decide(p, { dryRun: true, policy: PINNED }));
  });

  it('a Deployment UPDATE that only adds a volumeClaimTemplate-like field outside the template is not a template change (StatefulSet VCTs are immutable)', () => {
    // Recorded for completeness: VCTs can only be set at CREATE, so the CREATE check must read them.
    const s = workloadOfKind('StatefulSet');
    const r = classifyRequest(admissionRequest(s), PINNED);
    expect(r.kind).toBe('check');
  });
});
