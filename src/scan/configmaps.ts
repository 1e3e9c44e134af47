import { createHash } from 'node:crypto';
import type { ConfigMapData, KubeApi } from '../kube/client.js';

/**
 * Referenced ConfigMaps, followed without watching them: the ServiceAccount may only `get` a
 * ConfigMap by name. Every ConfigMap a scan reads is fingerprinted (sha256 of its data); a
 * poll reads them again, at most `MAX_PER_ROUND` per round in turn, and a different
 * fingerprint (an edit, a deletion) asks for a full re-scan. Memory: one key and one hash per
 * referenced ConfigMap, at most MAX_TRACKED.
 */
export const MAX_PER_ROUND = 100;
export const MAX_TRACKED = 10_000;

const ABSENT = 'absent';

function fingerprint(cm: ConfigMapData | undefined): string {
  if (!cm) return ABSENT;
  const entries = Object.entries(cm.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

export class ConfigMapFingerprints {
  private seen = new Map<string, string>();
  private cursor = 0;

  /** The API the scan's resolver reads through: every read ConfigMap is remembered. */
  recording(api: KubeApi): KubeApi {
    return {
      ...api,
      readConfigMap: async (namespace, name, signal) => {
        const cm = await api.readConfigMap(namespace, name, signal);
        if (this.seen.size < MAX_TRACKED || this.seen.has(key(namespace, name)))
          this.seen.set(key(namespace, name), fingerprint(cm));
        return cm;
      },
    };
  }

  /** A full scan starts: it records afresh what it reads. */
  reset(): void {
    this.seen = new Map();
    this.cursor = 0;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Reads the next round of remembered ConfigMaps; the first that changed, as "ns/name". */
  async changed(api: KubeApi, signal: AbortSignal): Promise<string | undefined> {
    const keys = [...this.seen.keys()];
    if (keys.length === 0) return undefined;
    const round = Math.min(MAX_PER_ROUND, keys.length);
    for (let i = 0; i < round; i++) {
      const k = keys[(this.cursor + i) % keys.length] ?? '';
      const [namespace = '', name = ''] = k.split('/');
      const now = fingerprint(await api.readConfigMap(namespace, name, signal));
      if (this.seen.has(k) && now !== this.seen.get(k)) {
        this.seen.set(k, now); // said once; the re-scan this asks for records it again
        return k;
      }
    }
    this.cursor = (this.cursor + round) % keys.length;
    return undefined;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
