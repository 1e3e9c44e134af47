import { beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  configMap,
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
} from './lib.js';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-updates');
});

describe('UPDATEs', () => {
  it('re-verifies an UPDATE that swaps the model: a tampered one is refused, a signed one admitted', async () => {
    expectAdmitted(await apply(deployment('swap', ns, { manifest: signedSeed })));
    expectRefused(await apply(deployment('swap', ns, { manifest: tampered(signedSeed) })), 'fraud-detector.onnx');
    const v2 = signV1(seedKey, 'fraud-detector-v2.onnx');
    expectAdmitted(await apply(deployment('swap', ns, { manifest: v2 })));
    const current = JSON.parse(await kOk(['get', 'deployment', 'swap', '-n', ns, '-o', 'json']));
    expect(current.metadata.annotations['modelgate.dev/manifest']).toContain('fraud-detector-v2.onnx');
  });

  it('does not re-verify a scale or replicas-only UPDATE, even when the model would no longer verify', async () => {
    // The manifest lives in a ConfigMap; breaking it afterwards changes nothing in the Deployment,
    // so only a re-verification could notice.
    const m = signV1(seedKey, 'scaled.onnx');
    expectAdmitted(await apply(configMap('scaled-manifest', ns, { 'model.manifest.json': JSON.stringify(m) })));
    const d = deployment('scaled', ns, { annotations: { 'modelgate.dev/manifest-configmap': 'scaled-manifest' }, pin: [m.file_hash] });
    expectAdmitted(await apply(d));
    expectAdmitted(await apply(configMap('scaled-manifest', ns, { 'model.manifest.json': JSON.stringify(tampered(m)) })));

    expectAdmitted(await k(['scale', 'deployment', 'scaled', '-n', ns, '--replicas=3']));
    expectAdmitted(await k(['patch', 'deployment', 'scaled', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":2}}']));
    expect(JSON.parse(await kOk(['get', 'deployment', 'scaled', '-n', ns, '-o', 'json'])).spec.replicas).toBe(2);
    const after = decisions().filter((x) => x.name === 'scaled' && x.operation === 'UPDATE');
    expect(after.every((x) => x.decision === 'allow'), JSON.stringify(after)).toBe(true);

    // A template change is re-verified and now meets the broken manifest.
    const restart = await k(['rollout', 'restart', 'deployment', 'scaled', '-n', ns]);
    expectRefused(restart, 'scaled.onnx');
  });
});
