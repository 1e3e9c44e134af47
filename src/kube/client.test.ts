import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { toKubeEvent } from '../audit/events.js';
import { kubeApi } from './client.js';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

async function fakeApiServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<KubeConfig> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'test-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('kubeApi', () => {
  it('reads a ConfigMap', async () => {
    const kc = await fakeApiServer((req, res) => {
      expect(req.url).toBe('/api/v1/namespaces/ml/configmaps/models');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'models' },
          data: { a: 'A' },
        }),
      );
    });
    const api = await kubeApi(kc);
    expect(await api.readConfigMap('ml', 'models', AbortSignal.timeout(2000))).toEqual({ data: { a: 'A' } });
  });

  it('maps 404 to undefined', async () => {
    const kc = await fakeApiServer((_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound' }));
    });
    const api = await kubeApi(kc);
    expect(await api.readConfigMap('ml', 'gone', AbortSignal.timeout(2000))).toBeUndefined();
  });

  it('abandons a hanging API call at the signal, with a clean error', async () => {
    const kc = await fakeApiServer(() => {
      /* never answers */
    });
    const api = await kubeApi(kc);
    const started = Date.now();
    const err = await api.readConfigMap('ml', 'models', AbortSignal.timeout(100)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(String(err)).toMatch(/read ConfigMap ml\/models/);
    expect(String(err)).not.toMatch(/test-token/);
  });

  it('creates an events.k8s.io/v1 Event with the wire format the API server validates', async () => {
    let seen: { url?: string; method?: string; body?: any } = {};
    const kc = await fakeApiServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        seen = { url: req.url, method: req.method, body: JSON.parse(text) };
        res.statusCode = 201;
        res.setHeader('content-type', 'application/json');
        res.end(text);
      });
    });
    const api = await kubeApi(kc);
    const event = toKubeEvent(
      {
        reason: 'ModelRejected',
        type: 'Warning',
        note: 'modelgate: denied',
        action: 'Create',
        regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: 'fraud' },
        annotations: { 'modelgate.dev/user': 'alice' },
      },
      'modelgate-0',
      new Date('2026-05-01T10:00:00.123Z'),
    );
    event.series = { count: 3, lastObservedTime: '2026-05-01T10:05:00.000000Z' };
    await api.createEvent(event, AbortSignal.timeout(2000));
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/apis/events.k8s.io/v1/namespaces/ml/events');
    expect(seen.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'ml', annotations: { 'modelgate.dev/user': 'alice' } },
      eventTime: '2026-05-01T10:00:00.123000Z',
      reportingController: 'modelgate.dev/webhook',
      reportingInstance: 'modelgate-0',
      action: 'Create',
      reason: 'ModelRejected',
      type: 'Warning',
      note: 'modelgate: denied',
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: 'fraud' },
      series: { count: 3, lastObservedTime: '2026-05-01T10:05:00.000000Z' },
    });
  });

  it('round-trips Secret data through base64 and sets every webhook caBundle', async () => {
    const bodies: { method: string; url: string; body: any }[] = [];
    let secret: any;
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'modelgate', resourceVersion: '7' },
      webhooks: [
        {
          name: 'a.modelgate.dev',
          failurePolicy: 'Ignore',
          clientConfig: { service: { name: 's', namespace: 'n' } },
          admissionReviewVersions: ['v1'],
          sideEffects: 'NoneOnDryRun',
        },
        {
          name: 'b.modelgate.dev',
          clientConfig: { service: { name: 's', namespace: 'n' } },
          admissionReviewVersions: ['v1'],
          sideEffects: 'NoneOnDryRun',
        },
      ],
    };
    const kc = await fakeApiServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        const body = text ? JSON.parse(text) : undefined;
        bodies.push({ method: req.method!, url: req.url!, body });
        res.setHeader('content-type', 'application/json');
        if (req.url!.includes('/secrets')) {
          if (req.method === 'POST')
            secret = { ...body, metadata: { ...body.metadata, resourceVersion: '1' } };
          res.end(JSON.stringify(secret));
        } else res.end(JSON.stringify(req.method === 'GET' ? config : body));
      });
    });
    const api = await kubeApi(kc);
    await api.createSecret('n', 'tls', { 'tls.crt': 'CERT', 'ca.crt': 'CA' }, AbortSignal.timeout(2000));
    expect(bodies[0]!.body.data).toEqual({
      'tls.crt': Buffer.from('CERT').toString('base64'),
      'ca.crt': Buffer.from('CA').toString('base64'),
    });
    expect(await api.readSecret('n', 'tls', AbortSignal.timeout(2000))).toEqual({
      data: { 'tls.crt': 'CERT', 'ca.crt': 'CA' },
      resourceVersion: '1',
    });
    await api.publishWebhook('modelgate', { caPem: 'CA-PEM' }, AbortSignal.timeout(2000));
    const put = bodies.find((b) => b.method === 'PUT')!;
    expect(put.url).toBe('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/modelgate');
    expect(put.body.metadata.resourceVersion).toBe('7');
    expect(put.body.webhooks.map((w: any) => w.clientConfig.caBundle)).toEqual([
      Buffer.from('CA-PEM').toString('base64'),
      Buffer.from('CA-PEM').toString('base64'),
    ]);
    // Without a failurePolicy to publish, each webhook keeps its own.
    expect(put.body.webhooks.map((w: any) => w.failurePolicy)).toEqual(['Ignore', undefined]);
    await api.publishWebhook('modelgate', { caPem: 'CA-PEM', failurePolicy: 'Fail' }, AbortSignal.timeout(2000));
    const second = bodies.filter((b) => b.method === 'PUT')[1]!;
    expect(second.body.webhooks.map((w: any) => w.failurePolicy)).toEqual(['Fail', 'Fail']);
  });
});
