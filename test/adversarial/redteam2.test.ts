/**
 * Second red-team pass (branch redteam2), as a namespace user who writes every pod spec and every
 * UPDATE. Each test states what SHOULD happen. `it.fails` marks a BYPASS found in this pass: the
 * webhook admits what it should refuse. The file is green while the bypass exists; when a fix
 * lands, the `it.fails` turns red and should become `it`.
 *
 * Not repeated here: what test/adversarial/redteam.test.ts and verify-step.test.ts already cover.
 */
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, workloadOfKind, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { classifyRequest } from '../../src/decision/classify.js';
import { decide, expectDenied, policyWith } from './helpers.js';
import { allowed, emptyDirModel, FILE, PIN, PINNED, VERIFY_IMAGE, withSpec } from './podspec.js';

/** A Pod as the ReplicaSet controller makes it from `d`'s template (template labels/annotations only). */
function podFrom(d: Obj, name = 'fraud-detector-7d9f-abcde'): Obj {
  const t = d.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ml',
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}) },
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
    spec: structuredClone(t.spec),
  };
}

// ---------------------------------------------------------------------------------------------
// BYPASS A: the pre-verify writer hands its writable fd to ANOTHER POD through a shared volume.
// ---------------------------------------------------------------------------------------------
describe('a writer before the verify step must not reach anything outside the pod', () => {
  /**
   * The first red team closed fd hand-off to a native sidecar of the same pod. The same hand-off
   * works across pods, with no privilege at all: the downloader (a plain init container before
   * the verify step, allowed to mount the model emptyDir rw) also mounts an innocent PVC
   * "rendezvous". An accomplice Pod in the same namespace, pinned to the same node (nodeName or
   * affinity; an RWO claim may be mounted by several pods on one node), mounts that PVC and
   * listens on the unix socket /rendezvous/s. The downloader opens FILE O_RDWR (or /models
   * O_PATH), sends the fd with SCM_RIGHTS, writes the signed bytes and exits. Verify hashes the
   * signed bytes and passes; the serving containers start; the accomplice rewrites the inode
   * through the fd (the open file keeps the downloader's writable mount). The serving
   * containers read bytes that changed after verification.
   *
   * writableMounts() only looks at mounts that may alias a model volume; a PVC never aliases an
   * emptyDir (POD_PRIVATE_SOURCES), so the writer's second mount is not looked at.
   */
  function withRendezvous(spec: Obj): void {
    emptyDirModel(spec);
    spec.volumes.push({ name: 'rendezvous', persistentVolumeClaim: { claimName: 'scratch' } });
    spec.initContainers[0].volumeMounts.push({ name: 'rendezvous', mountPath: '/rendezvous' });
  }

  it('(control) the accomplice Pod is no inference pod: modelgate does not look at it', () => {
    const accomplice: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cache-warmer', namespace: 'ml', labels: { app: 'cache' } },
      spec: {
        nodeName: 'gpu-node-1',
        containers: [
          {
            name: 'c',
            image: 'registry.example.com/catcher:1',
            volumeMounts: [{ name: 'rendezvous', mountPath: '/rendezvous' }],
          },
        ],
        volumes: [{ name: 'rendezvous', persistentVolumeClaim: { claimName: 'scratch' } }],
      },
    };
    const r = decide(accomplice, { policy: PINNED });
    expect(r.response.allowed).toBe(true);
    expect(r.record.reasons.map((x) => x.code)).toEqual(['not-inference']);
  });

  it('was a bypass, now refused: a pre-verify writer that also mounts a PVC (a cross-pod unix-socket rendezvous) is admitted', () => {
    expectDenied(decide(withSpec(withRendezvous), { policy: PINNED }), 'model-volume-writable');
  });

  it('was a bypass, now refused: the same with the rendezvous mounted readOnly (connect() to a socket needs no write access)', () => {
    const d = withSpec((spec) => {
      withRendezvous(spec);
      spec.initContainers[0].volumeMounts[1].readOnly = true;
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused: a generic ephemeral volume is a PVC too ("<pod>-<vol>", mountable by another pod on the node)', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({
        name: 'rv',
        ephemeral: {
          volumeClaimTemplate: {
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
          },
        },
      });
      spec.initContainers[0].volumeMounts.push({ name: 'rv', mountPath: '/rv' });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused: hostNetwork: true puts the abstract unix-socket namespace on the node (any hostNetwork pod can catch the fd)', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.hostNetwork = true;
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it("was a bypass, now refused: hostIPC: true gives the writer the node's /dev/shm, where a socket of another hostIPC pod can sit", () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.hostIPC = true;
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('was a bypass, now refused (inconsistent with the shareProcessNamespace fix): hostPID: true is admitted with a pre-verify writer', () => {
    // firstWriterLimit() returns 0 for shareProcessNamespace: true (a shared PID namespace is
    // taken to let a writer's open file outlive the step); hostPID shares strictly more (the
    // node's PID namespace, seen by every hostPID pod on the node) and is not looked at.
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.hostPID = true;
    });
    expectDenied(decide(d, { policy: PINNED }));
  });

  it('(control) the writer with a second, pod-private volume (emptyDir) stays admitted', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'tmp', emptyDir: {} });
      spec.initContainers[0].volumeMounts.push({ name: 'tmp', mountPath: '/tmp' });
    });
    expect(allowed(d)).toBe(true);
  });

  it('(control) a model in an image volume has no writer at all: a PVC elsewhere in the pod changes nothing', () => {
    const d = withSpec((spec) => {
      spec.volumes = [
        { name: 'models', image: { reference: 'registry.example/models@sha256:' + 'd'.repeat(64) } },
        { name: 'rendezvous', persistentVolumeClaim: { claimName: 'scratch' } },
      ];
      spec.containers[0].volumeMounts.push({ name: 'rendezvous', mountPath: '/rendezvous' });
    });
    expect(allowed(d)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// BYPASS B: a readOnly mount is only readOnly for a process that cannot remount it.
// ---------------------------------------------------------------------------------------------
describe('a container that can remount or reach the node can write a readOnly model volume', () => {
  /**
   * The webhook accepts every later container that mounts the model volume with readOnly: true.
   * A privileged container (or one with CAP_SYS_ADMIN) runs `mount -o remount,rw,bind /models`
   * and rewrites FILE after the verify step; a privileged container can also reach the node's
   * /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/models, exactly what the fix made
   * hostPath alias ("the node's disk holds every volume"). Nothing in verify-step.ts or rules.ts
   * reads securityContext.
   */
  it('was a bypass, now refused: a privileged native sidecar with the model volume mounted readOnly is admitted', () => {
    const d = withSpec((spec) => {
      spec.initContainers.push({
        name: 'helper',
        image: 'registry.example.com/helper:1',
        restartPolicy: 'Always',
        securityContext: { privileged: true },
        volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
      });
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it('was a bypass, now refused: a serving container with capabilities.add [SYS_ADMIN] and a readOnly model mount is admitted', () => {
    const d = withSpec((spec) => {
      spec.containers[0].securityContext = { runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } };
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it('was a bypass, now refused: a privileged container with no model mount at all reaches the emptyDir on the node', () => {
    const d = withSpec((spec) => {
      spec.containers.push({
        name: 'metrics',
        image: 'registry.example.com/metrics:1',
        securityContext: { privileged: true },
      });
    });
    expectDenied(decide(d, { policy: PINNED }));
  });
});

// ---------------------------------------------------------------------------------------------
// BYPASS C: pods of a verified workload that carry none of the marks.
// ---------------------------------------------------------------------------------------------
describe('pods of a verified workload must stay recognisable as inference pods', () => {
  /**
   * The docs promise: "a Pod made from such a template is recognised as an inference pod from its
   * own spec (kubectl debug on it is refused) even when the label sat only on its Deployment".
   * That holds only because the verify step is in the template. Under a rule with
   * requireVerifyInit: false, a Deployment whose label and manifest sit on its own metadata makes
   * Pods with no label, no annotation and no verify step: classify sees no inference pod.
   */
  function markedOnlyOnDeployment(): Obj {
    const d = deployment();
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    d.spec.template.spec.initContainers = [];
    return d;
  }
  const NO_INIT = policyWith({ requireVerifyInit: false });

  it('was a bypass (kubectl debug on its unmarked pods): such a Deployment is now refused, pods-unmarked', () => {
    expectDenied(decide(markedOnlyOnDeployment(), { policy: NO_INIT }), 'pods-unmarked');
  });

  it('the same Deployment with the label on its template too is admitted, and kubectl debug on its pods refused', () => {
    const d = markedOnlyOnDeployment();
    d.spec.template.metadata.labels['modelgate.dev/inference'] = 'true';
    expect(decide(d, { policy: NO_INIT }).response.allowed).toBe(true);
    const old = podFrom(d);
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox', targetContainerName: 'server' }];
    expectDenied(
      decide(pod, {
        operation: 'UPDATE',
        oldObject: old,
        subResource: 'ephemeralcontainers',
        policy: NO_INIT,
      }),
      'ephemeral-container',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Label removal on a running inference pod.
// ---------------------------------------------------------------------------------------------
describe('label and annotation removal on a running inference pod', () => {
  it('was a bypass, now refused (low): removing modelgate.dev/inference from a controller-made pod whose template carried the manifest is admitted', () => {
    // markRemoval() refuses only when no rule selects the pod afterwards; the manifest annotation
    // and the verify step keep it selected, so the UPDATE is re-verified as a new pod and passes.
    // The pod stays in scope for modelgate (kubectl debug is still refused), but anything else
    // that keys on the label (NetworkPolicies, Services, dashboards, other admission) loses it.
    const old = podFrom(workloadOfKind('Deployment'));
    const pod = structuredClone(old);
    delete pod.metadata.labels['modelgate.dev/inference'];
    expectDenied(
      decide(pod, { operation: 'UPDATE', oldObject: old, policy: PINNED }),
      'inference-mark-removed',
    );
  });

  it('removing the manifest annotation (label kept) is refused (inference-mark-removed)', () => {
    const old = podFrom(workloadOfKind('Deployment'));
    const pod = structuredClone(old);
    delete pod.metadata.annotations['modelgate.dev/manifest'];
    expectDenied(
      decide(pod, { operation: 'UPDATE', oldObject: old, policy: PINNED }),
      'inference-mark-removed',
    );
  });

  it('kubectl debug after that label removal is still refused', () => {
    const old = podFrom(workloadOfKind('Deployment'));
    delete old.metadata.labels['modelgate.dev/inference'];
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
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
});

// ---------------------------------------------------------------------------------------------
// UPDATE flows.
// ---------------------------------------------------------------------------------------------
describe('UPDATE: what the skip logic compares', () => {
  it('was a bypass, now refused (low): a CronJob UPDATE that only makes jobTemplate.metadata.labels contradict the template is skipped', () => {
    // modelOrTemplateChanged() compares spec.jobTemplate.spec.template and the CronJob's own
    // metadata, not spec.jobTemplate.metadata, which effectiveLabels() reads as a level. The same
    // object as a CREATE is refused (label-contradicts-template).
    const policy = policyWith({}, {});
    const old = workloadOfKind('CronJob');
    old.spec.jobTemplate.spec.template.metadata.labels['modelgate.dev/data-classification'] = 'restricted';
    const cron = structuredClone(old);
    cron.spec.jobTemplate.metadata = { labels: { 'modelgate.dev/data-classification': 'public' } };
    expectDenied(decide(cron, { policy }), 'label-contradicts-template'); // CREATE: refused
    expectDenied(decide(cron, { operation: 'UPDATE', oldObject: old, policy }), 'label-contradicts-template');
  });

  it('a Deployment UPDATE of metadata the policy does not read is skipped (by design)', () => {
    const old = deployment();
    const d = structuredClone(old);
    d.metadata.labels.team = 'x';
    d.metadata.annotations['example.com/note'] = 'y';
    expect(
      decide(d, { operation: 'UPDATE', oldObject: old, policy: PINNED }).record.reasons.map((r) => r.code),
    ).toEqual(['template-unchanged']);
  });

  it('a Deployment UPDATE that swaps the workload-level manifest is re-verified', () => {
    const old = deployment();
    const d = structuredClone(old);
    d.metadata.annotations['modelgate.dev/manifest'] = vectors.wrongKeyManifestText;
    expectDenied(decide(d, { operation: 'UPDATE', oldObject: old, policy: PINNED }));
  });

  it('a Pod UPDATE that only changes tolerations (spec) is re-verified, not skipped', () => {
    const old = podFrom(workloadOfKind('Deployment'));
    const pod = structuredClone(old);
    pod.spec.tolerations = [{ key: 'k', operator: 'Exists' }];
    const r = classifyRequest(admissionRequest(pod, { operation: 'UPDATE', oldObject: old }), PINNED);
    expect(r.kind).toBe('check');
  });
});

// ---------------------------------------------------------------------------------------------
// Annotations: the workload's win over the template's, but the pods carry the template's.
// ---------------------------------------------------------------------------------------------
describe('manifest annotation on two levels', () => {
  it('a workload manifest shadowing a different template manifest is refused (pods would carry a manifest never verified)', () => {
    // Was admitted: the verify step's pins decide the bytes and were checked against the
    // workload manifest, but the annotation every pod carries (what auditors, the scanner and
    // pod-level decisions read) was never verified. Now one value across levels, or refused.
    const d = workloadOfKind('Deployment');
    d.metadata.annotations = { 'modelgate.dev/manifest': vectors.manifestText };
    d.spec.template.metadata.annotations['modelgate.dev/manifest'] = vectors.wrongKeyManifestText;
    const decision = decide(d, { policy: PINNED });
    expectDenied(decision, 'annotation-contradicts-template');
    expect(decision.response.status?.message).toMatch(/spec\.template\.metadata\.annotations/);
    expectDenied(decide(podFrom(d), { policy: PINNED }));
  });

  it.each([
    ['manifest-configmap', 'models/a.json', 'models/b.json'],
    ['approved-by', 'alice,bob', 'mallory,eve'],
  ])('the same for %s', (key, outer, inner) => {
    const d = workloadOfKind('Deployment');
    d.metadata.annotations = { ...d.metadata.annotations, [`modelgate.dev/${key}`]: outer };
    d.spec.template.metadata.annotations[`modelgate.dev/${key}`] = inner;
    expectDenied(decide(d, { policy: PINNED }), 'annotation-contradicts-template');
  });

  it('a CronJob whose job template carries another manifest than the pod template is refused', () => {
    const c = workloadOfKind('CronJob');
    c.spec.jobTemplate.metadata = { annotations: { 'modelgate.dev/manifest': vectors.wrongKeyManifestText } };
    expectDenied(decide(c, { policy: PINNED }), 'annotation-contradicts-template');
  });

  it('the same manifest on both levels is admitted (one value, verified once)', () => {
    const d = workloadOfKind('Deployment');
    d.metadata.annotations = { 'modelgate.dev/manifest': d.spec.template.metadata.annotations['modelgate.dev/manifest'] };
    expect(decide(d, { policy: PINNED }).response.allowed).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Attacks that are refused.
// ---------------------------------------------------------------------------------------------
describe('refused', () => {
  it('a relative mountPath ("models", which the kubelet makes "/models") in the verify container', () => {
    const d = withSpec((spec) => {
      emptyDirModel(spec);
      spec.volumes.push({ name: 'genuine', emptyDir: {} });
      spec.initContainers[1].volumeMounts.push({ name: 'genuine', mountPath: 'models', readOnly: true });
    });
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });

  it.each(['Never', 'OnFailure', 'Always'])('restartPolicy %s on the verify step', (policy) => {
    const d = withSpec((spec) => (spec.initContainers[0].restartPolicy = policy));
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });

  it.each(['Never', 'OnFailure'])(
    'a pre-verify writer with restartPolicy %s is taken as a sidecar (refused)',
    (p) => {
      const d = withSpec((spec) => {
        emptyDirModel(spec);
        spec.initContainers[0].restartPolicy = p;
      });
      expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
    },
  );

  it('a later init container mounting the model volume twice: readOnly with mountPropagation, and rw through a subPath', () => {
    const d = withSpec((spec) => {
      spec.initContainers.push({
        name: 'late',
        image: 'busybox',
        volumeMounts: [
          { name: 'models', mountPath: '/models', readOnly: true, mountPropagation: 'HostToContainer' },
          { name: 'models', mountPath: '/m2', subPath: 'x' },
        ],
      });
    });
    expectDenied(decide(d, { policy: PINNED }), 'model-volume-writable');
  });

  it('two verify steps of different volumes: a writer between them may write only the second', () => {
    const d = withSpec((spec) => {
      spec.volumes.push({ name: 'b', emptyDir: {} });
      spec.initContainers.push(
        { name: 'fill-b', image: 'busybox', volumeMounts: [{ name: 'b', mountPath: '/b' }] },
        {
          name: 'verify-b',
          image: VERIFY_IMAGE,
          args: ['verify', '/b/x.bin', '--sha256', PIN],
          volumeMounts: [{ name: 'b', mountPath: '/b', readOnly: true }],
        },
      );
    });
    expect(allowed(d)).toBe(true);
    const bad = structuredClone(d);
    bad.spec.template.spec.initContainers[1].volumeMounts.push({ name: 'models', mountPath: '/models' });
    expectDenied(decide(bad, { policy: PINNED }), 'model-volume-writable');
  });

  it('a verify step under "--" ("verify -- FILE --sha256 HEX": the pin becomes a file)', () => {
    const d = withSpec((spec) => (spec.initContainers[0].args = ['verify', '--', FILE, '--sha256', PIN]));
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });

  it("a model volume mounted over the image's /etc (or /app, /usr: its program) in the verify step is refused", () => {
    // The kubelet bind-mounts its hosts file over /etc/hosts even when a volume sits at /etc, and a
    // volume over /app would replace the verify program itself: no model mount over image paths.
    const d = withSpec((spec) => {
      spec.initContainers[0].args = ['verify', '/etc/hosts', '--sha256', PIN];
      spec.initContainers[0].volumeMounts = [{ name: 'models', mountPath: '/etc', readOnly: true }];
    });
    expectDenied(decide(d, { policy: PINNED }), 'verify-step-not-inert');
  });

  it('an ephemeral-containers request whose new labels select no rule but whose old pod was inference', () => {
    const old = podFrom(workloadOfKind('Deployment'));
    const pod = structuredClone(old);
    pod.metadata.labels = {};
    pod.metadata.annotations = {};
    pod.spec.initContainers = [];
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
    expectDenied(
      decide(pod, {
        operation: 'UPDATE',
        oldObject: old,
        subResource: 'ephemeralcontainers',
        policy: PINNED,
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Out of scope (documented limitation or not the webhook's job): recorded as allowed.
// ---------------------------------------------------------------------------------------------
describe('out of scope, recorded', () => {
  it('serving container mounts the model volume honestly, plus another emptyDir exactly at FILE (docs: "what the server container loads")', () => {
    const d = withSpec((spec) => {
      spec.volumes.push({ name: 'other', emptyDir: {} });
      spec.containers[0].volumeMounts.push({
        name: 'other',
        mountPath: FILE,
        subPath: 'x.onnx',
      });
    });
    expect(allowed(d)).toBe(true);
  });

  it('a hostPath (or privileged) Pod outside scope on the same node can rewrite any emptyDir model: needs PSA baseline', () => {
    const p: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'node-tool', namespace: 'ml' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'k', mountPath: '/k' }] }],
        volumes: [{ name: 'k', hostPath: { path: '/var/lib/kubelet/pods' } }],
      },
    };
    expect(allowed(p)).toBe(true);
  });
});
