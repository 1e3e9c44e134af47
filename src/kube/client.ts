import { existsSync } from 'node:fs';
import type {
  ConfigurationOptions,
  EventsV1Event,
  KubeConfig,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import type { KubeEvent } from '../audit/events.js';
import { connectionPool } from './pool.js';

export { KUBE_MAX_CONNECTIONS } from './pool.js';

/**
 * The only place that talks to the Kubernetes API. Everything else sees the narrow
 * interfaces below (fakes in tests). Every call takes an AbortSignal: a call that outlives
 * its deadline is abandoned, never awaited.
 */

export interface ConfigMapData {
  data: Record<string, string>;
}

export interface SecretData {
  data: Record<string, string>;
  resourceVersion: string;
}

export interface KubeApi {
  /** undefined when the ConfigMap does not exist. */
  readConfigMap(namespace: string, name: string, signal: AbortSignal): Promise<ConfigMapData | undefined>;
  createEvent(event: KubeEvent, signal: AbortSignal): Promise<void>;
  /** Secret data base64-decoded; undefined when absent. */
  readSecret(namespace: string, name: string, signal: AbortSignal): Promise<SecretData | undefined>;
  /** Creates a Secret; throws an error with code 409 when it already exists. */
  createSecret(
    namespace: string,
    name: string,
    data: Record<string, string>,
    signal: AbortSignal,
  ): Promise<void>;
  /** Replaces a Secret if it still has `resourceVersion` (409 otherwise). */
  replaceSecret(namespace: string, name: string, secret: SecretData, signal: AbortSignal): Promise<void>;
  /**
   * Sets caBundle, and failurePolicy when given, on every webhook of a
   * ValidatingWebhookConfiguration (read-modify-replace; no write when nothing changes).
   */
  publishWebhook(configName: string, want: WebhookPublication, signal: AbortSignal): Promise<void>;
}

export type FailurePolicy = 'Fail' | 'Ignore';

/** What a self-managed server writes into its webhook configuration. */
export interface WebhookPublication {
  caPem: string;
  /** Absent: left as installed. */
  failurePolicy?: FailurePolicy;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeConfigSource = 'file' | 'in-cluster' | 'none';

/** A kubeconfig from a file, else the in-cluster service account, else none. */
export async function loadKubeConfig(
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ source: KubeConfigSource; config?: KubeConfig }> {
  if (!kubeconfig && !(env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)))
    return { source: 'none' };
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (kubeconfig) {
    config.loadFromFile(kubeconfig);
    return { source: 'file', config };
  }
  config.loadFromCluster();
  return { source: 'in-cluster', config };
}

/** Thrown by the API layer: `code` is the HTTP status when there was one. */
export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** An error safe to log: status and a short message, never request options or bodies. */
function clean(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  const code = statusOf(err);
  if (err instanceof Error && err.name === 'AbortError') return new KubeError(`${what}: timed out`);
  const detail =
    code !== undefined ? `HTTP ${code}` : err instanceof Error ? err.message.split('\n')[0] : 'failed';
  return new KubeError(`${what}: ${detail}`, code);
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

function encode(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, 'utf8').toString('base64');
  return out;
}

/** The KubeApi on @kubernetes/client-node. */
export async function kubeApi(config: KubeConfig): Promise<KubeApi> {
  const k8s = await import('@kubernetes/client-node');
  const core = config.makeApiClient(k8s.CoreV1Api);
  const events = config.makeApiClient(k8s.EventsV1Api);
  const admission = config.makeApiClient(k8s.AdmissionregistrationV1Api);
  const pool = await connectionPool(config);
  // client-node has no per-call timeout; a middleware puts our AbortSignal on the fetch,
  // and the one shared connection pool in place of the library's per-request agent (pool.ts).
  const opts = (signal: AbortSignal): ConfigurationOptions => ({
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          if (pool) ctx.setDispatcher(pool);
          return new k8s.Observable(Promise.resolve(ctx));
        },
        post: (ctx: ResponseContext) => new k8s.Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  });
  const guard = async <T>(what: string, signal: AbortSignal, call: () => Promise<T>): Promise<T> => {
    signal.throwIfAborted();
    try {
      return await call();
    } catch (err) {
      throw clean(err, what);
    }
  };
  const notFound = <T>(err: unknown): T | undefined => {
    if (statusOf(err) === 404) return undefined;
    throw err;
  };
  return {
    readConfigMap: (namespace, name, signal) =>
      guard(`read ConfigMap ${namespace}/${name}`, signal, async () => {
        const cm = await core
          .readNamespacedConfigMap({ name, namespace }, opts(signal))
          .catch(notFound<never>);
        return cm ? { data: cm.data ?? {} } : undefined;
      }),
    createEvent: (event, signal) =>
      guard(`create Event in ${event.metadata.namespace}`, signal, async () => {
        await events.createNamespacedEvent(
          { namespace: event.metadata.namespace, body: event as unknown as EventsV1Event },
          opts(signal),
        );
      }),
    readSecret: (namespace, name, signal) =>
      guard(`read Secret ${namespace}/${name}`, signal, async () => {
        const s = await core.readNamespacedSecret({ name, namespace }, opts(signal)).catch(notFound<never>);
        return s ? { data: decode(s.data), resourceVersion: s.metadata?.resourceVersion ?? '' } : undefined;
      }),
    createSecret: (namespace, name, data, signal) =>
      guard(`create Secret ${namespace}/${name}`, signal, async () => {
        await core.createNamespacedSecret(
          {
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              type: 'kubernetes.io/tls',
              metadata: { name, namespace },
              data: encode(data),
            },
          },
          opts(signal),
        );
      }),
    replaceSecret: (namespace, name, secret, signal) =>
      guard(`replace Secret ${namespace}/${name}`, signal, async () => {
        await core.replaceNamespacedSecret(
          {
            name,
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              type: 'kubernetes.io/tls',
              metadata: { name, namespace, resourceVersion: secret.resourceVersion },
              data: encode(secret.data),
            },
          },
          opts(signal),
        );
      }),
    publishWebhook: (configName, want, signal) =>
      guard(`update ValidatingWebhookConfiguration ${configName}`, signal, async () => {
        const cfg = await admission.readValidatingWebhookConfiguration({ name: configName }, opts(signal));
        const caBundle = Buffer.from(want.caPem, 'utf8').toString('base64');
        const policy = (h: { failurePolicy?: string }): string | undefined =>
          want.failurePolicy ?? h.failurePolicy;
        const hooks = cfg.webhooks ?? [];
        if (hooks.every((h) => h.clientConfig.caBundle === caBundle && h.failurePolicy === policy(h))) return;
        for (const h of hooks) {
          h.clientConfig.caBundle = caBundle;
          h.failurePolicy = policy(h);
        }
        await admission.replaceValidatingWebhookConfiguration({ name: configName, body: cfg }, opts(signal));
      }),
  };
}
