import { hostname } from 'node:os';
import type { Server } from 'node:https';
import type { DestinationStream, LevelWithSilent, Logger } from 'pino';
import { EventRecorder } from '../audit/events.js';
import type { EventIntent } from '../decision/types.js';
import { createLogger, decisionLogger } from '../audit/logger.js';
import { watchKeyDir } from '../keys/load.js';
import type { Keyring } from '../keys/types.js';
import { kubeApi, loadKubeConfig, type FailurePolicy, type KubeApi } from '../kube/client.js';
import { ConfigMapResolver } from '../kube/configmaps.js';
import { defaultPolicy } from '../policy/defaults.js';
import type { Policy } from '../policy/types.js';
import { PolicyFileError, watchPolicyFile } from '../policy/watch.js';
import type { KeyPair } from '../tls/x509.js';
import { watchClientCa } from '../tls/client-ca.js';
import { watchCertificateFiles, type CertificateSource } from '../tls/source.js';
import type { FollowOptions, WatchedSource } from '../watch/source.js';
import { ListenerSet } from '../watch/listeners.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ScanConfig } from '../scan/start.js';
import { createApp } from './app.js';
import { drainHttps, listenHttps, tlsOptions } from './https.js';
import { createMetrics, reloadCounter, type Metrics } from './metrics.js';
import { listenMetrics } from './metrics-listener.js';
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

export type EventsChoice = 'all' | 'warnings' | 'none';

export interface WebhookConfig {
  host: string;
  port: number;
  /** Serve GET /metrics over plain HTTP on this port (on `host`) and not on `port`. */
  metricsPort?: number;
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
  /** Which decisions make an Event: all (with ModelVerified), warnings (type Warning only), none. */
  events?: EventsChoice;
  /** Event writes per second and burst (audit/events.ts pacing). */
  eventRate?: number;
  eventBurst?: number;
  /** How often keys, policy, certificate and client CA files are re-read besides fs.watch (default 2 s). */
  reloadPollMs?: number;
  /** After SIGTERM, keep serving (not ready) this long so endpoints drop the pod first. */
  shutdownDelayMs?: number;
  /** Longest wait for in-flight requests during shutdown. */
  graceMs?: number;
  /** The background scanner (src/scan/); absent or disabled: admission only. */
  scan?: ScanConfig;
}

export interface Webhook {
  port: number;
  server: Server;
  /** The metrics listener's port, when `metricsPort` was given. */
  metricsPort?: number;
  metrics: Metrics;
  logger: Logger;
  /** Not ready at once, lets in-flight requests finish, stops everything. Idempotent. */
  shutdown(): Promise<void>;
  policy(): Policy;
}

interface Runtime {
  draining: boolean;
  listening: boolean;
}

/** The composition root: builds clients, sources and watchers, and wires the handlers. */
export async function startWebhook(cfg: WebhookConfig): Promise<Webhook> {
  const logger = createLogger({ level: cfg.logLevel ?? 'info', destination: cfg.logDestination });
  const metrics = createMetrics();
  const stops: (() => void)[] = [];
  const asyncStops: (() => Promise<void>)[] = [];
  const follow: FollowOptions = { pollMs: cfg.reloadPollMs, counter: reloadCounter(metrics) };
  try {
    return await assemble(cfg, { logger, metrics, stops, asyncStops, reloaded: new ListenerSet(), follow });
  } catch (err) {
    for (const stop of asyncStops) await stop();
    for (const stop of stops) stop();
    throw err;
  }
}

interface Parts {
  logger: Logger;
  metrics: Metrics;
  stops: (() => void)[];
  /** Stopped first at shutdown, awaited (the scanner releases its Lease). */
  asyncStops: (() => Promise<void>)[];
  /** Told which source reloaded (keys, policy): the scanner re-decides. */
  reloaded: ListenerSet<string>;
  /** How every watched source is followed and counted. */
  follow: FollowOptions;
}

async function assemble(cfg: WebhookConfig, parts: Parts): Promise<Webhook> {
  const { logger, metrics, stops } = parts;
  const { api, config } = await connectCluster(cfg, logger);
  const tls = await startTls(cfg, api, parts);
  const clientCa = cfg.clientCaFile ? await startClientCa(cfg.clientCaFile, parts) : undefined;
  const keys = await startKeys(cfg.keysDir, parts);
  const policy = cfg.policyFile ? await startPolicy(cfg.policyFile, parts) : fixed(defaultPolicy());
  const rt: Runtime = { draining: false, listening: false };
  const resolver = new ConfigMapResolver({ api });
  const events = api && cfg.events !== 'none' ? startEvents(api, cfg, parts) : undefined;
  await startBackgroundScan(cfg, config, { keyring: () => keys.current(), policy }, parts);
  const app = createApp({
    metrics,
    metricsOnWebhookPort: cfg.metricsPort === undefined,
    requireClientCert: clientCa !== undefined,
    health: {
      healthy: () => tls.healthy(),
      draining: () => rt.draining,
      notReadyReason: () => notReady(rt, tls),
    },
    validate: {
      keyring: () => keys.current(),
      policy,
      resolve: (ns, refs, signal) => resolver.resolve(ns, refs, signal),
      metrics,
      logDecision: decisionLogger(logger),
      logger,
      recordEvent: events ? eventFilter(events, cfg.events ?? 'all') : undefined,
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
  const metricsPort = await startMetricsListener(cfg, parts);
  rt.listening = true;
  // Errors are retried by the source's own rounds; the server serves meanwhile.
  await tls.listening?.().catch((err: unknown) =>
    logger.warn({ err: (err as Error).message }, 'could not publish the webhook configuration yet'),
  );
  logger.info(
    {
      host: cfg.host,
      port,
      metricsPort: metricsPort ?? 'none: /metrics on the webhook port',
      policy: policy().source,
      keyCount: keys.current().ids().length,
      cluster: api !== undefined,
      clientCa: cfg.clientCaFile ?? 'none: callers are not authenticated',
    },
    'modelgate webhook listening',
  );
  let done: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (done ??= drain(cfg, { server, rt, events, logger, stops, asyncStops: parts.asyncStops }));
  return { port, server, metricsPort, metrics, logger, shutdown, policy };
}

/** `--metrics-port`: GET /metrics on its own plain-HTTP listener, stopped with the server. */
async function startMetricsListener(cfg: WebhookConfig, parts: Parts): Promise<number | undefined> {
  if (cfg.metricsPort === undefined) return undefined;
  const { server, port } = await listenMetrics(parts.metrics, { host: cfg.host, port: cfg.metricsPort });
  parts.stops.push(() => {
    server.close();
    server.closeAllConnections();
  });
  return port;
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
    asyncStops: (() => Promise<void>)[];
  },
): Promise<void> {
  p.rt.draining = true;
  p.logger.info('shutting down: not ready, finishing in-flight requests');
  // The scanner stops first and releases its Lease, so another replica takes over at once.
  for (const stop of p.asyncStops) await stop().catch(() => undefined);
  if (cfg.shutdownDelayMs) await new Promise((r) => setTimeout(r, cfg.shutdownDelayMs));
  await drainHttps(p.server, cfg.graceMs ?? 20_000);
  await p.events?.close(2000);
  for (const stop of p.stops) stop();
  p.logger.info('shut down');
  p.logger.flush();
}

async function connectCluster(
  cfg: WebhookConfig,
  logger: Logger,
): Promise<{ api?: KubeApi; config?: KubeConfig }> {
  const { source, config } = await loadKubeConfig(cfg.kubeconfig, cfg.env ?? process.env);
  if (!config) {
    logger.warn(
      'no Kubernetes API access (no --kubeconfig, not in a cluster): ConfigMap manifests are refused, no Events',
    );
    return {};
  }
  logger.info({ source }, 'Kubernetes API configured');
  return { api: await kubeApi(config), config };
}

/** The background scanner, campaigning for its Lease; only the leader scans. */
async function startBackgroundScan(
  cfg: WebhookConfig,
  config: KubeConfig | undefined,
  sources: { keyring: () => Keyring; policy: () => Policy },
  parts: Parts,
): Promise<void> {
  const { logger, metrics } = parts;
  if (!cfg.scan?.enabled) {
    logger.info('background scan off (--no-scan)');
    return;
  }
  if (!config) {
    logger.warn('background scan off: it needs Kubernetes API access (--kubeconfig or in-cluster)');
    return;
  }
  const { startScan } = await import('../scan/start.js');
  const scan = await startScan({
    config,
    scan: cfg.scan,
    env: cfg.env ?? process.env,
    ...sources,
    logger,
    metrics,
  });
  parts.reloaded.add((what) => scan.scanner.trigger(`${what} reloaded`));
  parts.asyncStops.push(() => scan.stop());
}

async function startTls(
  cfg: WebhookConfig,
  api: KubeApi | undefined,
  parts: Parts,
): Promise<CertificateSource> {
  const source = owned(
    cfg.tls.kind === 'files'
      ? await startTlsFiles(cfg.tls, parts)
      : await startSelfManaged(cfg.tls, api, parts),
    parts,
  );
  setExpiry(parts.metrics, source);
  return source;
}

async function startTlsFiles(
  tls: Extract<TlsConfig, { kind: 'files' }>,
  parts: Parts,
): Promise<CertificateSource> {
  const { certFile, keyFile } = tls;
  const files = await watchCertificateFiles({
    certFile,
    keyFile,
    ...parts.follow,
    pollMs: tls.pollMs ?? parts.follow.pollMs,
  });
  files.onError((err) => parts.logger.warn(`${err.message}; keeping the previous certificate`));
  return files;
}

async function startSelfManaged(
  tls: Extract<TlsConfig, { kind: 'self-managed' }>,
  api: KubeApi | undefined,
  parts: Parts,
): Promise<CertificateSource> {
  if (!api) throw new Error('--tls-self-managed needs Kubernetes API access (--kubeconfig or in-cluster)');
  const { SelfManagedCertificateSource } = await import('../tls/selfmanaged.js');
  const managed = new SelfManagedCertificateSource({
    api,
    ...tls,
    onError: (m) => parts.logger.warn(m),
    onInfo: (m) => parts.logger.info(m),
  });
  await managed.start();
  return managed;
}

/** The value of a source that is not watched (no file given). */
function fixed<T>(value: T): () => T {
  return () => value;
}

/** Stops `source` with the server. */
function owned<S extends { stop(): void }>(source: S, parts: Parts): S {
  parts.stops.push(() => source.stop());
  return source;
}

async function startClientCa(file: string, parts: Parts): Promise<WatchedSource<string>> {
  const ca = owned(await watchClientCa(file, parts.follow), parts);
  ca.onError((err) => {
    const why = (err as NodeJS.ErrnoException).code ?? err.message;
    parts.logger.warn(`client CA unusable (${why}); keeping the previous bundle`);
  });
  return ca;
}

function setExpiry(metrics: Metrics, tls: CertificateSource): void {
  const notAfter = tls.notAfter();
  if (notAfter) metrics.certificateExpiry.set(notAfter.getTime() / 1000);
}

/** id → hmac | ec-p256 | ... : whether this webhook holds any key that can sign (hmac) is visible. */
function keyTypes(keyring: Keyring): Record<string, string> {
  return Object.fromEntries(keyring.ids().map((id) => [id, keyring.keyType(id) ?? 'unknown']));
}

async function startKeys(dir: string, parts: Parts): Promise<WatchedSource<Keyring>> {
  const { metrics, logger } = parts;
  const keys = owned(await watchKeyDir(dir, parts.follow), parts);
  metrics.keysLoaded.set(keys.current().ids().length);
  logger.info({ keyIds: keys.current().ids(), keyTypes: keyTypes(keys.current()) }, 'verification keys loaded');
  keys.onChange((keyring) => {
    metrics.keysLoaded.set(keyring.ids().length);
    logger.info({ keyIds: keyring.ids(), keyTypes: keyTypes(keyring) }, 'signing keys reloaded');
    parts.reloaded.emit('signing keys');
  });
  keys.onError((err) =>
    logger.error({ reason: err.message }, 'signing keys reload failed; keeping the last good keys'),
  );
  return keys;
}

/** The policy in force: the file's last good policy, read anew through the returned function. */
async function startPolicy(file: string, parts: Parts): Promise<() => Policy> {
  const { logger } = parts;
  const policies = owned(await watchPolicyFile(file, parts.follow), parts);
  policies.onChange((p) => {
    logger.info({ policy: file, rules: p.rules.length }, 'policy reloaded');
    parts.reloaded.emit('policy');
  });
  policies.onError((err) => {
    const errors = err instanceof PolicyFileError ? err.lines : [err.message];
    logger.error(
      { policy: file, errors, keeping: policies.current().source },
      'policy reload failed; keeping the last good policy',
    );
  });
  return () => policies.current();
}

/** `--events warnings` leaves allowed decisions (ModelVerified, type Normal) to the audit log. */
export function eventFilter(events: Pick<EventRecorder, 'record'>, choice: EventsChoice): (intent: EventIntent) => void {
  if (choice === 'warnings')
    return (intent): void => {
      if (intent.type === 'Warning') events.record(intent);
    };
  return (intent): void => void events.record(intent);
}

function startEvents(api: KubeApi, cfg: WebhookConfig, parts: Parts): EventRecorder {
  const { metrics, logger } = parts;
  const env = cfg.env ?? process.env;
  const recorder = new EventRecorder({
    sink: { create: (event, signal) => api.createEvent(event, signal) },
    reportingInstance: env.POD_NAME ?? hostname(),
    maxQueue: cfg.eventQueueSize ?? 1000,
    ...(cfg.eventRate !== undefined && { writesPerSecond: cfg.eventRate }),
    ...(cfg.eventBurst !== undefined && { writeBurst: cfg.eventBurst }),
    onSent: () => metrics.eventsSent.inc(),
    onAggregated: () => metrics.eventsAggregated.inc(),
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
  metrics.eventQueueSource.length = (): number => recorder.pending;
  return recorder;
}
