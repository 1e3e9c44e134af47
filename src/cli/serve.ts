import type { LevelWithSilent } from 'pino';
import type { FailurePolicy } from '../kube/client.js';
import { startWebhook, type EventsChoice, type TlsConfig, type WebhookConfig } from '../server/webhook.js';
import { parseFlags } from './args.js';
import { parseDuration } from '../policy/duration.js';
import type { ScanConfig } from '../scan/start.js';
import type { Command } from './types.js';
import { UsageError } from './types.js';

const HELP = `usage: modelgate serve --keys-dir DIR (--tls-cert FILE --tls-key FILE | --tls-self-managed ...) [options]

Runs the validating admission webhook over HTTPS: POST /validate, GET /healthz, /readyz, /metrics.

  --port N                 listen port (default 8443)
  --host ADDR              listen address (default 0.0.0.0), of both listeners
  --metrics-port N         serve GET /metrics over plain HTTP on this port, and no longer on
                           --port (the chart uses 9402, as cert-manager does); default: /metrics
                           on --port over HTTPS
  --tls-cert FILE          serving certificate (PEM); reloaded when it changes
  --tls-key FILE           its private key (PEM)
  --tls-self-managed       modelgate makes its own CA and certificate, shared through a Secret:
    --tls-secret NAME        the Secret holding them
    --namespace NS           the namespace of the Secret and Service
    --service-name NAME      the Service the API server calls (certificate DNS names)
    --webhook-config NAME    the ValidatingWebhookConfiguration whose caBundle is set
    --webhook-failure-policy Fail|Ignore
                             written into that configuration with the caBundle once the server
                             listens (the chart installs it with Ignore, so nothing is refused
                             before a server answers); default: left as installed
  --client-ca FILE         PEM bundle; POST /validate then needs a client certificate chaining to
                           it (the API server's; docs/install.md "Caller authentication (mTLS)"),
                           others get 401 and are not recorded. /healthz, /readyz, /metrics need none. Reloaded when
                           it changes. Without it callers are not authenticated, and every audit
                           line and Event says caller "unauthenticated"
  --keys-dir DIR           verification keys (a mounted Secret: one file per key id, the file name
                           is the id): HMAC secrets or PEM public keys (EC P-256/384/521, Ed25519);
                           a private key is refused (the webhook must not sign); hot-reloaded
  --policy FILE            policy YAML (default: the built-in default policy); hot-reloaded,
                           a broken file keeps the last good policy
  --kubeconfig FILE        API access for ConfigMap manifests and Events (else in-cluster, else none)
  --failure-mode deny|allow  answer to internal errors (default deny)
  --deadline-ms N          internal deadline for cluster reads, below the webhook timeout (default 8000)
  --log-level LEVEL        trace|debug|info|warn|error|silent (default info)
  --event-queue-size N     bound of the Event queue; beyond it Events are dropped and counted (default 1000)
  --events all|warnings|none
                           which decisions make an Event: all (default; allowed ones as ModelVerified),
                           warnings (ModelRejected and ModelWarning only: the audit log keeps the
                           allowed ones), none
  --event-rate N           Event writes per second once the burst is spent (default 20)
  --event-burst N          Event writes at once before pacing (default 100)
  --shutdown-delay-ms N    after SIGTERM keep serving, not ready, this long before draining
                           (default 0: the chart's preStop sleep does this wait)
  --grace-ms N             longest wait for in-flight requests at shutdown (default 20000)

background scan (docs/scanner.md): one replica, elected with a coordination.k8s.io Lease,
re-decides every running workload and writes wgpolicyk8s.io PolicyReports and metrics
  --no-scan                admission only: no Lease, no lists, no reports
  --no-policy-reports      scan, but write no PolicyReports (metrics and the log only)
  --scan-period DURATION   full re-scan this often (default 10m; units s m h d w); also soon
                           after the keys or the policy reload, and when a manifest expires
  --scan-lease-namespace NS  the Lease's namespace (default $POD_NAMESPACE, else the service
                           account's namespace)
  --scan-lease-name NAME   the Lease's name (default modelgate-scanner)
  --scan-configmap-poll DURATION
                           how often the ConfigMaps workloads reference are read again; a change
                           re-scans (default 30s; the ServiceAccount may get them, not watch)
  --scan-lease-duration DURATION
                           another replica takes over after the leader stops renewing for this
                           long (default 15s; at once when the leader shuts down cleanly)`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const OPTIONS = {
  port: { type: 'string', default: '8443' },
  host: { type: 'string', default: '0.0.0.0' },
  'metrics-port': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-self-managed': { type: 'boolean' },
  'tls-secret': { type: 'string' },
  namespace: { type: 'string' },
  'service-name': { type: 'string' },
  'webhook-config': { type: 'string' },
  'webhook-failure-policy': { type: 'string' },
  'client-ca': { type: 'string' },
  'keys-dir': { type: 'string' },
  policy: { type: 'string' },
  kubeconfig: { type: 'string' },
  'failure-mode': { type: 'string', default: 'deny' },
  'deadline-ms': { type: 'string', default: '8000' },
  'log-level': { type: 'string', default: 'info' },
  'event-queue-size': { type: 'string', default: '1000' },
  events: { type: 'string', default: 'all' },
  'event-rate': { type: 'string', default: '20' },
  'event-burst': { type: 'string', default: '100' },
  'shutdown-delay-ms': { type: 'string', default: '0' },
  'grace-ms': { type: 'string', default: '20000' },
  'no-scan': { type: 'boolean' },
  'no-policy-reports': { type: 'boolean' },
  'scan-period': { type: 'string', default: '10m' },
  'scan-lease-namespace': { type: 'string' },
  'scan-lease-name': { type: 'string' },
  'scan-configmap-poll': { type: 'string', default: '30s' },
  'scan-lease-duration': { type: 'string', default: '15s' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>;

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

function eventsChoice(text: string): EventsChoice {
  if (text !== 'all' && text !== 'warnings' && text !== 'none')
    throw new UsageError(`--events must be all, warnings or none, got "${text}"`);
  return text;
}

function metricsPort(v: Values): number | undefined {
  const text = v['metrics-port'];
  if (text === undefined) return undefined;
  const n = integer('metrics-port', text, 0, 65535);
  if (n !== 0 && n === Number(v.port)) throw new UsageError('--metrics-port must differ from --port');
  return n;
}

function failurePolicy(v: Values): FailurePolicy | undefined {
  const p = v['webhook-failure-policy'];
  if (p === undefined) return undefined;
  if (!v['tls-self-managed'])
    throw new UsageError(
      '--webhook-failure-policy needs --tls-self-managed (only then is the configuration written)',
    );
  if (p !== 'Fail' && p !== 'Ignore')
    throw new UsageError(`--webhook-failure-policy must be Fail or Ignore, got "${p}"`);
  return p;
}

function tlsConfig(v: Values): TlsConfig {
  const policy = failurePolicy(v);
  if (v['tls-self-managed']) {
    if (v['tls-cert'] || v['tls-key'])
      throw new UsageError('--tls-self-managed and --tls-cert/--tls-key exclude each other');
    const need = ['tls-secret', 'namespace', 'service-name', 'webhook-config'] as const;
    const missing = need.filter((n) => !v[n]);
    if (missing.length > 0)
      throw new UsageError(`--tls-self-managed needs ${missing.map((m) => `--${m}`).join(', ')}`);
    return {
      kind: 'self-managed',
      secretName: v['tls-secret']!,
      namespace: v.namespace!,
      serviceName: v['service-name']!,
      webhookConfig: v['webhook-config']!,
      ...(policy && { failurePolicy: policy }),
    };
  }
  if (!v['tls-cert'] || !v['tls-key'])
    throw new UsageError('give --tls-cert FILE and --tls-key FILE, or --tls-self-managed');
  return { kind: 'files', certFile: v['tls-cert'], keyFile: v['tls-key'] };
}

/**
 * Flags → WebhookConfig; every bad flag is a UsageError (exit 2): the shared strict parser, as
 * every command uses it, so an unknown flag or a stray argument is refused the same way.
 */
export function serveConfig(args: string[], env: NodeJS.ProcessEnv): WebhookConfig | 'help' {
  const v = parseFlags(args, OPTIONS);
  if (v.help) return 'help';
  if (!v['keys-dir']) throw new UsageError('--keys-dir DIR is required');
  if (v['failure-mode'] !== 'deny' && v['failure-mode'] !== 'allow')
    throw new UsageError(`--failure-mode must be deny or allow, got "${v['failure-mode']}"`);
  if (!LEVELS.includes(v['log-level']))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  return {
    host: v.host,
    port: integer('port', v.port, 0, 65535),
    metricsPort: metricsPort(v),
    tls: tlsConfig(v),
    clientCaFile: v['client-ca'],
    keysDir: v['keys-dir'],
    policyFile: v.policy,
    kubeconfig: v.kubeconfig,
    env,
    failureMode: v['failure-mode'],
    deadlineMs: integer('deadline-ms', v['deadline-ms'], 100, 29_000),
    logLevel: v['log-level'] as LevelWithSilent,
    eventQueueSize: integer('event-queue-size', v['event-queue-size'], 1, 1_000_000),
    events: eventsChoice(v.events),
    eventRate: integer('event-rate', v['event-rate'], 1, 10_000),
    eventBurst: integer('event-burst', v['event-burst'], 1, 100_000),
    shutdownDelayMs: integer('shutdown-delay-ms', v['shutdown-delay-ms'], 0, 60_000),
    graceMs: integer('grace-ms', v['grace-ms'], 0, 300_000),
    scan: scanConfig(v),
  };
}

function seconds(name: string, text: string, min: number, max: number): number {
  const s = parseDuration(text);
  if (s === undefined || s < min || s > max)
    throw new UsageError(
      `--${name} must be a duration from ${min}s to ${max}s (units s m h d w, e.g. 30s, 10m, 1h), got "${text}"`,
    );
  return s;
}

function scanConfig(v: Values): ScanConfig {
  return {
    enabled: v['no-scan'] !== true,
    reports: v['no-policy-reports'] !== true,
    periodMs: seconds('scan-period', v['scan-period'], 1, 7 * 86_400) * 1000,
    leaseDurationMs: seconds('scan-lease-duration', v['scan-lease-duration'], 2, 300) * 1000,
    configMapPollMs: seconds('scan-configmap-poll', v['scan-configmap-poll'], 1, 86_400) * 1000,
    ...(v['scan-lease-namespace'] ? { leaseNamespace: v['scan-lease-namespace'] } : {}),
    ...(v['scan-lease-name'] ? { leaseName: v['scan-lease-name'] } : {}),
  };
}

/** `modelgate serve`: runs until SIGTERM/SIGINT, then drains and exits 0. */
export const serve: Command = async (args, io) => {
  const cfg = serveConfig(args, io.env);
  if (cfg === 'help') {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const webhook = await startWebhook(cfg);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      webhook.logger.info({ signal }, 'signal received');
      webhook.shutdown().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
};
