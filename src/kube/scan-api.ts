import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { getGlobalDispatcher, request, type Dispatcher } from 'undici';
import { isObject, type Obj } from '../json/object.js';
import { KubeError } from './client.js';
import { connectionPool, watchPool } from './pool.js';

/**
 * What the background scanner (src/scan/) asks of the API server: paged lists of the
 * pod-creating kinds, its Lease, and PolicyReports. Plain JSON over the one shared connection
 * pool (pool.ts), because the scanner reads objects as the webhook receives them (wire JSON,
 * not the client library's model classes) and writes a CRD the library has no types for.
 * Every call is counted (`requests`) so the bench can say what a scan costs the API server.
 */
export interface ScanApi {
  /** One page of a list; `path` is the collection (e.g. /apis/apps/v1/deployments). */
  list(path: string, page: ListPage, signal: AbortSignal): Promise<ListResult>;
  /** undefined on 404. */
  get(path: string, signal: AbortSignal): Promise<Obj | undefined>;
  /** Throws KubeError (code 409) when the object exists. */
  create(path: string, body: Obj, signal: AbortSignal): Promise<Obj>;
  /** Throws KubeError (code 409) when `body.metadata.resourceVersion` is stale. */
  replace(path: string, body: Obj, signal: AbortSignal): Promise<Obj>;
  /** No error on 404. */
  remove(path: string, signal: AbortSignal): Promise<void>;
  /**
   * Follows `path` from `resourceVersion` (with bookmarks) until the server ends the stream
   * (after `timeoutSeconds`) or `signal` aborts; `onEvent` is awaited for each event in order.
   * Throws KubeError with code 410 when the version is too old: list again.
   */
  watch(
    path: string,
    resourceVersion: string,
    signal: AbortSignal,
    onEvent: (e: WatchEvent) => Promise<void>,
  ): Promise<void>;
  /** Requests made so far, by verb (list, get, create, replace, delete). */
  readonly requests: Record<string, number>;
}

export interface ListPage {
  limit: number;
  continue?: string;
  labelSelector?: string;
}

export interface ListResult {
  items: Obj[];
  /** Absent on the last page. */
  continue?: string;
  /** The list's snapshot (the same on every page): where a watch starts. */
  resourceVersion: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Obj;
}

/** The server ends a watch after this long (client-go picks 5-10 min); the scanner watches again. */
const WATCH_TIMEOUT_S = 240;
/** One watch event is one object (etcd caps objects at 1.5 MiB); a longer line is refused. */
const MAX_EVENT_BYTES = 4 << 20;

/**
 * A list page's body is read whole; beyond this it is refused rather than buffered (500
 * Deployments with large templates come to a few MiB; etcd caps one object at 1.5 MiB).
 */
const MAX_BODY_BYTES = 64 << 20;

type Verb = 'list' | 'get' | 'create' | 'replace' | 'delete' | 'watch';
const METHOD: Record<Verb, Dispatcher.HttpMethod> = {
  watch: 'GET',
  list: 'GET',
  get: 'GET',
  create: 'POST',
  replace: 'PUT',
  delete: 'DELETE',
};

export async function scanApi(config: KubeConfig): Promise<ScanApi> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const dispatcher = (await connectionPool(config)) ?? getGlobalDispatcher();
  const watches = (await watchPool(config)) ?? getGlobalDispatcher();
  const requests: Record<string, number> = {};
  const headersFor = async (body: boolean): Promise<Record<string, string>> => {
    // The library's own code computes the Authorization header (token file re-read, exec plugins).
    const auth: { headers?: Record<string, unknown> } = {};
    await config.applyToHTTPSOptions(auth);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(auth.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (body) headers['content-type'] = 'application/json';
    return headers;
  };
  const call = async (
    verb: Verb,
    path: string,
    signal: AbortSignal,
    body?: Obj,
  ): Promise<Obj | undefined> => {
    signal.throwIfAborted();
    requests[verb] = (requests[verb] ?? 0) + 1;
    const headers = await headersFor(body !== undefined);
    const what = `${verb} ${path.split('?')[0]}`;
    for (let attempt = 1; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(`${server}${path}`, {
          method: METHOD[verb],
          headers,
          body: body ? JSON.stringify(body) : undefined,
          dispatcher,
          signal,
        });
      } catch (err) {
        const timedOut = err instanceof Error && err.name === 'AbortError';
        throw new KubeError(`${what}: ${timedOut ? 'timed out' : (err as Error).message.split('\n')[0]}`);
      }
      const wait = retryAfterMs(res, attempt);
      if (wait === undefined) return readBody(res, what);
      await res.body.dump();
      await sleep(wait, undefined, { signal });
    }
  };
  const json = async (verb: Verb, path: string, signal: AbortSignal, body?: Obj): Promise<Obj> => {
    const out = await call(verb, path, signal, body);
    if (!out) throw new KubeError(`${verb} ${path}: HTTP 404`, 404);
    return out;
  };
  return {
    requests,
    list: async (path, page, signal) => {
      const q = new URLSearchParams({ limit: String(page.limit) });
      if (page.continue) q.set('continue', page.continue);
      if (page.labelSelector) q.set('labelSelector', page.labelSelector);
      const out = await json('list', `${path}?${q.toString()}`, signal);
      const items = Array.isArray(out.items) ? out.items.filter(isObject) : [];
      const meta = isObject(out.metadata) ? out.metadata : {};
      const resourceVersion = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '';
      const cont = meta.continue;
      return typeof cont === 'string' && cont !== ''
        ? { items, continue: cont, resourceVersion }
        : { items, resourceVersion };
    },
    watch: async (path, resourceVersion, signal, onEvent) => {
      signal.throwIfAborted();
      requests.watch = (requests.watch ?? 0) + 1;
      const q = new URLSearchParams({
        watch: '1',
        allowWatchBookmarks: 'true',
        resourceVersion,
        timeoutSeconds: String(WATCH_TIMEOUT_S),
      });
      const what = `watch ${path}`;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(`${server}${path}?${q.toString()}`, {
          method: 'GET',
          headers: await headersFor(false),
          dispatcher: watches,
          signal,
        });
      } catch (err) {
        throw new KubeError(`${what}: ${(err as Error).message.split('\n')[0]}`);
      }
      if (res.statusCode !== 200) {
        await readBody(res, what);
        throw new KubeError(`${what}: HTTP ${res.statusCode}`, res.statusCode);
      }
      await readEvents(res, what, onEvent);
    },
    get: (path, signal) => call('get', path, signal),
    create: (path, body, signal) => json('create', path, signal, body),
    replace: (path, body, signal) => json('replace', path, signal, body),
    remove: async (path, signal) => {
      await call('delete', path, signal);
    },
  };
}

/** Newline-delimited JSON watch events, handed over one at a time. */
async function readEvents(
  res: Dispatcher.ResponseData,
  what: string,
  onEvent: (e: WatchEvent) => Promise<void>,
): Promise<void> {
  let pending = '';
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) await onEvent(parseEvent(line, what));
    }
    if (pending.length > MAX_EVENT_BYTES) {
      res.body.destroy();
      throw new KubeError(`${what}: an event longer than ${MAX_EVENT_BYTES} bytes`);
    }
  }
}

function parseEvent(line: string, what: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new KubeError(`${what}: an event that is not JSON`);
  }
  const types = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'];
  if (
    !isObject(parsed) ||
    typeof parsed.type !== 'string' ||
    !types.includes(parsed.type) ||
    !isObject(parsed.object)
  )
    throw new KubeError(`${what}: an event without type and object`);
  return { type: parsed.type as WatchEvent['type'], object: parsed.object };
}

/** Attempts at a request the API server answers 429 (priority and fairness, a cache still filling). */
const MAX_ATTEMPTS = 5;

/** How long to wait before retrying a 429 (its Retry-After, at most 10 s), or undefined: do not retry. */
function retryAfterMs(res: Dispatcher.ResponseData, attempt: number): number | undefined {
  if (res.statusCode !== 429 || attempt >= MAX_ATTEMPTS) return undefined;
  const header = Number(res.headers['retry-after']);
  return Number.isFinite(header) && header > 0 ? Math.min(header, 10) * 1000 : 1000;
}

/** The body as JSON; undefined on 404; a KubeError naming the status (and the API's reason) otherwise. */
async function readBody(res: Dispatcher.ResponseData, what: string): Promise<Obj | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.body.destroy();
      throw new KubeError(`${what}: response larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (res.statusCode === 404) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new KubeError(`${what}: HTTP ${res.statusCode}, not JSON`, res.statusCode);
  }
  if (res.statusCode >= 300) {
    const reason = isObject(parsed) && typeof parsed.reason === 'string' ? ` ${parsed.reason}` : '';
    throw new KubeError(`${what}: HTTP ${res.statusCode}${reason}`, res.statusCode);
  }
  if (!isObject(parsed)) throw new KubeError(`${what}: the response is not a JSON object`);
  return parsed;
}
