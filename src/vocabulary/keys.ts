/**
 * Every `modelgate.dev/*` name modelgate writes or reads, in one place: the writers (the
 * decision, the Event sender, `sign`) and the readers (extraction, policy, `modelgate audit`)
 * import them from here, so a name cannot drift between the two sides. docs/manifests.md and
 * docs/policy.md describe them.
 */

/** Everything modelgate names starts with this. */
export const PREFIX = 'modelgate.dev/';

/** apiVersion of modelgate's own documents: the v2 manifest and the policy. */
export const API_VERSION = 'modelgate.dev/v1';

/** Labels on workloads and pod templates. Policies may require other labels by name. */
export const LABELS = {
  inference: 'modelgate.dev/inference',
  dataClassification: 'modelgate.dev/data-classification',
  owner: 'modelgate.dev/owner',
  scanStatus: 'modelgate.dev/scan-status',
  customerFacing: 'modelgate.dev/customer-facing',
} as const;

/** Annotations on workloads and pod templates. */
export const ANNOTATIONS = {
  manifest: 'modelgate.dev/manifest',
  manifestConfigMap: 'modelgate.dev/manifest-configmap',
  manifestVolume: 'modelgate.dev/manifest-volume',
  approvedBy: 'modelgate.dev/approved-by',
  /** The policy's default break-glass annotation (`breakGlass.annotation` may name another). */
  breakGlass: 'modelgate.dev/break-glass',
} as const;

/** Annotations on the Events modelgate writes, so `modelgate audit` can filter them like log lines. */
export const EVENT_ANNOTATIONS = {
  user: 'modelgate.dev/user',
  decision: 'modelgate.dev/decision',
  /** Problem codes, comma-separated. */
  reasons: 'modelgate.dev/reasons',
  requestUid: 'modelgate.dev/request-uid',
  /** Whether the caller was verified (see audit/caller.ts). */
  caller: 'modelgate.dev/caller',
  /** The verified models, `name@version:keyId:sha256-prefix` comma list (decision/summary.ts). */
  models: 'modelgate.dev/models',
  /** The policy rule that decided. */
  rule: 'modelgate.dev/rule',
  /** Approvers, comma-separated, and where they came from (claims.approvers or the annotation). */
  approvers: 'modelgate.dev/approvers',
  approversFrom: 'modelgate.dev/approvers-from',
} as const;

/** `reportingController` of every Event modelgate writes. */
export const REPORTING_CONTROLLER = 'modelgate.dev/webhook';
