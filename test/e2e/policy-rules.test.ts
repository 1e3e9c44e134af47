/**
 * Every policy rule of docs/policy.md through the real API server: one `modelgate serve` of its
 * own (test/e2e/fixtures/policy-rules.yaml) registered for the rules-* namespaces only, each
 * rule governing one namespace. Manifests are signed by the real CLI (`modelgate sign --format
 * v2`); requesters are real `kubectl --as/--as-group` impersonations. For each rule: a refused
 * case (kubectl's one `modelgate: ` line, the problem code in the decision log) and an admitted
 * one. At the end `modelgate audit` must list every refusal this file caused, from the
 * cluster's Events and from the webhook's log, and the break-glass admission as such.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubectlResult } from '../harness/kubectl.js';
import { waitFor } from '../harness/net.js';
import { cliBin, startWebhook, type Webhook } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';
import {
  apply,
  ctx,
  deployment,
  expectAdmitted,
  expectRefused,
  fixtures,
  kOk,
  namespace,
  seedKey,
  signedSeed,
  waitForEvent,
  warnings,
  type ManifestV1,
  type Obj,
} from './lib.js';
import type { ManifestV2 } from '../../src/manifest/types.js';

const run = promisify(execFile);

const NAMESPACES = [
  'rules-probe',
  'rules-keys',
  'rules-v1',
  'rules-age',
  'rules-scan',
  'rules-approvals',
  'rules-requesters',
  'rules-sources',
  'rules-labels',
  'rules-classification',
  'rules-explain',
  'rules-breakglass',
  'rules-exempt',
  'rules-verifyimage',
  'rules-audit',
] as const;

const KEYS: Record<string, string> = {
  [SEED_KEY_ID]: seedKey,
  'old-2025': `old-${randomBytes(16).toString('hex')}`,
  'dev-laptop': `dev-${randomBytes(16).toString('hex')}`,
};

const DIGEST_IMAGE = `ghcr.io/modelgate/modelgate@sha256:${'ab'.repeat(32)}`;

let webhook: Webhook;
let work: string;
/** Signed at the start, so that it is older than rule "age"'s maxAge (15s) when used. */
let oldManifest: ManifestV2;
let oldSignedAt: number;

// ---- manifests signed by the real CLI

interface SignOptions {
  name?: string;
  version?: string;
  source?: string;
  keyId?: string;
  claims?: Record<string, string>;
  expiresIn?: string;
}

let signed = 0;

/** `modelgate sign <model> --format v2 ...` on a fresh random model file. */
async function sign(opts: SignOptions = {}): Promise<ManifestV2> {
  const n = ++signed;
  const dir = path.join(work, `model-${n}`);
  fs.mkdirSync(dir);
  const model = path.join(dir, 'model.onnx');
  fs.writeFileSync(model, randomBytes(512));
  const keyId = opts.keyId ?? SEED_KEY_ID;
  const claims = opts.claims ?? { scan: 'passed' };
  // prettier-ignore
  const args = [
    cliBin, 'sign', model, '--format', 'v2',
    '--key-file', path.join(work, 'keys', keyId), '--key-id', keyId,
    '--name', opts.name ?? 'fraud', '--version', opts.version ?? `1.0.${n}`,
    '--source', opts.source ?? 's3://models-prod/fraud',
    ...Object.entries(claims).flatMap(([k, v]) => ['--claim', `${k}=${v}`]),
    '--expires-in', opts.expiresIn ?? '720h',
    '--out', path.join(dir, 'model.manifest.json'),
  ];
  await run(process.execPath, args);
  return JSON.parse(fs.readFileSync(path.join(dir, 'model.manifest.json'), 'utf8')) as ManifestV2;
}

const modelName = (m: ManifestV2): string => `${m.model.name}@${m.model.version}`;

// ---- workloads

interface Shape {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** sha256 pins of the verify init container; default: the manifest's files. */
  pin?: string[];
  /** The verify init container's image; null: no init container at all. */
  verifyImage?: string | null;
}

function workload(name: string, ns: string, m: ManifestV2 | ManifestV1, shape: Shape = {}): Obj {
  const pins = 'files' in m ? m.files.map((f) => f.sha256) : [m.file_hash];
  const d = deployment(name, ns, {
    annotations: { 'modelgate.dev/manifest': JSON.stringify(m), ...shape.annotations },
    pin: shape.pin ?? pins,
  });
  const meta = d.metadata as { labels: Record<string, string> };
  const tpl = (d.spec as { template: { metadata: { labels: Record<string, string> }; spec: Obj } }).template;
  Object.assign(meta.labels, shape.labels);
  Object.assign(tpl.metadata.labels, shape.labels);
  const init = tpl.spec.initContainers as { image: string }[];
  if (shape.verifyImage === null) delete tpl.spec.initContainers;
  else if (shape.verifyImage !== undefined) init[0]!.image = shape.verifyImage;
  return d;
}

/** kubectl apply as someone else (admin kubeconfig + impersonation). */
async function applyAs(obj: Obj, user: string, ...groups: string[]): Promise<KubectlResult> {
  return apply(obj, `--as=${user}`, ...groups.map((g) => `--as-group=${g}`));
}

// ---- decisions

interface LogRecord {
  namespace: string;
  name: string;
  user: string;
  decision: string;
  mode?: string;
  rule?: string;
  reasons: { code: string; message: string }[];
  breakGlass?: { user: string; reason: string };
}

function records(): LogRecord[] {
  return fs
    .readFileSync(webhook.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogRecord & { msg?: string })
    .filter((l) => l.msg === 'admission');
}

/** This instance's decision on the CREATE of Deployment ns/name (the log is written before the answer, but poll anyway). */
async function recordOf(ns: string, name: string): Promise<LogRecord> {
  return waitFor(
    `the decision on ${ns}/${name} in the webhook's log`,
    async () => Promise.resolve(records().find((r) => r.namespace === ns && r.name === name)),
    { timeoutMs: 10_000, intervalMs: 200 },
  );
}

interface Refusal {
  ns: string;
  name: string;
  code: string;
  user: string;
}
/** Every refusal this file caused: `modelgate audit` must list them all. */
const refusals: Refusal[] = [];

/**
 * Refused by this instance: kubectl printed one `modelgate: ` line naming the model and saying
 * `says`, and the decision log records the problem code (one of `codes`, when two names are
 * documented for it) for it.
 */
async function expectRule(
  r: KubectlResult,
  at: { ns: string; name: string; user?: string },
  want: { model: string; codes: string | string[]; says: RegExp },
): Promise<LogRecord> {
  const message = expectRefused(r, want.model);
  const rec = await recordOf(at.ns, at.name);
  expect(rec.decision).toBe('deny');
  const code = rec.reasons.map((x) => x.code).find((c) => [want.codes].flat().includes(c));
  expect(code, `codes ${rec.reasons.map((x) => x.code).join(',')}`).toBeDefined();
  refusals.push({ ns: at.ns, name: at.name, code: code!, user: at.user ?? 'e2e-admin' });
  expect(message).toMatch(want.says);
  return rec;
}

async function expectAllowedBy(r: KubectlResult, ns: string, name: string): Promise<LogRecord> {
  expectAdmitted(r);
  const rec = await recordOf(ns, name);
  expect(rec.decision).toBe('allow');
  return rec;
}

// ---- setup

/** Impersonated users need RBAC of their own: a role to apply workloads in the rules-* namespaces. */
async function grantDeployers(): Promise<void> {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'modelgate-e2e-rules-deployer' },
    rules: [
      {
        apiGroups: ['apps'],
        resources: ['deployments'],
        verbs: ['get', 'list', 'create', 'update', 'patch'],
      },
    ],
  };
  const bindings = NAMESPACES.map((ns) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'modelgate-e2e-rules-deployer', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
  }));
  await kOk(['apply', '-f', '-'], { apiVersion: 'v1', kind: 'List', items: [role, ...bindings] });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelgate-rules-'));
  fs.mkdirSync(path.join(work, 'keys'));
  for (const [id, key] of Object.entries(KEYS)) fs.writeFileSync(path.join(work, 'keys', id), key);
  oldSignedAt = Date.now();
  oldManifest = await sign({ name: 'stale' });
  for (const ns of NAMESPACES) await namespace(ns);
  await grantDeployers();
  const { kubeconfig, server, caPem } = ctx();
  webhook = await startWebhook({
    cluster: { kubeconfig, server, caPem },
    keys: KEYS,
    policyFile: path.join(fixtures, 'policy-rules.yaml'),
    probeNamespace: 'rules-probe',
    only: { configName: 'modelgate-rules-e2e', namespaces: [...NAMESPACES] },
  });
});

afterAll(async () => {
  await webhook?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

afterEach((t) => {
  if (t.task.result?.state !== 'fail' || !webhook) return;
  const lines = fs.readFileSync(webhook.logFile, 'utf8').trimEnd().split('\n').slice(-10);
  process.stderr.write(`----- policy-rules modelgate serve log (last 10 lines) -----\n${lines.join('\n')}\n`);
});

// ---- the rules

describe('keys: trusted and revoked key ids (rule "keys")', () => {
  const ns = 'rules-keys';

  // docs/policy.md names these key-not-trusted / key-revoked, docs/manifests.md (the
  // verifier, which refuses first) untrusted-key / revoked-key: either name is accepted here.
  it('refuses a model signed with a loaded key the rule does not trust, and says what to do', async () => {
    const m = await sign({ keyId: 'dev-laptop' });
    const r = await apply(workload('untrusted-key', ns, m));
    const codes = ['key-not-trusted', 'untrusted-key'];
    await expectRule(
      r,
      { ns, name: 'untrusted-key' },
      { model: modelName(m), codes: codes, says: /key "dev-laptop".*not trusted.*: re-sign/ },
    );
  });

  it('refuses a revoked key even though the rule lists it as trusted', async () => {
    const m = await sign({ keyId: 'old-2025' });
    const r = await apply(workload('revoked-key', ns, m));
    const codes = ['key-revoked', 'revoked-key'];
    await expectRule(
      r,
      { ns, name: 'revoked-key' },
      { model: modelName(m), codes: codes, says: /revoked key "old-2025"|key "old-2025", which is revoked/ },
    );
  });

  it('admits a model signed with the trusted key', async () => {
    const m = await sign();
    const rec = await expectAllowedBy(await apply(workload('trusted-key', ns, m)), ns, 'trusted-key');
    expect(rec.rule).toBe('keys');
  });
});

describe('v1 manifests refused (rule "v1": keys.allowV1 false)', () => {
  const ns = 'rules-v1';

  it('refuses the seed’s v1 manifest and says to re-sign as v2', async () => {
    const r = await apply(workload('seed-v1', ns, signedSeed));
    await expectRule(
      r,
      { ns, name: 'seed-v1' },
      { model: signedSeed.model_path, codes: 'v1-not-allowed', says: /--format v2/ },
    );
  });

  it('admits a v2 manifest', async () => {
    const m = await sign();
    await expectAllowedBy(await apply(workload('signed-v2', ns, m)), ns, 'signed-v2');
  });
});

describe('scan passed (rule "scan": requireScanPassed)', () => {
  const ns = 'rules-scan';

  it('refuses a model whose signed scan claim is "failed"', async () => {
    const m = await sign({ claims: { scan: 'failed' } });
    const r = await apply(workload('scan-failed', ns, m));
    await expectRule(
      r,
      { ns, name: 'scan-failed' },
      { model: modelName(m), codes: 'scan-not-passed', says: /scan/ },
    );
  });

  it('refuses a model without a scan claim even when a label says "passed"', async () => {
    const m = await sign({ claims: {} });
    const r = await apply(
      workload('scan-label-only', ns, m, { labels: { 'modelgate.dev/scan-status': 'passed' } }),
    );
    await expectRule(
      r,
      { ns, name: 'scan-label-only' },
      { model: modelName(m), codes: 'scan-not-passed', says: /scan/ },
    );
  });

  it('admits a model signed with scan=passed', async () => {
    const m = await sign({ claims: { scan: 'passed' } });
    await expectAllowedBy(await apply(workload('scan-passed', ns, m)), ns, 'scan-passed');
  });
});

describe('two-person approval (rule "approvals": min 2, forbidRequester, no annotation)', () => {
  const ns = 'rules-approvals';

  it('does not count the requester’s own approval', async () => {
    const m = await sign({ claims: { approvers: 'alice,bob' } });
    const r = await applyAs(workload('self-approved', ns, m), 'alice');
    const rec = await expectRule(
      r,
      { ns, name: 'self-approved', user: 'alice' },
      { model: modelName(m), codes: 'approvals-insufficient', says: /1 of 2 required distinct approvals/ },
    );
    expect(rec.user).toBe('alice');
  });

  it('refuses approvals that only the unsigned annotation carries', async () => {
    const m = await sign({ claims: {} });
    const shape = { annotations: { 'modelgate.dev/approved-by': 'carol,dave' } };
    const r = await applyAs(workload('annotation-approved', ns, m, shape), 'alice');
    await expectRule(
      r,
      { ns, name: 'annotation-approved', user: 'alice' },
      { model: modelName(m), codes: 'approvals-insufficient', says: /0 of 2 required distinct approvals/ },
    );
  });

  it('admits two signed approvers other than the requester', async () => {
    const m = await sign({ claims: { approvers: 'carol,dave' } });
    await expectAllowedBy(await applyAs(workload('two-approvers', ns, m), 'alice'), ns, 'two-approvers');
  });
});

describe('only from CI/CD (rule "requesters": group:ci, serviceaccount:ci:deployer)', () => {
  const ns = 'rules-requesters';

  it('refuses a person deploying by hand', async () => {
    const m = await sign();
    const r = await applyAs(workload('by-hand', ns, m), 'alice');
    await expectRule(
      r,
      { ns, name: 'by-hand', user: 'alice' },
      {
        model: modelName(m),
        codes: 'requester-not-allowed',
        says: /"alice" may not deploy under rule "requesters"/,
      },
    );
  });

  it('refuses the cluster admin too (system:masters is not the pipeline)', async () => {
    const m = await sign();
    const r = await apply(workload('by-admin', ns, m));
    await expectRule(
      r,
      { ns, name: 'by-admin' },
      { model: modelName(m), codes: 'requester-not-allowed', says: /"e2e-admin" may not deploy/ },
    );
  });

  it('admits a member of group ci', async () => {
    const m = await sign();
    const rec = await expectAllowedBy(
      await applyAs(workload('by-ci-group', ns, m), 'alice', 'ci'),
      ns,
      'by-ci-group',
    );
    expect(rec.user).toBe('alice');
  });

  it('admits the ci/deployer service account', async () => {
    const m = await sign();
    const r = await applyAs(workload('by-ci-sa', ns, m), 'system:serviceaccount:ci:deployer');
    const rec = await expectAllowedBy(r, ns, 'by-ci-sa');
    expect(rec.user).toBe('system:serviceaccount:ci:deployer');
  });
});

describe('allowed sources (rule "sources": s3://models-prod/)', () => {
  const ns = 'rules-sources';

  it('refuses a source that only shares the prefix’s letters', async () => {
    const m = await sign({ source: 's3://models-prod-old/fraud' });
    const r = await apply(workload('wrong-bucket', ns, m));
    await expectRule(
      r,
      { ns, name: 'wrong-bucket' },
      { model: modelName(m), codes: 'source-not-allowed', says: /s3:\/\/models-prod-old\/fraud/ },
    );
  });

  it('refuses a v1 manifest, which has no signed source', async () => {
    const r = await apply(workload('v1-no-source', ns, signedSeed));
    await expectRule(
      r,
      { ns, name: 'v1-no-source' },
      { model: signedSeed.model_path, codes: 'source-not-allowed', says: /source/ },
    );
  });

  it('admits a model from the allowed bucket', async () => {
    const m = await sign({ source: 's3://models-prod/fraud/3.1.0' });
    await expectAllowedBy(await apply(workload('prod-bucket', ns, m)), ns, 'prod-bucket');
  });
});

describe('required labels and signed claims (rule "labels")', () => {
  const ns = 'rules-labels';
  const internal = { dataClassification: 'internal' };
  const owner = { 'modelgate.dev/owner': 'fraud-team' };

  it('refuses a workload without the owner label', async () => {
    const m = await sign({ claims: internal });
    const labels = { 'modelgate.dev/data-classification': 'internal' };
    const r = await apply(workload('no-owner', ns, m, { labels }));
    await expectRule(
      r,
      { ns, name: 'no-owner' },
      { model: 'no-owner', codes: 'label-missing', says: /lacks label modelgate\.dev\/owner/ },
    );
  });

  it('refuses a classification value the rule does not allow', async () => {
    const m = await sign({ claims: {} });
    const labels = { ...owner, 'modelgate.dev/data-classification': 'secret' };
    const r = await apply(workload('secret-label', ns, m, { labels }));
    await expectRule(
      r,
      { ns, name: 'secret-label' },
      {
        model: 'secret-label',
        codes: 'label-value-not-allowed',
        says: /"secret" is not allowed by rule "labels"/,
      },
    );
  });

  it('refuses a label that contradicts the signed claim (labels never override claims)', async () => {
    const m = await sign({ claims: internal });
    const labels = { ...owner, 'modelgate.dev/data-classification': 'public' };
    const r = await apply(workload('contradicting', ns, m, { labels }));
    await expectRule(
      r,
      { ns, name: 'contradicting' },
      {
        model: modelName(m),
        codes: 'label-contradicts-claim',
        says: /contradicts the signed claim dataClassification="internal"/,
      },
    );
  });

  it('admits labels that agree with the signed claim', async () => {
    const m = await sign({ claims: internal });
    const labels = { ...owner, 'modelgate.dev/data-classification': 'internal' };
    await expectAllowedBy(await apply(workload('agreeing', ns, m, { labels })), ns, 'agreeing');
  });
});

describe('classification access (rule "classification": confidential → ml-leads)', () => {
  const ns = 'rules-classification';
  const confidential = { dataClassification: 'confidential' };

  it('refuses a confidential model deployed by someone outside ml-leads', async () => {
    const m = await sign({ claims: confidential });
    const r = await applyAs(workload('not-a-lead', ns, m), 'alice', 'ml-engineers');
    await expectRule(
      r,
      { ns, name: 'not-a-lead', user: 'alice' },
      { model: modelName(m), codes: 'classification-access-denied', says: /confidential/ },
    );
  });

  it('refuses a "public" label on a confidential model even in a rule without requiredLabels', async () => {
    const m = await sign({ claims: confidential });
    const shape = { labels: { 'modelgate.dev/data-classification': 'public' } };
    const r = await applyAs(workload('label-downgrade', ns, m, shape), 'alice', 'ml-engineers');
    await expectRule(
      r,
      { ns, name: 'label-downgrade', user: 'alice' },
      { model: modelName(m), codes: 'label-contradicts-claim', says: /contradicts the signed claim/ },
    );
  });

  it('admits a member of ml-leads', async () => {
    const m = await sign({ claims: confidential });
    await expectAllowedBy(await applyAs(workload('a-lead', ns, m), 'alice', 'ml-leads'), ns, 'a-lead');
  });

  it('admits an internal model, which has no entry, for anyone', async () => {
    const m = await sign({ claims: { dataClassification: 'internal' } });
    await expectAllowedBy(await applyAs(workload('internal-model', ns, m), 'alice'), ns, 'internal-model');
  });
});

describe('explainability for customer-facing models (rule "explain")', () => {
  const ns = 'rules-explain';

  it('refuses a signed customer-facing model without a report', async () => {
    const m = await sign({ claims: { customerFacing: 'true' } });
    const r = await apply(workload('no-report', ns, m));
    await expectRule(
      r,
      { ns, name: 'no-report' },
      { model: modelName(m), codes: 'explainability-report-missing', says: /explainability/i },
    );
  });

  it('refuses a model labelled customer-facing without a report', async () => {
    const m = await sign({ claims: {} });
    const shape = { labels: { 'modelgate.dev/customer-facing': 'true' } };
    const r = await apply(workload('labelled-facing', ns, m, shape));
    await expectRule(
      r,
      { ns, name: 'labelled-facing' },
      { model: modelName(m), codes: 'explainability-report-missing', says: /explainability/i },
    );
  });

  it('admits a customer-facing model with a signed report', async () => {
    const m = await sign({
      claims: { customerFacing: 'true', explainabilityReport: 's3://reports/fraud/shap.html' },
    });
    await expectAllowedBy(await apply(workload('with-report', ns, m)), ns, 'with-report');
  });
});

describe('verify init container and trusted verify images (rule "verifyimage")', () => {
  const ns = 'rules-verifyimage';

  it('refuses a verify init container whose image is not pinned by digest', async () => {
    const m = await sign();
    const r = await apply(workload('tag-image', ns, m));
    await expectRule(
      r,
      { ns, name: 'tag-image' },
      { model: modelName(m), codes: 'verify-init-missing', says: /verify/ },
    );
  });

  it('refuses a workload without any verify init container', async () => {
    const m = await sign();
    const r = await apply(workload('no-init', ns, m, { verifyImage: null }));
    await expectRule(
      r,
      { ns, name: 'no-init' },
      { model: modelName(m), codes: 'verify-init-missing', says: /verify/ },
    );
  });

  it('refuses an init container that pins another hash', async () => {
    const m = await sign();
    const other = createHash('sha256').update('another model').digest('hex');
    const r = await apply(workload('wrong-pin', ns, m, { verifyImage: DIGEST_IMAGE, pin: [other] }));
    await expectRule(
      r,
      { ns, name: 'wrong-pin' },
      { model: modelName(m), codes: 'verify-init-not-pinned', says: /--sha256/ },
    );
  });

  it('admits the digest-pinned verify image pinning the model’s hash', async () => {
    const m = await sign();
    await expectAllowedBy(
      await apply(workload('digest-image', ns, m, { verifyImage: DIGEST_IMAGE })),
      ns,
      'digest-image',
    );
  });
});

describe('exemptions only from the policy (exemptNamespaces: rules-exempt)', () => {
  it('admits an unsigned inference workload in the exempt namespace, unverified', async () => {
    const d = deployment('unsigned', 'rules-exempt');
    expectAdmitted(await apply(d));
    const rec = await recordOf('rules-exempt', 'unsigned');
    expect(rec.decision).toBe('allow');
    expect(rec.reasons.map((x) => x.code)).toEqual(['namespace-exempt']);
  });

  it('refuses the same workload elsewhere, whatever exemption-looking labels it carries', async () => {
    const ns = 'rules-probe';
    const d = deployment('claims-exempt', ns);
    const meta = d.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
    Object.assign(meta.labels, {
      'modelgate.dev/exempt': 'true',
      'kubernetes.io/metadata.name': 'rules-exempt',
    });
    meta.annotations['modelgate.dev/exempt'] = 'true';
    const r = await apply(d);
    expect(r.code).not.toBe(0);
    const rec = await recordOf(ns, 'claims-exempt');
    expect(rec.decision).toBe('deny');
    refusals.push({ ns, name: 'claims-exempt', code: rec.reasons[0]!.code, user: 'e2e-admin' });
  });
});

describe('audit mode (rule "audit-mode")', () => {
  it('admits a failing model without a warning and records the problem', async () => {
    const ns = 'rules-audit';
    const m = await sign({ claims: { scan: 'failed' } });
    const r = await apply(workload('audited', ns, m));
    expectAdmitted(r);
    expect(warnings(r).filter((w) => w.startsWith('modelgate: '))).toEqual([]);
    const rec = await recordOf(ns, 'audited');
    expect(rec.decision).toBe('audit');
    expect(rec.reasons.map((x) => x.code)).toContain('scan-not-passed');
  });
});

describe('break glass (group sre-oncall, annotation modelgate.dev/break-glass)', () => {
  const ns = 'rules-breakglass';
  const reason = 'INC-4211 rollback to 1.1.9';
  const glass = { annotations: { 'modelgate.dev/break-glass': reason } };

  it('refuses the annotation from someone outside the group', async () => {
    const m = await sign({ claims: { scan: 'failed' } });
    const r = await applyAs(workload('glass-no-group', ns, m, glass), 'alice', 'ml-engineers');
    await expectRule(
      r,
      { ns, name: 'glass-no-group', user: 'alice' },
      { model: modelName(m), codes: 'scan-not-passed', says: /scan/ },
    );
  });

  it('refuses the group without a reason', async () => {
    const m = await sign({ claims: { scan: 'failed' } });
    const r = await applyAs(workload('glass-no-reason', ns, m), 'bob', 'sre-oncall');
    await expectRule(
      r,
      { ns, name: 'glass-no-reason', user: 'bob' },
      { model: modelName(m), codes: 'scan-not-passed', says: /scan/ },
    );
  });

  it('admits the group with a reason, never silently: warning, Warning Event, log record', async () => {
    const m = await sign({ claims: { scan: 'failed' } });
    const r = await applyAs(workload('glass', ns, m, glass), 'bob', 'sre-oncall');
    expectAdmitted(r);
    const w = warnings(r).filter((l) => l.startsWith('modelgate: '));
    expect(w, r.stderr).toHaveLength(1);
    expect(w[0]).toContain('break-glass by bob');
    expect(w[0]).toContain(reason);
    const event = await waitForEvent(ns, 'ModelWarning', 'Deployment/glass');
    expect(event.note).toMatch(/^break-glass/);
    expect(event.reportingController).toBe('modelgate.dev/webhook');
    const rec = await recordOf(ns, 'glass');
    expect(rec.decision).toBe('warn');
    expect(rec.breakGlass).toEqual({ user: 'bob', reason });
    expect(rec.reasons.map((x) => x.code)).toContain('scan-not-passed');
  });
});

// Last among the rules: the stale manifest must be older than maxAge (15s) by now.
describe('age and expiry (rule "age": maxAge 15s)', () => {
  const ns = 'rules-age';

  it('refuses a manifest signed longer ago than maxAge', async () => {
    const wait = oldSignedAt + 16_000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const r = await apply(workload('too-old', ns, oldManifest));
    await expectRule(
      r,
      { ns, name: 'too-old' },
      { model: modelName(oldManifest), codes: 'manifest-too-old', says: /re-sign/ },
    );
  });

  it('refuses a manifest past its expiresAt', async () => {
    const m = await sign({ expiresIn: '1s' });
    await new Promise((resolve) => setTimeout(resolve, Date.parse(m.expiresAt!) + 200 - Date.now()));
    const r = await apply(workload('expired', ns, m));
    await expectRule(
      r,
      { ns, name: 'expired' },
      { model: modelName(m), codes: 'manifest-expired', says: /expired/ },
    );
  });

  it('refuses a v1 manifest, whose time is unsigned, under a maxAge', async () => {
    const r = await apply(workload('v1-age', ns, signedSeed));
    await expectRule(
      r,
      { ns, name: 'v1-age' },
      { model: signedSeed.model_path, codes: 'manifest-age-unsigned', says: /v2/ },
    );
  });

  it('admits a freshly signed manifest', async () => {
    const m = await sign();
    await expectAllowedBy(await apply(workload('fresh', ns, m)), ns, 'fresh');
  });
});

// ---- modelgate audit: what security reviewers see afterwards

interface AuditRow {
  decision: string;
  namespace: string;
  kind: string;
  name: string;
  user: string;
  reasons: string[];
  message: string;
  breakGlass: boolean;
  source: string;
}

async function audit(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cliBin, 'audit', ...args]);
  return stdout;
}

async function auditJson(...args: string[]): Promise<AuditRow[]> {
  return JSON.parse(await audit(...args, '--json')) as AuditRow[];
}

interface WideRow extends AuditRow {
  uid: string;
  rule: string;
  models: { name: string; version?: string; keyId: string; sha256: string }[];
  approvers: string[];
  approversFrom: string;
  paths: string[];
}

async function auditWide(...args: string[]): Promise<WideRow[]> {
  return JSON.parse(await audit(...args, '-o', 'json')) as WideRow[];
}

const key = (ns: string, name: string): string => `${ns}/${name}`;

describe('modelgate audit lists what this file refused', () => {
  it('caused refusals in every rule’s namespace', () => {
    const namespaces = new Set(refusals.map((r) => r.ns));
    for (const ns of NAMESPACES.filter((n) => !['rules-exempt', 'rules-audit'].includes(n)))
      expect(namespaces, ns).toContain(ns);
  });

  it('from the webhook’s log: every refusal, with its problem code and user', async () => {
    const rows = await auditJson('--log', webhook.logFile, '--decision', 'deny');
    const byObject = new Map(rows.map((r) => [key(r.namespace, r.name), r]));
    for (const want of refusals) {
      const row = byObject.get(key(want.ns, want.name));
      expect(row, `${want.ns}/${want.name}`).toBeDefined();
      expect(row!.kind).toBe('Deployment');
      expect(row!.reasons).toContain(want.code);
      expect(row!.user).toBe(want.user);
    }
    expect(rows.every((r) => r.decision === 'deny' && r.source === 'log')).toBe(true);
  });

  it('from the log: --reason, --namespace and --user narrow it to exactly those refusals', async () => {
    const revokedCode = refusals.find((r) => r.name === 'revoked-key')!.code;
    const revoked = await auditJson('--log', webhook.logFile, '--reason', revokedCode);
    expect(revoked.map((r) => key(r.namespace, r.name))).toEqual(['rules-keys/revoked-key']);

    const keys = await auditJson('--log', webhook.logFile, '--namespace', 'rules-keys', '--decision', 'deny');
    expect(keys.map((r) => r.name).sort()).toEqual(['revoked-key', 'untrusted-key']);

    const alice = await auditJson('--log', webhook.logFile, '--user', 'alice', '--decision', 'deny');
    const aliceWanted = refusals.filter((r) => r.user === 'alice').map((r) => key(r.ns, r.name));
    expect(alice.map((r) => key(r.namespace, r.name)).sort()).toEqual(aliceWanted.sort());
  });

  it('from the log: the break-glass admission is marked as such, in JSON and in the table', async () => {
    const warned = await auditJson(
      '--log',
      webhook.logFile,
      '--decision',
      'warn',
      '--namespace',
      'rules-breakglass',
    );
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ name: 'glass', user: 'bob', breakGlass: true });
    expect(warned[0]!.reasons).toContain('scan-not-passed');
    const table = await audit('--log', webhook.logFile, '--namespace', 'rules-breakglass');
    const line = table.split('\n').find((l) => l.includes('Deployment/glass '));
    expect(line, table).toMatch(/warn \(break-glass\)/);
    expect(table.split('\n')[0]).toMatch(/^TIME\s+DECISION\s+NAMESPACE\s+OBJECT\s+USER\s+CALLER\s+REASONS\s+MESSAGE/);
  });

  it('from the cluster’s Events: every refusal, with its code and user; break glass marked', async () => {
    const { kubeconfig } = ctx();
    // Events are sent asynchronously: wait until the last refusal's is there.
    const rows = await waitFor(
      'ModelRejected Events for every refusal',
      async () => {
        const all = await auditJson('--kubeconfig', kubeconfig, '--decision', 'deny');
        const seen = new Set(all.map((r) => key(r.namespace, r.name)));
        const missing = refusals.filter((r) => !seen.has(key(r.ns, r.name)));
        if (missing.length > 0)
          throw new Error(`missing: ${missing.map((r) => key(r.ns, r.name)).join(', ')}`);
        return all;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    for (const want of refusals) {
      const row = rows.find((r) => r.namespace === want.ns && r.name === want.name)!;
      expect(row.source).toBe('event');
      expect(row.reasons, key(want.ns, want.name)).toContain(want.code);
      expect(row.user).toBe(want.user);
    }
    const approvals = await auditJson(
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      'rules-approvals',
      '--reason',
      'approvals-insufficient',
    );
    expect(approvals.map((r) => r.name).sort()).toEqual(['annotation-approved', 'self-approved']);
    const glass = await auditJson(
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      'rules-breakglass',
      '--decision',
      'warn',
    );
    expect(glass.map((r) => [r.name, r.breakGlass, r.user])).toEqual([['glass', true, 'bob']]);
  });

  it('what, who and why: the Events and the log name the rule, the models, the approvers, the uid and the paths', async () => {
    const { kubeconfig } = ctx();
    const filters = ['--namespace', 'rules-approvals', '--decision', 'deny', '--rule', 'approvals'];
    const fromEvents = await waitFor(
      'both approval refusals with their rule',
      async () => {
        const rows = await auditWide(
          '--kubeconfig',
          kubeconfig,
          ...filters,
          '--model',
          'fraud',
          '--key',
          SEED_KEY_ID,
        );
        return rows.length === 2 ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    const fromLog = await auditWide('--log', webhook.logFile, ...filters);
    for (const rows of [fromEvents, fromLog]) {
      const byName = new Map(rows.map((r) => [r.name, r]));
      expect(byName.get('self-approved')).toMatchObject({
        rule: 'approvals',
        user: 'alice',
        approvers: ['alice', 'bob'],
        approversFrom: 'claims.approvers',
      });
      expect(byName.get('annotation-approved')).toMatchObject({
        approvers: ['carol', 'dave'],
        approversFrom: 'modelgate.dev/approved-by',
      });
      for (const r of rows) {
        expect(r.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(r.models).toEqual([
          {
            name: 'fraud',
            version: expect.stringMatching(/^1\.0\.\d+$/),
            keyId: SEED_KEY_ID,
            sha256: expect.stringMatching(/^[0-9a-f]{12}/),
          },
        ]);
      }
    }
    expect(fromLog.every((r) => r.paths.length > 0)).toBe(true);
    const csv = await audit('--log', webhook.logFile, ...filters, '-o', 'csv');
    expect(csv.split('\r\n')[0]).toBe(
      'time,decision,namespace,object,user,caller,rule,models,approvers,uid,reasons,paths,message',
    );
  });
});
