import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Lists events.k8s.io/v1 Events in one namespace or all, as plain JSON objects, for
 * `modelgate audit`. Paginates so a busy cluster does not come back in one huge response.
 */
export async function listEvents(
  config: KubeConfig,
  namespace: string | undefined,
): Promise<Record<string, unknown>[]> {
  const k8s = await import('@kubernetes/client-node');
  const api = config.makeApiClient(k8s.EventsV1Api);
  const out: Record<string, unknown>[] = [];
  let cont: string | undefined;
  do {
    const page = namespace
      ? await api.listNamespacedEvent({ namespace, limit: 500, _continue: cont })
      : await api.listEventForAllNamespaces({ limit: 500, _continue: cont });
    for (const item of page.items) out.push(toPlain(item));
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return out;
}

/** The client's model objects carry Dates; the audit reader wants the wire JSON. */
function toPlain(item: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(item)) as Record<string, unknown>;
}
