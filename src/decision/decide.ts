import { allowed, denied } from '../admission/respond.js';
import { parseTimestamp } from '../manifest/fields.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { Problem, VerifiedModel } from '../manifest/types.js';
import { breakGlassOverride, evaluateRule } from '../policy/rules.js';
import type { Mode, Rule } from '../policy/types.js';
import type { Workload } from '../workload/types.js';
import type { Classification } from './classify.js';
import type { AdmissionPlan } from './plan.js';
import { describe, located, oneLine } from './message.js';
import { verifyWorkloadModels } from './models.js';
import { SIGSTORE_VERIFIER } from '../oms/methods.js';
import { eventAnnotations, modelFacts } from './summary.js';
import type { AuditRecord, Decision, DecisionFacts, DecisionOutcome, EventIntent, Reason } from './types.js';

/** What the phases below read: the plan and the facts together. */
type DecisionInput = AdmissionPlan & DecisionFacts;

/**
 * Phase two, the admission decision: a pure function of the plan (request, policy,
 * classification), the resolved manifests, the keyring and the clock.
 */
export function decideAdmission(plan: AdmissionPlan, facts: DecisionFacts): Decision {
  const input: DecisionInput = { ...plan, ...facts };
  const { request, classification } = input;
  if (classification.kind === 'invalid') {
    return finish(request, {
      outcome: 'deny',
      mode: 'none',
      problems: [invalidObject(classification.message)],
    });
  }
  if (classification.kind === 'refuse') {
    const { workload, rule, problem } = classification;
    return decideFixed(input, workload, rule, [problem]);
  }
  if (classification.kind === 'skip') {
    return finish(
      request,
      { outcome: 'allow', mode: 'none', problems: [], skip: classification.reason },
      classification.workload,
    );
  }
  return check(input, classification);
}

interface Verdict {
  outcome: DecisionOutcome;
  mode: Mode | 'none';
  problems: Problem[];
  warnings?: string[];
  models?: VerifiedModel[];
  rule?: Rule;
  skip?: string;
  breakGlass?: { user: string; reason: string };
  validUntil?: Date;
}

function check(input: DecisionInput, c: Extract<Classification, { kind: 'check' }>): Decision {
  const { request, policy, keyring, now } = input;
  const { workload, rule } = c;
  if (c.ephemeral) return decideFixed(input, workload, rule, [ephemeralProblem(workload)]);
  const findings = verifyWorkloadModels(workload, input.resolved, keyring, {
    authorities: policy.omsAuthorities,
    now,
    sigstore: SIGSTORE_VERIFIER,
  });
  const user = { username: request.userInfo.username, groups: request.userInfo.groups ?? [] };
  const evaluated = evaluateRule(rule, { workload, models: findings.models, user, now, policy, request });
  const problems = [...c.problems, ...findings.problems, ...evaluated.violations];
  const warnings = [...findings.warnings, ...evaluated.warnings.map((w) => `modelgate: ${w}`)];
  let verdict: Verdict = {
    outcome: outcomeFor(rule.mode, problems),
    mode: rule.mode,
    problems,
    warnings,
    models: findings.models,
    rule,
    validUntil: clockBound(findings.models, rule),
  };
  if (verdict.outcome === 'deny') verdict = applyBreakGlass(verdict, input, workload);
  return finish(request, verdict, workload);
}

/**
 * A request refused for what it does, not for what it runs: `kubectl debug` on an inference pod
 * (a container outside its verified template), or an update taking its marks away. Never, on an
 * inference pod, except by break-glass (and as the rule's mode says).
 */
function decideFixed(input: DecisionInput, workload: Workload, rule: Rule, problems: Problem[]): Decision {
  let verdict: Verdict = { outcome: outcomeFor(rule.mode, problems), mode: rule.mode, problems, rule };
  if (verdict.outcome === 'deny') verdict = applyBreakGlass(verdict, input, workload);
  return finish(input.request, verdict, workload);
}

function outcomeFor(mode: Mode, problems: Problem[]): DecisionOutcome {
  if (problems.length === 0) return 'allow';
  if (mode === 'enforce') return 'deny';
  return mode;
}

/** A member of the break-glass group may override a denial with a reason; it is never silent. */
function applyBreakGlass(verdict: Verdict, input: DecisionInput, workload: Workload): Verdict {
  const { userInfo } = input.request;
  const override = breakGlassOverride(
    input.policy,
    { username: userInfo.username, groups: userInfo.groups ?? [] },
    workload.annotations,
  );
  if (!override) return verdict;
  const warning = `break-glass by ${userInfo.username} ("${override.reason}") overrode: ${verdict.problems.map((p) => p.message).join('; ')}`;
  return {
    ...verdict,
    outcome: 'warn',
    warnings: [...(verdict.warnings ?? []), oneLine(`modelgate: ${warning}`)],
    breakGlass: { user: userInfo.username, reason: override.reason },
  };
}

function finish(request: AdmissionRequest, verdict: Verdict, workload?: Workload): Decision {
  const subject = describe(request, workload);
  const reasons = verdict.problems.map(reasonOf);
  const response =
    verdict.outcome === 'deny'
      ? denied(request.uid, denyMessage(subject, reasons))
      : allowed(request.uid, responseWarnings(verdict, reasons));
  const record = auditRecord(request, verdict, reasons, workload);
  const event = request.dryRun ? undefined : eventFor(verdict, record, request, workload);
  const decision: Decision = event ? { response, record, event } : { response, record };
  if (verdict.validUntil) decision.validUntil = verdict.validUntil;
  return decision;
}

/**
 * The first moment the clock alone can change this decision: a model's expiresAt, or its
 * signedAt plus the rule's maxAge (v2 and sigstore-method OMS bundles: a v1 signed_at is not
 * signed, and key/certificate-method bundles carry no signing time). The background scanner
 * re-decides then; a certificate-method bundle whose certificate expires is caught by its period.
 */
function clockBound(models: readonly VerifiedModel[], rule: Rule): Date | undefined {
  let first = Infinity;
  for (const m of models) {
    const expires = m.expiresAt === undefined ? undefined : parseTimestamp(m.expiresAt, true);
    if (expires !== undefined) first = Math.min(first, expires);
    const signed = m.format !== 'v1' && m.signedAt !== undefined ? parseTimestamp(m.signedAt, true) : undefined;
    if (rule.maxAgeSeconds > 0 && signed !== undefined)
      first = Math.min(first, signed + rule.maxAgeSeconds * 1000 + 1);
  }
  return Number.isFinite(first) ? new Date(first) : undefined;
}

/** A problem as it is recorded: its message on one line, where it is, and where its manifest came from. */
function reasonOf(p: Problem): Reason {
  const reason: Reason = {
    code: p.code,
    message: cut(oneLine(p.message), MAX_REASON),
    path: oneLine(p.path),
  };
  return p.origin === undefined ? reason : { ...reason, origin: oneLine(p.origin) };
}

function denyMessage(subject: string, reasons: Reason[]): string {
  const [first] = reasons;
  const more =
    reasons.length > 1
      ? ` (and ${reasons.length - 1} more problem${reasons.length > 2 ? 's' : ''}: see the ModelRejected Event)`
      : '';
  return oneLine(`modelgate: ${subject} denied: ${first ? located(first) : 'rejected'}${more}`);
}

function auditRecord(
  request: AdmissionRequest,
  verdict: Verdict,
  reasons: Reason[],
  workload?: Workload,
): AuditRecord {
  const record: AuditRecord = {
    uid: request.uid,
    kind: request.kind.kind,
    namespace: request.namespace ?? workload?.namespace ?? '',
    name: request.name ?? workload?.name ?? '',
    operation: request.operation,
    user: request.userInfo.username,
    groups: request.userInfo.groups ?? [],
    dryRun: request.dryRun === true,
    decision: verdict.outcome,
    mode: verdict.mode,
    reasons: verdict.skip ? [{ code: verdict.skip, message: 'not verified' }] : reasons,
    ...modelFacts(verdict.models, workload),
  };
  if (verdict.rule) record.rule = verdict.rule.name;
  if (verdict.breakGlass) record.breakGlass = verdict.breakGlass;
  return record;
}

const EVENT_FOR: Record<DecisionOutcome, Pick<EventIntent, 'reason' | 'type'> | undefined> = {
  deny: { reason: 'ModelRejected', type: 'Warning' },
  warn: { reason: 'ModelWarning', type: 'Warning' },
  audit: { reason: 'ModelWarning', type: 'Warning' },
  allow: { reason: 'ModelVerified', type: 'Normal' },
};

function eventFor(
  verdict: Verdict,
  record: AuditRecord,
  request: AdmissionRequest,
  workload?: Workload,
): EventIntent | undefined {
  if (verdict.skip || !workload) return undefined;
  const kind = EVENT_FOR[verdict.outcome];
  if (!kind) return undefined;
  const note =
    verdict.outcome === 'allow'
      ? `verified ${record.models.map((m) => `${m.name} (key ${m.keyId})`).join(', ')}`
      : record.reasons.map(located).join('; ');
  const regarding = {
    apiVersion: apiVersionOf(request),
    kind: request.kind.kind,
    namespace: record.namespace,
    name: record.name,
    ...(typeof (request.object?.metadata as { uid?: unknown } | undefined)?.uid === 'string'
      ? { uid: (request.object?.metadata as { uid: string }).uid }
      : {}),
  };
  const prefix = verdict.breakGlass ? 'break-glass: ' : '';
  const annotations = eventAnnotations(record);
  return {
    ...kind,
    note: cut(oneLine(prefix + note), MAX_EVENT_NOTE),
    regarding,
    annotations,
    action: request.operation === 'CREATE' ? 'Create' : 'Update',
  };
}

/**
 * Longest problem message recorded (the response, the audit line, the Event): messages quote what
 * the request holds (a CEL error quotes a value of the object), and the request is the attacker's.
 */
const MAX_REASON = 2048;

/** events.k8s.io/v1 refuses a note longer than 1 KiB: cut here, once, and say so. */
const MAX_EVENT_NOTE = 1024;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function apiVersionOf(request: AdmissionRequest): string {
  const { group, version } = request.kind;
  return group ? `${group}/${version}` : version;
}

function invalidObject(message: string): Problem {
  return { code: 'invalid-object', path: 'object', message };
}

function ephemeralProblem(workload: Workload): Problem {
  return {
    code: 'ephemeral-container',
    path: 'spec.ephemeralContainers',
    message: `ephemeral containers may not be added to inference pod ${workload.namespace}/${workload.name}: they run outside the verified template; use the break-glass procedure`,
  };
}

/** Warn mode shows every problem as a warning (kubectl prints them); audit mode records only. */
function responseWarnings(verdict: Verdict, reasons: Reason[]): string[] {
  if (verdict.outcome === 'audit') return [];
  const own = verdict.warnings ?? [];
  const problems =
    verdict.outcome === 'warn' && !verdict.breakGlass ? reasons.map((r) => `modelgate: ${located(r)}`) : [];
  return [...new Set([...own, ...problems].map(oneLine))];
}
