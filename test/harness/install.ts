/**
 * What an operator installs for a webhook running outside the cluster: the ServiceAccount, its
 * RBAC and the ValidatingWebhookConfiguration, rendered from the Helm chart (the same objects
 * users get), so the chart and the end-to-end suite cannot drift apart. Only while helm or the
 * chart is missing (a partial checkout, tools still building) does a checked-in copy stand in,
 * and the suite says so.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { toolsBin } from './controlPlane.js';
import { b64 } from './pki.js';
import { repoRoot } from './sandbox.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Install {
  source: 'chart' | 'fixture';
  /** How it was rendered (the helm command line, or the fixture path). */
  how: string;
  namespace: string;
  serviceAccount: string;
  /** ServiceAccount, (Cluster)Role(Binding)s: applied before the webhook starts. */
  access: KubeObject[];
  /** ValidatingWebhookConfigurations: applied once the webhook answers. */
  webhookConfigs: KubeObject[];
}

export const RELEASE = 'modelgate';
export const RELEASE_NAMESPACE = 'modelgate';
const chartDir = path.join(repoRoot, 'charts', 'modelgate');
const fixture = path.join(repoRoot, 'test', 'e2e', 'fixtures', 'install-out-of-cluster.yaml');
const ACCESS_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object' && typeof o.kind === 'string');
}

/** As docs/install.md "Out-of-cluster / development" says. */
async function renderChart(url: string, caFile: string): Promise<{ how: string; text: string }> {
  const args = [
    'template',
    RELEASE,
    chartDir,
    '--namespace',
    RELEASE_NAMESPACE,
    '--set',
    'deployment.enabled=false',
    '--set-string',
    `webhook.url=${url}`,
    '--set-file',
    `webhook.caBundle=${caFile}`,
    '--set',
    'tls.mode=existingSecret',
  ];
  const how = `helm ${args.join(' ')}`;
  try {
    const { stdout } = await promisify(execFile)(path.join(toolsBin, 'helm'), args, { maxBuffer: 16 << 20 });
    return { how, text: stdout };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the chart does not render for the out-of-cluster mode:\n  ${how}\n  ${e.stderr ?? e.message}`,
      { cause: err },
    );
  }
}

function renderFixture(url: string, caFile: string): string {
  const caBundle = b64(fs.readFileSync(caFile, 'utf8'));
  return fs.readFileSync(fixture, 'utf8').replaceAll('${URL}', url).replaceAll('${CA_BUNDLE}', caBundle);
}

/** `E2E_INSTALL_SOURCE=fixture|chart` forces one; by default the chart when helm and the chart exist. */
function chooseSource(): 'chart' | 'fixture' {
  const forced = process.env.E2E_INSTALL_SOURCE;
  if (forced === 'chart' || forced === 'fixture') return forced;
  const ready =
    fs.existsSync(path.join(toolsBin, 'helm')) && fs.existsSync(path.join(chartDir, 'Chart.yaml'));
  return ready ? 'chart' : 'fixture';
}

/** `caFile`: the PEM CA that signed the webhook's serving certificate. */
export async function renderInstall(url: string, caFile: string, source = chooseSource()): Promise<Install> {
  const { how, text } =
    source === 'chart' ? await renderChart(url, caFile) : { how: fixture, text: renderFixture(url, caFile) };
  const objects = parseObjects(text);
  const access = objects.filter((o) => ACCESS_KINDS.includes(o.kind));
  const webhookConfigs = objects.filter((o) => o.kind === 'ValidatingWebhookConfiguration');
  const sa = access.find((o) => o.kind === 'ServiceAccount');
  if (!sa || webhookConfigs.length === 0) {
    throw new Error(
      `${how}: expected a ServiceAccount and a ValidatingWebhookConfiguration, got ${objects.map((o) => o.kind).join(', ')}`,
    );
  }
  return {
    source,
    how,
    namespace: sa.metadata.namespace ?? RELEASE_NAMESPACE,
    serviceAccount: sa.metadata.name,
    access,
    webhookConfigs,
  };
}

export function toYamlStream(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}
