import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderInstall, type Install } from '../harness/install.js';
import { newCA } from '../harness/pki.js';
import { ctx, k, kOk } from './lib.js';

/**
 * The webhook runs with a ServiceAccount token bound to the chart's RBAC only: what it needs
 * (read ConfigMaps holding manifests by name, write Events) and nothing more.
 */
async function can(verb: string, resource: string, namespace = 'e2e-admission'): Promise<boolean> {
  const r = await k(['auth', 'can-i', verb, resource, '-n', namespace, `--as=${ctx().webhookUser}`]);
  return r.stdout.trim() === 'yes';
}

async function allowed(verb: string, group: string, resource: string): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: ctx().webhookUser,
      resourceAttributes: { verb, group, resource, namespace: 'e2e-admission' },
    },
  };
  const out = JSON.parse(await kOk(['create', '-o', 'json', '-f', '-'], review)) as {
    status?: { allowed?: boolean };
  };
  return out.status?.allowed === true;
}

describe("the webhook's identity", () => {
  it('comes from the chart, for the out-of-cluster mode', () => {
    expect(ctx().installSource, ctx().installHow).toBe('chart');
  });

  it.each([
    ['get', 'configmaps'],
    ['create', 'events.events.k8s.io'],
    ['patch', 'events.events.k8s.io'],
    // The background scanner (docs/scanner.md): list/watch of the kinds it re-decides, its reports.
    ['list', 'deployments.apps'],
    ['watch', 'pods'],
    ['list', 'cronjobs.batch'],
  ])('may %s %s', async (verb, resource) => {
    expect(await can(verb, resource)).toBe(true);
  });

  // Asked with a SubjectAccessReview: kubectl auth can-i needs the CRD served to resolve the
  // resource, and whether the PolicyReport CRD is installed is not what this tests.
  it.each(['create', 'update', 'list'])('may %s policyreports.wgpolicyk8s.io', async (verb) => {
    expect(await allowed(verb, 'wgpolicyk8s.io', 'policyreports')).toBe(true);
  });

  it.each([
    ['get', 'secrets'],
    ['list', 'secrets'],
    // ConfigMaps are read one by name (src/kube/configmaps.ts): no informer, no list.
    ['list', 'configmaps'],
    ['watch', 'configmaps'],
    ['create', 'configmaps'],
    ['update', 'configmaps'],
    ['delete', 'events.events.k8s.io'],
    ['create', 'deployments.apps'],
    ['create', 'pods'],
    ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io'],
    ['get', 'deployments.apps'],
    ['update', 'deployments.apps'],
    ['get', 'pods'],
    ['create', 'leases.coordination.k8s.io'],
  ])('may not %s %s', async (verb, resource) => {
    expect(await can(verb, resource)).toBe(false);
  });

  it('may hold only its own scanner Lease, in its own namespace', async () => {
    const ns = ctx().webhookUser.split(':')[2] ?? 'modelgate';
    expect(await can('create', 'leases.coordination.k8s.io', ns)).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io/modelgate-scanner', ns)).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io/kube-controller-manager', ns)).toBe(false);
    expect(await can('update', 'leases.coordination.k8s.io/modelgate-scanner', 'kube-system')).toBe(false);
  });
});

/** caBundle is base64 of PEM: compare the certificate, not line endings or a trailing newline. */
function withPemBundle(hook: Record<string, any>): Record<string, any> {
  const pem = Buffer.from(String(hook.clientConfig?.caBundle ?? ''), 'base64').toString();
  return { ...hook, clientConfig: { ...hook.clientConfig, caBundle: pem.replace(/\r\n/g, '\n').trim() } };
}

describe('the fallback copy of the install objects (used only without helm)', () => {
  it('is what the chart renders: same RBAC rules, same webhook rules and policies', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelgate-drift-'));
    try {
      const caFile = path.join(dir, 'ca.crt');
      fs.writeFileSync(caFile, newCA('drift-check').certPem);
      const url = 'https://127.0.0.1:9443/validate';
      const [chart, fixture] = await Promise.all([
        renderInstall(url, caFile, 'chart'),
        renderInstall(url, caFile, 'fixture'),
      ]);
      const essence = (i: Install): unknown => ({
        serviceAccount: `${i.namespace}/${i.serviceAccount}`,
        rules: i.access.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map((o) => o.rules),
        webhooks: i.webhookConfigs.map((o) => (o.webhooks as Record<string, any>[]).map(withPemBundle)),
      });
      expect(essence(fixture)).toEqual(essence(chart));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
