/**
 * The webhook as users run it, minus the pod: `modelgate serve` as a local process on
 * 127.0.0.1, talking to the API server with a ServiceAccount token bound only to the RBAC the
 * Helm chart grants, and registered through the chart's ValidatingWebhookConfiguration
 * (`clientConfig.url` + `caBundle`). Ready only once the API server has really called it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { Cluster } from './controlPlane.js';
import { renderInstall, toYamlStream, type Install, type KubeObject } from './install.js';
import { KeysDir } from './keysDir.js';
import { kubectl, kubectlOk } from './kubectl.js';
import { writeKubeconfig } from './kubeconfig.js';
import { freePort, get, waitFor } from './net.js';
import { issue, newCA } from './pki.js';
import { repoRoot, Sandbox, type ManagedProcess } from './sandbox.js';

export const cliBin = path.join(repoRoot, 'dist', 'cli', 'bin.js');

export interface WebhookOptions {
  cluster: Cluster;
  /** Key id → key bytes, mounted like a Secret (see KeysDir). */
  keys: Record<string, string>;
  /** Policy file; none = the built-in default policy. */
  policyFile?: string;
  /**
   * A namespace where an unsigned inference Deployment is refused: the readiness probe
   * dry-run-creates one there until the API server answers with modelgate's denial.
   */
  probeNamespace: string;
  /** Register the webhook configuration under another name and only for these namespaces (a second instance). */
  only?: { configName: string; namespaces: string[] };
  logLevel?: string;
  /** `serve --client-ca` with this PEM bundle (e.g. the cluster's webhookClientCaPem). */
  clientCaPem?: string;
  /** Extra `modelgate serve` flags (e.g. --event-rate). */
  args?: string[];
  /** Node flags before the CLI, e.g. the image's `--max-semi-space-size=2`. */
  nodeFlags?: string[];
  /** Extra environment, e.g. POD_NAME (the Events' reportingInstance) to tell instances apart. */
  env?: Record<string, string>;
  /**
   * Background-scanner flags (e.g. --scan-period 2s); the Lease goes in the chart's namespace.
   * Absent: --no-scan, so the suite's instances do not compete for the Lease with a test's own.
   */
  scan?: string[];
}

export interface Webhook {
  url: string;
  port: number;
  caPem: string;
  keys: KeysDir;
  install: Install;
  /** The decision log (pino JSON lines). */
  logFile: string;
  /** Kills the server process only; the registration stays (failurePolicy applies). */
  stopServer(): Promise<void>;
  /** SIGKILL: no shutdown at all (a crashed or partitioned pod). */
  crashServer(): Promise<void>;
  /** Starts it again on the same port and waits for /readyz. */
  startServer(): Promise<void>;
  /** SIGKILLs the server process (no drain, no log flush) and waits until it is gone. */
  killServer(): Promise<void>;
  /** The server's pid (changes when it is restarted). */
  pid(): number | undefined;
  /** GET https://127.0.0.1:PORT/metrics (status and Prometheus text). */
  metrics(): Promise<string>;
  /** Unregisters, stops, removes the temp dir. */
  stop(): Promise<void>;
  logTails(lines?: number): string;
}

/** An inference Deployment without any manifest: what the readiness probe expects refused. */
export function unsignedProbe(namespace: string): string {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'modelgate-readiness-probe', namespace, labels: { 'modelgate.dev/inference': 'true' } },
    spec: {
      selector: { matchLabels: { app: 'probe' } },
      template: {
        metadata: { labels: { app: 'probe', 'modelgate.dev/inference': 'true' } },
        spec: { containers: [{ name: 'server', image: 'registry.example.com/probe:1' }] },
      },
    },
  });
}

export async function ensureNamespace(
  kubeconfig: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const doc = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
  await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify(doc));
}

function scoped(vwc: KubeObject, only: NonNullable<WebhookOptions['only']>): KubeObject {
  const copy = structuredClone(vwc);
  copy.metadata = { name: only.configName };
  const hooks = (copy.webhooks ?? []) as Record<string, unknown>[];
  for (const h of hooks) {
    h.namespaceSelector = {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: only.namespaces }],
    };
  }
  return copy;
}

interface Files {
  cert: string;
  key: string;
  kubeconfig: string;
}

async function grantAccess(cp: Cluster, install: Install, sandbox: Sandbox): Promise<string> {
  await ensureNamespace(cp.kubeconfig, install.namespace);
  await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], toYamlStream(install.access));
  const token = (
    await kubectlOk(cp.kubeconfig, [
      'create',
      'token',
      install.serviceAccount,
      '-n',
      install.namespace,
      '--duration=24h',
    ])
  ).trim();
  return writeKubeconfig(sandbox.path('webhook.kubeconfig'), cp.server, cp.caPem, { token });
}

function writeServingCert(sandbox: Sandbox): { caPem: string; caFile: string; cert: string; key: string } {
  const ca = newCA('modelgate-e2e-webhook-ca');
  const serving = issue(ca, {
    commonName: 'modelgate',
    usage: 'server',
    ipSans: ['127.0.0.1'],
    dnsSans: ['localhost'],
  });
  const cert = sandbox.path('tls.crt');
  const key = sandbox.path('tls.key');
  fs.writeFileSync(cert, serving.certPem);
  fs.writeFileSync(key, serving.keyPem, { mode: 0o600 });
  const caFile = sandbox.path('webhook-ca.crt');
  fs.writeFileSync(caFile, ca.certPem);
  return { caPem: ca.certPem, caFile, cert, key };
}

/** Until an unsigned probe is refused by modelgate and this instance's log shows it was asked. */
async function waitUntilCalled(
  cp: Cluster,
  namespace: string,
  logFile: string,
  guard: () => void,
): Promise<void> {
  await ensureNamespace(cp.kubeconfig, namespace);
  await waitFor(
    `the API server to call the webhook (dry-run probe in ${namespace} refused by modelgate)`,
    async () => {
      const r = await kubectl(
        cp.kubeconfig,
        ['create', '--dry-run=server', '-f', '-'],
        unsignedProbe(namespace),
      );
      const askedUs =
        fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('modelgate-readiness-probe');
      if (r.code !== 0 && r.stderr.includes('modelgate: ') && askedUs) return true;
      if (r.code !== 0 && !askedUs)
        throw new Error(`refused, but not by this instance yet: ${r.stderr.trim()}`);
      throw new Error(r.code === 0 ? 'the unsigned probe was admitted' : r.stderr.trim());
    },
    { timeoutMs: 60_000, intervalMs: 500, guard },
  );
}

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  if (!fs.existsSync(cliBin)) throw new Error(`${cliBin} is missing: run \`make build\` first`);
  const cp = opts.cluster;
  const sandbox = Sandbox.create('modelgate-wh');
  try {
    const port = await freePort();
    const clientCaFile = opts.clientCaPem ? sandbox.path('client-ca.crt') : undefined;
    if (clientCaFile) fs.writeFileSync(clientCaFile, opts.clientCaPem ?? '');
    const url = `https://127.0.0.1:${port}/validate`;
    const tls = writeServingCert(sandbox);
    const keys = new KeysDir(sandbox.path('keys'), opts.keys);
    const install = await renderInstall(url, tls.caFile);
    const files: Files = {
      cert: tls.cert,
      key: tls.key,
      kubeconfig: await grantAccess(cp, install, sandbox),
    };
    // prettier-ignore
    const args = [
      ...(opts.nodeFlags ?? []),
      cliBin, 'serve',
      '--host', '127.0.0.1',
      '--port', String(port),
      '--tls-cert', files.cert,
      '--tls-key', files.key,
      '--keys-dir', keys.dir,
      '--kubeconfig', files.kubeconfig,
      '--log-level', opts.logLevel ?? 'info',
      ...(opts.policyFile ? ['--policy', opts.policyFile] : []),
      ...(clientCaFile ? ['--client-ca', clientCaFile] : []),
      ...(opts.scan ? [...opts.scan, '--scan-lease-namespace', install.namespace] : ['--no-scan']),
      ...(opts.args ?? []),
    ];
    let proc: ManagedProcess | undefined;
    const guard = (): void => {
      if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
        throw new Error(
          `modelgate serve exited (${proc.child.exitCode ?? proc.child.signalCode})\n${sandbox.logTails(40)}`,
        );
      }
    };
    const startServer = async (): Promise<void> => {
      proc = sandbox.spawn('modelgate', process.execPath, args, {
        cwd: repoRoot,
        env: { ...process.env, ...opts.env },
      });
      await waitFor(
        'modelgate /readyz',
        async () =>
          (await get(`https://127.0.0.1:${port}/readyz`, { ca: tls.caPem })).status === 200
            ? true
            : undefined,
        {
          timeoutMs: 30_000,
          guard,
        },
      );
    };
    await startServer();
    const configs = opts.only
      ? install.webhookConfigs.map((c) => scoped(c, opts.only!))
      : install.webhookConfigs;
    await kubectlOk(cp.kubeconfig, ['apply', '-f', '-'], toYamlStream(configs));
    const logFile = sandbox.path('logs', 'modelgate.log');
    await waitUntilCalled(cp, opts.probeNamespace, logFile, guard);
    return {
      url,
      port,
      caPem: tls.caPem,
      keys,
      install,
      logFile,
      stopServer: () => sandbox.kill('modelgate'),
      crashServer: () => sandbox.kill('modelgate', 5_000, 'SIGKILL'),
      startServer,
      killServer: async () => {
        const running = sandbox.process('modelgate');
        if (!running) return;
        sandbox.signal('modelgate', 'SIGKILL');
        await running.exited;
      },
      pid: () => sandbox.process('modelgate')?.pid,
      metrics: async () => {
        const r = await get(`https://127.0.0.1:${port}/metrics`, { ca: tls.caPem });
        if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
        return r.body;
      },
      stop: async () => {
        const names = configs.map((c) => c.metadata.name);
        await kubectl(cp.kubeconfig, [
          'delete',
          'validatingwebhookconfiguration',
          '--ignore-not-found',
          '--request-timeout=5s',
          ...names,
        ]);
        await sandbox.stop();
      },
      logTails: (lines?: number) => sandbox.logTails(lines),
    };
  } catch (err) {
    const tails = sandbox.logTails(40);
    await sandbox.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.includes('-----') ? msg : `${msg}\n${tails}`, { cause: err });
  }
}
