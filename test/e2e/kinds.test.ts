import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/net.js';
import {
  apply,
  cronJob,
  decisions,
  denial,
  deployment,
  expectAdmitted,
  expectRefused,
  job,
  k,
  kOk,
  namespace,
  pod,
  replicationController,
  showWebhookLogOnFailure,
  signedSeed,
  statefulSet,
  tampered,
  warnings,
} from './lib.js';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-kinds');
});

async function names(kind: string, selector: string): Promise<string[]> {
  const out = await kOk(['get', kind, '-n', ns, '-l', selector, '-o', 'jsonpath={.items[*].metadata.name}']);
  return out.split(' ').filter(Boolean);
}

describe('every way to run a pod', () => {
  it.each([
    ['a bare Pod', pod],
    ['a StatefulSet', statefulSet],
    ['a CronJob', cronJob],
    ['a Job', job],
  ])('refuses %s with an unsigned model', async (_what, build) => {
    const r = await apply(build('unsigned', ns, { manifest: tampered(signedSeed) }));
    expectRefused(r, 'fraud-detector.onnx');
  });

  it.each([
    ['a bare Pod', pod],
    ['a StatefulSet', statefulSet],
    ['a CronJob', cronJob],
  ])('admits %s with a signed model', async (_what, build) => {
    expectAdmitted(await apply(build('signed', ns, { manifest: signedSeed })));
  });

  it('refuses `kubectl debug` (pods/ephemeralcontainers) on an admitted inference Pod', async () => {
    const r = await k(['debug', 'pod/signed', '-n', ns, '--image=busybox:1.36', '--container=debugger']);
    expect(r.code).not.toBe(0);
    expect(denial(r)).toMatch(/^modelgate: .*ephemeral/);
    const spec = JSON.parse(await kOk(['get', 'pod', 'signed', '-n', ns, '-o', 'json'])).spec;
    expect(spec.ephemeralContainers ?? []).toEqual([]);
  });

  it('lets the controller-manager make the ReplicaSet and Pods of an admitted Deployment', async () => {
    expectAdmitted(await apply(deployment('replicated', ns, { manifest: signedSeed }, 2)));
    const pods = await waitFor(
      '2 Pods of Deployment replicated',
      async () => {
        const p = await names('pods', 'app=replicated');
        return p.length === 2 ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await names('rs', 'app=replicated')).toHaveLength(1);
    // The Pods carry no manifest annotation (pod templates do not inherit workload metadata):
    // they were admitted because the replicaset-controller asked, not because of ownerReferences.
    const created = decisions().filter((d) => d.kind === 'Pod' && pods.includes(String(d.name)));
    for (const d of created) {
      expect(d.user).toBe('system:serviceaccount:kube-system:replicaset-controller');
      expect(d.decision).not.toBe('deny');
    }
  });

  it('lets the job-controller make the Pod of an admitted Job', async () => {
    expectAdmitted(await apply(job('batch-scoring', ns, { manifest: signedSeed })));
    await waitFor(
      'the Pod of Job batch-scoring',
      async () => ((await names('pods', 'app=batch-scoring')).length === 1 ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
  });

  it('still refuses a bare Pod that claims an admitted owner in its ownerReferences', async () => {
    const rs = JSON.parse(await kOk(['get', 'rs', '-n', ns, '-l', 'app=replicated', '-o', 'json'])).items[0];
    const forged = pod('forged-owner', ns);
    (forged.metadata as Record<string, unknown>).ownerReferences = [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: rs.metadata.name,
        uid: rs.metadata.uid,
        controller: true,
      },
    ];
    const r = await apply(forged);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/denied the request: modelgate: /);
  });
});

describe('a ReplicationController (core/v1), through the real replication controller', () => {
  it('refuses one with no manifest at all', async () => {
    const r = await apply(replicationController('rc-unsigned', ns));
    expect(r.code).not.toBe(0);
    expect(denial(r)).toMatch(/^modelgate: /);
    expect((await k(['get', 'rc', 'rc-unsigned', '-n', ns])).code).not.toBe(0);
  });

  it('refuses one whose manifest was tampered with', async () => {
    const r = await apply(replicationController('rc-tampered', ns, { manifest: tampered(signedSeed) }));
    expectRefused(r, 'fraud-detector.onnx');
    expect((await k(['get', 'rc', 'rc-tampered', '-n', ns])).code).not.toBe(0);
  });

  it('admits a signed one, and the replication-controller makes its Pods', async () => {
    expectAdmitted(await apply(replicationController('rc-signed', ns, { manifest: signedSeed }, 2)));
    const pods = await waitFor(
      '2 Pods of ReplicationController rc-signed',
      async () => {
        const p = await names('pods', 'app=rc-signed');
        return p.length === 2 ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // The manifest sits in the RC's own annotations, which its Pods do not inherit: they are
    // admitted because the replication-controller's service account asked.
    const created = decisions().filter((d) => d.kind === 'Pod' && pods.includes(String(d.name)));
    expect(created.length).toBeGreaterThan(0);
    for (const d of created) {
      expect(d.user).toBe('system:serviceaccount:kube-system:replication-controller');
      expect(d.decision).not.toBe('deny');
    }
    // the RC itself went through the webhook (v1 manifests are admitted with a warning)
    const rc = decisions().find((d) => d.kind === 'ReplicationController' && d.name === 'rc-signed');
    expect(['allow', 'warn']).toContain(rc?.decision);
  });

  it('refuses an UPDATE that swaps the admitted model for a tampered one', async () => {
    const r = await apply(replicationController('rc-signed', ns, { manifest: tampered(signedSeed) }, 2));
    expectRefused(r, 'fraud-detector.onnx');
  });
});

describe('a namespace no policy rule covers', () => {
  it('is left alone: an unsigned inference Deployment is admitted without a word', async () => {
    const outside = await namespace('outside-policy');
    const r = await apply(deployment('unsigned', outside, { manifest: tampered(signedSeed) }));
    expectAdmitted(r);
    expect(warnings(r)).toEqual([]);
  });
});
