import { createConnection, createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EventsV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/audit/events.js';
import { KUBE_MAX_CONNECTIONS, kubeApi } from '../../src/kube/client.js';
import { ctx, namespace } from './lib.js';

/**
 * On the real kube-apiserver: a counting TCP proxy sits between modelgate's kube client and
 * the API server, and 200 Events go through the real path (EventRecorder → kubeApi).
 */

let ns: string;
let proxy: Server;
let connections = 0;

beforeAll(async () => {
  ns = await namespace('e2e-pool');
  const target = new URL(ctx().server);
  proxy = createServer((client) => {
    connections++;
    const upstream = createConnection(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, target.hostname, resolve));
});

afterAll(() => proxy.close());

/** The admin kubeconfig, pointed at the proxy. */
function throughProxy(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(ctx().kubeconfig);
  const exported = JSON.parse(kc.exportConfig()) as { clusters: { cluster: { server: string } }[] };
  const server = new URL(ctx().server);
  server.port = String((proxy.address() as AddressInfo).port);
  for (const c of exported.clusters) c.cluster.server = server.origin;
  const out = new KubeConfig();
  out.loadFromString(JSON.stringify(exported));
  return out;
}

describe('one kept-alive connection pool to the real API server', () => {
  it('creates 200 Events over at most KUBE_MAX_CONNECTIONS TCP connections', async () => {
    const api = await kubeApi(throughProxy());
    let sent = 0;
    const recorder = new EventRecorder({
      sink: { create: (event, signal) => api.createEvent(event, signal) },
      reportingInstance: 'e2e-pool',
      onSent: () => sent++,
    });
    for (let i = 0; i < 200; i++) {
      recorder.record({
        reason: 'ModelRejected',
        type: 'Warning',
        note: `pool ${i}`,
        action: 'Create',
        regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: `pool-${i}` },
      });
    }
    await recorder.idle();
    expect(sent).toBe(200);
    console.log(`e2e pool: 200 Events, ${connections} TCP connections to the API server`);
    expect(connections).toBeLessThanOrEqual(KUBE_MAX_CONNECTIONS);
    const kc = new KubeConfig();
    kc.loadFromFile(ctx().kubeconfig);
    const listed = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    expect(listed.items.filter((e) => e.reportingInstance === 'e2e-pool')).toHaveLength(200);
  });
});
