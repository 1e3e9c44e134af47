/**
 * CEL validation cost: one admission decision (planAdmission + decideAdmission, in process, as
 * the webhook makes it for a Deployment with a signed v2 manifest) under a rule with 0, 5 and
 * 20 simple validations, and the validations' share of it. Target: 20 simple validations add
 * under 0.1 ms per admission. The policy is loaded (compiled) once per size, as the webhook
 * loads it once. Needs the build (dist/); Node runs it by stripping types.
 */
import { randomBytes } from 'node:crypto';
import { admissionRequest, inferenceDeployment } from '../test/fixtures/inference.js';
import { dist } from './dist.js';

export const CEL_TARGETS = { twentyValidationsMs: 0.1 } as const;

/** Timed decisions are split into this many batches; the median batch is reported. */
const BATCHES = 20;

type DecideModule = typeof import('../src/decision/decide.js');
type PlanModule = typeof import('../src/decision/plan.js');
type PolicyModule = typeof import('../src/policy/load.js');
type KeyringModule = typeof import('../src/keys/keyring.js');
type V2Module = typeof import('../src/manifest/v2.js');
type Policy = import('../src/policy/types.js').Policy;
type AdmissionRequest = import('../src/admission/types.js').AdmissionRequest;

/** Simple validations as an operator writes them: one field, one claim, one group, one label, one time. */
const SIMPLE = [
  'object.spec.replicas <= 10',
  "models.all(m, m.claims.scan == 'passed')",
  "request.userInfo.groups.exists(g, g == 'ml-engineers')",
  "labels['app'] == 'fraud-detector'",
  "models.all(m, now - m.signedAt < duration('720h'))",
];

function policyText(n: number): string {
  const validations = Array.from(
    { length: n },
    (_, i) => `      - expression: ${JSON.stringify(SIMPLE[i % SIMPLE.length])}\n`,
  ).join('');
  return `apiVersion: modelgate.dev/v1\nkind: Policy\nrules:\n  - name: bench\n${n > 0 ? `    validations:\n${validations}` : ''}`;
}

export interface CelBenchOptions {
  /** Decisions timed per size (default 20,000), after as many warm-up ones. */
  iterations?: number;
  sizes?: number[];
}

export interface CelBenchResult {
  validations: number;
  /** Time of one whole decision (median batch mean), ms. */
  decisionMs: number;
  /** What the validations add to it, ms (decision minus the 0-validation decision). */
  validationsMs: number;
}

export async function runCelBench(
  opts: CelBenchOptions = {},
): Promise<{ results: CelBenchResult[]; lines: string[] }> {
  const { decideAdmission } = await dist<DecideModule>('decision/decide.js');
  const { planAdmission } = await dist<PlanModule>('decision/plan.js');
  const { parsePolicy } = await dist<PolicyModule>('policy/load.js');
  const { MemoryKeyring } = await dist<KeyringModule>('keys/keyring.js');
  const { formatV2, signV2 } = await dist<V2Module>('manifest/v2.js');
  const iterations = opts.iterations ?? 20_000;
  const sizes = opts.sizes ?? [0, 5, 20];
  const keyring = new MemoryKeyring([['ci', randomBytes(32)]]);
  const sha256 = 'a'.repeat(64);
  const now = new Date();
  const manifest = signV2(
    {
      apiVersion: 'modelgate.dev/v1',
      kind: 'ModelManifest',
      model: { name: 'fraud-detector', version: '3', source: 's3://models/fraud' },
      files: [{ path: 'model.onnx', sha256, size: 1048583 }],
      claims: { scan: 'passed', dataClassification: 'internal' },
      signedAt: new Date(now.getTime() - 86_400_000).toISOString(),
    },
    keyring,
    'ci',
  );
  if (manifest === undefined) throw new Error('signing failed');
  const request = benchRequest(formatV2(manifest), sha256);
  const facts = { resolved: [], keyring, now };
  const policies = sizes.map((n) => {
    const loaded = parsePolicy(policyText(n), `bench-${n}.yaml`);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    return loaded.policy;
  });
  const batch = Math.max(1, Math.floor(iterations / BATCHES));
  const timeBatch = (policy: Policy): number => {
    const start = performance.now();
    for (let i = 0; i < batch; i++) decideAdmission(planAdmission(request, policy), facts);
    return (performance.now() - start) / batch;
  };
  for (const policy of policies) {
    for (let i = 0; i < iterations; i++) {
      const d = decideAdmission(planAdmission(request, policy), facts);
      if (!d.response.allowed)
        throw new Error(`the bench request must be admitted: ${JSON.stringify(d.record.reasons)}`);
    }
  }
  // Batches of each size take turns, and the median batch counts: a garbage collection or a busy
  // neighbour on a shared machine slows one batch, not one size.
  const means = policies.map((): number[] => []);
  for (let b = 0; b < BATCHES; b++) policies.forEach((policy, i) => means[i]?.push(timeBatch(policy)));
  const medians = means.map((m) => m.sort((x, y) => x - y)[Math.floor(m.length / 2)] ?? 0);
  const base = medians[sizes.indexOf(0)] ?? 0;
  const results: CelBenchResult[] = sizes.map((n, i) => {
    const decisionMs = medians[i] ?? 0;
    return { validations: n, decisionMs, validationsMs: n === 0 ? 0 : decisionMs - base };
  });
  const lines = [
    `CEL validations (decideAdmission in process, median of ${BATCHES} batches of ${iterations / BATCHES} after ${iterations} warm-up; target: 20 add < ${CEL_TARGETS.twentyValidationsMs} ms)`,
    ...results.map(
      (r) =>
        `  ${String(r.validations).padStart(2)} validations per rule: ${(r.decisionMs * 1000).toFixed(1)} µs per admission` +
        (r.validations === 0
          ? ''
          : `, validations ${(r.validationsMs * 1000).toFixed(1)} µs (${((r.validationsMs * 1000) / r.validations).toFixed(2)} µs each)`),
    ),
  ];
  return { results, lines };
}

function benchRequest(manifest: string, sha256: string): AdmissionRequest {
  const object = inferenceDeployment({
    name: 'fraud-detector',
    namespace: 'ml',
    manifest,
    pins: [sha256],
    modelPaths: ['/models/model.onnx'],
    serverImage: 'nvcr.io/nvidia/tritonserver:24.08-py3',
    replicas: 2,
  });
  return admissionRequest(object, { uid: 'bench', username: 'alice' });
}
