/**
 * Shared pieces of the adversarial suite: two real keys, a decide() over the fixtures, and the
 * assertions every hostile case ends in (a clear deny, never a secret in any output).
 */
import { expect } from 'vitest';
import { admissionRequest, type Obj, type RequestOptions } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import type { Decision } from '../../src/decision/types.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { signV2, type UnsignedManifestV2 } from '../../src/manifest/v2.js';
import type { ManifestV2 } from '../../src/manifest/types.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import type { Policy, Rule } from '../../src/policy/types.js';
import type { ResolvedManifest } from '../../src/workload/types.js';

/** The seed vectors' key (id "ci") and a second key (id "ops-2027") that no vector uses. */
export const SEED_KEY = vectors.key;
export const SECOND_KEY = 'adv-second-key-Q7vT3nW!';
export const keyring = new MemoryKeyring([
  ['ci', Buffer.from(SEED_KEY)],
  ['ops-2027', Buffer.from(SECOND_KEY)],
]);

export const NOW = new Date('2026-05-01T00:00:00Z');

/** Every form a leaked key could take in text. */
export const SECRET_FORMS: readonly string[] = [SEED_KEY, SECOND_KEY].flatMap((k) => [
  k,
  Buffer.from(k).toString('hex'),
  Buffer.from(k).toString('base64'),
  JSON.stringify(k).slice(1, -1),
]);

/** Fails when any form of either key appears anywhere in `output` (strings, objects, errors). */
export function expectNoSecret(output: unknown): void {
  const text =
    typeof output === 'string'
      ? output
      : output instanceof Error
        ? `${output.name} ${output.message} ${output.stack ?? ''}`
        : JSON.stringify(output ?? null);
  for (const form of SECRET_FORMS)
    expect(text.includes(form), `output contains key material (${form.slice(0, 4)}…)`).toBe(false);
}

export type DecideOptions = RequestOptions & {
  policy?: Policy;
  resolved?: ResolvedManifest[];
  now?: Date;
  namespace?: string;
};

/** decideAdmission over a fixture object, exactly as the server calls it. */
export function decide(object: Obj, opts: DecideOptions = {}): Decision {
  const request = admissionRequest(object, opts);
  if (opts.namespace !== undefined) request.namespace = opts.namespace;
  return decideAdmission(planAdmission(request, opts.policy ?? defaultPolicy()), {
    resolved: opts.resolved ?? [],
    keyring,
    now: opts.now ?? NOW,
  });
}

/**
 * The one ending every hostile admission must have: 403, one "modelgate: " line, a deny record
 * (with `code` among its reasons when given), and no key material in response, record or Event.
 */
export function expectDenied(d: Decision, code?: string | RegExp): void {
  expect(d.response.allowed, `allowed: ${JSON.stringify(d.record.reasons)}`).toBe(false);
  expect(d.response.status?.code).toBe(403);
  expect(d.response.status?.message).toMatch(/^modelgate: /);
  expect(d.response.status?.message).not.toMatch(/[\r\n\u2028\u2029]/);
  expect(d.record.decision).toBe('deny');
  if (code !== undefined)
    expect(d.record.reasons.map((r) => r.code)).toContainEqual(expect.stringMatching(code));
  expectNoSecret(d);
}

export function policyWith(change: Partial<Rule>, top: Partial<Policy> = {}): Policy {
  const p = defaultPolicy();
  return { ...p, ...top, rules: p.rules.map((r) => ({ ...r, ...change })) };
}

/** The unsigned v2 manifest for the vector model, with `over` changed. */
export function unsignedV2(over: Partial<UnsignedManifestV2> = {}): UnsignedManifestV2 {
  return {
    apiVersion: 'modelgate.dev/v1',
    kind: 'ModelManifest',
    model: { name: 'fraud-detector', version: '1.0.0', source: 's3://models/fraud-detector/1.0.0' },
    files: [{ path: 'fraud-detector.onnx', sha256: vectors.sha256, size: vectors.fileSize }],
    claims: { scan: 'passed' },
    signedAt: '2026-04-26T03:15:42Z',
    ...over,
  };
}

/** A v2 manifest for the vector model, signed with `keyId` (default "ci"). */
export function v2Manifest(over: Partial<UnsignedManifestV2> = {}, keyId = 'ci'): ManifestV2 {
  const signed = signV2(unsignedV2(over), keyring, keyId);
  if (!signed) throw new Error(`no key ${keyId}`);
  return signed;
}

/** Flip one hex digit at `index` to another hex digit. */
export function flipHex(hex: string, index: number, by = 1): string {
  const digits = '0123456789abcdef';
  const next = digits[(digits.indexOf(hex[index]!) + by) % 16]!;
  return hex.slice(0, index) + next + hex.slice(index + 1);
}
