import { describe, expect, it } from 'vitest';
import {
  admissionRequest,
  deployment,
  workloadOfKind,
  type Obj,
  type RequestOptions,
} from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { defaultPolicy } from '../policy/defaults.js';
import type { Mode, Policy } from '../policy/types.js';
import type { ResolvedManifest } from '../workload/types.js';
import { formatV2, signV2 } from '../manifest/v2.js';
import { decideAdmission } from './decide.js';
import { planAdmission } from './plan.js';

const keyring = new MemoryKeyring([['ci', Buffer.from(vectors.key)]]);
const now = new Date('2026-05-01T00:00:00Z');

function decide(
  object: Record<string, any>,
  opts: RequestOptions & { policy?: Policy; resolved?: ResolvedManifest[] } = {},
) {
  const request = admissionRequest(object, opts);
  return decideAdmission(planAdmission(request, opts.policy ?? defaultPolicy()), {
    resolved: opts.resolved ?? [],
    keyring,
    now,
  });
}

function policyWithMode(mode: Mode): Policy {
  const p = defaultPolicy();
  p.rules = p.rules.map((r) => ({ ...r, mode }));
  return p;
}

const tamperedManifest = vectors.manifestText.replace(vectors.sha256, 'f'.repeat(64));
const KINDS = ['Deployment', 'Pod', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

describe('decideAdmission', () => {
  it('admits a Deployment whose v1 manifest verifies, with a warning that v1 binds only the hash', () => {
    const d = decide(deployment());
    expect(d.response).toMatchObject({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    expect(d.response.warnings?.join(' ')).toMatch(/v1/);
    expect(d.record).toMatchObject({
      decision: 'allow',
      mode: 'enforce',
      kind: 'Deployment',
      namespace: 'ml',
      name: 'fraud-detector',
    });
    expect(d.record.models).toEqual([
      { name: 'fraud-detector.onnx', keyId: 'ci', algorithm: 'HMAC-SHA256', format: 'v1', sha256: vectors.sha256 },
    ]);
    expect(d.event).toMatchObject({ reason: 'ModelVerified', type: 'Normal' });
  });

  it.each([
    ['a tampered hash', tamperedManifest],
    ['a manifest signed with another key', vectors.wrongKeyManifestText],
  ])(
    'denies a Deployment with %s, in one line that starts with "modelgate: " and names the model',
    (_, manifest) => {
      const d = decide(deployment(manifest));
      expect(d.response.allowed).toBe(false);
      expect(d.response.status?.code).toBe(403);
      expect(d.response.status?.message).toMatch(
        /^modelgate: Deployment ml\/fraud-detector denied: .*fraud-detector\.onnx/,
      );
      expect(d.response.status?.message).not.toMatch(/\n/);
      expect(d.record.decision).toBe('deny');
      expect(d.event).toMatchObject({
        reason: 'ModelRejected',
        type: 'Warning',
        regarding: { kind: 'Deployment', name: 'fraud-detector', namespace: 'ml' },
      });
    },
  );

  it('denies an inference Deployment without any manifest and says what to do', () => {
    const d = decide(deployment(null));
    expect(d.response.status?.message).toMatch(
      /declares no model manifest; sign the model with `modelgate sign`/,
    );
    expect(d.record.reasons[0]?.code).toBe('missing-manifest');
  });

  it.each(KINDS)('admits a signed %s and denies an unsigned one', (kind) => {
    expect(decide(workloadOfKind(kind)).response.allowed).toBe(true);
    const denied = decide(workloadOfKind(kind, null));
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status?.message).toMatch(
      new RegExp(`^modelgate: ${kind} ml/fraud-detector denied: `),
    );
  });

  it.each(KINDS)('denies a %s whose manifest was signed with another key', (kind) => {
    expect(decide(workloadOfKind(kind, vectors.wrongKeyManifestText)).response.allowed).toBe(false);
  });

  it('allows a workload without the inference label that declares no model, unverified', () => {
    const d = deployment(null);
    delete d.metadata.labels['modelgate.dev/inference'];
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    d.spec.template.spec.initContainers = [];
    const r = decide(d);
    expect(r.response).toEqual({ uid: expect.any(String), allowed: true });
    expect(r.record.reasons).toEqual([{ code: 'not-inference', message: 'not verified' }]);
    expect(r.event).toBeUndefined();
  });

  it.each([
    ['a manifest annotation', (d: Obj) => (d.spec.template.spec.initContainers = [])],
    ['a verify step', (d: Obj) => (d.metadata.annotations = {})],
  ])('verifies a workload that declares a model by %s even without the inference label', (_, keepOne) => {
    const d = deployment(vectors.wrongKeyManifestText);
    delete d.metadata.labels['modelgate.dev/inference'];
    delete d.spec.template.metadata.labels['modelgate.dev/inference'];
    keepOne(d);
    expect(decide(d).response.allowed).toBe(false);
  });

  it('does not re-verify a scale-only UPDATE', () => {
    const old = deployment(vectors.wrongKeyManifestText);
    const scaled = structuredClone(old);
    scaled.spec.replicas = 5;
    const r = decide(scaled, { operation: 'UPDATE', oldObject: old });
    expect(r.response.allowed).toBe(true);
    expect(r.record.reasons[0]?.code).toBe('template-unchanged');
  });

  it('re-verifies an UPDATE that swaps the model manifest', () => {
    const old = deployment();
    const swapped = deployment(vectors.wrongKeyManifestText);
    const r = decide(swapped, { operation: 'UPDATE', oldObject: old });
    expect(r.response.allowed).toBe(false);
    expect(r.record.operation).toBe('UPDATE');
  });

  it('re-verifies an UPDATE that changes the pod template', () => {
    const old = deployment(vectors.wrongKeyManifestText);
    const changed = structuredClone(old);
    changed.spec.template.spec.containers[0].image = 'evil/server:1';
    expect(decide(changed, { operation: 'UPDATE', oldObject: old }).response.allowed).toBe(false);
  });

  it('decides a dry-run like any other request but asks for no Event', () => {
    const r = decide(deployment(null), { dryRun: true });
    expect(r.response.allowed).toBe(false);
    expect(r.record.dryRun).toBe(true);
    expect(r.event).toBeUndefined();
  });

  it.each([
    'system:serviceaccount:kube-system:replicaset-controller',
    'system:serviceaccount:kube-system:job-controller',
  ])('lets the controller %s create pods from admitted templates', (username) => {
    const r = decide(workloadOfKind('Pod', null), { username });
    expect(r.response.allowed).toBe(true);
    expect(r.record.reasons[0]?.code).toBe('controller-request');
  });

  it('does not trust ownerReferences: a user Pod claiming an owner is still verified', () => {
    const pod = workloadOfKind('Pod', null);
    pod.metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: '1', controller: true },
    ];
    expect(decide(pod).response.allowed).toBe(false);
  });

  it('refuses ephemeral containers added to an inference pod', () => {
    const pod = workloadOfKind('Pod');
    const withDebug = structuredClone(pod);
    withDebug.spec.ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    const r = decide(withDebug, { operation: 'UPDATE', oldObject: pod, subResource: 'ephemeralcontainers' });
    expect(r.response.allowed).toBe(false);
    expect(r.record.reasons.map((x) => x.code)).toContain('ephemeral-container');
  });

  it('refuses kubectl debug on a controller-made inference pod for the ephemeral container, first and only', () => {
    const pod = workloadOfKind('Pod', null);
    const withDebug = structuredClone(pod);
    withDebug.spec.ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    const r = decide(withDebug, { operation: 'UPDATE', oldObject: pod, subResource: 'ephemeralcontainers' });
    expect(r.record.reasons.map((x) => x.code)).toEqual(['ephemeral-container']);
    expect(r.response.status?.message).toMatch(
      /^modelgate: Pod ml\/fraud-detector denied: ephemeral containers may not be added/,
    );
  });

  it.each(['status', 'scale'])('skips the %s subresource', (subResource) => {
    const r = decide(deployment(null), { operation: 'UPDATE', oldObject: deployment(null), subResource });
    expect(r.response.allowed).toBe(true);
  });

  it('admits with warnings in warn mode', () => {
    const r = decide(deployment(null), { policy: policyWithMode('warn') });
    expect(r.response.allowed).toBe(true);
    expect(r.response.warnings?.some((w) => w.startsWith('modelgate: ') && /no model manifest/.test(w))).toBe(
      true,
    );
    expect(r.record).toMatchObject({ decision: 'warn', mode: 'warn' });
    expect(r.event?.reason).toBe('ModelWarning');
  });

  it('admits silently in audit mode and records the violation', () => {
    const r = decide(deployment(null), { policy: policyWithMode('audit') });
    expect(r.response).toEqual({ uid: expect.any(String), allowed: true });
    expect(r.record).toMatchObject({
      decision: 'audit',
      mode: 'audit',
      reasons: [{ code: 'missing-manifest' }],
    });
  });

  it('denies a ConfigMap reference it could not resolve instead of passing it', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    const r = decide(d);
    expect(r.response.allowed).toBe(false);
    expect(r.record.reasons[0]?.code).toBe('unresolved-reference');
  });

  it('verifies manifests the shell resolved from a ConfigMap', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    const request = admissionRequest(d);
    const { refs } = planAdmission(request, defaultPolicy());
    expect(refs).toEqual([
      {
        source: 'configmap',
        path: 'metadata.annotations[modelgate.dev/manifest-configmap]',
        name: 'manifests',
      },
    ]);
    const resolved = [
      {
        origin: 'configmap ml/manifests key fraud.manifest.json',
        path: refs[0]!.path,
        text: vectors.manifestText,
      },
    ];
    expect(decide(d, { resolved }).response.allowed).toBe(true);
  });

  it('passes a resolver error through as the reason', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    const resolved = [
      {
        origin: 'configmap ml/manifests',
        path: 'metadata.annotations[modelgate.dev/manifest-configmap]',
        error: { code: 'configmap-not-found', message: 'ConfigMap ml/manifests not found' },
      },
    ];
    expect(decide(d, { resolved }).response.status?.message).toMatch(/ConfigMap ml\/manifests not found/);
  });

  it('asks the shell to resolve nothing for requests it will not verify', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    expect(planAdmission(admissionRequest(d, { operation: 'DELETE' }), defaultPolicy()).refs).toEqual([]);
  });

  it('keeps names with newlines and escapes from forging extra lines', () => {
    const d = deployment(null);
    d.metadata.name = 'x\nmodelgate: allowed\u001b[2J';
    const r = decide(d);
    expect(r.response.status?.message).not.toMatch(/[\n\u001b]/);
    expect(r.event?.note).not.toMatch(/[\n\u001b]/);
  });

  it.each(['DELETE', 'CONNECT'] as const)('allows %s without verification', (operation) => {
    expect(decide(deployment(null), { operation }).response.allowed).toBe(true);
  });

  it('denies a CREATE of a pod-creating kind without an object', () => {
    const request = { ...admissionRequest(deployment()), object: undefined };
    const r = decideAdmission(planAdmission(request, defaultPolicy()), { resolved: [], keyring, now });
    expect(r.response.allowed).toBe(false);
  });

  it('strips bidirectional overrides so kubectl cannot be made to display a reordered message', () => {
    const d = deployment(null);
    d.metadata.name = 'fraud\u202edenied';
    expect(decide(d).response.status?.message).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });

  it('refuses a v1 manifest under a rule with maxAge: its signed_at is unsigned', () => {
    const p = defaultPolicy();
    p.rules = p.rules.map((r) => ({ ...r, maxAgeSeconds: 86_400 * 365 }));
    const r = decide(deployment(), { policy: p });
    expect(r.response.allowed).toBe(false);
    expect(r.record.reasons.map((x) => x.code)).toContain('manifest-age-unsigned');
  });

  it.each([
    [
      'not trusted by the rule',
      { trustedKeys: ['ci-2027'] },
      [],
      'key-not-trusted',
      /not trusted by rule "default": re-sign it with one of: ci-2027/,
    ],
    [
      'revoked',
      {},
      ['ci'],
      'key-revoked',
      /signed with key "ci", which is revoked: re-sign it with a current key/,
    ],
  ])(
    'refuses a manifest signed with a key %s, naming the rule and the fix',
    (_, ruleChange, revokedKeys, code, message) => {
      const p = defaultPolicy();
      p.revokedKeys = revokedKeys;
      p.rules = p.rules.map((r) => ({ ...r, ...ruleChange }));
      const r = decide(deployment(), { policy: p });
      expect(r.record.reasons.map((x) => x.code)).toEqual([code]);
      expect(r.response.status?.message).toMatch(message);
    },
  );

  it.each([
    ['a signed Deployment', deployment()],
    ['an unsigned one', deployment(null)],
  ])('decides %s from its plan alone: planning again changes nothing', (_, object) => {
    const request = admissionRequest(object);
    const plan = planAdmission(request, defaultPolicy());
    const facts = { resolved: [], keyring, now };
    expect(decideAdmission(plan, facts)).toEqual(
      decideAdmission(planAdmission(request, defaultPolicy()), facts),
    );
  });
});

describe('a reason carries where', () => {
  it('the audit record keeps the field path and the manifest origin apart', () => {
    const r = decide(deployment(vectors.wrongKeyManifestText));
    expect(r.record.reasons[0]).toMatchObject({
      path: 'metadata.annotations[modelgate.dev/manifest]',
      origin: expect.stringMatching(/^annotation modelgate\.dev\/manifest/),
    });
  });

  it('the deny message, the Event note and the warning name the field', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].volumeMounts[0].readOnly = false;
    const denied = decide(d);
    expect(denied.response.status?.message).toContain('spec.template.spec.containers[0].volumeMounts[0]');
    expect(denied.event?.note).toContain('spec.template.spec.containers[0].volumeMounts[0]');
    const missing = deployment();
    missing.spec.template.metadata.labels.tier = 'x';
    const policy = defaultPolicy();
    policy.rules = policy.rules.map((rule) => ({
      ...rule,
      mode: 'warn' as const,
      requiredLabels: [{ name: 'owner', values: [] }],
    }));
    expect(decide(missing, { policy }).response.warnings).toContainEqual(
      expect.stringContaining('(at metadata.labels["owner"])'),
    );
  });

  it('a rule problem about a verified model points at the reference and its origin', () => {
    const policy = defaultPolicy();
    policy.revokedKeys = ['ci'];
    const reason = decide(deployment(), { policy }).record.reasons.find((x) => x.code === 'key-revoked');
    expect(reason).toMatchObject({
      path: 'metadata.annotations[modelgate.dev/manifest]',
      origin: 'annotation modelgate.dev/manifest',
    });
  });
});

describe('the Event note', () => {
  it('is cut once, here, to the API limit of 1 KiB, and says so', () => {
    const d = deployment();
    d.spec.template.metadata.labels.tier = 'x'.repeat(3000);
    const policy = defaultPolicy();
    policy.rules = policy.rules.map((r) => ({ ...r, requiredLabels: [{ name: 'tier', values: ['gold'] }] }));
    const note = decide(d, { policy }).event?.note ?? '';
    expect(note).toHaveLength(1024);
    expect(note.endsWith('...')).toBe(true);
  });
});

describe('what, who and why', () => {
  const signed = signV2(
    {
      apiVersion: 'modelgate.dev/v1',
      kind: 'ModelManifest',
      model: { name: 'fraud-detector', version: '3', source: 'ci' },
      files: [{ path: 'model.onnx', sha256: vectors.sha256, size: 1 }],
      claims: { scan: 'passed', approvers: ['carol', 'dave'] },
      signedAt: '2026-04-26T03:15:42Z',
    },
    keyring,
    'ci',
  )!;

  it('records the model version, its signed approvers and the rule, and puts them on the Event', () => {
    const d = decide(deployment(formatV2(signed)));
    expect(d.record.models).toEqual([
      {
        name: 'fraud-detector@3',
        version: '3',
        keyId: 'ci',
        algorithm: 'HMAC-SHA256',
        format: 'v2',
        sha256: vectors.sha256,
        approvers: ['carol', 'dave'],
      },
    ]);
    expect(d.record.approvers).toEqual({ names: ['carol', 'dave'], from: 'claims.approvers' });
    expect(d.record.rule).toBeTruthy();
    expect(d.event?.annotations).toMatchObject({
      'modelgate.dev/models': `fraud-detector@3:ci:${vectors.sha256.slice(0, 12)}`,
      'modelgate.dev/rule': d.record.rule,
      'modelgate.dev/approvers': 'carol,dave',
      'modelgate.dev/approvers-from': 'claims.approvers',
      'modelgate.dev/request-uid': d.record.uid,
    });
  });

  it('takes the approvers from the annotation when a model has none signed (v1)', () => {
    const dep = deployment();
    dep.metadata.annotations['modelgate.dev/approved-by'] = 'erin, frank';
    const d = decide(dep);
    expect(d.record.models[0]).not.toHaveProperty('version');
    expect(d.record.approvers).toEqual({ names: ['erin', 'frank'], from: 'modelgate.dev/approved-by' });
    expect(d.event?.annotations?.['modelgate.dev/models']).toBe(
      `fraud-detector.onnx:ci:${vectors.sha256.slice(0, 12)}`,
    );
  });
});
