/**
 * CEL validations through the real API server: kubectl applies, the API server asks the webhook,
 * and the rule's expressions read the object, the requester's groups (real impersonation) and
 * the verified models. test/e2e/fixtures/policy.yaml: rule e2e-cel enforces, e2e-cel-warn warns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  decisions,
  deployment,
  expectAdmitted,
  k,
  namespace,
  showWebhookLogOnFailure,
  signedSeed,
  waitForEvent,
  warnings,
} from './lib.js';

let enforced: string;
let warned: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  enforced = await namespace('e2e-cel');
  warned = await namespace('e2e-cel-warn');
});

/** A member of system:masters (any verb) who is, or is not, also in ml-leads. */
const asUser = (user: string, ...groups: string[]): string[] => [
  `--as=${user}`,
  '--as-group=system:masters',
  ...groups.map((g) => `--as-group=${g}`),
];

describe('a CEL validation in enforce mode', () => {
  it("refuses, with its messageExpression in kubectl's one line, a requester outside ml-leads asking for 3 replicas", async () => {
    const r = await apply(deployment('wide', enforced, { manifest: signedSeed }, 3), ...asUser('dana'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'denied the request: modelgate: Deployment e2e-cel/wide denied: rule "e2e-cel": only ml-leads may run more than one replica, dana asked for 3',
    );
    const record = decisions().find((d) => d.namespace === enforced && d.name === 'wide');
    expect(record).toMatchObject({
      decision: 'deny',
      rule: 'e2e-cel',
      reasons: [expect.objectContaining({ code: 'cel-Forbidden' })],
    });
  });

  it('admits the same Deployment from a member of ml-leads (the group is read from the request)', async () => {
    expectAdmitted(
      await apply(deployment('wide', enforced, { manifest: signedSeed }, 3), ...asUser('lee', 'ml-leads')),
    );
  });

  it('admits one replica from anyone', async () => {
    expectAdmitted(
      await apply(deployment('narrow', enforced, { manifest: signedSeed }, 1), ...asUser('dana')),
    );
  });

  it('refuses the same scale-up as an UPDATE of the admitted Deployment, its pod template unchanged (was admitted unchecked)', async () => {
    const r = await apply(deployment('narrow', enforced, { manifest: signedSeed }, 3), ...asUser('dana'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('only ml-leads may run more than one replica, dana asked for 3');
  });

  it('still admits an UPDATE that changes nothing the requester wrote (kubectl apply of the same object)', async () => {
    expectAdmitted(
      await apply(deployment('narrow', enforced, { manifest: signedSeed }, 1), ...asUser('dana')),
    );
  });

  it('does not see kubectl scale: the /scale subresource is not sent to the webhook (documented limit)', async () => {
    const r = await k(['scale', 'deployment/narrow', '-n', enforced, '--replicas=3', ...asUser('dana')]);
    expect(r.code).toBe(0);
  });
});

describe('a CEL validation in warn mode', () => {
  it('admits a v1-signed model and kubectl prints the messageExpression as a warning', async () => {
    const r = await apply(deployment('v1-model', warned, { manifest: signedSeed }));
    expectAdmitted(r);
    expect(warnings(r)).toContain(
      'modelgate: rule "e2e-cel-warn": model fraud-detector.onnx has a v1 manifest: sign it as v2',
    );
    await waitForEvent(warned, 'ModelWarning', 'Deployment/v1-model');
  });
});
