import { LABELS } from '../vocabulary/keys.js';
import { anyGlobMatches } from './glob.js';
import { anyPrincipalMatches, type Requester } from './principals.js';
import type { Policy, Rule } from './types.js';

/** What rule selection looks at: never ownerReferences, never anything that exempts by label. */
export interface WorkloadSelector {
  namespace: string;
  kind: string;
  labels: Record<string, string>;
  /** Container images of the pod template (init and ephemeral containers included). */
  images: string[];
  /** It declares a model (manifest annotations, a verify step): whoever declares one gets it verified. */
  declaresModel?: boolean;
}

/** Exemption comes only from the operator's policy, never from labels on the workload or namespace. */
export function isExemptNamespace(policy: Policy, namespace: string): boolean {
  return anyGlobMatches(policy.exemptNamespaces, namespace);
}

/** The request comes from a cluster controller acting on a template already admitted on its owner. */
export function isController(policy: Policy, user: Requester): boolean {
  return anyPrincipalMatches(policy.controllers, user);
}

function namespaceMatches(rule: Rule, namespace: string): boolean {
  const included = rule.match.namespaces.length === 0 || anyGlobMatches(rule.match.namespaces, namespace);
  return included && !anyGlobMatches(rule.match.excludeNamespaces, namespace);
}

function kindMatches(rule: Rule, kind: string): boolean {
  return (
    rule.match.kinds.length === 0 || rule.match.kinds.some((k) => k.toLowerCase() === kind.toLowerCase())
  );
}

function labelsSelect(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const wanted = Object.entries(selector);
  return wanted.length > 0 && wanted.every(([key, value]) => labels[key] === value);
}

/**
 * An inference workload for this rule: labelled modelgate.dev/inference="true", declaring a model,
 * or selected by the rule's own selectors (any container image matching `match.images`, or every `match.labels` pair).
 */
export function isInferenceWorkload(rule: Rule, w: WorkloadSelector): boolean {
  if (w.labels[LABELS.inference] === 'true' || w.declaresModel === true) return true;
  if (w.images.some((image) => anyGlobMatches(rule.match.images, image))) return true;
  return labelsSelect(rule.match.labels, w.labels);
}

export function ruleMatches(rule: Rule, w: WorkloadSelector): boolean {
  return namespaceMatches(rule, w.namespace) && kindMatches(rule, w.kind) && isInferenceWorkload(rule, w);
}

/**
 * The rule that governs this workload: undefined when its namespace is exempt or no rule selects it
 * (not an inference workload, or outside every rule's namespaces and kinds). First match wins.
 */
export function selectRule(policy: Policy, w: WorkloadSelector): Rule | undefined {
  if (isExemptNamespace(policy, w.namespace)) return undefined;
  return policy.rules.find((rule) => ruleMatches(rule, w));
}
