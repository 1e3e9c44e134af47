import type { AdmissionRequest } from '../admission/types.js';
import type { Policy } from '../policy/types.js';
import type { ModelRef } from '../workload/types.js';
import { classifyRequest, type Classification } from './classify.js';

/** The first phase of a decision: what the request is, and what the shell must fetch for it. */
export interface AdmissionPlan {
  request: AdmissionRequest;
  policy: Policy;
  classification: Classification;
  /** The namespace the refs are read in (the request's, never the object's own). */
  namespace: string;
  /**
   * ConfigMap and volume manifests of an in-scope request, for the shell to fetch. Empty when
   * the request will not be verified, so skipped requests never cost an API call.
   */
  refs: ModelRef[];
}

/** Phase one, pure and cheap: classify the request under the policy and list what to resolve. */
export function planAdmission(request: AdmissionRequest, policy: Policy): AdmissionPlan {
  const classification = classifyRequest(request, policy);
  if (classification.kind !== 'check')
    return { request, policy, classification, namespace: request.namespace ?? '', refs: [] };
  return {
    request,
    policy,
    classification,
    namespace: classification.workload.namespace,
    refs: classification.workload.refs.filter((r) => r.source === 'configmap' || r.source === 'volume'),
  };
}
