import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeysDir } from '../harness/keysDir.js';
import { waitFor } from '../harness/net.js';
import {
  apply,
  ctx,
  deployment,
  denial,
  namespace,
  seedKey,
  showWebhookLogOnFailure,
  signedSeed,
  signV1,
} from './lib.js';
import { SEED_KEY_ID } from './context.js';

let ns: string;
/** The webhook's keys dir, reset to the suite's one key. */
const resetKeys = (): KeysDir => new KeysDir(ctx().keysDir, { [SEED_KEY_ID]: seedKey });

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-rotation');
});

afterAll(() => {
  resetKeys(); // back to the suite's one key, whatever happened
});

/** Each attempt gets its own name: a refused create leaves nothing behind, an admitted one is new. */
let attempt = 0;
async function admitted(manifest: ReturnType<typeof signV1>): Promise<boolean | undefined> {
  const r = await apply(deployment(`rotated-${attempt++}`, ns, { manifest }));
  if (r.code === 0) return true;
  if (denial(r)?.startsWith('modelgate: ')) return false;
  throw new Error(r.stderr);
}

describe('the keys Secret rotated (kubelet-style ..data swap)', () => {
  const NEW_KEY = 'ci-signing-key-2027-rotated';
  const signedWithNew = signV1(NEW_KEY, 'rotated-model.onnx');

  it('refuses a model signed with a key the webhook does not have yet', async () => {
    expect(await admitted(signedWithNew)).toBe(false);
  });

  it('verifies with the new key once it is in the Secret, without a restart', async () => {
    resetKeys().write({ [SEED_KEY_ID]: seedKey, 'ci-2027': NEW_KEY });
    await waitFor(
      'the webhook to load key ci-2027',
      async () => ((await admitted(signedWithNew)) ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    expect(await admitted(signedSeed)).toBe(true);
  });

  it('stops trusting a key removed from the Secret', async () => {
    resetKeys().write({ 'ci-2027': NEW_KEY });
    await waitFor(
      'the webhook to drop key ci-2026',
      async () => ((await admitted(signedSeed)) === false ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    expect(await admitted(signedWithNew)).toBe(true);
  });
});
