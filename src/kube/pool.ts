import type { AgentOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

/**
 * One kept-alive connection pool for every call modelgate makes to the API server.
 *
 * Why: client-node 2.0.1's `KubeConfig.applySecurityAuthentication` builds a new undici
 * `Agent` for every request, so every call opened (and left idling) its own TCP+TLS
 * connection: 200 Events made 200 connections (test/integration/kube-pool.test.ts).
 * A middleware puts this one pool on each request after the library has applied its
 * authentication, so the Authorization header is still computed per request (an
 * in-cluster token file that rotates is re-read, as the library does).
 *
 * The pool's TLS material (CA, client certificate and key) is read from the kubeconfig once.
 */

/**
 * Sockets to the API server at most. Events go out one at a time (one sender, audit/events.ts);
 * ConfigMap and Secret reads are few and short. Four leaves room without letting a burst
 * open a connection per call.
 */
export const KUBE_MAX_CONNECTIONS = 4;

/** Idle sockets are kept this long (client-go keeps them 90 s; bursts of Events come seconds apart). */
const KEEP_ALIVE_MS = 30_000;

/**
 * The shared pool for `config`'s current cluster and user, or undefined when the cluster is
 * reached through a proxy (then the library's own per-request proxy agent is left in place).
 */
export function connectionPool(config: KubeConfig): Promise<Dispatcher | undefined> {
  // One pool per kubeconfig: the admission client and the scanner (kube/scan-api.ts) share it.
  let pool = pools.get(config);
  if (!pool) {
    pool = newPool(config);
    pools.set(config, pool);
  }
  return pool;
}

const pools = new WeakMap<KubeConfig, Promise<Dispatcher | undefined>>();

/**
 * Watches of the background scanner: one long-lived stream per pod-creating kind (8). A watch
 * holds its HTTP/1.1 connection for minutes, so the watches get their own sockets and never
 * take the 4 that Events, ConfigMap reads, lists and the Lease share.
 */
export const WATCH_CONNECTIONS = 8;

/** The pool the scanner's watches use (one per kubeconfig, like connectionPool). */
export function watchPool(config: KubeConfig): Promise<Dispatcher | undefined> {
  let pool = watchPools.get(config);
  if (!pool) {
    pool = newPool(config, WATCH_CONNECTIONS);
    watchPools.set(config, pool);
  }
  return pool;
}

const watchPools = new WeakMap<KubeConfig, Promise<Dispatcher | undefined>>();

async function newPool(
  config: KubeConfig,
  connections = KUBE_MAX_CONNECTIONS,
): Promise<Dispatcher | undefined> {
  const options = config.createDispatcherOptions(config.getCurrentCluster(), await tlsOptions(config));
  if (options.type === 'proxy' || options.type === 'socks') return undefined;
  return new Agent({
    connections,
    keepAliveTimeout: KEEP_ALIVE_MS,
    connect: options.type === 'agent' ? options.connect : undefined,
  });
}

/** The kubeconfig's TLS options, read by the library's own code (files or inline data). */
async function tlsOptions(config: KubeConfig): Promise<AgentOptions> {
  const opts: AgentOptions & { servername?: string } = {};
  await config.applyToHTTPSOptions(opts);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts;
  return { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername };
}
