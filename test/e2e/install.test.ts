/**
 * No outage at install (self-managed TLS). The chart installs the webhook configuration with
 * failurePolicy Ignore and no caBundle: while no server answers (the image does not pull, the
 * pods crash), the API server admits rather than refuses. Once a server answers, it writes its
 * CA and the configured failurePolicy (Fail) into the configuration, and enforcement begins.
 *
 * A second release (`mg-install`) is rendered from the chart as an operator would for an
 * out-of-cluster server (deployment.enabled=false, tls.mode=selfManaged), its RBAC applied, and
 * its configuration scoped to namespace `modelgate` (which the suite's own webhook leaves out),
 * so that only this release decides there. The server is the real `modelgate serve
 * --tls-self-managed`, with the ServiceAccount token of that release; its certificate is for
 * `--service-name localhost`, the host of the URL the API server calls.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tool } from '../harness/controlPlane.js';
import { toYamlStream, type KubeObject } from '../harness/install.js';
import { KeysDir } from '../harness/keysDir.js';
import { writeKubeconfig } from '../harness/kubeconfig.js';
import { freePort, waitFor } from '../harness/net.js';
import { newCA } from '../harness/pki.js';
import { repoRoot, Sandbox } from '../harness/sandbox.js';
import { cliBin } from '../harness/webhook.js';
import { SEED_KEY_ID } from './context.js';
import { apply, ctx, denial, expectAdmitted, k, kOk, pod, seedKey, unique } from './lib.js';

const RELEASE = 'mg-install';
/** Left out by the suite's own webhook (its release namespace): only this release decides here. */
const CHECKED = 'modelgate';

interface Rendered {
  access: KubeObject[];
  vwc: KubeObject;
  tlsSecret: string;
}

type Hook = { failurePolicy?: string; clientConfig: { caBundle?: string }; namespaceSelector?: unknown };

async function render(url: string, caFile: string): Promise<Rendered> {
  const args = ['template', RELEASE, path.join(repoRoot, 'charts', 'modelgate'), '--namespace', RELEASE,
    '--set', 'deployment.enabled=false', '--set-string', `webhook.url=${url}`,
    '--set-file', `webhook.caBundle=${caFile}`, '--set', 'tls.mode=selfManaged']; // prettier-ignore
  const { stdout } = await promisify(execFile)(tool('helm'), args, { maxBuffer: 16 << 20 });
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o.kind === 'string');
  const vwc = objects.find((o) => o.kind === 'ValidatingWebhookConfiguration');
  // The TLS Secret's Role (the scanner's Lease has a Role of its own).
  const role = objects.find(
    (o) => o.kind === 'Role' && (o.rules as { resources: string[] }[]).some((r) => r.resources.includes('secrets')),
  ) as { rules: { resourceNames?: string[] }[] } | undefined;
  const tlsSecret = role?.rules.find((r) => r.resourceNames)?.resourceNames?.[0];
  if (!vwc || !tlsSecret) throw new Error(`helm ${args.join(' ')}: no webhook configuration or TLS Secret Role`);
  for (const h of vwc.webhooks as Hook[]) {
    h.namespaceSelector = {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [CHECKED] }],
    };
  }
  return { access: objects.filter((o) => o !== vwc), vwc, tlsSecret };
}

async function hooks(name: string): Promise<Hook[]> {
  return (JSON.parse(await kOk(['get', 'validatingwebhookconfiguration', name, '-o', 'json'])) as { webhooks: Hook[] })
    .webhooks;
}

const sandbox = Sandbox.create('modelgate-install');
let rendered: Rendered;
let port: number;
let serveArgs: string[];
const created: string[] = [];
let installedBundle = '';

async function createPod(name: string): Promise<Awaited<ReturnType<typeof apply>>> {
  created.push(name);
  return apply(pod(name, CHECKED));
}

beforeAll(async () => {
  port = await freePort();
  const caFile = sandbox.path('unused-ca.crt');
  fs.writeFileSync(caFile, newCA('placeholder, replaced by the server').certPem);
  rendered = await render(`https://localhost:${port}/validate`, caFile);
  await kOk(['create', 'namespace', RELEASE]);
  await kOk(['apply', '-f', '-'], toYamlStream(rendered.access));
  const sa = rendered.access.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
  const token = (await kOk(['create', 'token', sa, '-n', RELEASE, '--duration=1h'])).trim();
  const kubeconfig = writeKubeconfig(sandbox.path('sa.kubeconfig'), ctx().server, ctx().caPem, { token });
  const keys = new KeysDir(sandbox.path('keys'), { [SEED_KEY_ID]: seedKey });
  // prettier-ignore
  serveArgs = [cliBin, 'serve', '--host', '127.0.0.1', '--port', String(port),
    '--tls-self-managed', '--tls-secret', rendered.tlsSecret, '--namespace', RELEASE,
    '--service-name', 'localhost', '--webhook-config', rendered.vwc.metadata.name,
    '--webhook-failure-policy', 'Fail', '--keys-dir', keys.dir, '--kubeconfig', kubeconfig,
    '--no-scan']; // the background scanner has its own test (scanner.test.ts)
  await kOk(['apply', '-f', '-'], toYamlStream([rendered.vwc]));
  installedBundle = (await hooks(rendered.vwc.metadata.name))[0]?.clientConfig.caBundle ?? '';
});

afterAll(async () => {
  await k(['delete', 'validatingwebhookconfiguration', rendered.vwc.metadata.name, '--ignore-not-found']);
  if (created.length > 0) await k(['delete', 'pod', '-n', CHECKED, '--ignore-not-found', '--wait=false', ...created]);
  await k(['delete', 'namespace', RELEASE, '--wait=false']);
  for (const o of rendered.access.filter((x) => x.kind.startsWith('Cluster')))
    await k(['delete', o.kind, o.metadata.name, '--ignore-not-found']);
  await sandbox.stop();
});

describe('installing with self-managed TLS while no server answers', () => {
  it('installs the webhook configuration with failurePolicy Ignore', async () => {
    expect((await hooks(rendered.vwc.metadata.name)).map((h) => h.failurePolicy)).toEqual(['Ignore']);
  });

  it('admits an unsigned inference pod instead of refusing every pod creation', async () => {
    expectAdmitted(await createPod(unique('before-server')));
  });
});

describe('once the self-managed server answers', () => {
  beforeAll(async () => {
    sandbox.spawn('modelgate', process.execPath, serveArgs, { cwd: repoRoot });
    await waitFor(
      'the server to write failurePolicy Fail and its caBundle',
      async () => {
        const [h] = await hooks(rendered.vwc.metadata.name);
        return h?.failurePolicy === 'Fail' && h.clientConfig.caBundle !== installedBundle ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
  });

  it('has written its CA and failurePolicy Fail into the configuration', async () => {
    const [h] = await hooks(rendered.vwc.metadata.name);
    expect(h?.failurePolicy).toBe('Fail');
    const secret = JSON.parse(await kOk(['get', 'secret', rendered.tlsSecret, '-n', RELEASE, '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const ca = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString();
    expect(Buffer.from(h?.clientConfig.caBundle ?? '', 'base64').toString()).toContain(ca.trim());
  });

  it('refuses an unsigned inference pod: enforcement has begun', async () => {
    const r = await createPod(unique('after-server'));
    expect(r.code).not.toBe(0);
    expect(denial(r)).toMatch(/^modelgate: /);
  });

  it('and from then on fails closed: with the server gone, the pod is refused, not admitted', async () => {
    await sandbox.kill('modelgate');
    const r = await createPod(unique('server-gone'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed calling webhook/);
  });
});
