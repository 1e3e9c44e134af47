import { describe, expect, it } from 'vitest';
import { defaultPolicy, defaultRule } from './defaults.js';
import { globMatch } from './glob.js';
import { isController, selectRule, type WorkloadSelector } from './match.js';
import { principalMatches } from './principals.js';
import { parseDuration } from './duration.js';
import type { Policy, Rule } from './types.js';

const inference: WorkloadSelector = {
  namespace: 'prod-fraud',
  kind: 'Deployment',
  labels: { 'modelgate.dev/inference': 'true' },
  images: ['registry.example.com/app:1'],
};

function rule(name: string, match: Partial<Rule['match']>): Rule {
  const base = defaultRule(name);
  return { ...base, match: { ...base.match, ...match } };
}

const policy: Policy = {
  ...defaultPolicy(),
  exemptNamespaces: ['kube-system', 'monitoring-*'],
  rules: [
    rule('prod', {
      namespaces: ['prod-*'],
      excludeNamespaces: ['prod-sandbox'],
      kinds: ['Deployment', 'Pod'],
    }),
    rule('triton', { namespaces: ['ml-*'], images: ['*/tritonserver*'] }),
    rule('labelled', { namespaces: ['ml-*'], labels: { app: 'scorer', tier: 'model' } }),
    rule('default', {}),
  ],
};

describe('selectRule', () => {
  it.each<[string, Partial<WorkloadSelector>, string | undefined]>([
    ['a labelled Deployment in a prod namespace gets the first matching rule', {}, 'prod'],
    ['an excluded namespace falls through to a later rule', { namespace: 'prod-sandbox' }, 'default'],
    ['a kind the rule does not list falls through', { kind: 'StatefulSet' }, 'default'],
    ['kinds compare without regard to case', { kind: 'pod' }, 'prod'],
    ['a workload outside the prod namespaces gets the catch-all rule', { namespace: 'team-a' }, 'default'],
    ['an exempt namespace gets no rule even when labelled', { namespace: 'kube-system' }, undefined],
    ['exempt namespaces are globs', { namespace: 'monitoring-eu' }, undefined],
    [
      'a workload without the inference label and no selector match is out of scope',
      { namespace: 'team-a', labels: {} },
      undefined,
    ],
    [
      'the label must be exactly "true"',
      { namespace: 'team-a', labels: { 'modelgate.dev/inference': 'yes' } },
      undefined,
    ],
    [
      'an unlabelled workload running a known inference server image is selected by the image rule',
      { namespace: 'ml-serving', labels: {}, images: ['busybox', 'nvcr.io/nvidia/tritonserver:24.01'] },
      'triton',
    ],
    [
      'an unlabelled workload carrying every selector label is selected by the label rule',
      { namespace: 'ml-serving', labels: { app: 'scorer', tier: 'model', x: 'y' } },
      'labelled',
    ],
    [
      'carrying only some selector labels is not enough',
      { namespace: 'ml-serving', labels: { app: 'scorer' } },
      undefined,
    ],
    [
      'a labelled workload is an inference workload for every rule, so an earlier selector rule takes it',
      { namespace: 'ml-serving' },
      'triton',
    ],
  ])('%s', (_sentence, change, expected) => {
    expect(selectRule(policy, { ...inference, ...change })?.name).toBe(expected);
  });

  it('with the default policy, only workloads labelled as inference are in scope, in every namespace', () => {
    expect(selectRule(defaultPolicy(), { ...inference, namespace: 'kube-system' })?.name).toBe('default');
    expect(
      selectRule(defaultPolicy(), { ...inference, labels: { 'modelgate.dev/exempt': 'true' } })?.name,
    ).toBe(undefined);
  });
});

describe('isController', () => {
  it.each([
    [
      'the replicaset controller is a controller',
      'system:serviceaccount:kube-system:replicaset-controller',
      [],
      true,
    ],
    ['the controller manager itself is a controller', 'system:kube-controller-manager', [], true],
    [
      'a service account of the same name elsewhere is not',
      'system:serviceaccount:default:replicaset-controller',
      [],
      false,
    ],
    ['a user in system:masters is not', 'alice', ['system:masters'], false],
  ])('%s', (_sentence, username, groups, expected) => {
    expect(isController(defaultPolicy(), { username, groups })).toBe(expected);
  });
});

describe('principalMatches', () => {
  it.each([
    ['a plain principal is a username', 'alice', { username: 'alice', groups: [] }, true],
    [
      'a plain principal does not match a group of that name',
      'ci',
      { username: 'bob', groups: ['ci'] },
      false,
    ],
    ['group:NAME matches a member', 'group:ci', { username: 'bob', groups: ['ci'] }, true],
    [
      'serviceaccount:NS:NAME matches that account',
      'serviceaccount:ci:deployer',
      { username: 'system:serviceaccount:ci:deployer', groups: [] },
      true,
    ],
    [
      'serviceaccount:NS:NAME does not match another namespace',
      'serviceaccount:ci:deployer',
      { username: 'system:serviceaccount:dev:deployer', groups: [] },
      false,
    ],
    [
      'serviceaccount:NS:* matches every account of NS',
      'serviceaccount:ci:*',
      { username: 'system:serviceaccount:ci:builder', groups: [] },
      true,
    ],
    [
      'serviceaccount:NS:* does not match a user named like it',
      'serviceaccount:ci:*',
      { username: 'ci', groups: [] },
      false,
    ],
  ])('%s', (_sentence, principal, user, expected) => {
    expect(principalMatches(principal, user)).toBe(expected);
  });
});

describe('globMatch', () => {
  it.each([
    ['* spans slashes in image references', '*vllm*', 'docker.io/vllm/vllm-openai:v0.6', true],
    ['a prefix glob matches', 'prod-*', 'prod-eu', true],
    ['a prefix glob needs the prefix', 'prod-*', 'preprod-eu', false],
    ['? is one character', 'ns-?', 'ns-a', true],
    ['? is exactly one character', 'ns-?', 'ns-ab', false],
    ['dots are literal', 'a.b', 'axb', false],
    ['no wildcard means equality', 'prod', 'prod', true],
  ])('%s', (_sentence, pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });
});

describe('parseDuration', () => {
  it.each([
    ['hours', '720h', 2_592_000],
    ['days', '30d', 2_592_000],
    ['a combination', '1h30m', 5400],
    ['seconds', '45s', 45],
    ['zero', '0', 0],
    ['a bare number is not a duration', '30', undefined],
    ['words are not a duration', '30 days', undefined],
    ['weeks, as sign --expires-in takes them', '2w', 1_209_600],
    ['an unknown unit is not a duration', '2y', undefined],
  ])('%s', (_sentence, text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });
});
