/**
 * The seed's rules that no fixed field holds, as the full example policy writes them in CEL
 * (test/fixtures/policies/example.yaml, shown in docs/policy.md): quarterly bias testing,
 * encryption at rest and CI-only deployment for models trained on PII in production, and PII
 * models only on masked data elsewhere. Each through decideAdmission; only cel-* reasons are
 * looked at here (the other rules have their own tests).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { formatV2, signV2 } from '../manifest/v2.js';
import { parsePolicy } from './load.js';

const text = readFileSync(new URL('../../test/fixtures/policies/example.yaml', import.meta.url), 'utf8');
const loaded = parsePolicy(text, 'example.yaml');
if (!loaded.ok) throw new Error('example.yaml must load');
const policy = loaded.policy;
const keyring = new MemoryKeyring([['ci-2026', Buffer.from(vectors.key)]]);
const now = new Date('2026-05-01T00:00:00Z');
const DAY = 86_400_000;

function manifest(claims: Record<string, unknown>): string {
  return formatV2(
    signV2(
      {
        apiVersion: 'modelgate.dev/v1',
        kind: 'ModelManifest',
        model: { name: 'scorer', version: '1', source: 's3://models-prod/scorer' },
        files: [{ path: 'fraud-detector.onnx', sha256: vectors.sha256, size: 1 }],
        claims: { scan: 'passed', ...claims },
        signedAt: '2026-04-30T00:00:00Z',
      },
      keyring,
      'ci-2026',
    )!,
  );
}

const daysAgo = (n: number): string => new Date(now.getTime() - n * DAY).toISOString();
const CI = {
  username: 'system:serviceaccount:ci:deployer',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'],
};

function cel(
  ns: string,
  claims: Record<string, unknown>,
  opts: { labels?: Record<string, string>; user?: typeof CI } = {},
) {
  const d = deployment(manifest(claims));
  d.metadata.namespace = ns;
  Object.assign(d.spec.template.metadata.labels, opts.labels);
  const user = opts.user ?? CI;
  const decision = decideAdmission(
    planAdmission(admissionRequest(d, { username: user.username, groups: user.groups }), policy),
    {
      resolved: [],
      keyring,
      now,
    },
  );
  return {
    rule: decision.record.rule,
    decision: decision.record.decision,
    reasons: decision.record.reasons
      .filter((r) => r.code.startsWith('cel-'))
      .map((r) => `${r.code}: ${r.message}`),
  };
}

describe('production (rule prod)', () => {
  it('accepts a bias test signed 30 days ago', () => {
    expect(cel('prod-a', { biasTestedAt: daysAgo(30) })).toMatchObject({ rule: 'prod', reasons: [] });
  });

  it.each([
    ['100 days ago', { biasTestedAt: daysAgo(100) }],
    ['never (no claim)', {}],
  ])('refuses a model whose bias test was %s, naming it', (_when, claims) => {
    expect(cel('prod-a', claims).reasons).toEqual([
      'cel-Invalid: rule "prod": model scorer: no signed claims.biasTestedAt within 90 days: re-run the bias tests and re-sign',
    ]);
  });

  it('refuses a model trained on PII without the encryption-at-rest claim, and accepts it with', () => {
    const recent = { biasTestedAt: daysAgo(1), trainedOnPII: true };
    expect(cel('prod-a', recent).reasons).toEqual([
      'cel-Invalid: rule "prod": a model trained on PII needs the signed claim encryptionAtRest: true',
    ]);
    expect(cel('prod-a', { ...recent, encryptionAtRest: true }).reasons).toEqual([]);
  });

  it("reads the requester's groups: a model trained on PII is deployed only by CI's service accounts", () => {
    const claims = { biasTestedAt: daysAgo(1), trainedOnPII: true, encryptionAtRest: true };
    expect(cel('prod-a', claims, { user: { username: 'alice', groups: ['ml-leads'] } }).reasons).toEqual([
      'cel-Forbidden: rule "prod": a model trained on PII is deployed to production only by the ci service accounts, not alice',
    ]);
  });
});

describe('examples/policy.yaml (the demo policy) carries the same rules', () => {
  const demo = parsePolicy(
    readFileSync(new URL('../../examples/policy.yaml', import.meta.url), 'utf8'),
    'policy.yaml',
  );
  if (!demo.ok) throw new Error(`examples/policy.yaml must load: ${JSON.stringify(demo.errors)}`);
  const decide = (ns: string, claims: Record<string, unknown>): string[] => {
    const d = deployment(manifest(claims));
    d.metadata.namespace = ns;
    const req = admissionRequest(d, { username: CI.username, groups: CI.groups });
    return decideAdmission(planAdmission(req, demo.policy), { resolved: [], keyring, now })
      .record.reasons.filter((r) => r.code.startsWith('cel-'))
      .map((r) => r.message);
  };

  it('in ml-prod-*: quarterly bias tests, encryption at rest for PII', () => {
    expect(decide('ml-prod-eu', { biasTestedAt: daysAgo(100) })).toEqual([
      'rule "production": every model needs a signed claims.biasTestedAt within 90 days (quarterly bias testing)',
    ]);
    expect(decide('ml-prod-eu', { biasTestedAt: daysAgo(1), trainedOnPII: true })).toEqual([
      'rule "production": a model trained on PII needs the signed claim encryptionAtRest: true',
    ]);
  });

  it("in ml-serving and ml-staging: PII only on masked data; the demo's claim-less models are unaffected", () => {
    for (const ns of ['ml-serving', 'ml-staging']) {
      expect(decide(ns, { trainedOnPII: true })).toHaveLength(1);
      expect(decide(ns, {})).toEqual([]);
    }
  });
});

describe('outside production (rules staging and default)', () => {
  it.each([
    ['staging-a', 'staging', 'warn'],
    ['ml', 'default', 'deny'],
  ])('in %s (rule %s), a model trained on PII runs only on masked data (%s)', (ns, rule, decision) => {
    expect(cel(ns, { trainedOnPII: true })).toEqual({
      rule,
      decision,
      reasons: [
        `cel-Invalid: rule "${rule}": a model trained on PII runs outside production only on masked data: label the workload modelgate.dev/data-masking=masked`,
      ],
    });
    expect(
      cel(ns, { trainedOnPII: true }, { labels: { 'modelgate.dev/data-masking': 'masked' } }).reasons,
    ).toEqual([]);
    expect(cel(ns, {}).reasons).toEqual([]);
  });
});
