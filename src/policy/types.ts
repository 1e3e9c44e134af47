/** The policy an operator writes (YAML, see docs/policy.md), after validation and defaults. */
import type { CompiledValidation, CompiledVariable } from './cel/evaluate.js';
import type { OmsAuthority, OmsMethod } from '../oms/types.js';

export type Mode = 'enforce' | 'warn' | 'audit';

export interface LabelRequirement {
  /** Label name on the workload, e.g. "modelgate.dev/data-classification". */
  name: string;
  /** Allowed values; empty = any non-empty value. */
  values: string[];
  /** The signed claim this label must agree with (labels never override signed claims). */
  claim?: string;
}

export interface Rule {
  name: string;
  mode: Mode;
  match: {
    /** Namespace globs (`*`, `?`); empty = every namespace. */
    namespaces: string[];
    excludeNamespaces: string[];
    /** Kinds (Deployment, Pod, ...); empty = every pod-creating kind. */
    kinds: string[];
    /** Extra inference selectors besides the modelgate.dev/inference label. */
    images: string[];
    labels: Record<string, string>;
  };
  /** Key ids this rule trusts; empty = every loaded key that is not revoked. */
  trustedKeys: string[];
  allowV1: boolean;
  /** Refuse a manifest signed longer ago than this many seconds (0 = no limit). */
  maxAgeSeconds: number;
  requireVerifyInit: boolean;
  /** Image globs a verify init container must match to count (e.g. pinned by digest); empty = the official image. */
  verifyImages: string[];
  /**
   * Accept model volumes other pods may reach (PVCs, hostPath, nfs, csi, ...). Off: a verify step
   * counts only on emptyDir or image volumes, which nothing outside the pod can rewrite after it.
   */
  sharedModelVolumes: boolean;
  requiredLabels: LabelRequirement[];
  requireScanPassed: boolean;
  approvals: {
    min: number;
    forbidRequester: boolean;
    /**
     * Count the unsigned `modelgate.dev/approved-by` annotation for a model that carries no
     * signed `claims.approvers` (v1, or v2 without the claim). Weaker: whoever can edit the
     * workload can write it. Absent = true (the annotation is part of the contract); each use warns.
     */
    allowAnnotation?: boolean;
  };
  /** userInfo principals allowed to deploy (users, "group:NAME", "serviceaccount:NS:NAME"); empty = anyone. */
  allowedRequesters: string[];
  /** Allowed model source prefixes (v2 model.source); empty = any. */
  allowedSources: string[];
  /** classification value -> groups that may deploy it; absent = anyone. */
  classificationAccess: Record<string, string[]>;
  requireExplainabilityWhenCustomerFacing: boolean;
  /** Named CEL sub-expressions, compiled at load, in order (each may read the ones before it). */
  variables: CompiledVariable[];
  /** CEL validations, compiled at load (docs/policy.md#validations-cel); each false one is a problem. */
  validations: CompiledValidation[];
  /** What a verified OMS bundle's signed statement may say (docs/policy.md "OMS bundles"). */
  oms: {
    /** Signing methods accepted. */
    methods: OmsMethod[];
    /** Paths a bundle may leave unsigned (its ignore_paths), exactly; any other is refused. */
    ignorePaths: string[];
  };
}

export interface Policy {
  /** Globally revoked key ids: never trusted by any rule. */
  revokedKeys: string[];
  /** Namespaces never checked (operator-controlled). */
  exemptNamespaces: string[];
  /** userInfo principals whose requests are the cluster controllers acting on admitted templates. */
  controllers: string[];
  breakGlass: { group: string; annotation: string } | undefined;
  rules: Rule[];
  /** Who may sign OMS (model_signing) bundles; a rule trusts them by name in keys.trusted. */
  omsAuthorities: OmsAuthority[];
  /** Where it came from, for messages. */
  source: string;
}
