import { describe, expect, it } from 'vitest';
import { ctx, k } from './lib.js';

/**
 * The webhook runs with a ServiceAccount token bound to the chart's RBAC only: what it needs
 * (read ConfigMaps holding manifests, write Events) and nothing more.
 */
async function can(verb: string, resource: string, namespace = 'e2e-admission'): Promise<boolean> {
  const r = await k(['auth', 'can-i', verb, resource, '-n', namespace, `--as=${ctx().webhookUser}`]);
  return r.stdout.trim() === 'yes';
}

describe("the webhook's identity", () => {
  it('comes from the chart, for the out-of-cluster mode', () => {
    expect(ctx().installSource, ctx().installHow).toBe('chart');
  });

  it.each([
    ['get', 'configmaps'],
    ['list', 'configmaps'],
    ['watch', 'configmaps'],
    ['create', 'events.events.k8s.io'],
    ['patch', 'events.events.k8s.io'],
  ])('may %s %s', async (verb, resource) => {
    expect(await can(verb, resource)).toBe(true);
  });

  it.each([
    ['get', 'secrets'],
    ['list', 'secrets'],
    ['create', 'configmaps'],
    ['update', 'configmaps'],
    ['delete', 'events.events.k8s.io'],
    ['create', 'deployments.apps'],
    ['create', 'pods'],
    ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io'],
  ])('may not %s %s', async (verb, resource) => {
    expect(await can(verb, resource)).toBe(false);
  });
});
