import { requestFor, RESOURCES } from '../admission/request.js';
import type { AdmissionRequest, UserInfo } from '../admission/types.js';
import type { AdmissionPlan } from '../decision/plan.js';
import type { Decision, ModelSummary, Reason } from '../decision/types.js';
import { located } from '../decision/message.js';
import { isObject, type Obj } from '../json/object.js';
import { CODES } from '../policy/rules.js';

/**
 * The background scanner's view of one running workload: the admission decision made anew on
 * the object as it is stored, kept small (no object, no template) so that memory grows with
 * the number of workloads, not with their size. Pure.
 */

/** PolicyReport result values (wgpolicyk8s.io/v1alpha2) modelgate writes. */
export type ScanVerdict = 'pass' | 'fail' | 'warn';

export interface WorkloadResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  rule: string;
  result: ScanVerdict;
  /** Problems, as the admission log records them; empty when it passes. */
  reasons: Reason[];
  models: ModelSummary[];
  /** When the clock alone can change the result (epoch ms). */
  validUntil?: number;
}

/**
 * Who the scanner decides as. A workload's creator is not stored in the object, so the checks
 * about who deployed (allowedRequesters, classificationAccess) were answered at admission and
 * cannot be asked again: their problems are left out of scan results (REQUESTER_CODES).
 */
export const SCANNER_USER: UserInfo = { username: 'modelgate:background-scan', groups: [] };

/** Problems that depend only on who sent the request, not on what runs. */
const REQUESTER_CODES: ReadonlySet<string> = new Set([
  CODES.requesterNotAllowed,
  CODES.classificationAccessDenied,
]);

/**
 * The request the scanner decides for a stored object: a CREATE as if the object were applied
 * now, dry-run (so the decision carries no Event: an unchanged result says nothing new), by
 * SCANNER_USER. Not an UPDATE: "the template did not change" must not skip re-verification.
 */
export function scanRequest(object: Obj, uid: string): AdmissionRequest {
  return requestFor(object, { userInfo: SCANNER_USER, operation: 'CREATE', dryRun: true, uid });
}

/** The API path that lists `kind` in every namespace, e.g. /apis/apps/v1/deployments. */
export function collectionPath(kind: string): string {
  const where = RESOURCES[kind];
  if (!where) throw new Error(`not a pod-creating kind: ${kind}`);
  return where.group ? `/apis/${where.group}/v1/${where.resource}` : `/api/v1/${where.resource}`;
}

/** The result for a planned and decided object; undefined when the policy leaves it out of scope. */
export function resultOf(plan: AdmissionPlan, decision: Decision): WorkloadResult | undefined {
  const c = plan.classification;
  if (c.kind === 'skip') return undefined;
  const { record } = decision;
  const reasons = record.reasons.filter((r) => !REQUESTER_CODES.has(r.code));
  const result: WorkloadResult = {
    apiVersion: apiVersionOf(plan.request),
    kind: record.kind,
    namespace: record.namespace,
    name: record.name,
    uid: plan.request.uid,
    rule: record.rule ?? '',
    result: verdictOf(reasons, record.mode),
    reasons,
    models: record.models,
  };
  if (decision.validUntil) result.validUntil = decision.validUntil.getTime();
  return result;
}

function verdictOf(reasons: readonly Reason[], mode: string): ScanVerdict {
  if (reasons.length === 0) return 'pass';
  // A warn-mode rule admits with warnings; enforce and audit rules would not pass it.
  return mode === 'warn' ? 'warn' : 'fail';
}

function apiVersionOf(request: AdmissionRequest): string {
  const { group, version } = request.kind;
  return group ? `${group}/${version}` : version;
}

/** One line: the first problem, located, and how many more; or the verified models. */
export function messageOf(r: WorkloadResult): string {
  const [first] = r.reasons;
  if (first) {
    const more = r.reasons.length > 1 ? ` (and ${r.reasons.length - 1} more)` : '';
    return `${located(first)}${more}`;
  }
  const models = r.models.map((m) => `${m.name} (key ${m.keyId})`).join(', ');
  return models ? `verified: ${models}` : 'verified';
}

/**
 * The uid of the controller that owns `object`, if any. The scanner decides a workload's
 * owner instead of the objects its controller makes from the admitted template, but only when
 * that owner was itself listed (ownerReferences are written by whoever creates the object: a
 * Pod claiming a ReplicaSet that does not exist is decided as itself).
 */
export function controllerUid(object: Obj): string | undefined {
  const meta = isObject(object.metadata) ? object.metadata : {};
  const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  for (const ref of refs) {
    if (isObject(ref) && ref.controller === true && typeof ref.uid === 'string') return ref.uid;
  }
  return undefined;
}

/** Owners listed before the objects they make: Deployments before ReplicaSets before Pods. */
export const SCAN_ORDER: readonly string[] = [
  'Deployment',
  'CronJob',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'Pod',
];
