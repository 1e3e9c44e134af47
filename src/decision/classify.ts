import { isDeepStrictEqual } from 'node:util';
import type { AdmissionRequest } from '../admission/types.js';
import { isController, isExemptNamespace, selectRule, type WorkloadSelector } from '../policy/match.js';
import { labelsPolicyReads } from '../policy/rules.js';
import type { Policy, Rule } from '../policy/types.js';
import { extractWorkload, metadataLevels } from '../workload/extract.js';
import { isPodCreatingKind, TEMPLATE_PATHS } from '../workload/kinds.js';
import { ANNOTATIONS, LABELS, PREFIX } from '../vocabulary/keys.js';
import type { Problem } from '../manifest/types.js';
import { getPath, isObject, stringMap } from '../json/object.js';
import type { Workload } from '../workload/types.js';

/** Why a request needs no verification; each is decided before any verification work. */
export type SkipReason =
  | 'operation-not-checked'
  | 'subresource-not-checked'
  | 'kind-not-checked'
  | 'namespace-exempt'
  | 'not-inference'
  | 'controller-request'
  | 'template-unchanged';

export type Classification =
  | { kind: 'skip'; reason: SkipReason; workload?: Workload }
  | { kind: 'invalid'; message: string }
  | {
      kind: 'check';
      workload: Workload;
      rule: Rule;
      ephemeral: boolean;
      /** Found while classifying, before any verification (e.g. pods that would carry no mark). */
      problems: Problem[];
    }
  /** Refused without verification: what the request does is never allowed on an inference pod. */
  | { kind: 'refuse'; workload: Workload; rule: Rule; problem: Problem };

/**
 * Decides whether a request is in scope. Cheap and pure: deletes, status and scale updates,
 * controllers acting on admitted templates and metadata-only updates exit here (under a rule
 * with validations, only updates that change nothing the requester wrote).
 */
export function classifyRequest(request: AdmissionRequest, policy: Policy): Classification {
  const pre = preCheck(request);
  if (pre) return { kind: 'skip', reason: pre };
  const workload = extractWorkload(request.kind.kind, request.object, request.namespace);
  if (!workload) return { kind: 'invalid', message: `${request.kind.kind} has no object to check` };
  if (isExemptNamespace(policy, workload.namespace))
    return { kind: 'skip', reason: 'namespace-exempt', workload };
  const rule = ruleFor(policy, workload);
  if (isControllerRequest(request, policy)) return { kind: 'skip', reason: 'controller-request', workload };
  const removal = markRemoval(request, policy, workload);
  if (removal) return removal;
  if (!rule) return { kind: 'skip', reason: 'not-inference', workload };
  const ephemeral = request.subResource === 'ephemeralcontainers';
  if (!ephemeral && unchangedUpdate(request, policy, rule)) {
    return { kind: 'skip', reason: 'template-unchanged', workload };
  }
  const unmarked = ephemeral ? undefined : unmarkedPods(request, policy, workload);
  return { kind: 'check', workload, rule, ephemeral, problems: unmarked ? [unmarked] : [] };
}

/**
 * The pods a workload makes must be recognisable as inference pods from themselves (`kubectl
 * debug`, pod updates are decided from the pod): the same rule must select its pod template alone,
 * without the labels and annotations that sit only on the workload.
 */
function unmarkedPods(request: AdmissionRequest, policy: Policy, workload: Workload): Problem | undefined {
  const path = TEMPLATE_PATHS[workload.kind] ?? [];
  if (path.length === 0) return undefined;
  const pod = extractWorkload('Pod', getPath(request.object, path), workload.namespace);
  if (pod && selectRule(policy, { ...selectorOf(pod), kind: workload.kind })) return undefined;
  const at = `${path.join('.')}.metadata.labels`;
  return {
    code: 'pods-unmarked',
    path: at,
    message: `the pods of this ${workload.kind} would not show they run a verified model (${LABELS.inference} or the manifest sits only on the ${workload.kind} itself): add ${LABELS.inference}: "true" to ${at}`,
  };
}

/** The rule that governs a workload: selected by its pods' labels, its images, or the model it declares. */
function ruleFor(policy: Policy, workload: Workload): Rule | undefined {
  return selectRule(policy, selectorOf(workload));
}

function selectorOf(workload: Workload): WorkloadSelector {
  return {
    namespace: workload.namespace,
    kind: workload.kind,
    labels: workload.labels,
    images: workload.containers.map((c) => c.image),
    declaresModel: workload.refs.length > 0 || workload.verifySteps.length > 0,
  };
}

/** What marks a pod as running a verified model: the label, model annotations, verify steps. */
function marksOf(w: Workload): string[] {
  const model = [ANNOTATIONS.manifest, ANNOTATIONS.manifestConfigMap, ANNOTATIONS.manifestVolume];
  return [
    ...(w.labels[LABELS.inference] === 'true' ? [`label ${LABELS.inference}`] : []),
    ...model.filter((k) => w.annotations[k] !== undefined).map((k) => `annotation ${k}`),
    ...w.verifySteps.map((s) => `init container "${s.container}"`),
  ];
}

/**
 * A Pod UPDATE that takes away any mark of an inference pod (its label, a model annotation): the
 * pod keeps running the model it was admitted with, and what else relies on the mark (kubectl debug
 * checks, NetworkPolicies, Services) must keep seeing it. Refused under the pod's former rule.
 */
function markRemoval(
  request: AdmissionRequest,
  policy: Policy,
  workload: Workload,
): Classification | undefined {
  if (request.kind.kind !== 'Pod' || request.operation !== 'UPDATE') return undefined;
  const before = extractWorkload('Pod', request.oldObject, request.namespace);
  const rule = before && ruleFor(policy, before);
  if (!rule) return undefined;
  const now = new Set(marksOf(workload));
  const lost = marksOf(before).filter((m) => !now.has(m));
  if (lost.length === 0) return undefined;
  const problem: Problem = {
    code: 'inference-mark-removed',
    path: 'metadata',
    message: `this update removes what marks pod ${workload.namespace}/${workload.name} as an inference pod (${lost.join(', ')}): keep it; to change the pod, change its workload`,
  };
  return { kind: 'refuse', workload, rule, problem };
}

function preCheck(request: AdmissionRequest): SkipReason | undefined {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return 'operation-not-checked';
  if (request.subResource && request.subResource !== 'ephemeralcontainers') return 'subresource-not-checked';
  if (!isPodCreatingKind(request.kind.kind)) return 'kind-not-checked';
  return undefined;
}

/**
 * The cluster's own controllers make ReplicaSets, Pods and Jobs from templates that were
 * admitted already. Who they are comes from the authenticated userInfo, never from
 * ownerReferences, which anyone creating a Pod can write.
 */
function isControllerRequest(request: AdmissionRequest, policy: Policy): boolean {
  return isController(policy, { username: request.userInfo.username, groups: request.userInfo.groups ?? [] });
}

/** An UPDATE is re-verified when the pod template or anything modelgate reads changed. */
function modelOrTemplateChanged(request: AdmissionRequest, policy: Policy): boolean {
  const path = TEMPLATE_PATHS[request.kind.kind] ?? [];
  const template = (o: unknown): unknown => (path.length === 0 ? getPath(o, ['spec']) : getPath(o, path));
  if (!isObject(request.oldObject)) return true;
  if (!isDeepStrictEqual(template(request.object), template(request.oldObject))) return true;
  const read = labelsPolicyReads(policy);
  // Every level above the template too (a CronJob's job template carries labels of its own).
  return metadataLevels(path).some(
    (level) =>
      !isDeepStrictEqual(
        checkedMetadata(getPath(request.object, level), read),
        checkedMetadata(getPath(request.oldObject, level), read),
      ),
  );
}

/** An UPDATE that changes nothing any check of the rule reads. */
function unchangedUpdate(request: AdmissionRequest, policy: Policy, rule: Rule): boolean {
  return (
    request.operation === 'UPDATE' &&
    !modelOrTemplateChanged(request, policy) &&
    !validatedObjectChanged(request, rule)
  );
}

/**
 * Metadata the API server (managedFields, resourceVersion, generation) and the garbage collector
 * (ownerReferences, finalizers; the generic-garbage-collector is no controller the policy names)
 * change on objects already admitted: re-checking them would block a deletion on a manifest that
 * expired since, and no validation decides on them.
 */
const NOT_VALIDATED = new Set([
  'managedFields',
  'resourceVersion',
  'generation',
  'ownerReferences',
  'finalizers',
]);

/**
 * A rule's CEL validations read the whole object (`object.spec.replicas`, any annotation, labels
 * by computed names), not only the pod template: under such a rule an UPDATE that changes
 * anything the requester wrote is checked again, as a ValidatingAdmissionPolicy would be.
 */
function validatedObjectChanged(request: AdmissionRequest, rule: Rule): boolean {
  if (rule.validations.length === 0) return false;
  return !isDeepStrictEqual(written(request.object), written(request.oldObject));
}

function written(object: unknown): unknown {
  if (!isObject(object) || !isObject(object.metadata)) return object;
  const metadata = Object.fromEntries(Object.entries(object.metadata).filter(([k]) => !NOT_VALIDATED.has(k)));
  return { ...object, metadata };
}

/** The metadata decisions read: modelgate.dev/* annotations and labels, and every label the policy reads. */
function checkedMetadata(object: unknown, ruleLabels: ReadonlySet<string>): Record<string, string> {
  if (object === undefined) return {};
  const pick = (m: Record<string, string>, prefix: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(m)
        .filter(([k]) => k.startsWith(PREFIX) || ruleLabels.has(k))
        .map(([k, v]) => [prefix + k, v]),
    );
  return {
    ...pick(stringMap(getPath(object, ['metadata', 'annotations'])), 'a:'),
    ...pick(stringMap(getPath(object, ['metadata', 'labels'])), 'l:'),
  };
}
