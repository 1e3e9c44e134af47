/**
 * Passing for someone the policy names: usernames and groups that resemble a controller (which
 * skips every check) or an allowed requester, against the whole decision. And the
 * ReplicationController, a way to run pods that was not checked at all before.
 */
import { describe, expect, it } from 'vitest';
import { deployment, workloadOfKind } from '../fixtures/objects.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { parsePolicy } from '../../src/policy/load.js';
import { decide, expectDenied, policyWith } from './helpers.js';

const RS_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';
const RC_CONTROLLER = 'system:serviceaccount:kube-system:replication-controller';

describe('a username that only extends or bends a controller identity is not a controller', () => {
  it.each([
    [`${RS_CONTROLLER}:evil`],
    [`${RS_CONTROLLER}:`],
    [`${RS_CONTROLLER}::`],
    [`${RC_CONTROLLER}:evil`],
    [`${RS_CONTROLLER}\u0000`],
    [` ${RS_CONTROLLER}`],
    [RS_CONTROLLER.toUpperCase()],
    ['system:serviceaccount:kube-system:Replicaset-controller'],
    ['system:serviceaccount:kube-system:'],
    ['system:serviceaccount:kube-system'],
    ['system:serviceaccounts:kube-system:replicaset-controller'],
    ['system:kube-controller-manager:evil'],
  ])('%j is denied for an unsigned inference Deployment', (username) => {
    expectDenied(decide(deployment(null), { username }), 'missing-manifest');
  });

  it('nor for the Pod of an unsigned inference workload', () => {
    expectDenied(
      decide(workloadOfKind('Pod', null), { username: `${RS_CONTROLLER}:evil` }),
      'missing-manifest',
    );
  });
});

describe('serviceaccount:NS:* in controllers covers real accounts only', () => {
  const loaded = parsePolicy(
    'apiVersion: modelgate.dev/v1\nkind: Policy\ncontrollers: ["serviceaccount:kube-system:*"]\n',
    'p.yaml',
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const policy = loaded.policy;

  it.each([
    ['an empty account name', 'system:serviceaccount:kube-system:'],
    ['an account name with a ":" segment', 'system:serviceaccount:kube-system:a:b'],
    ['an account name Kubernetes would refuse', 'system:serviceaccount:kube-system:Evil'],
    ['another namespace that starts the same', 'system:serviceaccount:kube-system-x:replicaset-controller'],
  ])('%s (%j) is checked', (_what, username) => {
    expectDenied(decide(deployment(null), { username, policy }), 'missing-manifest');
  });

  it('(control) a real account of kube-system is a controller', () => {
    const d = decide(workloadOfKind('Pod', null), { username: RS_CONTROLLER, policy });
    expect(d.response.allowed).toBe(true);
    expect(d.record.reasons[0]?.code).toBe('controller-request');
  });
});

describe('allowedRequesters is exact', () => {
  const policy = policyWith({ allowedRequesters: ['serviceaccount:ci:deployer', 'group:ci'] });

  it.each([
    ['an extra segment', 'system:serviceaccount:ci:deployer:anything', []],
    ['the group name as a username', 'ci', []],
    ['a group that differs in case', 'mallory', ['CI']],
    ['a group with a trailing space', 'mallory', ['ci ']],
  ])('%s is refused as requester-not-allowed', (_what, username, groups) => {
    expectDenied(decide(deployment(), { username, groups, policy }), 'requester-not-allowed');
  });
});

describe('ReplicationController', () => {
  it('an unsigned inference ReplicationController is denied', () => {
    expectDenied(decide(workloadOfKind('ReplicationController', null)), 'missing-manifest');
  });

  it.each([
    ['signed', undefined],
    ['unsigned', null],
  ] as const)('a %s one is decided exactly as the same ReplicaSet', (_what, manifest) => {
    const rc = decide(workloadOfKind('ReplicationController', manifest));
    const rs = decide(workloadOfKind('ReplicaSet', manifest));
    expect(rc.response.allowed).toBe(rs.response.allowed);
    expect(rc.record.decision).toBe(rs.record.decision);
    expect(rc.record.reasons.map((r) => r.code)).toEqual(rs.record.reasons.map((r) => r.code));
  });

  it('a signed one is allowed', () => {
    expect(decide(workloadOfKind('ReplicationController')).response.allowed).toBe(true);
  });

  it('the replication controller making its Pods is a default controller', () => {
    const d = decide(workloadOfKind('Pod', null), { username: RC_CONTROLLER, policy: defaultPolicy() });
    expect(d.response.allowed).toBe(true);
    expect(d.record.reasons[0]?.code).toBe('controller-request');
  });
});
