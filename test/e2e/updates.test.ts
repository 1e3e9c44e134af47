import { beforeAll, describe, expect, it } from 'vitest';
import { KeysDir } from '../harness/keysDir.js';
import { waitFor } from '../harness/net.js';
import { SEED_KEY_ID } from './context.js';
import {
  apply,
  ctx,
  decisions,
  deployment,
  expectAdmitted,
  expectRefused,
  kOk,
  k,
  namespace,
  seedKey,
  showWebhookLogOnFailure,
  signedSeed,
  signV1,
  tampered,
  unique,
} from './lib.js';

const TEMP_KEY = 'a-key-only-for-the-scale-test';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-updates');
});

describe('UPDATEs', () => {
  it('re-verifies an UPDATE that swaps the model: a tampered one is refused, a signed one admitted', async () => {
    expectAdmitted(await apply(deployment('swap', ns, { manifest: signedSeed })));
    expectRefused(
      await apply(deployment('swap', ns, { manifest: tampered(signedSeed) })),
      'fraud-detector.onnx',
    );
    const v2 = signV1(seedKey, 'fraud-detector-v2.onnx');
    expectAdmitted(await apply(deployment('swap', ns, { manifest: v2 })));
    const current = JSON.parse(await kOk(['get', 'deployment', 'swap', '-n', ns, '-o', 'json']));
    expect(current.metadata.annotations['modelgate.dev/manifest']).toContain('fraud-detector-v2.onnx');
  });

  it('does not re-verify a scale or replicas-only UPDATE, even when the model would no longer verify', async () => {
    // Signed with a key that is then removed from the keys Secret: nothing in the Deployment
    // changes, so only a re-verification could notice.
    const keys = (extra: Record<string, string> = {}): KeysDir =>
      new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey, ...extra });
    const m = signV1(TEMP_KEY, 'scaled.onnx');
    keys({ 'ci-temp': TEMP_KEY });
    try {
      await waitFor(
        'key ci-temp loaded',
        async () => ((await apply(deployment('scaled', ns, { manifest: m }))).code === 0 ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 500,
        },
      );
    } finally {
      keys();
    }
    await waitFor(
      'key ci-temp dropped',
      async () =>
        (await apply(deployment(unique('probe'), ns, { manifest: m }))).code !== 0 ? true : undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );

    expectAdmitted(await k(['scale', 'deployment', 'scaled', '-n', ns, '--replicas=3']));
    expectAdmitted(
      await k(['patch', 'deployment', 'scaled', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":2}}']),
    );
    expect(JSON.parse(await kOk(['get', 'deployment', 'scaled', '-n', ns, '-o', 'json'])).spec.replicas).toBe(
      2,
    );
    const updates = decisions().filter(
      (x) => x.kind === 'Deployment' && x.name === 'scaled' && x.operation === 'UPDATE',
    );
    expect(updates.length).toBeGreaterThan(0);
    expect(
      updates.every((x) => x.decision === 'allow'),
      JSON.stringify(updates),
    ).toBe(true);

    // A template change is re-verified, and now the key is gone.
    expectRefused(await k(['rollout', 'restart', 'deployment', 'scaled', '-n', ns]), 'scaled.onnx');
  });

  it('decides a rollback to a revision admitted before like any other UPDATE: verified again, admitted, no slower', async () => {
    // The manifest rides in the pod template here, so `rollout undo` restores manifest and pins
    // together (a manifest in the Deployment's own annotations is not part of its revisions).
    const inTemplate = (manifest: typeof signedSeed): Record<string, any> => {
      const d = deployment('rollback', ns, { manifest }) as Record<string, any>;
      d.spec.template.metadata.annotations = d.metadata.annotations;
      d.metadata.annotations = {};
      return d;
    };
    const v2 = signV1(seedKey, 'fraud-detector-v2.onnx');
    expectAdmitted(await apply(inTemplate(signedSeed)));
    expectAdmitted(await apply(inTemplate(v2)));
    await waitFor(
      'two revisions (ReplicaSets) of the rollback Deployment',
      async () => {
        const rs = JSON.parse(await kOk(['get', 'rs', '-n', ns, '-l', 'app=rollback', '-o', 'json']));
        return rs.items.length >= 2 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );

    expectAdmitted(await k(['rollout', 'undo', 'deployment/rollback', '-n', ns]));

    // Ours, not the deployment-controller's own revision/status updates of the same object. The
    // log line is written asynchronously: wait for the third decision (create, update, undo).
    const mine = await waitFor(
      'the rollback decision in the webhook log',
      () => {
        const own = decisions().filter(
          (x) => x.kind === 'Deployment' && x.name === 'rollback' && !String(x.user).startsWith('system:'),
        );
        return Promise.resolve(own.length >= 3 ? own : undefined);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const last = mine.at(-1) as Record<string, any>;
    expect(last).toMatchObject({ operation: 'UPDATE', decision: 'allow' });
    expect(last.models.map((m: { name: string }) => m.name)).toEqual(['fraud-detector.onnx']);
    // Same pure path as a CREATE, no cluster reads: well inside the admission deadline.
    const create = mine.find((x) => x.operation === 'CREATE') as Record<string, any>;
    expect(last.durationMs).toBeLessThan(Math.max(50, 10 * create.durationMs));
  });
});
