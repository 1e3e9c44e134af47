import { hostname } from 'node:os';
import type { Server } from 'node:https';
import type { DestinationStream, LevelWithSilent, Logger } from 'pino';
import { EventRecorder } from '../audit/events.js';
import { createLogger, decisionLogger } from '../audit/logger.js';
import { watchKeyDir, type KeyDirWatch } from '../keys/load.js';
import { kubeApi, loadKubeConfig, type FailurePolicy, type KubeApi } from '../kube/client.js';
import { ConfigMapResolver } from '../kube/configmaps.js';
import { defaultPolicy } from '../policy/defaults.js';
import { formatPolicyError } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { KeyPair } from '../tls/x509.js';
import { FileClientCaSource } from '../tls/client-ca.js';
import { FileCertificateSource, type CertificateSource } from '../tls/source.js';
import { createApp } from './app.js';
import { drainHttps, listenHttps, tlsOptions } from './https.js';
import { createMetrics, type Metrics } from './metrics.js';
import { watchPolicyFile, type PolicyReload, type PolicyWatch } from './policy-watch.js';
import type { FailureMode } from './validate.js';

export type TlsConfig =
  | { kind: 'files'; certFile: string; keyFile: string; pollMs?: number }
  | {
      kind: 'self-managed';
      secretName: string;
      namespace: string;
      serviceName: string;
      webhookConfig: string;
      /** Written into the webhook configuration once listening (the chart installs Ignore). */
      failurePolicy?: FailurePolicy;
    };

export interface WebhookConfig {
  host: string;
  port: number;
  tls: TlsConfig;
  /** PEM bundle: POST /validate only from callers with a certificate chaining to it; reloaded. */
  clientCaFile?: string;
  keysDir: string;
  /** Absent: the default policy. */
  policyFile?: string;
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  failureMode: FailureMode;
  deadlineMs: number;
  logLevel?: LevelWithSilent;
  logDestination?: DestinationStream;
  eventQueueSize?: number;
  /** How often keys, policy and certificate files are re-read besides fs.watch (default 2 s). */
  reloadPollMs?: number;
  /** After SIGTERM, keep serving (not ready) this long so endpoints drop the pod first. */
  shutdownDelayMs?: number;
  /** Longest wait for in-flight requests during shutdown. */
  graceMs?: number;
}

export interface Webhook {
  port: number;
  server: Server;
  metrics: Metrics;
  logger: Logger;
  /** Not ready at once, lets in-flight requests finish, stops everything. Idempotent. */
  shutdown(): Promise<void>;
  policy(): Policy;
}

interface Runtime {
  policy: Policy;
  draining: boolean;
  listening: boolean;
}

/** The composition root: builds clients, sources and watchers, and wires the handlers. */
export async function startWebhook(cfg: WebhookConfig): Promise<Webhook> {
  const logger = createLogger({ level: cfg.logLevel ?? 'info', destination: cfg.logDestination });
  const metrics = createMetrics();
  const stops: (() => void)[] = [];
  try {
    return await assemble(cfg, { logger, metrics, stops });
  } catch (err) {
    for (const stop of stops) stop();
    throw err;
  }
}

interface Parts {
  logger: Logger;
  metrics: Metrics;
  stops: (() => void)[];
}

async function assemble(cfg: WebhookConfig, parts: Parts): Promise<Webhook> {
  const { logger, metrics, stops } = parts;
  const api = await connectCluster(cfg, logger);
  const tls = await startTls(cfg, api, parts);
  const clientCa = cfg.clientCaFile ? await startClientCa(cfg.clientCaFile, cfg, parts) : undefined;
  const keys = await startKeys(cfg, parts);
  const rt: Runtime = { policy: defaultPolicy(), draining: false, listening: false };
  if (cfg.policyFile) stops.push(await startPolicy(cfg.policyFile, rt, parts, cfg.reloadPollMs));
  const resolver = new ConfigMapResolver({ api });
  const events = api ? startEvents(api, cfg, parts) : undefined;
  const app = createApp({
    metrics,
    requireClientCert: clientCa !== undefined,
    health: {
      healthy: () => tls.healthy(),
      draining: () => rt.draining,
      notReadyReason: () => notReady(rt, tls),
    },
    validate: {
      keyring: () => keys.current(),
      policy: () => rt.policy,
      resolve: (ns, refs, signal) => resolver.resolve(ns, refs, signal),
      metrics,
      logDecision: decisionLogger(logger),
      logger,
      recordEvent: events ? (intent): void => void events.record(intent) : undefined,
      failureMode: cfg.failureMode,
      deadlineMs: cfg.deadlineMs,
    },
  });
  const { server, port } = await listenHttps(app, {
    host: cfg.host,
    port: cfg.port,
    pair: tls.current() as KeyPair,
    clientCaPem: clientCa?.current(),
  });
  tls.onChange((pair) => {
    server.setSecureContext(tlsOptions(pair, clientCa?.current()));
    setExpiry(metrics, tls);
    logger.info({ notAfter: tls.notAfter()?.toISOString() }, 'serving certificate reloaded');
  });
  clientCa?.onChange((pem) => {
    server.setSecureContext(tlsOptions(tls.current() as KeyPair, pem));
    logger.info({ clientCa: cfg.clientCaFile }, 'client CA reloaded');
  });
  rt.listening = true;
  // Errors are retried by the source's own rounds; the server serves meanwhile.
  await tls.listening?.().catch((err: unknown) =>
    logger.warn({ err: (err as Error).message }, 'could not publish the webhook configuration yet'),
  );
  logger.info(
    {
      host: cfg.host,
      port,
      policy: rt.policy.source,
      keyCount: keys.current().ids().length,
      cluster: api !== undefined,
      clientCa: cfg.clientCaFile ?? 'none: callers are not authenticated',
    },
    'modelgate webhook listening',
  );
  let done: Promise<void> | undefined;
  const shutdown = (): Promise<void> => (done ??= drain(cfg, { server, rt, events, logger, stops }));
  return { port, server, metrics, logger, shutdown, policy: () => rt.policy };
}

function notReady(rt: Runtime, tls: CertificateSource): string | undefined {
  if (rt.draining) return 'shutting down';
  if (!rt.listening) return 'starting';
  if (!tls.healthy()) return 'serving certificate missing or expired';
  return undefined;
}

async function drain(
  cfg: WebhookConfig,
  p: {
    server: Server;
    rt: Runtime;
    events: EventRecorder | undefined;
    logger: Logger;
    stops: (() => void)[];
  },
): Promise<void> {
  p.rt.draining = true;
  p.logger.info('shutting down: not ready, finishing in-flight requests');
  if (cfg.shutdownDelayMs) await new Promise((r) => setTimeout(r, cfg.shutdownDelayMs));
  await drainHttps(p.server, cfg.graceMs ?? 20_000);
  await p.events?.close(2000);
  for (const stop of p.stops) stop();
  p.logger.info('shut down');
  p.logger.flush();
}

async function connectCluster(cfg: WebhookConfig, logger: Logger): Promise<KubeApi | undefined> {
  const { source, config } = await loadKubeConfig(cfg.kubeconfig, cfg.env ?? process.env);
  if (!config) {
    logger.warn(
      'no Kubernetes API access (no --kubeconfig, not in a cluster): ConfigMap manifests are refused, no Events',
    );
    return undefined;
  }
  logger.info({ source }, 'Kubernetes API configured');
  return kubeApi(config);
}

async function startTls(
  cfg: WebhookConfig,
  api: KubeApi | undefined,
  parts: Parts,
): Promise<CertificateSource> {
  const onError = (message: string): void => parts.logger.warn(message);
  let source: CertificateSource;
  if (cfg.tls.kind === 'files') {
    const files = new FileCertificateSource({
      certFile: cfg.tls.certFile,
      keyFile: cfg.tls.keyFile,
      pollMs: cfg.tls.pollMs ?? cfg.reloadPollMs,
      onError,
    });
    await files.start();
    source = files;
  } else {
    if (!api) throw new Error('--tls-self-managed needs Kubernetes API access (--kubeconfig or in-cluster)');
    const { SelfManagedCertificateSource } = await import('../tls/selfmanaged.js');
    const managed = new SelfManagedCertificateSource({
      api,
      ...cfg.tls,
      onError,
      onInfo: (m) => parts.logger.info(m),
    });
    await managed.start();
    source = managed;
  }
  parts.stops.push(() => source.stop());
  setExpiry(parts.metrics, source);
  return source;
}

async function startClientCa(file: string, cfg: WebhookConfig, parts: Parts): Promise<FileClientCaSource> {
  const source = new FileClientCaSource({
    file,
    pollMs: cfg.reloadPollMs,
    onError: (message) => parts.logger.warn(message),
  });
  await source.start();
  parts.stops.push(() => source.stop());
  return source;
}

function setExpiry(metrics: Metrics, tls: CertificateSource): void {
  const notAfter = tls.notAfter();
  if (notAfter) metrics.certificateExpiry.set(notAfter.getTime() / 1000);
}

async function startKeys(cfg: WebhookConfig, parts: Parts): Promise<KeyDirWatch> {
  const { metrics, logger } = parts;
  const watch = await watchKeyDir(
    cfg.keysDir,
    (keyring) => {
      metrics.keysLoaded.set(keyring.ids().length);
      metrics.keyReloads.inc({ result: 'ok' });
      logger.info({ keyIds: keyring.ids() }, 'signing keys reloaded');
    },
    {
      pollMs: cfg.reloadPollMs ?? 2000,
      onError: (err) => {
        metrics.keyReloads.inc({ result: 'error' });
        logger.error({ reason: err.message }, 'signing keys reload failed; keeping the last good keys');
      },
    },
  );
  parts.stops.push(() => watch.close());
  metrics.keysLoaded.set(watch.current().ids().length);
  return watch;
}

async function startPolicy(
  file: string,
  rt: Runtime,
  parts: Parts,
  pollMs: number | undefined,
): Promise<() => void> {
  const { metrics, logger } = parts;
  const onReload = (r: PolicyReload): void => {
    if (r.ok) {
      rt.policy = r.policy;
      metrics.policyReloads.inc({ result: 'ok' });
      logger.info({ policy: file, rules: r.policy.rules.length }, 'policy reloaded');
      return;
    }
    metrics.policyReloads.inc({ result: 'error' });
    const errors = r.errors.map((e) => formatPolicyError(file, e));
    logger.error(
      { policy: file, errors, keeping: rt.policy.source },
      'policy reload failed; keeping the last good policy',
    );
  };
  const watch: PolicyWatch = await watchPolicyFile({ file, onReload, pollMs: pollMs ?? 2000 });
  if (!watch.initial.ok) {
    watch.stop();
    throw new Error(
      `invalid policy:\n${watch.initial.errors.map((e) => formatPolicyError(file, e)).join('\n')}`,
    );
  }
  rt.policy = watch.initial.policy;
  return () => watch.stop();
}

function startEvents(api: KubeApi, cfg: WebhookConfig, parts: Parts): EventRecorder {
  const { metrics, logger } = parts;
  const env = cfg.env ?? process.env;
  const recorder = new EventRecorder({
    sink: { create: (event, signal) => api.createEvent(event, signal) },
    reportingInstance: env.POD_NAME ?? hostname(),
    maxQueue: cfg.eventQueueSize ?? 1000,
    onSent: () => metrics.eventsSent.inc(),
    onDropped: (cause) => metrics.eventsDropped.inc({ cause }),
    onError: (err, event) =>
      logger.warn(
        {
          reason: event.reason,
          namespace: event.metadata.namespace,
          err: err instanceof Error ? err.message : 'error',
        },
        'Event not sent',
      ),
  });
  recorder.start();
  return recorder;
}
