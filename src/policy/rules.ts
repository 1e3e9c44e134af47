import { parseTimestamp } from '../manifest/fields.js';
import type { Problem, VerifiedModel } from '../manifest/types.js';
import type { Workload } from '../workload/types.js';
import { CODES as VERIFY_STEP_CODES, modelVolumeProblems, type VerifyStep } from '../workload/verify-step.js';
import { ANNOTATIONS, LABELS } from '../vocabulary/keys.js';
import { CLOCK_SKEW_SECONDS, OFFICIAL_VERIFY_IMAGES } from './defaults.js';
import { anyGlobMatches } from './glob.js';
import { anyPrincipalMatches, type Requester } from './principals.js';
import type { Policy, Rule } from './types.js';
import type { AdmissionRequest } from '../admission/types.js';
import { buildInputs } from './cel/inputs.js';
import { runValidations } from './cel/evaluate.js';

/** Everything a rule looks at. Models are already verified: their signatures matched a loaded key. */
export interface RuleContext {
  workload: Workload;
  models: VerifiedModel[];
  user: Requester;
  now: Date;
  policy: Policy;
  /** The admission request: CEL validations read its object, oldObject, operation and userInfo. */
  request: AdmissionRequest;
}

export interface RuleOutcome {
  violations: Problem[];
  warnings: string[];
}

/** One check of a rule: the problems it finds, none when the workload passes. */
export type Check = (rule: Rule, ctx: RuleContext) => Problem[];

/** Stable problem codes; docs/policy.md lists what each means and how to fix it. */
export const CODES = {
  keyRevoked: 'key-revoked',
  keyNotTrusted: 'key-not-trusted',
  v1NotAllowed: 'v1-not-allowed',
  badTimestamp: 'manifest-bad-timestamp',
  signedInFuture: 'manifest-signed-in-future',
  tooOld: 'manifest-too-old',
  ageUnsigned: 'manifest-age-unsigned',
  expired: 'manifest-expired',
  verifyInitMissing: 'verify-init-missing',
  verifyInitNotPinned: 'verify-init-not-pinned',
  labelMissing: 'label-missing',
  labelValueNotAllowed: 'label-value-not-allowed',
  labelContradictsClaim: 'label-contradicts-claim',
  labelContradictsTemplate: 'label-contradicts-template',
  annotationContradictsTemplate: 'annotation-contradicts-template',
  verifyStepNotInert: VERIFY_STEP_CODES.notInert,
  modelVolumeWritable: VERIFY_STEP_CODES.modelVolumeWritable,
  modelVolumeShared: VERIFY_STEP_CODES.modelVolumeShared,
  scanNotPassed: 'scan-not-passed',
  approvalsInsufficient: 'approvals-insufficient',
  requesterNotAllowed: 'requester-not-allowed',
  sourceNotAllowed: 'source-not-allowed',
  classificationAccessDenied: 'classification-access-denied',
  explainabilityMissing: 'explainability-report-missing',
  /** The rule needs a signed fact (scan, source, approvers, report) that the model's format cannot carry (OMS). */
  claimUnavailable: 'claim-unavailable',
  omsMethodNotAllowed: 'oms-method-not-allowed',
  omsSymlinksAllowed: 'oms-symlinks-allowed',
  omsIgnorePathNotAllowed: 'oms-ignore-path-not-allowed',
} as const;

const APPROVED_BY = ANNOTATIONS.approvedBy;

/** Labels that always have to agree with the signed claim of the same meaning. */
const DEFAULT_LABEL_CLAIMS: readonly { label: string; claim: string }[] = [
  { label: LABELS.dataClassification, claim: 'dataClassification' },
  { label: LABELS.scanStatus, claim: 'scan' },
  { label: LABELS.customerFacing, claim: 'customerFacing' },
];

function problem(code: string, path: string, message: string): Problem {
  return { code, path, message };
}

/** A problem with a verified model: where the workload references it, and where its text came from. */
function modelProblem(code: string, m: VerifiedModel, message: string): Problem {
  return { code, path: m.path ?? '', origin: m.origin, message };
}

function labelPath(name: string): string {
  return `metadata.labels["${name}"]`;
}

// ---- keys and format

/** Whether a rule trusts a key id: never when revoked; else listed, or any key when the rule lists none. */
export function isKeyTrusted(policy: Policy, rule: Rule, keyId: string): boolean {
  if (policy.revokedKeys.includes(keyId)) return false;
  return rule.trustedKeys.length === 0 || rule.trustedKeys.includes(keyId);
}

export const checkKeys: Check = (rule, { models, policy }) =>
  models.flatMap((m) => {
    if (policy.revokedKeys.includes(m.keyId)) {
      return [
        modelProblem(CODES.keyRevoked, m,
          `model ${m.name}: signed with key "${m.keyId}", which is revoked: re-sign it with a current key`,
        ),
      ];
    }
    if (isKeyTrusted(policy, rule, m.keyId)) return [];
    const trusted = rule.trustedKeys.join(', ');
    return [
      modelProblem(CODES.keyNotTrusted, m,
        `model ${m.name}: key "${m.keyId}" is not trusted by rule "${rule.name}": re-sign it with one of: ${trusted}`,
      ),
    ];
  });

export const checkV1Allowed: Check = (rule, { models }) =>
  rule.allowV1
    ? []
    : models
        .filter((m) => m.format === 'v1')
        .map((m) =>
          modelProblem(CODES.v1NotAllowed, m,
            `model ${m.name}: v1 manifests are not accepted by rule "${rule.name}": re-sign it as v2 (modelgate sign --format v2)`,
          ),
        );

// ---- OMS statement limits: what the signed serialization may say

function omsProblems(rule: Rule, m: VerifiedModel): Problem[] {
  const oms = m.oms;
  if (oms === undefined) return [];
  const out: Problem[] = [];
  if (!rule.oms.methods.includes(oms.method))
    out.push(modelProblem(CODES.omsMethodNotAllowed, m,
      `model ${m.name}: signed with the OMS ${oms.method} method, which rule "${rule.name}" does not accept (oms.methods: ${rule.oms.methods.join(', ') || 'none'})`,
    ));
  if (oms.allowSymlinks)
    out.push(modelProblem(CODES.omsSymlinksAllowed, m,
      `model ${m.name}: its OMS bundle was signed with allow_symlinks: true (a link can point outside the model): re-sign without --allow_symlinks`,
    ));
  const extra = oms.ignorePaths.filter((p) => !rule.oms.ignorePaths.includes(p));
  if (extra.length > 0)
    out.push(modelProblem(CODES.omsIgnorePathNotAllowed, m,
      `model ${m.name}: its OMS bundle leaves ${extra.slice(0, 5).map((p) => JSON.stringify(p)).join(', ')} unsigned (ignore_paths), which rule "${rule.name}" does not allow (oms.ignorePaths): re-sign without --ignore-paths, or add the path to the rule`,
    ));
  return out;
}

export const checkOms: Check = (rule, { models }) => models.flatMap((m) => omsProblems(rule, m));

// ---- time

function badTimestamp(m: VerifiedModel, field: string, value: string): Problem {
  return modelProblem(CODES.badTimestamp, m,
    `model ${m.name}: ${field} "${value}" is not an RFC 3339 time: re-sign it`,
  );
}

/** A model without a signing time (an OMS key-method bundle): only a maxAge needs one. */
function unknownAgeProblems(rule: Rule, m: VerifiedModel): Problem[] {
  if (rule.maxAgeSeconds === 0) return [];
  return [
    modelProblem(CODES.ageUnsigned, m,
      `model ${m.name}: its ${m.format === 'oms' ? `OMS ${m.oms?.method ?? ''}-method bundle` : 'manifest'} carries no signed signing time, so rule "${rule.name}" cannot enforce its maxAge: OMS key- and certificate-method bundles sign no time (a certificate's notBefore dates the certificate, not the signature): drop maxAge for this rule, or sign as v2`,
    ),
  ];
}

function ageProblems(rule: Rule, m: VerifiedModel, now: number): Problem[] {
  if (m.signedAt === undefined) return unknownAgeProblems(rule, m);
  const signed = parseTimestamp(m.signedAt, false);
  if (signed === undefined) {
    return [badTimestamp(m, 'signedAt', m.signedAt)];
  }
  if (signed > now + CLOCK_SKEW_SECONDS * 1000) {
    return [
      modelProblem(CODES.signedInFuture, m,
        `model ${m.name}: signed at ${m.signedAt}, in the future: check the signing host's clock and re-sign`,
      ),
    ];
  }
  if (rule.maxAgeSeconds > 0 && m.format === 'v1') {
    // v1 signs only the file hash: anyone can rewrite signed_at, so an age limit cannot rest on it.
    return [
      modelProblem(CODES.ageUnsigned, m,
        `model ${m.name}: a v1 manifest's signed_at is not covered by its signature, so rule "${rule.name}" cannot enforce its maxAge: re-sign with --format v2`,
      ),
    ];
  }
  if (rule.maxAgeSeconds > 0 && now - signed > rule.maxAgeSeconds * 1000) {
    const days = Math.floor((now - signed) / 86_400_000);
    return [
      modelProblem(CODES.tooOld, m,
        `model ${m.name}: signed ${days} days ago, older than rule "${rule.name}" allows (${rule.maxAgeSeconds}s): re-verify and re-sign it`,
      ),
    ];
  }
  return [];
}

function expiryProblems(m: VerifiedModel, now: number): Problem[] {
  if (m.expiresAt === undefined) return [];
  const expires = parseTimestamp(m.expiresAt, false);
  if (expires === undefined) {
    return [badTimestamp(m, 'expiresAt', m.expiresAt)];
  }
  if (expires > now) return [];
  return [
    modelProblem(CODES.expired, m,
      `model ${m.name}: manifest expired at ${m.expiresAt}: re-sign it with a later expiresAt`,
    ),
  ];
}

export const checkAge: Check = (rule, { models, now }) =>
  models.flatMap((m) => [...ageProblems(rule, m, now.getTime()), ...expiryProblems(m, now.getTime())]);

// ---- model bytes: the init container that re-hashes them at pod start

/** The verify images a rule trusts: its `verifyImages`, or the official image when it names none. */
function verifyImagesOf(rule: Rule): readonly string[] {
  return rule.verifyImages.length > 0 ? rule.verifyImages : OFFICIAL_VERIFY_IMAGES;
}

function imageTrusted(rule: Rule, step: VerifyStep): boolean {
  return anyGlobMatches(verifyImagesOf(rule), step.image);
}

/** Why a step that looks like a verify step does not count: its image, or its form. */
function whyNotCounted(rule: Rule, step: VerifyStep): Problem[] {
  if (!imageTrusted(rule, step))
    return [
      problem(
        CODES.verifyInitMissing,
        `${step.path}.image`,
        `init container "${step.container}" (${step.path}.image) runs "${step.image}", not a verify image rule "${rule.name}" trusts: use an image matching ${verifyImagesOf(rule).join(' or ')}`,
      ),
    ];
  return step.problems;
}

function missingStep(rule: Rule, names: string, specPath: string): Problem {
  return problem(
    CODES.verifyInitMissing,
    `${specPath}.initContainers`,
    `model ${names}: no "modelgate verify" init container with an image matching ${verifyImagesOf(rule).join(' or ')} checks the model bytes: add one running verify <file> --sha256 <hash> for each model file, with the model volume mounted readOnly`,
  );
}

function unpinnedFiles(models: VerifiedModel[], counted: VerifyStep[], path: string): Problem[] {
  const pinned = new Set(counted.flatMap((s) => s.files.map((f) => f.sha256)));
  return models.flatMap((m) =>
    m.files
      .filter((f) => !pinned.has(f.sha256.toLowerCase()))
      .map((f) =>
        problem(
          CODES.verifyInitNotPinned,
          path,
          `model ${m.name}: file ${f.path} (sha256 ${f.sha256}) is not pinned by the modelgate verify init container: add the file's path and --sha256 ${f.sha256} to its args`,
        ),
      ),
  );
}

/**
 * An OMS model counts only with the OMS form of the step: per-file `--sha256` pins bind bytes, not
 * the signed file list (no unsigned extra file beside them, no path), and cannot check shards.
 */
function unpinnedOms(models: VerifiedModel[], path: string): Problem[] {
  return models
    .filter((m) => m.oms !== undefined)
    .map((m) =>
      problem(
        CODES.verifyInitNotPinned,
        path,
        `model ${m.name}: an OMS model is re-checked whole (every signed file or shard, no unsigned extra file) only by the OMS form of the verify step: verify <model volume mountPath> --oms-bundle <bundle file> --oms-payload-sha256 ${m.oms?.payloadSha256 ?? ''}`,
      ),
    );
}

export const checkVerifyInit: Check = (rule, { models, workload }) => {
  if (!rule.requireVerifyInit || models.length === 0) return [];
  const specPath = `${workload.templatePath === '' ? '' : `${workload.templatePath}.`}spec`;
  const counted = workload.verifySteps.filter((s) => s.problems.length === 0 && imageTrusted(rule, s));
  const names = models.map((m) => m.name).join(', ');
  const uncounted = workload.verifySteps
    .filter((s) => !counted.includes(s))
    .flatMap((s) => whyNotCounted(rule, s))
    .map((p) => ({ ...p, message: `model ${names}: ${p.message}` }));
  if (counted.length === 0) return uncounted.length > 0 ? uncounted : [missingStep(rule, names, specPath)];
  const at = counted[0]?.path ?? `${specPath}.initContainers`;
  // An OMS model is pinned whole by the OMS form of the step (its payload's sha256); else file by file.
  const payloads = new Set(counted.flatMap((s) => (s.oms ? [s.oms.payloadSha256] : [])));
  const rest = models.filter((m) => m.oms === undefined || !payloads.has(m.oms.payloadSha256));
  const unpinned = [...unpinnedFiles(rest.filter((m) => m.oms === undefined), counted, at), ...unpinnedOms(rest, at)];
  const volumes = modelVolumeProblems(workload.podSpec, specPath, counted, {
    shared: rule.sharedModelVolumes,
  });
  return [...unpinned, ...(unpinned.length > 0 ? uncounted : []), ...volumes];
};

// ---- labels and signed claims

function requiredLabelProblems(rule: Rule, labels: Record<string, string>): Problem[] {
  return rule.requiredLabels.flatMap((req) => {
    const value = labels[req.name];
    const allowed = req.values.length > 0 ? ` (one of: ${req.values.join(', ')})` : '';
    if (value === undefined || value === '') {
      return [
        problem(
          CODES.labelMissing,
          labelPath(req.name),
          `workload lacks label ${req.name}${allowed}, required by rule "${rule.name}": add it`,
        ),
      ];
    }
    if (req.values.length === 0 || req.values.includes(value)) return [];
    return [
      problem(
        CODES.labelValueNotAllowed,
        labelPath(req.name),
        `label ${req.name}="${value}" is not allowed by rule "${rule.name}": use one of: ${req.values.join(', ')}`,
      ),
    ];
  });
}

function labelClaimPairs(rule: Rule): { label: string; claim: string }[] {
  const fromRule = rule.requiredLabels.flatMap((req) =>
    req.claim ? [{ label: req.name, claim: req.claim }] : [],
  );
  const pairs = [...DEFAULT_LABEL_CLAIMS, ...fromRule];
  return pairs.filter((p, i) => pairs.findIndex((q) => q.label === p.label && q.claim === p.claim) === i);
}

function claimText(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number')
    return String(value);
  return undefined;
}

function contradictions(pair: { label: string; claim: string }, ctx: RuleContext): Problem[] {
  const value = ctx.workload.labels[pair.label];
  if (value === undefined) return [];
  return ctx.models.flatMap((m) => {
    const claimed = claimText(m.claims[pair.claim]);
    if (claimed === undefined || claimed === value) return [];
    return [
      problem(
        CODES.labelContradictsClaim,
        labelPath(pair.label),
        `model ${m.name}: label ${pair.label}="${value}" contradicts the signed claim ${pair.claim}="${claimed}": set the label to "${claimed}" (labels never override signed claims)`,
      ),
    ];
  });
}

/** Every label name the policy reads: to select workloads, to require, to compare with claims. */
export function labelsPolicyReads(policy: Policy): ReadonlySet<string> {
  const known = READ_LABELS.get(policy);
  if (known) return known;
  const names = new Set<string>(Object.values(LABELS));
  for (const rule of policy.rules) {
    for (const name of Object.keys(rule.match.labels)) names.add(name);
    for (const req of rule.requiredLabels) names.add(req.name);
    for (const pair of labelClaimPairs(rule)) names.add(pair.label);
    for (const { program } of [...rule.variables, ...rule.validations]) for (const l of program.labels) names.add(l);
  }
  READ_LABELS.set(policy, names);
  return names;
}

/** Per loaded policy: asked twice per UPDATE (classify, checkLabels), the same answer each time. */
const READ_LABELS = new WeakMap<Policy, ReadonlySet<string>>();

/** A label the policy reads must say the same on the workload as on the pods it makes. */
function labelConflictProblems({ workload, policy }: RuleContext): Problem[] {
  const read = labelsPolicyReads(policy);
  return workload.labelConflicts
    .filter((c) => read.has(c.name))
    .map((c) =>
      problem(
        CODES.labelContradictsTemplate,
        c.outer.path,
        `label ${c.name} is "${c.outer.value}" at ${c.outer.path} but "${c.inner.value}" at ${c.inner.path}, which the pods carry: set one value (a label above the pod template may add to its labels, never contradict them)`,
      ),
    );
}

/**
 * A model-reference annotation must say the same at every level: the decision reads the
 * workload's, the pods carry the template's, so a second value would never be verified.
 */
function annotationConflictProblems({ workload }: RuleContext): Problem[] {
  return workload.annotationConflicts.map((c) =>
    problem(
      CODES.annotationContradictsTemplate,
      c.outer.path,
      `annotation ${c.name} at ${c.outer.path} differs from the one at ${c.inner.path}, which the pods carry: set it once, or the same on both (only one of them would be verified)`,
    ),
  );
}

export const checkLabels: Check = (rule, ctx) => [
  ...annotationConflictProblems(ctx),
  ...labelConflictProblems(ctx),
  ...requiredLabelProblems(rule, ctx.workload.labels),
  ...labelClaimPairs(rule).flatMap((pair) => contradictions(pair, ctx)),
];

// ---- pipeline facts: scan, approvals, requester, source

/** A rule that needs a signed pipeline fact an OMS bundle cannot carry: said, never guessed. */
function claimUnavailable(rule: Rule, m: VerifiedModel, fact: string, setting: string): Problem {
  return modelProblem(CODES.claimUnavailable, m,
    `model ${m.name}: rule "${rule.name}" (${setting}) needs a signed ${fact}, which an OMS bundle does not carry: sign a modelgate v2 manifest with that claim, or use a rule without ${setting} for OMS models`,
  );
}

function scanProblem(rule: Rule, m: VerifiedModel): Problem | undefined {
  if (m.claims.scan === 'passed') return undefined;
  if (m.format === 'oms') return claimUnavailable(rule, m, 'scan result', 'requireScanPassed');
  const why =
    m.format === 'v1'
      ? 'a v1 manifest carries no signed scan result: sign a v2 manifest with claims.scan "passed"'
      : m.claims.scan === undefined
        ? 'the manifest has no signed scan result: re-sign it with claims.scan "passed" after the security scan'
        : `the signed scan result is "${m.claims.scan}": fix the findings, re-scan and re-sign`;
  return modelProblem(CODES.scanNotPassed, m, `model ${m.name}: ${why}`);
}

export const checkScan: Check = (rule, { models }) =>
  rule.requireScanPassed ? models.flatMap((m) => scanProblem(rule, m) ?? []) : [];

interface Approvals {
  names: string[];
  from: 'claims.approvers' | typeof APPROVED_BY | 'nowhere';
}

/** Signed approvers when the manifest has them; else the unsigned annotation, if the rule allows it. */
function approvalsOf(rule: Rule, m: VerifiedModel, workload: Workload): Approvals {
  const signed = m.claims.approvers;
  if (Array.isArray(signed))
    return { names: signed.filter((a) => typeof a === 'string'), from: 'claims.approvers' };
  if (rule.approvals.allowAnnotation !== false) return { names: workload.approvers, from: APPROVED_BY };
  return { names: [], from: 'nowhere' };
}

function countApprovals(rule: Rule, names: string[], user: Requester): number {
  const requester = user.username.toLowerCase();
  const distinct = new Set(names.map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
  if (rule.approvals.forbidRequester) distinct.delete(requester);
  return distinct.size;
}

export const checkApprovals: Check = (rule, { models, workload, user }) => {
  const min = rule.approvals.min;
  if (min === 0) return [];
  return models.flatMap((m) => {
    const approvals = approvalsOf(rule, m, workload);
    const count = countApprovals(rule, approvals.names, user);
    if (count >= min) return [];
    if (m.format === 'oms' && approvals.from === 'nowhere')
      return [claimUnavailable(rule, m, 'list of approvers', 'approvals.min with allowAnnotation: false')];
    const own = rule.approvals.forbidRequester ? `, the requester's own approval does not count` : '';
    return [
      modelProblem(CODES.approvalsInsufficient, m,
        `model ${m.name}: ${count} of ${min} required distinct approvals (from ${approvals.from}${own}): get ${min - count} more approver(s) and re-sign with claims.approvers`,
      ),
    ];
  });
};

export const checkRequester: Check = (rule, { user, models }) => {
  if (rule.allowedRequesters.length === 0 || anyPrincipalMatches(rule.allowedRequesters, user)) return [];
  const names = models.map((m) => m.name).join(', ') || 'this workload';
  return [
    problem(
      CODES.requesterNotAllowed,
      'userInfo.username',
      `model ${names}: "${user.username}" may not deploy under rule "${rule.name}": deploy through the CI/CD pipeline (allowed: ${rule.allowedRequesters.join(', ')})`,
    ),
  ];
};

export const checkSource: Check = (rule, { models }) => {
  if (rule.allowedSources.length === 0) return [];
  return models.flatMap((m) => {
    if (m.source !== undefined && rule.allowedSources.some((prefix) => m.source?.startsWith(prefix)))
      return [];
    if (m.format === 'oms') return [claimUnavailable(rule, m, 'model source', 'allowedSources')];
    const what =
      m.source === undefined
        ? `a ${m.format} manifest carries no signed source`
        : `source "${m.source}" is not allowed`;
    return [
      modelProblem(CODES.sourceNotAllowed, m,
        `model ${m.name}: ${what} by rule "${rule.name}": publish it from one of: ${rule.allowedSources.join(', ')}`,
      ),
    ];
  });
};

// ---- who may deploy what, and what customer-facing models must carry

function classificationOf(m: VerifiedModel, workload: Workload): string | undefined {
  const claimed = m.claims.dataClassification;
  return typeof claimed === 'string' ? claimed : workload.labels[LABELS.dataClassification];
}

export const checkClassificationAccess: Check = (rule, { models, workload, user }) =>
  models.flatMap((m) => {
    const classification = classificationOf(m, workload);
    const groups = classification === undefined ? undefined : rule.classificationAccess[classification];
    if (groups === undefined || groups.some((g) => user.groups.includes(g))) return [];
    return [
      modelProblem(CODES.classificationAccessDenied, m,
        `model ${m.name}: classified "${classification}", which only members of ${groups.join(', ') || '(no group)'} may deploy: ask one of them to deploy it`,
      ),
    ];
  });

export const checkExplainability: Check = (rule, { models, workload }) => {
  if (!rule.requireExplainabilityWhenCustomerFacing) return [];
  const labelled = workload.labels[LABELS.customerFacing] === 'true';
  return models.flatMap((m) => {
    const customerFacing = labelled || m.claims.customerFacing === true;
    const report = m.claims.explainabilityReport;
    if (!customerFacing || (typeof report === 'string' && report !== '')) return [];
    if (m.format === 'oms')
      return [claimUnavailable(rule, m, 'explainability report', 'requireExplainabilityWhenCustomerFacing')];
    return [
      modelProblem(CODES.explainabilityMissing, m,
        `model ${m.name}: customer-facing but its manifest has no signed claims.explainabilityReport: attach the report and re-sign`,
      ),
    ];
  });
};

// ---- CEL validations (docs/policy.md#validations-cel): compiled at load, run here with the verified facts

export const checkValidations: Check = (rule, { request, workload, models, now }) =>
  rule.validations.length === 0
    ? []
    : runValidations(rule.name, rule, buildInputs({ request, workload, models, now }));

/** Every check, in the order their problems are reported. */
export const CHECKS: readonly Check[] = [
  checkKeys,
  checkV1Allowed,
  checkOms,
  checkAge,
  checkVerifyInit,
  checkLabels,
  checkScan,
  checkApprovals,
  checkRequester,
  checkSource,
  checkClassificationAccess,
  checkExplainability,
  checkValidations,
];

function annotationApprovalWarnings(rule: Rule, { models, workload }: RuleContext): string[] {
  if (rule.approvals.min === 0) return [];
  return models
    .filter((m) => approvalsOf(rule, m, workload).from === APPROVED_BY)
    .map(
      (m) =>
        `model ${m.name}: approvals come from the unsigned annotation ${APPROVED_BY}: sign them into claims.approvers`,
    );
}

/** Apply one rule: the problems that make it fail, and warnings that do not. */
export function evaluateRule(rule: Rule, ctx: RuleContext): RuleOutcome {
  return {
    violations: CHECKS.flatMap((check) => check(rule, ctx)),
    warnings: annotationApprovalWarnings(rule, ctx),
  };
}

/**
 * Break glass: a member of the policy's break-glass group who sets its annotation to a non-empty
 * reason gets past a denial (the decision engine still records it). Otherwise undefined.
 */
export function breakGlassOverride(
  policy: Policy,
  user: Requester,
  annotations: Record<string, string>,
): { reason: string } | undefined {
  const breakGlass = policy.breakGlass;
  if (breakGlass === undefined || !user.groups.includes(breakGlass.group)) return undefined;
  const reason = annotations[breakGlass.annotation]?.trim();
  return reason ? { reason } : undefined;
}
