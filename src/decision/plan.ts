import type { AdmissionRequest } from '../admission/types.js';
import type { Policy } from '../policy/types.js';
import type { ModelRef } from '../workload/types.js';
import { classifyRequest } from './classify.js';

/**
 * The references the shell must fetch from the cluster before deciding: ConfigMap and volume
 * manifests of an in-scope request. Empty when the request will not be verified, so skipped
 * requests never cost an API call.
 */
export function referencesToResolve(
  request: AdmissionRequest,
  policy: Policy,
): { namespace: string; refs: ModelRef[] } {
  const c = classifyRequest(request, policy);
  if (c.kind !== 'check') return { namespace: request.namespace ?? '', refs: [] };
  return {
    namespace: c.workload.namespace,
    refs: c.workload.refs.filter((r) => r.source === 'configmap' || r.source === 'volume'),
  };
}
