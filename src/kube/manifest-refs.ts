import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import type { ConfigMapData } from './client.js';

/**
 * The rules that turn ConfigMap and volume refs into manifest texts, given the ConfigMaps
 * already read: which keys count, in what order, and what each failure is called. Pure, so the
 * webhook (which reads ConfigMaps from the API) and `modelgate review` (which reads them from
 * files) resolve refs with one function.
 */

export const MANIFEST_SUFFIX = '.manifest.json';

/** What reading one ConfigMap gave: its data, `undefined` when it does not exist, or why it could not be read. */
export type ConfigMapRead = { cm: ConfigMapData | undefined } | { err: unknown };

/** Reads are by name, always in the request's namespace (a workload cannot point at another namespace's ConfigMap). */
export type ConfigMapLookup = (name: string) => ConfigMapRead;

/** Thrown by a lookup that has no cluster to ask; resolves to a `cluster-unavailable` problem. */
export class NoClusterError extends Error {
  override name = 'NoClusterError';
}

/** Every ConfigMap name the refs read, once each. */
export function configMapNames(refs: readonly ModelRef[]): string[] {
  const names = refs.flatMap((ref) =>
    ref.source === 'configmap'
      ? [ref.name]
      : ref.source === 'volume'
        ? ref.configMaps.map((c) => c.name)
        : [],
  );
  return [...new Set(names)];
}

/** The manifests the refs point at, in ref order; every failure is a ResolvedManifest error (fails closed). */
export function manifestsFromConfigMaps(
  namespace: string,
  refs: readonly ModelRef[],
  lookup: ConfigMapLookup,
): ResolvedManifest[] {
  return refs.flatMap((ref) => manifestsOf(namespace, ref, lookup));
}

function manifestsOf(namespace: string, ref: ModelRef, lookup: ConfigMapLookup): ResolvedManifest[] {
  if (ref.source === 'configmap') {
    const keys = ref.key === undefined ? undefined : [ref.key];
    return fromConfigMap(namespace, ref.path, { name: ref.name, keys }, lookup);
  }
  if (ref.source !== 'volume') return [];
  if (ref.configMaps.length === 0) {
    return [
      failure(
        `volume ${ref.volume}`,
        ref.path,
        'volume-no-configmap',
        `volume "${ref.volume}" projects no ConfigMap`,
      ),
    ];
  }
  return ref.configMaps.flatMap((cm) =>
    fromConfigMap(namespace, ref.path, { name: cm.name, keys: cm.items, onlyManifests: true }, lookup),
  );
}

interface Want {
  name: string;
  /** undefined: every `*.manifest.json` key; else exactly these keys (volume `items` keep the suffix rule). */
  keys: string[] | undefined;
  onlyManifests?: boolean;
}

function fromConfigMap(
  namespace: string,
  path: string,
  want: Want,
  lookup: ConfigMapLookup,
): ResolvedManifest[] {
  const origin = `configmap ${namespace}/${want.name}`;
  const got = lookup(want.name);
  if ('err' in got) return [unavailable(origin, path, got.err)];
  if (!got.cm) {
    return [
      failure(
        origin,
        path,
        'configmap-not-found',
        `ConfigMap "${want.name}" not found in namespace "${namespace}"`,
      ),
    ];
  }
  return pickKeys(got.cm.data, origin, path, want);
}

function pickKeys(
  data: Record<string, string>,
  origin: string,
  path: string,
  want: Want,
): ResolvedManifest[] {
  let keys = want.keys ?? Object.keys(data).filter((k) => k.endsWith(MANIFEST_SUFFIX));
  if (want.keys && want.onlyManifests) keys = keys.filter((k) => k.endsWith(MANIFEST_SUFFIX));
  if (keys.length === 0) {
    return [
      failure(
        origin,
        path,
        'configmap-no-manifests',
        `ConfigMap "${want.name}" has no *${MANIFEST_SUFFIX} entries`,
      ),
    ];
  }
  return [...keys].sort().map((k): ResolvedManifest => {
    const text = Object.hasOwn(data, k) ? data[k] : undefined;
    if (text === undefined)
      return failure(
        `${origin}/${k}`,
        path,
        'configmap-key-not-found',
        `ConfigMap "${want.name}" has no key "${k}"`,
      );
    return { origin: `${origin}/${k}`, path, text };
  });
}

function failure(origin: string, path: string, code: string, message: string): ResolvedManifest {
  return { origin, path, error: { code, message } };
}

function unavailable(origin: string, path: string, err: unknown): ResolvedManifest {
  if (err instanceof NoClusterError) {
    return failure(
      origin,
      path,
      'cluster-unavailable',
      `cannot read ${origin}: modelgate has no Kubernetes API access (--kubeconfig or in-cluster)`,
    );
  }
  const detail =
    err instanceof Error && err.name === 'AbortError'
      ? 'deadline exceeded'
      : err instanceof Error
        ? err.message
        : 'failed';
  return failure(origin, path, 'configmap-unavailable', `cannot read ${origin}: ${detail}`);
}
