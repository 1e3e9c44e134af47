import type { AdmissionRequest } from '../admission/types.js';
import type { Policy } from '../policy/types.js';
import type { ModelRef } from '../workload/types.js';
import { classifyRequest, type Classification } from './classify.js';

/**
 * The references the shell must fetch from the cluster before deciding: ConfigMap and volume
 * manifests of an in-scope request. Empty when the request will not be verified, so skipped
 * requests never cost an API call. The classification goes on to `decideAdmission` (as
 * `classification`) so the request is classified once.
 */
export function referencesToResolve(
  request: AdmissionRequest,
  policy: Policy,
): { namespace: string; refs: ModelRef[]; classification: Classification } {
  const classification = classifyRequest(request, policy);
  if (classification.kind !== 'check')
    return { namespace: request.namespace ?? '', refs: [], classification };
  return {
    namespace: classification.workload.namespace,
    refs: classification.workload.refs.filter((r) => r.source === 'configmap' || r.source === 'volume'),
    classification,
  };
}
