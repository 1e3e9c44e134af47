import { describe, expect, it } from 'vitest';
import type { VerifiedModel } from '../manifest/types.js';
import type { Workload } from '../workload/types.js';
import type { VerifyStep } from '../workload/verify-step.js';
import { defaultPolicy, defaultRule } from './defaults.js';
import {
  CODES,
  breakGlassOverride,
  checkAge,
  checkApprovals,
  checkClassificationAccess,
  checkExplainability,
  checkKeys,
  checkLabels,
  checkRequester,
  checkScan,
  checkSource,
  checkV1Allowed,
  checkVerifyInit,
  evaluateRule,
  isKeyTrusted,
  type Check,
  type RuleContext,
} from './rules.js';
import type { Policy, Rule } from './types.js';
import { parseTimestamp } from '../manifest/fields.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const NOW = new Date('2026-05-01T12:00:00Z');

const v2: VerifiedModel = {
  format: 'v2',
  name: 'fraud-detector@1.2.0',
  keyId: 'ci-2026',
  files: [{ path: 'model.onnx', sha256: SHA_A, size: 10 }],
  source: 's3://models-prod/fraud/1.2.0',
  claims: {
    scan: 'passed',
    approvers: ['carol', 'dave'],
    dataClassification: 'internal',
    explainabilityReport: 's3://reports/fraud-1.2.0.html',
  },
  signedAt: '2026-04-26T03:15:42Z',
  origin: 'metadata.annotations["modelgate.dev/manifest"]',
};

const v1: VerifiedModel = {
  format: 'v1',
  name: 'fraud-detector.onnx',
  keyId: 'ci-2026',
  files: [{ path: 'fraud-detector.onnx', sha256: SHA_B, size: 10 }],
  claims: {},
  signedAt: '2026-04-26T03:15:42.118203',
  origin: 'metadata.annotations["modelgate.dev/manifest"]',
};

/** A verify step as extraction reads it: counted unless it carries problems. */
function step(sha256s: string[], image = 'ghcr.io/modelgate/modelgate:0.1.0'): VerifyStep {
  return {
    container: 'verify',
    image,
    index: 0,
    path: 'spec.template.spec.initContainers[0]',
    files: sha256s.map((sha256, i) => ({ path: `/models/f${i}`, sha256 })),
    volumes: ['models'],
    problems: [],
  };
}

const workload: Workload = {
  kind: 'Deployment',
  namespace: 'prod-fraud',
  name: 'scorer',
  labels: { 'modelgate.dev/inference': 'true' },
  annotations: {},
  templatePath: 'spec.template',
  podSpec: {},
  containers: [
    { name: 'server', image: 'registry.example.com/scorer:1', path: 'spec.template.spec.containers[0]' },
  ],
  refs: [],
  labelConflicts: [],
  annotationConflicts: [],
  verifySteps: [step([SHA_A, SHA_B])],
  approvers: [],
};

const base: RuleContext = {
  workload,
  models: [v2],
  user: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'ci'] },
  now: NOW,
  policy: defaultPolicy(),
  request: {
    uid: 'u-1',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    namespace: 'ml',
    name: 'scorer',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'ci'] },
    object: {},
  },
};

type RuleChange = Partial<Omit<Rule, 'approvals'>> & { approvals?: Partial<Rule['approvals']> };
type ContextChange = Partial<Omit<RuleContext, 'workload'>> & { workload?: Partial<Workload> };

function ruleWith(change: RuleChange): Rule {
  const rule = defaultRule('prod');
  return { ...rule, ...change, approvals: { ...rule.approvals, ...change.approvals } };
}

function contextWith(change: ContextChange): RuleContext {
  return { ...base, ...change, workload: { ...workload, ...change.workload } };
}

function model(change: Partial<VerifiedModel>): VerifiedModel {
  return { ...v2, ...change, claims: { ...v2.claims, ...change.claims } };
}

type Case = [sentence: string, rule: RuleChange, ctx: ContextChange, codes: string[]];

function codesOf(check: Check, rule: RuleChange, ctx: ContextChange): string[] {
  return check(ruleWith(rule), contextWith(ctx)).map((p) => p.code);
}

describe('keys', () => {
  const revoking: Policy = { ...defaultPolicy(), revokedKeys: ['ci-2026'] };
  it.each<Case>([
    ['any loaded key is trusted when the rule lists none', {}, {}, []],
    ['a listed key is trusted', { trustedKeys: ['ci-2026'] }, {}, []],
    ['an unlisted key is not trusted', { trustedKeys: ['ci-2027'] }, {}, [CODES.keyNotTrusted]],
    [
      'a revoked key is refused even when the rule lists it',
      { trustedKeys: ['ci-2026'] },
      { policy: revoking },
      [CODES.keyRevoked],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkKeys, rule, ctx)).toEqual(codes);
  });

  it('isKeyTrusted lets revocation win over the trusted list', () => {
    expect(isKeyTrusted(revoking, ruleWith({ trustedKeys: ['ci-2026'] }), 'ci-2026')).toBe(false);
    expect(isKeyTrusted(defaultPolicy(), ruleWith({}), 'anything')).toBe(true);
  });
});

describe('v1 manifests', () => {
  it.each<Case>([
    ['v1 is accepted by default', {}, { models: [v1] }, []],
    [
      'v1 is refused when the rule disallows it',
      { allowV1: false },
      { models: [v1, v2] },
      [CODES.v1NotAllowed],
    ],
    ['v2 is never refused for its format', { allowV1: false }, { models: [v2] }, []],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkV1Allowed, rule, ctx)).toEqual(codes);
  });
});

describe('manifest age and expiry', () => {
  const DAY = 86_400;
  it.each<Case>([
    ['a recent manifest passes with no age limit', {}, {}, []],
    ['a manifest younger than maxAge passes', { maxAgeSeconds: 30 * DAY }, {}, []],
    ['a manifest older than maxAge is refused', { maxAgeSeconds: 2 * DAY }, {}, [CODES.tooOld]],
    [
      'a v1 manifest under maxAge is refused: its signed_at is unsigned',
      { maxAgeSeconds: 5 * DAY + 9 * 3600 },
      { models: [v1] },
      [CODES.ageUnsigned],
    ],
    ['a zone-less v1 time is still checked against the clock skew without maxAge', {}, { models: [v1] }, []],
    [
      'an expired manifest is refused',
      {},
      { models: [model({ expiresAt: '2026-04-30T00:00:00Z' })] },
      [CODES.expired],
    ],
    ['a manifest expiring later passes', {}, { models: [model({ expiresAt: '2026-06-01T00:00:00Z' })] }, []],
    [
      'a manifest signed within the clock skew passes',
      {},
      { models: [model({ signedAt: '2026-05-01T12:04:00Z' })] },
      [],
    ],
    [
      'a manifest signed beyond the clock skew is refused',
      {},
      { models: [model({ signedAt: '2026-05-01T12:06:00Z' })] },
      [CODES.signedInFuture],
    ],
    [
      'an unreadable signedAt is refused',
      {},
      { models: [model({ signedAt: 'yesterday' })] },
      [CODES.badTimestamp],
    ],
    [
      'an unreadable expiresAt is refused',
      {},
      { models: [model({ expiresAt: 'soon' })] },
      [CODES.badTimestamp],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkAge, rule, ctx)).toEqual(codes);
  });

  it.each([
    [
      'the seed writes microseconds without a zone',
      '2026-04-26T03:15:42.118203',
      Date.UTC(2026, 3, 26, 3, 15, 42, 118),
    ],
    ['an offset is honoured', '2026-04-26T05:15:42+02:00', Date.UTC(2026, 3, 26, 3, 15, 42)],
    ['a date alone is not a timestamp', '2026-04-26', undefined],
  ])('parseTimestamp: %s', (_s, text, ms) => {
    // The manifest parser's reading: a zone-less time (the seed's) is UTC.
    expect(parseTimestamp(text, false)).toBe(ms);
  });
});

describe('verify init container', () => {
  it.each<Case>([
    ['every model file pinned passes', {}, { models: [v1, v2] }, []],
    [
      'no init container at all is refused once',
      {},
      { models: [v1, v2], workload: { verifySteps: [] } },
      [CODES.verifyInitMissing],
    ],
    [
      'a file whose sha256 no init container pins is refused',
      {},
      { workload: { verifySteps: [step([SHA_B])] } },
      [CODES.verifyInitNotPinned],
    ],
    [
      'a step that is not exact does not count, and says why',
      {},
      {
        workload: {
          verifySteps: [
            {
              ...step([SHA_A, SHA_B]),
              problems: [{ code: 'verify-step-not-inert', path: 'p', message: 'm' }],
            },
          ],
        },
      },
      ['verify-step-not-inert'],
    ],
    [
      'without verifyImages, a step of a non-modelgate image does not count',
      {},
      { workload: { verifySteps: [step([SHA_A, SHA_B], 'busybox:1')] } },
      [CODES.verifyInitMissing],
    ],
    [
      'nothing is required when the rule does not ask',
      { requireVerifyInit: false },
      { workload: { verifySteps: [] } },
      [],
    ],
    ['nothing is required without models', {}, { models: [], workload: { verifySteps: [] } }, []],
    [
      'with verifyImages, an init container of another image does not count',
      { verifyImages: ['ghcr.io/modelgate/modelgate@sha256:*'] },
      {
        workload: {
          verifySteps: [step([SHA_A, SHA_B], 'evil.example/modelgate:1')],
        },
      },
      [CODES.verifyInitMissing],
    ],
    [
      'with verifyImages, an init container of the pinned image counts',
      { verifyImages: ['ghcr.io/modelgate/modelgate@sha256:*'] },
      {
        workload: {
          verifySteps: [step([SHA_A, SHA_B], 'ghcr.io/modelgate/modelgate@sha256:abc')],
        },
      },
      [],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkVerifyInit, rule, ctx)).toEqual(codes);
  });

  it('points at the pod template for a missing init container', () => {
    const [p] = checkVerifyInit(ruleWith({}), contextWith({ workload: { verifySteps: [] } }));
    expect(p?.path).toBe('spec.template.spec.initContainers');
    expect(p?.message).toContain('fraud-detector@1.2.0');
  });
});

describe('labels and signed claims', () => {
  const classification = {
    name: 'modelgate.dev/data-classification',
    values: ['public', 'internal'],
    claim: 'dataClassification',
  };
  const labelled = (labels: Record<string, string>): ContextChange => ({
    workload: { labels: { ...workload.labels, ...labels } },
  });
  it.each<Case>([
    ['no required labels and no claim labels pass', {}, {}, []],
    [
      'a required label with an allowed value passes',
      { requiredLabels: [classification] },
      labelled({ 'modelgate.dev/data-classification': 'internal' }),
      [],
    ],
    ['a missing required label is refused', { requiredLabels: [classification] }, {}, [CODES.labelMissing]],
    [
      'an empty required label counts as missing',
      { requiredLabels: [{ name: 'modelgate.dev/owner', values: [] }] },
      labelled({ 'modelgate.dev/owner': '' }),
      [CODES.labelMissing],
    ],
    [
      'any value passes when the rule lists none',
      { requiredLabels: [{ name: 'modelgate.dev/owner', values: [] }] },
      labelled({ 'modelgate.dev/owner': 'team-fraud' }),
      [],
    ],
    [
      'a value outside the allowed ones is refused',
      { requiredLabels: [{ ...classification, claim: undefined }] },
      { ...labelled({ 'modelgate.dev/data-classification': 'secret' }), models: [v1] },
      [CODES.labelValueNotAllowed],
    ],
    [
      'a label contradicting the signed claim is refused even when its value is allowed',
      { requiredLabels: [classification] },
      labelled({ 'modelgate.dev/data-classification': 'public' }),
      [CODES.labelContradictsClaim],
    ],
    [
      'a default label contradicting its claim is refused without any rule',
      {},
      labelled({
        'modelgate.dev/scan-status': 'passed-manually',
        'modelgate.dev/data-classification': 'internal',
      }),
      [CODES.labelContradictsClaim],
    ],
    [
      'a customer-facing label of "false" contradicts a signed customerFacing true',
      {},
      {
        ...labelled({ 'modelgate.dev/customer-facing': 'false' }),
        models: [model({ claims: { customerFacing: true } })],
      },
      [CODES.labelContradictsClaim],
    ],
    [
      'a label is free where the manifest claims nothing (v1)',
      {},
      { ...labelled({ 'modelgate.dev/data-classification': 'public' }), models: [v1] },
      [],
    ],
    [
      'a custom label mapped to a custom claim is compared too',
      { requiredLabels: [{ name: 'example.com/team', values: [], claim: 'team' }] },
      { ...labelled({ 'example.com/team': 'a' }), models: [model({ claims: { team: 'b' } })] },
      [CODES.labelContradictsClaim],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkLabels, rule, ctx)).toEqual(codes);
  });
});

describe('security scan', () => {
  it.each<Case>([
    ['a signed passed scan passes', { requireScanPassed: true }, {}, []],
    [
      'a signed failed scan is refused',
      { requireScanPassed: true },
      { models: [model({ claims: { scan: 'failed' } })] },
      [CODES.scanNotPassed],
    ],
    [
      'a v2 manifest without a scan claim is refused',
      { requireScanPassed: true },
      { models: [model({ claims: { scan: undefined } })] },
      [CODES.scanNotPassed],
    ],
    [
      'a v1 manifest has no claims and is refused',
      { requireScanPassed: true },
      { models: [v1] },
      [CODES.scanNotPassed],
    ],
    ['nothing is required when the rule does not ask', {}, { models: [v1] }, []],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkScan, rule, ctx)).toEqual(codes);
  });
});

describe('two-person approval', () => {
  const two = { approvals: { min: 2 } };
  const asUser = (username: string): ContextChange => ({ user: { username, groups: [] } });
  it.each<Case>([
    ['two distinct signed approvers pass', two, {}, []],
    ['no approvals are needed when min is 0', {}, { models: [model({ claims: { approvers: [] } })] }, []],
    [
      'one signed approver is not enough',
      two,
      { models: [model({ claims: { approvers: ['carol'] } })] },
      [CODES.approvalsInsufficient],
    ],
    [
      'the same approver twice counts once, whatever the case',
      two,
      { models: [model({ claims: { approvers: ['carol', 'Carol '] } })] },
      [CODES.approvalsInsufficient],
    ],
    ["the requester's own approval does not count", two, asUser('carol'), [CODES.approvalsInsufficient]],
    [
      "the requester's approval counts when the rule allows it",
      { approvals: { min: 2, forbidRequester: false } },
      asUser('carol'),
      [],
    ],
    [
      'signed approvers win over the annotation',
      two,
      { models: [model({ claims: { approvers: ['carol'] } })], workload: { approvers: ['x', 'y'] } },
      [CODES.approvalsInsufficient],
    ],
    [
      'a v1 manifest falls back to the annotation',
      two,
      { models: [v1], workload: { approvers: ['carol', 'dave'] } },
      [],
    ],
    [
      'the annotation is ignored when the rule forbids it',
      { approvals: { min: 2, allowAnnotation: false } },
      { models: [v1], workload: { approvers: ['carol', 'dave'] } },
      [CODES.approvalsInsufficient],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkApprovals, rule, ctx)).toEqual(codes);
  });
});

describe('allowed requesters', () => {
  const ci = { allowedRequesters: ['group:ci', 'serviceaccount:ci:deployer', 'release-bot'] };
  it.each<Case>([
    ['anyone may deploy when the rule lists nobody', {}, { user: { username: 'alice', groups: [] } }, []],
    [
      'the CI service account may deploy',
      ci,
      { user: { username: 'system:serviceaccount:ci:deployer', groups: [] } },
      [],
    ],
    ['a member of an allowed group may deploy', ci, { user: { username: 'bob', groups: ['ci'] } }, []],
    ['an allowed username may deploy', ci, { user: { username: 'release-bot', groups: [] } }, []],
    [
      'a person deploying by hand is refused',
      ci,
      { user: { username: 'alice', groups: ['system:authenticated'] } },
      [CODES.requesterNotAllowed],
    ],
    [
      'a service account of another namespace is refused',
      ci,
      { user: { username: 'system:serviceaccount:dev:deployer', groups: [] } },
      [CODES.requesterNotAllowed],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkRequester, rule, ctx)).toEqual(codes);
  });
});

describe('allowed sources', () => {
  const prod = { allowedSources: ['s3://models-prod/', 'registry.example.com/models/'] };
  it.each<Case>([
    ['any source passes when the rule lists none', {}, { models: [v1] }, []],
    ['a source under an allowed prefix passes', prod, {}, []],
    [
      'a source elsewhere is refused',
      prod,
      { models: [model({ source: 's3://models-dev/fraud' })] },
      [CODES.sourceNotAllowed],
    ],
    [
      'a prefix is matched from the start only',
      prod,
      { models: [model({ source: 'evil://s3://models-prod/' })] },
      [CODES.sourceNotAllowed],
    ],
    ['a v1 manifest has no source and is refused', prod, { models: [v1] }, [CODES.sourceNotAllowed]],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkSource, rule, ctx)).toEqual(codes);
  });
});

describe('classification access', () => {
  const leads = { classificationAccess: { confidential: ['ml-leads'] } };
  const confidential = model({ claims: { dataClassification: 'confidential' } });
  it.each<Case>([
    ['an unrestricted classification is open to anyone', leads, {}, []],
    [
      'a member of the allowed group may deploy a restricted model',
      leads,
      { models: [confidential], user: { username: 'x', groups: ['ml-leads'] } },
      [],
    ],
    [
      'anyone else is refused a restricted model',
      leads,
      { models: [confidential] },
      [CODES.classificationAccessDenied],
    ],
    [
      'without a signed claim the workload label decides the classification',
      leads,
      { models: [v1], workload: { labels: { 'modelgate.dev/data-classification': 'confidential' } } },
      [CODES.classificationAccessDenied],
    ],
    [
      'the signed claim wins over a milder label',
      leads,
      { models: [confidential], workload: { labels: { 'modelgate.dev/data-classification': 'public' } } },
      [CODES.classificationAccessDenied],
    ],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkClassificationAccess, rule, ctx)).toEqual(codes);
  });
});

describe('explainability for customer-facing models', () => {
  const required = { requireExplainabilityWhenCustomerFacing: true };
  const facing = { workload: { labels: { 'modelgate.dev/customer-facing': 'true' } } };
  const noReport = model({ claims: { explainabilityReport: undefined } });
  it.each<Case>([
    ['an internal model needs no report', required, { models: [noReport] }, []],
    ['a customer-facing label with a signed report passes', required, facing, []],
    [
      'a customer-facing label without a report is refused',
      required,
      { ...facing, models: [noReport] },
      [CODES.explainabilityMissing],
    ],
    [
      'a signed customerFacing claim without a report is refused',
      required,
      { models: [model({ claims: { customerFacing: true, explainabilityReport: '' } })] },
      [CODES.explainabilityMissing],
    ],
    [
      'a customer-facing v1 model cannot carry a report and is refused',
      required,
      { ...facing, models: [v1] },
      [CODES.explainabilityMissing],
    ],
    ['nothing is required when the rule does not ask', {}, { ...facing, models: [noReport] }, []],
  ])('%s', (_s, rule, ctx, codes) => {
    expect(codesOf(checkExplainability, rule, ctx)).toEqual(codes);
  });
});

describe('evaluateRule', () => {
  it('passes a fully compliant v2 model under the strictest rule', () => {
    const strict = ruleWith({
      trustedKeys: ['ci-2026'],
      allowV1: false,
      maxAgeSeconds: 30 * 86_400,
      requiredLabels: [
        { name: 'modelgate.dev/data-classification', values: ['internal'], claim: 'dataClassification' },
      ],
      requireScanPassed: true,
      approvals: { min: 2 },
      allowedRequesters: ['serviceaccount:ci:deployer'],
      allowedSources: ['s3://models-prod/'],
      classificationAccess: { confidential: ['ml-leads'] },
      requireExplainabilityWhenCustomerFacing: true,
    });
    const ctx = contextWith({
      workload: {
        labels: { 'modelgate.dev/data-classification': 'internal', 'modelgate.dev/customer-facing': 'true' },
      },
    });
    expect(evaluateRule(strict, ctx)).toEqual({ violations: [], warnings: [] });
  });

  it('reports every failing check of a v1 model, each naming the model and saying what to do', () => {
    const rule = ruleWith({
      allowV1: false,
      requireScanPassed: true,
      approvals: { min: 2 },
      allowedSources: ['s3://models-prod/'],
    });
    const { violations } = evaluateRule(rule, contextWith({ models: [v1] }));
    expect(violations.map((v) => v.code)).toEqual([
      CODES.v1NotAllowed,
      CODES.scanNotPassed,
      CODES.approvalsInsufficient,
      CODES.sourceNotAllowed,
    ]);
    for (const v of violations) {
      expect(v.message.startsWith('model fraud-detector.onnx: ')).toBe(true);
      expect(v.message).not.toContain('\n');
      expect(v.code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });

  it('warns when approvals come from the unsigned annotation', () => {
    const outcome = evaluateRule(
      ruleWith({ approvals: { min: 2 } }),
      contextWith({ models: [v1], workload: { approvers: ['carol', 'dave'] } }),
    );
    expect(outcome.violations).toEqual([]);
    expect(outcome.warnings).toEqual([
      'model fraud-detector.onnx: approvals come from the unsigned annotation modelgate.dev/approved-by: sign them into claims.approvers',
    ]);
  });
});

describe('breakGlassOverride', () => {
  const policy: Policy = {
    ...defaultPolicy(),
    breakGlass: { group: 'sre-oncall', annotation: 'modelgate.dev/break-glass' },
  };
  const sre = { username: 'erin', groups: ['sre-oncall'] };
  const reason = (text: string): Record<string, string> => ({ 'modelgate.dev/break-glass': text });
  type Asking = { user: { username: string; groups: string[] }; annotations: Record<string, string> };
  it.each<[string, Policy, Asking, { reason: string } | undefined]>([
    [
      'an on-call SRE with a reason breaks glass',
      policy,
      { user: sre, annotations: reason(' INC-4211 rollback ') },
      { reason: 'INC-4211 rollback' },
    ],
    ['a reason made of spaces is no reason', policy, { user: sre, annotations: reason('   ') }, undefined],
    ['an SRE without the annotation does not', policy, { user: sre, annotations: {} }, undefined],
    [
      'someone outside the group with the annotation does not',
      policy,
      { user: { username: 'mallory', groups: ['dev'] }, annotations: reason('urgent') },
      undefined,
    ],
    [
      'nobody breaks glass when the policy has no break-glass group',
      defaultPolicy(),
      { user: sre, annotations: reason('urgent') },
      undefined,
    ],
  ])('%s', (_s, pol, { user, annotations }, expected) => {
    expect(breakGlassOverride(pol, user, annotations)).toEqual(expected);
  });
});
