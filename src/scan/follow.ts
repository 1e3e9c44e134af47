import { setTimeout as sleep } from 'node:timers/promises';
import { isObject } from '../json/object.js';
import { KubeError, statusOf } from '../kube/client.js';
import type { ScanApi, WatchEvent } from '../kube/scan-api.js';

/**
 * Follows one kind between full scans: a watch from the list's resourceVersion, watched again
 * from the last version seen when the server ends it, with bookmarks so a quiet kind does not
 * fall behind. A version the server no longer has (410 Gone) asks for a full re-scan, which
 * lists again and starts new watches; other failures are retried with a growing pause.
 */
export interface FollowOptions {
  api: ScanApi;
  path: string;
  resourceVersion: string;
  signal: AbortSignal;
  onEvent: (e: WatchEvent) => Promise<void>;
  onExpired: () => void;
  onError: (message: string) => void;
}

const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 30_000;

export async function followKind(o: FollowOptions): Promise<void> {
  let rv = o.resourceVersion;
  let pause = FIRST_PAUSE_MS;
  while (!o.signal.aborted) {
    try {
      await o.api.watch(o.path, rv, o.signal, async (e) => {
        if (e.type === 'ERROR') throw watchError(o.path, e);
        const next = isObject(e.object.metadata) ? e.object.metadata.resourceVersion : undefined;
        if (typeof next === 'string' && next !== '') rv = next;
        if (e.type !== 'BOOKMARK') await o.onEvent(e);
      });
      pause = FIRST_PAUSE_MS;
    } catch (err) {
      if (o.signal.aborted) return;
      if (statusOf(err) === 410) {
        o.onExpired();
        return;
      }
      o.onError(`watch ${o.path}: ${(err as Error).message}; again in ${pause / 1000} s`);
      await sleep(pause, undefined, { signal: o.signal }).catch(() => undefined);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

/** An ERROR event carries a Status: 410 when the version is gone. */
function watchError(path: string, e: WatchEvent): KubeError {
  const code = typeof e.object.code === 'number' ? e.object.code : undefined;
  const message = typeof e.object.message === 'string' ? e.object.message.slice(0, 200) : 'error';
  return new KubeError(`watch ${path}: ${message}`, code);
}
