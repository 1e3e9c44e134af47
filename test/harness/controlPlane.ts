/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (secure serving, RBAC,
 * service-account signing keys) and kube-controller-manager (so Deployments make ReplicaSets
 * and Pods; without a scheduler or kubelet the Pods stay Pending, which is all admission
 * needs). Binaries come from `.tools/bin` (`make tools`). Everything lives in one Sandbox:
 * certificates, kubeconfigs, etcd data and logs in a temp dir, removed by `stop()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeKubeconfig } from './kubeconfig.js';
import { freePort, get, waitFor, type TlsClient } from './net.js';
import { stringify } from 'yaml';
import { b64, issue, newCA, newKeyPair, type Issued } from './pki.js';
import { repoRoot, Sandbox, type ManagedProcess } from './sandbox.js';

export const toolsBin = process.env.MODELGATE_TOOLS_BIN ?? path.join(repoRoot, '.tools', 'bin');

/** Only what turns workloads into Pods, plus the service-account machinery they depend on. */
const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'replicationcontroller-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
];

export interface ControlPlaneOptions {
  /** Start kube-controller-manager too (default true). */
  controllerManager?: boolean;
  /** Progress messages (default: silent). */
  log?: (msg: string) => void;
}

/** How to reach a cluster as its admin: all a webhook harness needs (plain data). */
export interface Cluster {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Admin kubeconfig (user in group system:masters). */
  kubeconfig: string;
  /** The cluster CA (PEM). */
  caPem: string;
  /**
   * The CA of the client certificate the API server presents to every webhook that asks for
   * one (its AdmissionConfiguration): what `modelgate serve --client-ca` is given.
   */
  webhookClientCaPem?: string;
}

export interface ControlPlane extends Cluster {
  caFile: string;
  ca: Issued;
  admin: TlsClient;
  sandbox: Sandbox;
  stop(): Promise<void>;
  /** Stops kube-apiserver (SIGTERM) and starts it again on the same port; resolves once /readyz is 200. */
  restartApiserver(): Promise<void>;
  logTails(lines?: number): string;
}

export function tool(name: string): string {
  const file = path.join(toolsBin, name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`make tools\` first`);
  return file;
}

function alive(proc: ManagedProcess, sandbox: Sandbox): () => void {
  return () => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(
        `${proc.name} exited early (${proc.child.exitCode ?? proc.child.signalCode})\n${sandbox.logTails(30)}`,
      );
    }
  };
}

interface Pki {
  ca: Issued;
  files: Record<string, string>;
  admin: Issued;
  controllerManager: Issued;
  webhookClientCA: Issued;
}

function writePki(sandbox: Sandbox): Pki {
  const ca = newCA('modelgate-e2e-ca');
  const serving = issue(ca, {
    commonName: 'kube-apiserver',
    usage: 'server',
    ipSans: ['127.0.0.1', '10.0.0.1'],
    dnsSans: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
  });
  const admin = issue(ca, { commonName: 'e2e-admin', organizations: ['system:masters'], usage: 'client' });
  const controllerManager = issue(ca, { commonName: 'system:kube-controller-manager', usage: 'client' });
  // Its own CA, apart from the cluster's: a webhook that trusts it trusts only this certificate,
  // not every user the cluster CA has issued.
  const webhookClientCA = newCA('modelgate-e2e-webhook-client-ca');
  const webhookClient = issue(webhookClientCA, {
    commonName: 'kube-apiserver-webhook-client',
    usage: 'client',
  });
  const sa = newKeyPair();
  const pkiDir = sandbox.path('pki');
  fs.mkdirSync(pkiDir, { mode: 0o700 });
  const files: Record<string, string> = {
    ca: path.join(pkiDir, 'ca.crt'),
    servingCert: path.join(pkiDir, 'apiserver.crt'),
    servingKey: path.join(pkiDir, 'apiserver.key'),
    saKey: path.join(pkiDir, 'sa.key'),
    saPub: path.join(pkiDir, 'sa.pub'),
  };
  const contents: Record<string, string> = {
    ca: ca.certPem,
    servingCert: serving.certPem,
    servingKey: serving.keyPem,
    saKey: sa.keyPem,
    saPub: sa.publicKeyPem,
  };
  for (const [k, file] of Object.entries(files)) fs.writeFileSync(file, contents[k] ?? '', { mode: 0o600 });
  files.admissionConfig = writeAdmissionConfig(pkiDir, webhookClient);
  return { ca, files, admin, controllerManager, webhookClientCA };
}

/**
 * The API server's AdmissionConfiguration (docs/install.md "Caller authentication"): for every
 * webhook host ("*"), present this client certificate when the webhook asks for one. A webhook
 * that does not ask (no --client-ca) never sees it, so the suite's other webhooks are unaffected.
 */
function writeAdmissionConfig(dir: string, client: Issued): string {
  const kubeconfig = path.join(dir, 'webhook-client.kubeconfig');
  const user = { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) };
  fs.writeFileSync(
    kubeconfig,
    stringify({ apiVersion: 'v1', kind: 'Config', users: [{ name: '*', user }] }),
    {
      mode: 0o600,
    },
  );
  const webhook = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'WebhookAdmissionConfiguration',
    kubeConfigFile: kubeconfig,
  };
  const config = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: ['ValidatingAdmissionWebhook', 'MutatingAdmissionWebhook'].map((name) => ({
      name,
      configuration: webhook,
    })),
  };
  const file = path.join(dir, 'admission-config.yaml');
  fs.writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

async function startEtcd(sandbox: Sandbox): Promise<string> {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = sandbox.spawn('etcd', tool('etcd'), [
    '--name=e2e',
    `--data-dir=${sandbox.path('etcd')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e2e=${peerUrl}`,
    '--initial-cluster-state=new',
    // Throwaway data: no fsync makes every write (and so every API call) much faster.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);
  await waitFor(
    'etcd /health',
    async () => ((await get(`${clientUrl}/health`)).status === 200 ? true : undefined),
    {
      timeoutMs: 30_000,
      guard: alive(proc, sandbox),
    },
  );
  return clientUrl;
}

async function startApiserver(sandbox: Sandbox, pki: Pki, etcdUrl: string, port: number): Promise<string> {
  const f = pki.files;
  const proc = sandbox.spawn('kube-apiserver', tool('kube-apiserver'), [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${sandbox.path('pki')}`,
    `--tls-cert-file=${f.servingCert}`,
    `--tls-private-key-file=${f.servingKey}`,
    `--client-ca-file=${f.ca}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-key-file=${f.saPub}`,
    `--service-account-signing-key-file=${f.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.0.0.0/24',
    // Defaults (NamespaceLifecycle, ServiceAccount, PodSecurity, ...ValidatingAdmissionWebhook) + NodeRestriction.
    '--enable-admission-plugins=NodeRestriction',
    // Client certificate for webhooks that ask for one (mtls.test.ts); see writeAdmissionConfig.
    `--admission-control-config-file=${f.admissionConfig}`,
    '--allow-privileged=false',
    '--profiling=false',
    // The "kubernetes" Service's Endpoints may not point at loopback; nothing here needs them.
    '--endpoint-reconciler-type=none',
    '--v=1',
  ]);
  const admin: TlsClient = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };
  const server = `https://127.0.0.1:${port}`;
  await waitFor(
    'kube-apiserver /readyz',
    async () => ((await get(`${server}/readyz`, admin)).status === 200 ? true : undefined),
    {
      timeoutMs: 120_000,
      intervalMs: 500,
      guard: alive(proc, sandbox),
    },
  );
  return server;
}

async function startControllerManager(
  sandbox: Sandbox,
  pki: Pki,
  server: string,
  admin: TlsClient,
): Promise<void> {
  const kubeconfig = writeKubeconfig(sandbox.path('controller-manager.kubeconfig'), server, pki.ca.certPem, {
    clientCertPem: pki.controllerManager.certPem,
    clientKeyPem: pki.controllerManager.keyPem,
  });
  const proc = sandbox.spawn('kube-controller-manager', tool('kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.files.saKey}`,
    `--root-ca-file=${pki.files.ca}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--v=1',
  ]);
  // The serviceaccount controller creating "default" proves the controller-manager is working.
  await waitFor(
    'the controller-manager (default ServiceAccount in namespace default)',
    async () =>
      (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, admin)).status === 200
        ? true
        : undefined,
    { timeoutMs: 60_000, intervalMs: 500, guard: alive(proc, sandbox) },
  );
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? ((): void => undefined);
  const sandbox = Sandbox.create('modelgate-cp');
  try {
    const t0 = Date.now();
    const pki = writePki(sandbox);
    const etcdUrl = await startEtcd(sandbox);
    log(`etcd ready at ${etcdUrl} (${Date.now() - t0} ms)`);
    const apiPort = await freePort();
    const server = await startApiserver(sandbox, pki, etcdUrl, apiPort);
    log(`kube-apiserver ready at ${server} (${Date.now() - t0} ms)`);
    const admin: TlsClient = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };
    if (opts.controllerManager ?? true) {
      await startControllerManager(sandbox, pki, server, admin);
      log(`kube-controller-manager ready (${Date.now() - t0} ms)`);
    }
    const kubeconfig = writeKubeconfig(sandbox.path('admin.kubeconfig'), server, pki.ca.certPem, {
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
    });
    return {
      server,
      kubeconfig,
      caFile: pki.files.ca ?? '',
      caPem: pki.ca.certPem,
      webhookClientCaPem: pki.webhookClientCA.certPem,
      ca: pki.ca,
      admin,
      sandbox,
      stop: () => sandbox.stop(),
      restartApiserver: async () => {
        await sandbox.kill('kube-apiserver');
        await startApiserver(sandbox, pki, etcdUrl, apiPort);
      },
      logTails: (lines?: number) => sandbox.logTails(lines),
    };
  } catch (err) {
    const tails = sandbox.logTails(30);
    await sandbox.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.includes('-----') ? msg : `${msg}\n${tails}`, { cause: err });
  }
}
