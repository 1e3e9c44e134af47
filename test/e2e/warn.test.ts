import { beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  deployment,
  expectAdmitted,
  k,
  namespace,
  showWebhookLogOnFailure,
  signedSeed,
  tampered,
  waitForEvent,
  warnings,
} from './lib.js';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  // test/e2e/fixtures/policy.yaml: rule "e2e-warn" (mode: warn) covers e2e-warn*.
  ns = await namespace('e2e-warn');
});

describe('a namespace whose policy rule is in warn mode', () => {
  it('admits a tampered model and kubectl prints modelgate’s warning', async () => {
    const r = await apply(deployment('tampered', ns, { manifest: tampered(signedSeed) }));
    expectAdmitted(r);
    const w = warnings(r).filter((line) => line.includes('fraud-detector.onnx'));
    expect(w.length, r.stderr).toBeGreaterThan(0);
    expect(w[0]).toMatch(/^modelgate: /);
    expect((await k(['get', 'deployment', 'tampered', '-n', ns])).code).toBe(0);
  });

  it('records it as a ModelWarning Event', async () => {
    await waitForEvent(ns, 'ModelWarning', 'Deployment/tampered');
  });
});
