import { ApiException, AppsV1Api, EventsV1Api, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/net.js';
import { ctx, deployment, namespace, seedKey, showWebhookLogOnFailure, signedSeed, tampered } from './lib.js';

/** The same decisions seen by a program using @kubernetes/client-node instead of kubectl. */
let ns: string;
let apps: AppsV1Api;
let eventsApi: EventsV1Api;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-api');
  const kc = new KubeConfig();
  kc.loadFromFile(ctx().kubeconfig);
  apps = kc.makeApiClient(AppsV1Api);
  eventsApi = kc.makeApiClient(EventsV1Api);
});

interface Status {
  code?: number;
  reason?: string;
  message?: string;
}

/** The API's Status for a refused request. */
async function refusal(p: Promise<unknown>): Promise<Status> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body: unknown = err.body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as Status;
  }
  throw new Error('expected the API to refuse the request');
}

describe('through the API (client-node)', () => {
  it('creates a Deployment whose model verifies', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('api-signed', ns, { manifest: signedSeed }),
    });
    expect(created.metadata?.uid).toBeTruthy();
  });

  it('gets a 403 Status whose message is modelgate’s one line for a tampered model', async () => {
    const status = await refusal(
      apps.createNamespacedDeployment({
        namespace: ns,
        body: deployment('api-tampered', ns, { manifest: tampered(signedSeed) }),
      }),
    );
    expect(status.code).toBe(403);
    expect(status.message).toMatch(
      /^admission webhook "validate\.modelgate\.dev" denied the request: modelgate: /,
    );
    expect(status.message).toContain('fraud-detector.onnx');
    expect(status.message).not.toContain('\n');
  });

  it('gets the same answer for a dry run (dryRun=All)', async () => {
    const status = await refusal(
      apps.createNamespacedDeployment({
        namespace: ns,
        dryRun: 'All',
        body: deployment('api-dry', ns, { manifest: tampered(signedSeed) }),
      }),
    );
    expect(status.code).toBe(403);
    expect(status.message).toContain('modelgate: ');
  });

  it('finds the events.k8s.io/v1 Event modelgate recorded, and no key in it', async () => {
    const event = await waitFor(
      'the ModelRejected Event for api-tampered',
      async () => {
        const list = await eventsApi.listNamespacedEvent({ namespace: ns });
        return list.items.find((e) => e.reason === 'ModelRejected' && e.regarding?.name === 'api-tampered');
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    expect(event).toMatchObject({
      type: 'Warning',
      reportingController: 'modelgate.dev/webhook',
      regarding: { kind: 'Deployment', namespace: ns },
    });
    expect(event.note).toContain('fraud-detector.onnx');
    expect(JSON.stringify(event)).not.toContain(seedKey);
    const list = await eventsApi.listNamespacedEvent({ namespace: ns });
    expect(list.items.filter((e) => e.regarding?.name === 'api-dry')).toEqual([]);
  });
});
