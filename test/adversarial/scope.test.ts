/**
 * Walking around the webhook: other namespaces' ConfigMaps, label and namespace tricks to reach
 * an exemption, ephemeral containers, forged ownerReferences, impersonated controllers,
 * confusable keys, model swaps on UPDATE, replayed / expired / future manifests, dry-run.
 */
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, workloadOfKind, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import type { KubeApi } from '../../src/kube/client.js';
import { ConfigMapResolver } from '../../src/kube/configmaps.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { decide, expectDenied, expectNoSecret, keyring, NOW, policyWith, v2Manifest } from './helpers.js';

const CM = 'modelgate.dev/manifest-configmap';
const INFERENCE = 'modelgate.dev/inference';

function withConfigMapRef(value: string): Obj {
  const d = deployment(null);
  d.metadata.annotations[CM] = value;
  return d;
}

/** A KubeApi that records which namespace each ConfigMap read asked for and serves a valid manifest. */
function recordingApi(reads: string[]): KubeApi {
  const unused = (): Promise<never> => Promise.reject(new Error('not used'));
  return {
    readConfigMap: (namespace, name) => {
      reads.push(`${namespace}/${name}`);
      return Promise.resolve({
        data: { 'model.manifest.json': vectors.manifestText, name: vectors.manifestText },
      });
    },
    createEvent: unused,
    readSecret: unused,
    createSecret: unused,
    replaceSecret: unused,
    publishWebhook: unused,
  };
}

describe('a manifest ConfigMap never resolves across namespaces', () => {
  it.each([
    ['other-ns/name/key', 'three segments'],
    ['../kube-system/manifests', 'a ".." segment'],
    ['/kube-system/manifests', 'a leading slash'],
    ['kube-system:manifests', 'a colon'],
    ['Kube-System', 'upper case'],
    ['', 'empty'],
    ['name/../../x', 'traversal after the name'],
    ['name/key with space', 'a space in the key'],
  ])('%s (%s) is an invalid reference: denied without any API read', (value) => {
    const object = withConfigMapRef(value);
    const plan = planAdmission(admissionRequest(object), defaultPolicy());
    expect(plan.refs).toEqual([]);
    expectDenied(decide(object), 'invalid-reference');
  });

  it('"other-ns/name" means ConfigMap "other-ns", key "name", in the request namespace', async () => {
    const object = withConfigMapRef('other-ns/name');
    const plan = planAdmission(admissionRequest(object), defaultPolicy());
    expect(plan.namespace).toBe('ml');
    const reads: string[] = [];
    const resolver = new ConfigMapResolver({ api: recordingApi(reads) });
    await resolver.resolve(plan.namespace, plan.refs, AbortSignal.timeout(1000));
    expect(reads).toEqual(['ml/other-ns']);
  });

  it('a dotted name ("kube-system.manifests") is a same-namespace ConfigMap, not a path', async () => {
    const object = withConfigMapRef('kube-system.manifests');
    const plan = planAdmission(admissionRequest(object), defaultPolicy());
    const reads: string[] = [];
    await new ConfigMapResolver({ api: recordingApi(reads) }).resolve(
      plan.namespace,
      plan.refs,
      AbortSignal.timeout(1000),
    );
    expect(reads).toEqual(['ml/kube-system.manifests']);
  });

  it("a volume projecting another namespace's ConfigMap is read from the request namespace", async () => {
    const object = deployment(null);
    object.metadata.annotations['modelgate.dev/manifest-volume'] = 'manifests';
    object.spec.template.spec.volumes.push({
      name: 'manifests',
      configMap: { name: 'kube-system/manifests' },
    });
    const plan = planAdmission(admissionRequest(object), defaultPolicy());
    const reads: string[] = [];
    const resolved = await new ConfigMapResolver({ api: recordingApi(reads) }).resolve(
      plan.namespace,
      plan.refs,
      AbortSignal.timeout(1000),
    );
    expect(reads.every((r) => r.startsWith('ml/'))).toBe(true);
    // whatever was read, it came from "ml"; the decision names that origin
    for (const r of resolved) expect(r.origin).toMatch(/^configmap ml\//);
  });

  // The API server refuses an object whose metadata.namespace differs from the request's before
  // admission, but the webhook (and `modelgate review`) must not trust the object over the request.
  it('an object claiming metadata.namespace "kube-system" in a request for "ml" resolves in "ml"', () => {
    const object = withConfigMapRef('manifests');
    object.metadata.namespace = 'kube-system';
    const request = admissionRequest(object);
    request.namespace = 'ml';
    expect(planAdmission(request, defaultPolicy()).namespace).toBe('ml');
  });

  it('an object claiming an exempt metadata.namespace in a request for "ml" is still checked', () => {
    const object = deployment(null);
    object.metadata.namespace = 'kube-system';
    const policy = { ...defaultPolicy(), exemptNamespaces: ['kube-system'] };
    expectDenied(decide(object, { policy, namespace: 'ml' }), 'missing-manifest');
  });
});

describe('exemptions come only from the policy, never from labels', () => {
  it.each([
    ['modelgate.dev/exempt', 'true'],
    ['modelgate.dev/skip-verification', 'true'],
    ['modelgate.dev/mode', 'audit'],
    ['admission.kubernetes.io/exempt', 'true'],
    ['control-plane', 'true'],
  ])('a workload label %s=%s exempts nothing', (key, value) => {
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.labels[key] = value;
    d.spec.template.metadata.labels[key] = value;
    expectDenied(decide(d), 'bad-signature');
  });

  it('annotations naming a mode or an exemption change nothing', () => {
    const d = deployment(vectors.wrongKeyManifestText);
    Object.assign(d.metadata.annotations, {
      'modelgate.dev/mode': 'audit',
      'modelgate.dev/exempt': 'true',
      'modelgate.dev/break-glass': 'urgent',
    });
    expectDenied(decide(d), 'bad-signature');
  });

  it('a break-glass annotation from a user outside the break-glass group is still denied', () => {
    const policy = {
      ...defaultPolicy(),
      breakGlass: { group: 'sre-oncall', annotation: 'modelgate.dev/break-glass' },
    };
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations['modelgate.dev/break-glass'] = 'prod is down';
    expectDenied(
      decide(d, { policy, groups: ['system:authenticated', 'sre-oncall-readonly', 'SRE-ONCALL'] }),
    );
  });

  it('an image-selected workload labelled modelgate.dev/inference="false" is still checked', () => {
    const policy = policyWith({
      match: { namespaces: [], excludeNamespaces: [], kinds: [], images: ['*tritonserver*'], labels: {} },
    });
    const d = deployment(null);
    d.metadata.labels[INFERENCE] = 'false';
    d.spec.template.metadata.labels[INFERENCE] = 'false';
    expectDenied(decide(d, { policy }), 'missing-manifest');
  });

  it('a Deployment labelled inference="false" whose pod template says "true" is checked (its Pods are inference pods)', () => {
    const d = deployment(null);
    d.metadata.labels[INFERENCE] = 'false';
    expect(d.spec.template.metadata.labels[INFERENCE]).toBe('true');
    expectDenied(decide(d), 'missing-manifest');
  });

  it('a Deployment labelled inference="" whose pod template says "true" is checked', () => {
    const d = deployment(null);
    d.metadata.labels[INFERENCE] = '';
    expectDenied(decide(d), 'missing-manifest');
  });

  it('the same label trick on a StatefulSet, a Job and a CronJob', () => {
    for (const kind of ['StatefulSet', 'Job', 'CronJob', 'DaemonSet']) {
      const w = workloadOfKind(kind, null);
      w.metadata.labels[INFERENCE] = 'false';
      expectDenied(decide(w), 'missing-manifest');
    }
  });
});

describe('unicode-confusable keys are not the keys they imitate', () => {
  const CYRILLIC_E = '\u0435';
  const NB_HYPHEN = '\u2011';
  it.each([
    ['Cyrillic е in "manifest"', `modelgate.dev/manif${CYRILLIC_E}st`],
    ['a zero-width space', 'modelgate.dev/\u200bmanifest'],
    ['fullwidth solidus', 'modelgate.dev\uff0fmanifest'],
    ['a trailing space', 'modelgate.dev/manifest '],
    ['upper case', 'Modelgate.dev/manifest'],
  ])('a valid manifest under a confusable annotation key (%s) is not found: denied', (_, key) => {
    const d = deployment(null);
    d.metadata.annotations[key] = vectors.manifestText;
    expectDenied(decide(d), 'missing-manifest');
  });

  it('a confusable break-glass annotation does not override, even for the break-glass group', () => {
    const policy = {
      ...defaultPolicy(),
      breakGlass: { group: 'sre', annotation: 'modelgate.dev/break-glass' },
    };
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations[`modelgate.dev/break${NB_HYPHEN}glass`] = 'urgent';
    expectDenied(decide(d, { policy, groups: ['sre'] }));
  });

  it('a confusable group name ("ѕre", Cyrillic ѕ) is not the break-glass group', () => {
    const policy = {
      ...defaultPolicy(),
      breakGlass: { group: 'sre', annotation: 'modelgate.dev/break-glass' },
    };
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations['modelgate.dev/break-glass'] = 'urgent';
    expectDenied(decide(d, { policy, groups: ['\u0455re'] }));
  });

  it('a required label under a confusable key is missing', () => {
    const policy = policyWith({
      requiredLabels: [{ name: 'modelgate.dev/data-classification', values: ['internal'] }],
    });
    const d = deployment();
    d.metadata.labels[`modelgate.dev/data-classifi\u0441ation`] = 'internal'; // Cyrillic с
    expectDenied(decide(d, { policy }), 'label-missing');
  });
});

describe('ephemeral containers on an inference pod', () => {
  function ephemeralUpdate(): { object: Obj; oldObject: Obj } {
    const oldObject = workloadOfKind('Pod');
    const object = structuredClone(oldObject);
    object.spec.ephemeralContainers = [
      { name: 'debugger', image: 'busybox', command: ['sh'], targetContainerName: 'server' },
    ];
    return { object, oldObject };
  }

  it('adding one through pods/ephemeralcontainers is denied, even with a valid manifest', () => {
    const { object, oldObject } = ephemeralUpdate();
    expectDenied(
      decide(object, { operation: 'UPDATE', oldObject, subResource: 'ephemeralcontainers' }),
      'ephemeral-container',
    );
  });

  it('is denied for a cluster-admin (system:masters) too', () => {
    const { object, oldObject } = ephemeralUpdate();
    const d = decide(object, {
      operation: 'UPDATE',
      oldObject,
      subResource: 'ephemeralcontainers',
      groups: ['system:masters'],
    });
    expectDenied(d, 'ephemeral-container');
  });

  it('an ephemeral container running the model server image with another model is denied', () => {
    const { object, oldObject } = ephemeralUpdate();
    object.spec.ephemeralContainers[0] = {
      name: 'x',
      image: 'nvcr.io/nvidia/tritonserver:24.08-py3',
      args: ['--model-repository=/tmp/evil'],
    };
    expectDenied(
      decide(object, { operation: 'UPDATE', oldObject, subResource: 'ephemeralcontainers' }),
      'ephemeral-container',
    );
  });
});

describe('who is asking comes from userInfo.username, never from ownerReferences or groups', () => {
  it('a user-created Pod with forged ownerReferences to a ReplicaSet is checked and denied', () => {
    const pod = workloadOfKind('Pod', null);
    pod.metadata.ownerReferences = [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'fraud-detector-7d9f',
        uid: '11111111-2222-3333-4444-555555555555',
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
    expectDenied(decide(pod), 'missing-manifest');
  });

  it.each([
    ['system:kube-controller-manager'],
    ['system:serviceaccount:kube-system:replicaset-controller'],
    ['system:masters'],
    ['system:nodes'],
  ])('a user listing the controller identity %s in groups (not username) is checked', (group) => {
    const pod = workloadOfKind('Pod', null);
    expectDenied(
      decide(pod, { username: 'mallory', groups: ['system:authenticated', group] }),
      'missing-manifest',
    );
  });

  it.each([
    ['System:kube-controller-manager'],
    ['system:kube-controller-manager '],
    ['system:serviceaccount:ml:replicaset-controller'],
    ['system:serviceaccount:kube-system:replicaset-controller:x'],
    ['system:kube\u2010controller\u2010manager'],
  ])('a username that only resembles a controller (%j) is checked', (username) => {
    expectDenied(decide(workloadOfKind('Pod', null), { username }), 'missing-manifest');
  });

  it('(control) the real ReplicaSet controller creating the Pod is not refused', () => {
    const d = decide(workloadOfKind('Pod', null), {
      username: 'system:serviceaccount:kube-system:replicaset-controller',
    });
    expect(d.response.allowed).toBe(true);
    expect(d.record.reasons[0]?.code).toBe('controller-request');
  });
});

describe('UPDATE that swaps the model after CREATE', () => {
  it('replacing the manifest with one signed by an unknown key is re-verified and denied', () => {
    const oldObject = deployment();
    const object = deployment(vectors.wrongKeyManifestText);
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'bad-signature');
  });

  it('changing only the pinned sha256 of the verify init container is denied', () => {
    const oldObject = deployment();
    const object = structuredClone(oldObject);
    object.spec.template.spec.initContainers[0].args[3] = 'b'.repeat(64);
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'verify-init-not-pinned');
  });

  it('removing the verify init container in an UPDATE is denied', () => {
    const oldObject = deployment();
    const object = structuredClone(oldObject);
    object.spec.template.spec.initContainers = [];
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'verify-init-missing');
  });

  it('moving a bad manifest from metadata into the pod template (metadata-only looking) is re-verified', () => {
    const oldObject = deployment();
    const object = structuredClone(oldObject);
    delete object.metadata.annotations['modelgate.dev/manifest'];
    object.spec.template.metadata.annotations['modelgate.dev/manifest'] = vectors.wrongKeyManifestText;
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'bad-signature');
  });

  it('swapping the manifest in metadata only (template untouched) is still re-verified', () => {
    const oldObject = deployment();
    const object = deployment(vectors.wrongKeyManifestText);
    expect(object.spec).toEqual(oldObject.spec);
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'bad-signature');
  });

  it('a Pod UPDATE changing a container image is re-verified', () => {
    const oldObject = workloadOfKind('Pod', vectors.wrongKeyManifestText);
    const object = structuredClone(oldObject);
    object.spec.containers[0].image = 'evil.example/server:latest';
    expectDenied(decide(object, { operation: 'UPDATE', oldObject }), 'bad-signature');
  });
});

/*
 * Replay. What modelgate can detect: a valid manifest attached to a workload whose verify init
 * container pins other bytes (verify-init-not-pinned); a manifest past its signed expiresAt; a v2
 * manifest older than the rule's maxAge (signedAt is signed); a manifest from a revoked key.
 * What it cannot: a v1 manifest's signed_at is unsigned, so its age is whatever the author
 * writes; a valid, unexpired manifest for model A re-used on any workload that really runs A
 * (that is the point of signing the model, not the deployment); which file the server
 * container actually loads — the init container verifies a path, the server may load another.
 */
describe('expired, future-dated and replayed manifests', () => {
  it('a v2 manifest past its signed expiresAt is denied', () => {
    const m = v2Manifest({ signedAt: '2026-01-01T00:00:00Z', expiresAt: '2026-04-01T00:00:00Z' });
    expectDenied(decide(deployment(JSON.stringify(m))), /expired/);
  });

  it('a v2 manifest expiring exactly now is denied', () => {
    const m = v2Manifest({ signedAt: '2026-01-01T00:00:00Z', expiresAt: NOW.toISOString() });
    expectDenied(decide(deployment(JSON.stringify(m))), /expired/);
  });

  it('a v2 manifest signed a day in the future is denied', () => {
    const m = v2Manifest({ signedAt: '2026-05-02T00:00:00Z' });
    expectDenied(decide(deployment(JSON.stringify(m))), 'manifest-signed-in-future');
  });

  it('a v2 manifest signed in year 9999 is denied', () => {
    const m = v2Manifest({ signedAt: '9999-12-31T23:59:59Z' });
    expectDenied(decide(deployment(JSON.stringify(m))), 'manifest-signed-in-future');
  });

  it('a v1 manifest dated in the future is denied', () => {
    const text = vectors.manifestText.replace('2026-04-26T03:15:42.118203', '2027-01-01T00:00:00');
    expectDenied(decide(deployment(text)), 'manifest-signed-in-future');
  });

  it("a v2 manifest older than the rule's maxAge is denied", () => {
    const m = v2Manifest({ signedAt: '2025-01-01T00:00:00Z' });
    expectDenied(
      decide(deployment(JSON.stringify(m)), { policy: policyWith({ maxAgeSeconds: 86_400 }) }),
      'manifest-too-old',
    );
  });

  it('replay: a valid manifest for model A on a workload whose verify init pins model B is denied', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].args = [
      'verify',
      '/models/other.onnx',
      '--sha256',
      'b'.repeat(64),
    ];
    expectDenied(decide(d), 'verify-init-not-pinned');
  });

  it('replay: the same, with the pin written as --sha256=<B>', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].args = [
      'verify',
      '/models/other.onnx',
      `--sha256=${'b'.repeat(64)}`,
    ];
    expectDenied(decide(d), 'verify-init-not-pinned');
  });

  it('replay: a valid manifest with the verify container moved from initContainers to containers is denied', () => {
    const d = deployment();
    const [verify] = d.spec.template.spec.initContainers.splice(0, 1);
    d.spec.template.spec.containers.push(verify);
    expectDenied(decide(d), 'verify-init-missing');
  });

  it('replay: an init container that only mentions "verify" in a shell string is not a verify container', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0] = {
      name: 'verify-model',
      image: 'busybox',
      command: ['sh', '-c', `echo modelgate verify --sha256 ${vectors.sha256}`],
    };
    expectDenied(decide(d), 'verify-init-missing');
  });

  it('rollback to a manifest signed with a since-revoked key is denied', () => {
    const policy = { ...defaultPolicy(), revokedKeys: ['ci'] };
    const oldObject = deployment(JSON.stringify(v2Manifest({}, 'ops-2027')));
    const object = deployment();
    expectDenied(decide(object, { operation: 'UPDATE', oldObject, policy }), /revoked/);
  });
});

describe('dry-run requests: decided, but without side effects', () => {
  it('a denied dry-run CREATE has no Event, and is still a deny', () => {
    const d = decide(deployment(vectors.wrongKeyManifestText), { dryRun: true });
    expectDenied(d, 'bad-signature');
    expect(d.event).toBeUndefined();
    expect(d.record.dryRun).toBe(true);
  });

  it('a denied dry-run ephemeral-container UPDATE has no Event', () => {
    const oldObject = workloadOfKind('Pod');
    const object = structuredClone(oldObject);
    object.spec.ephemeralContainers = [{ name: 'd', image: 'busybox' }];
    const d = decide(object, {
      operation: 'UPDATE',
      oldObject,
      subResource: 'ephemeralcontainers',
      dryRun: true,
    });
    expectDenied(d, 'ephemeral-container');
    expect(d.event).toBeUndefined();
  });

  it('a break-glass dry-run leaves no Event either', () => {
    const policy = {
      ...defaultPolicy(),
      breakGlass: { group: 'sre', annotation: 'modelgate.dev/break-glass' },
    };
    const object = deployment(vectors.wrongKeyManifestText);
    object.metadata.annotations['modelgate.dev/break-glass'] = 'incident 42';
    const d = decideAdmission(
      planAdmission(admissionRequest(object, { dryRun: true, groups: ['sre'] }), policy),
      { resolved: [], keyring, now: NOW },
    );
    expect(d.event).toBeUndefined();
    expect(d.record.breakGlass).toBeDefined();
    expectNoSecret(d);
  });
});
