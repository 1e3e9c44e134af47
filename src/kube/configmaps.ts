import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import type { ConfigMapData, KubeApi } from './client.js';
import {
  configMapNames,
  manifestsFromConfigMaps,
  NoClusterError,
  type ConfigMapRead,
} from './manifest-refs.js';

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
    const names = configMapNames(refs);
    const reads = await Promise.all(
      names.map((name) =>
        this.read(namespace, name, signal).then(
          (cm): ConfigMapRead => ({ cm }),
          (err: unknown): ConfigMapRead => ({ err }),
        ),
      ),
    );
    const byName = new Map(names.map((name, i) => [name, reads[i] as ConfigMapRead]));
    return manifestsFromConfigMaps(namespace, refs, (name) => byName.get(name) ?? { cm: undefined });
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
