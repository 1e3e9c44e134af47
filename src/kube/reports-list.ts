import type { KubeConfig } from '@kubernetes/client-node';
import type { Obj } from '../json/object.js';
import { REPORT_API, REPORT_LABEL, REPORT_LABEL_VALUE } from '../scan/report.js';
import { scanApi } from './scan-api.js';

/**
 * modelgate's PolicyReports in one namespace or all, for `modelgate audit --running`;
 * undefined when the API server does not serve wgpolicyk8s.io/v1alpha2 (the CRD is absent).
 */
export async function listReports(
  config: KubeConfig,
  namespace: string | undefined,
): Promise<Obj[] | undefined> {
  const api = await scanApi(config);
  const signal = (): AbortSignal => AbortSignal.timeout(30_000);
  if (!(await api.get(`/apis/${REPORT_API}`, signal()))) return undefined;
  const path = namespace
    ? `/apis/${REPORT_API}/namespaces/${encodeURIComponent(namespace)}/policyreports`
    : `/apis/${REPORT_API}/policyreports`;
  const out: Obj[] = [];
  let cont: string | undefined;
  do {
    const page = await api.list(
      path,
      { limit: 500, continue: cont, labelSelector: `${REPORT_LABEL}=${REPORT_LABEL_VALUE}` },
      signal(),
    );
    out.push(...page.items);
    cont = page.continue;
  } while (cont);
  return out;
}
