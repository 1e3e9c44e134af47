import { OMS_METHODS } from '../oms/types.js';
import type { Policy, Rule } from './types.js';

/**
 * What model_signing leaves unsigned by default: git's files and its own signature file when it
 * lies in the model directory (model.sig). A bundle ignoring anything else needs the rule to say so.
 */
export const DEFAULT_OMS_IGNORE_PATHS: readonly string[] = ['.git', '.github', '.gitattributes', '.gitignore', 'model.sig'];

/** How far in the future a signedAt may lie before it is refused (clock skew between CI and cluster). */
export const CLOCK_SKEW_SECONDS = 5 * 60;

/** Kinds that run pods: the only ones a rule may name. */
export const POD_KINDS = [
  'Deployment',
  'Pod',
  'ReplicaSet',
  'ReplicationController',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
] as const;

/**
 * The kube-controller-manager's identities: they create ReplicaSets, Pods and Jobs from templates
 * the webhook already admitted on their owner (see DESIGN "Which objects are checked").
 */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'system:kube-controller-manager',
  'system:serviceaccount:kube-system:replicaset-controller',
  // ClientOrDie("replication-controller") in kube-controller-manager's core.go (v1.36)
  'system:serviceaccount:kube-system:replication-controller',
  'system:serviceaccount:kube-system:deployment-controller',
  'system:serviceaccount:kube-system:statefulset-controller',
  'system:serviceaccount:kube-system:daemon-set-controller',
  'system:serviceaccount:kube-system:job-controller',
  'system:serviceaccount:kube-system:cronjob-controller',
];

/**
 * The verify images a rule trusts when it names none: the project's own, by tag or digest. A
 * name alone is not proof (anyone can push "evil.example/modelgate"); pin yours by digest.
 */
export const OFFICIAL_VERIFY_IMAGES: readonly string[] = [
  'ghcr.io/modelgate/modelgate:*',
  'ghcr.io/modelgate/modelgate@sha256:*',
];

/** A rule with every field at its default; a policy file only states what differs. */
export function defaultRule(name = 'default'): Rule {
  return {
    name,
    mode: 'enforce',
    match: { namespaces: [], excludeNamespaces: [], kinds: [], images: [], labels: {} },
    trustedKeys: [],
    allowV1: true,
    maxAgeSeconds: 0,
    requireVerifyInit: true,
    verifyImages: [],
    sharedModelVolumes: false,
    requiredLabels: [],
    requireScanPassed: false,
    approvals: { min: 0, forbidRequester: true, allowAnnotation: true },
    allowedRequesters: [],
    allowedSources: [],
    classificationAccess: {},
    requireExplainabilityWhenCustomerFacing: false,
    variables: [],
    validations: [],
    oms: { methods: [...OMS_METHODS], ignorePaths: [...DEFAULT_OMS_IGNORE_PATHS] },
  };
}

/**
 * The behaviour with no policy file: one rule "default" for every namespace and kind, enforcing,
 * v1 accepted (the decision engine warns about it), every loaded non-revoked key trusted, and only
 * workloads labelled modelgate.dev/inference="true" in scope.
 */
export function defaultPolicy(): Policy {
  return {
    revokedKeys: [],
    exemptNamespaces: [],
    controllers: [...DEFAULT_CONTROLLERS],
    breakGlass: undefined,
    rules: [defaultRule()],
    omsAuthorities: [],
    source: '(built-in default policy)',
  };
}
