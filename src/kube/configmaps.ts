import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import type { ConfigMapData, KubeApi } from './client.js';

/**
 * Resolves `modelgate.dev/manifest-configmap` and `modelgate.dev/manifest-volume` refs by
 * reading ConfigMaps in the request's namespace only (a workload cannot point at another
 * namespace's ConfigMap).
 *
 * A burst of admissions for the same workload must not become a burst of API calls: reads
 * are cached for a short TTL (30 s: a rotated manifest is seen within one TTL; Kubernetes
 * itself propagates ConfigMap volume updates on a similar scale), concurrent reads of the same
 * ConfigMap share one call, and the cache is bounded (oldest entries go first). Failures are
 * not cached. Every failure becomes a ResolvedManifest error, so the decision fails closed.
 */

export interface ResolverOptions {
  /** undefined: no cluster access configured; such refs resolve to a clear error. */
  api: KubeApi | undefined;
  ttlMs?: number;
  maxEntries?: number;
  /** One API call's own timeout (shared by the callers waiting on it). */
  callTimeoutMs?: number;
  now?: () => number;
}

interface Entry {
  expires: number;
  value: Promise<ConfigMapData | undefined>;
}

export const MANIFEST_SUFFIX = '.manifest.json';

export class ConfigMapResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly callTimeoutMs: number;
  private readonly now: () => number;
  /** API reads actually made (for tests and debugging). */
  apiCalls = 0;

  constructor(private readonly opts: ResolverOptions) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 1000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  async resolve(namespace: string, refs: ModelRef[], signal: AbortSignal): Promise<ResolvedManifest[]> {
    const parts = await Promise.all(refs.map((ref) => this.resolveRef(namespace, ref, signal)));
    return parts.flat();
  }

  private async resolveRef(
    namespace: string,
    ref: ModelRef,
    signal: AbortSignal,
  ): Promise<ResolvedManifest[]> {
    if (ref.source === 'configmap') {
      return this.fromConfigMap(
        namespace,
        ref.path,
        { name: ref.name, keys: ref.key === undefined ? undefined : [ref.key] },
        signal,
      );
    }
    if (ref.source === 'volume') {
      const lists = await Promise.all(
        ref.configMaps.map((cm) =>
          this.fromConfigMap(
            namespace,
            ref.path,
            { name: cm.name, keys: cm.items, onlyManifests: true },
            signal,
          ),
        ),
      );
      const out = lists.flat();
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
      return out;
    }
    return [];
  }

  /** `keys` undefined: every `*.manifest.json` key; else exactly these keys (volume `items` keep the suffix rule). */
  private async fromConfigMap(
    namespace: string,
    path: string,
    want: { name: string; keys: string[] | undefined; onlyManifests?: boolean },
    signal: AbortSignal,
  ): Promise<ResolvedManifest[]> {
    const origin = `configmap ${namespace}/${want.name}`;
    const got = await this.read(namespace, want.name, signal).then(
      (cm) => ({ cm }),
      (err: unknown) => ({ err }),
    );
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

  private async read(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<ConfigMapData | undefined> {
    const api = this.opts.api;
    if (!api) throw new NoClusterError();
    const key = `${namespace}/${name}`;
    const now = this.now();
    let entry = this.cache.get(key);
    if (!entry || entry.expires <= now) {
      entry = { expires: now + this.ttlMs, value: this.fetch(api, namespace, name, key) };
      this.cache.delete(key);
      this.cache.set(key, entry);
      this.evict();
    }
    return raceSignal(entry.value, signal);
  }

  private fetch(
    api: KubeApi,
    namespace: string,
    name: string,
    key: string,
  ): Promise<ConfigMapData | undefined> {
    this.apiCalls++;
    const p = api.readConfigMap(namespace, name, AbortSignal.timeout(this.callTimeoutMs));
    void p.catch(() => {
      if (this.cache.get(key)?.value === p) this.cache.delete(key);
    });
    return p;
  }

  private evict(): void {
    for (const key of this.cache.keys()) {
      if (this.cache.size <= this.maxEntries) return;
      this.cache.delete(key);
    }
  }
}

class NoClusterError extends Error {
  override name = 'NoClusterError';
}

function pickKeys(
  data: Record<string, string>,
  origin: string,
  path: string,
  want: { name: string; keys: string[] | undefined; onlyManifests?: boolean },
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
    const text = data[k];
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

/** Rejects with an AbortError as soon as `signal` aborts; the shared read goes on for others. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortError(): Error {
  return new DOMException('deadline exceeded', 'AbortError');
}
