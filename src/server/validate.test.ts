import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { admissionReview, deployment } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import type { EventIntent } from '../decision/types.js';
import { MemoryKeyring } from '../keys/keyring.js';
import type { KubeApi } from '../kube/client.js';
import { ConfigMapResolver } from '../kube/configmaps.js';
import { defaultPolicy } from '../policy/defaults.js';
import { createMetrics } from './metrics.js';
import { handleReview, type ValidateDeps } from './validate.js';

function deps(api: Partial<KubeApi> | undefined, extra: Partial<ValidateDeps> = {}) {
  const events: { intent: EventIntent }[] = [];
  const logged: string[] = [];
  const resolver = new ConfigMapResolver({ api: api as KubeApi | undefined });
  const d: ValidateDeps = {
    keyring: () => new MemoryKeyring([['ci', Buffer.from(vectors.key)]]),
    policy: () => defaultPolicy(),
    resolve: (ns, refs, signal) => resolver.resolve(ns, refs, signal),
    metrics: createMetrics({ defaultMetrics: false }),
    logDecision: (r) => logged.push(r.decision),
    logger: pino({ level: 'silent' }),
    recordEvent: (intent) => events.push({ intent }),
    failureMode: 'deny',
    deadlineMs: 200,
    ...extra,
  };
  return { d, events, logged };
}

function configMapDeployment(): Buffer {
  const obj = deployment(null);
  obj.metadata.annotations['modelgate.dev/manifest-configmap'] = 'models/fraud-detector.manifest.json';
  return Buffer.from(JSON.stringify(admissionReview(obj, { uid: 'uid-cm' })));
}

describe('handleReview', () => {
  it('reads a ConfigMap manifest through the resolver and allows', async () => {
    const api = {
      readConfigMap: () =>
        Promise.resolve({ data: { 'fraud-detector.manifest.json': vectors.manifestText } }),
    };
    const { d, logged } = deps(api);
    const a = await handleReview(configMapDeployment(), 'application/json', d, 'unauthenticated');
    expect(a.body.response).toMatchObject({ uid: 'uid-cm', allowed: true });
    expect(logged).toEqual(['allow']);
  });

  it('a hanging API becomes a deny within the deadline, never a hang', async () => {
    const api = { readConfigMap: () => new Promise<never>(() => {}) };
    const { d, logged } = deps(api);
    const started = Date.now();
    const a = await handleReview(configMapDeployment(), 'application/json', d, 'unauthenticated');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(a.status).toBe(200);
    expect(a.body.response).toMatchObject({ uid: 'uid-cm', allowed: false, status: { code: 403 } });
    expect(a.body.response!.status!.message).toMatch(/^modelgate: /);
    expect(logged).toEqual(['deny']);
  });

  it('without cluster access a ConfigMap ref is denied with a clear message', async () => {
    const { d } = deps(undefined);
    const a = await handleReview(configMapDeployment(), 'application/json', d, 'unauthenticated');
    expect(a.body.response).toMatchObject({ allowed: false });
    expect(a.body.response!.status!.message).toMatch(/API access/);
  });

  it('hands a denial Event to the recorder; a dry run gets none (the decision said so)', async () => {
    const { d, events } = deps(undefined);
    const review = (dryRun: boolean) =>
      Buffer.from(
        JSON.stringify(admissionReview(deployment(vectors.wrongKeyManifestText), { uid: 'u', dryRun })),
      );
    await handleReview(review(false), 'application/json', d, 'unauthenticated');
    expect(events).toEqual([
      expect.objectContaining({ intent: expect.objectContaining({ reason: 'ModelRejected' }) }),
    ]);
    events.length = 0;
    await handleReview(review(true), 'application/json', d, 'unauthenticated');
    expect(events).toEqual([]);
  });

  it.each(['verified-client-cert', 'unauthenticated'] as const)(
    'records the caller %s on the audit line and as the Event annotation modelgate.dev/caller',
    async (caller) => {
      const callers: (string | undefined)[] = [];
      const { d, events } = deps(undefined, { logDecision: (_r, _ms, c) => void callers.push(c) });
      const review = admissionReview(deployment(vectors.wrongKeyManifestText), { uid: 'u-caller' });
      await handleReview(Buffer.from(JSON.stringify(review)), 'application/json', d, caller);
      expect(callers).toEqual([caller]);
      expect(events[0]?.intent.annotations).toMatchObject({
        'modelgate.dev/caller': caller,
        'modelgate.dev/request-uid': 'u-caller',
      });
    },
  );

  it('gives kinds it is not registered for one metric label, so posted junk cannot grow the series', async () => {
    const { d } = deps(undefined);
    for (const kind of ['Junk1', 'Junk2', 'Junk3']) {
      const review = admissionReview({ ...deployment(), kind }, { uid: `u-${kind}` });
      await handleReview(Buffer.from(JSON.stringify(review)), 'application/json', d, 'unauthenticated');
    }
    const text = await d.metrics.registry.metrics();
    expect(text).toMatch(/modelgate_requests_total\{[^}]*kind="other"[^}]*\} 3/);
    expect(text).not.toMatch(/Junk/);
  });
});
