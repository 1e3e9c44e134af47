import { isDeepStrictEqual } from 'node:util';
import type { AdmissionRequest } from '../admission/types.js';
import { isController, isExemptNamespace, selectRule } from '../policy/match.js';
import type { Policy, Rule } from '../policy/types.js';
import { extractWorkload } from '../workload/extract.js';
import { isPodCreatingKind, TEMPLATE_PATHS } from '../workload/kinds.js';
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
  | { kind: 'check'; workload: Workload; rule: Rule; ephemeral: boolean };

/**
 * Decides whether a request is in scope. Cheap and pure: deletes, status and scale updates,
 * controllers acting on admitted templates and metadata-only updates exit here.
 */
export function classifyRequest(request: AdmissionRequest, policy: Policy): Classification {
  const pre = preCheck(request);
  if (pre) return { kind: 'skip', reason: pre };
  const workload = extractWorkload(request.kind.kind, request.object, request.namespace);
  if (!workload) return { kind: 'invalid', message: `${request.kind.kind} has no object to check` };
  if (isExemptNamespace(policy, workload.namespace))
    return { kind: 'skip', reason: 'namespace-exempt', workload };
  const images = workload.containers.map((c) => c.image);
  const rule = selectRule(policy, {
    namespace: workload.namespace,
    kind: workload.kind,
    labels: workload.labels,
    images,
  });
  if (!rule) return { kind: 'skip', reason: 'not-inference', workload };
  if (isControllerRequest(request, policy)) return { kind: 'skip', reason: 'controller-request', workload };
  const ephemeral = request.subResource === 'ephemeralcontainers';
  if (request.operation === 'UPDATE' && !ephemeral && !modelOrTemplateChanged(request, rule)) {
    return { kind: 'skip', reason: 'template-unchanged', workload };
  }
  return { kind: 'check', workload, rule, ephemeral };
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
function modelOrTemplateChanged(request: AdmissionRequest, rule: Rule): boolean {
  const path = TEMPLATE_PATHS[request.kind.kind] ?? [];
  const template = (o: unknown): unknown => (path.length === 0 ? getPath(o, ['spec']) : getPath(o, path));
  if (!isObject(request.oldObject)) return true;
  if (!isDeepStrictEqual(template(request.object), template(request.oldObject))) return true;
  const read = new Set(rule.requiredLabels.map((l) => l.name));
  return !isDeepStrictEqual(checkedMetadata(request.object, read), checkedMetadata(request.oldObject, read));
}

/** The metadata decisions read: modelgate.dev/* annotations and labels, and the labels the rule requires. */
function checkedMetadata(object: unknown, ruleLabels: ReadonlySet<string>): Record<string, string> {
  const pick = (m: Record<string, string>, prefix: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(m)
        .filter(([k]) => k.startsWith('modelgate.dev/') || ruleLabels.has(k))
        .map(([k, v]) => [prefix + k, v]),
    );
  return {
    ...pick(stringMap(getPath(object, ['metadata', 'annotations'])), 'a:'),
    ...pick(stringMap(getPath(object, ['metadata', 'labels'])), 'l:'),
  };
}
