import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/audit/events.js';
import type { EventIntent } from '../../src/decision/types.js';
import { KUBE_MAX_CONNECTIONS, kubeApi } from '../../src/kube/client.js';
import { createSelfSignedBundle } from '../../src/tls/certs.js';

/**
 * A local HTTPS server stands in for the API server and counts TCP connections, so the
 * real path (EventRecorder → kubeApi → client-node → fetch) shows how many sockets it opens.
 */

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

interface Counted {
  kc: KubeConfig;
  connections: () => number;
  requests: () => number;
}

async function countingApiServer(): Promise<Counted> {
  const { ca, serving } = createSelfSignedBundle({
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
  });
  let connections = 0;
  let requests = 0;
  server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    requests++;
    expect(req.headers.authorization).toBe('Bearer pool-token');
    req.resume();
    req.on('end', () => {
      res.statusCode = req.method === 'POST' ? 201 : 404;
      res.setHeader('content-type', 'application/json');
      res.end(
        req.method === 'POST'
          ? '{"kind":"Event","apiVersion":"events.k8s.io/v1"}'
          : '{"kind":"Status","code":404}',
      );
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString('base64') },
    ],
    users: [{ name: 'u', token: 'pool-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kc, connections: () => connections, requests: () => requests };
}

function intent(i: number): EventIntent {
  return {
    reason: 'ModelRejected',
    type: 'Warning',
    note: `modelgate: denied ${i}`,
    action: 'Create',
    regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: `app-${i}` },
  };
}

describe('one kept-alive connection pool for the API server', () => {
  it('sends 200 Events through the EventRecorder over at most KUBE_MAX_CONNECTIONS connections', async () => {
    const api = await counted();
    const recorder = new EventRecorder({
      sink: { create: (event, signal) => api.api.createEvent(event, signal) },
      reportingInstance: 'modelgate-0',
    });
    for (let i = 0; i < 200; i++) expect(recorder.record(intent(i))).toBe('queued');
    await recorder.idle();
    expect(api.requests()).toBe(200);
    expect(api.connections()).toBeLessThanOrEqual(KUBE_MAX_CONNECTIONS);
  });

  it('shares the pool across concurrent calls of every kind (Events, ConfigMaps, Secrets)', async () => {
    const api = await counted();
    const signal = AbortSignal.timeout(10_000);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      calls.push(api.api.readConfigMap('ml', `cm-${i}`, signal), api.api.readSecret('ml', `s-${i}`, signal));
    }
    await Promise.all(calls);
    expect(api.requests()).toBe(100);
    expect(api.connections()).toBeLessThanOrEqual(KUBE_MAX_CONNECTIONS);
  });
});

async function counted(): Promise<{ api: Awaited<ReturnType<typeof kubeApi>> } & Omit<Counted, 'kc'>> {
  const { kc, connections, requests } = await countingApiServer();
  return { api: await kubeApi(kc), connections, requests };
}
