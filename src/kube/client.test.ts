import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeApi } from './client.js';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

async function fakeApiServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<KubeConfig> {
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
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'models' }, data: { a: 'A' } }));
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
});
