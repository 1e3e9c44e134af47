import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Webhook } from '../../src/server/webhook.js';
import { makeEnv, start, type Env } from './helpers.js';

/** Just enough of an API server: one Secret and one ValidatingWebhookConfiguration, with resourceVersions. */
class FakeApiServer {
  secrets = new Map<string, any>();
  config: any = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'modelgate', resourceVersion: '1' },
    webhooks: ['deployments', 'pods'].map((n) => ({
      name: `${n}.modelgate.dev`,
      clientConfig: { service: { name: 'modelgate', namespace: 'modelgate', path: '/validate' } },
      admissionReviewVersions: ['v1'],
      sideEffects: 'NoneOnDryRun',
    })),
  };
  version = 1;
  server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const [status, body] = this.handle(
        req.method ?? 'GET',
        req.url ?? '/',
        text ? JSON.parse(text) : undefined,
      );
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  });

  handle(method: string, url: string, body: any): [number, unknown] {
    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/?]+))?/.exec(url);
    if (secret) return this.secret(method, `${secret[1]}/${secret[2] ?? body?.metadata?.name}`, body);
    if (url.startsWith('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/modelgate')) {
      if (method === 'GET') return [200, this.config];
      if (body.metadata.resourceVersion !== this.config.metadata.resourceVersion)
        return [409, { kind: 'Status', code: 409 }];
      this.config = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      return [200, this.config];
    }
    return [404, { kind: 'Status', code: 404 }];
  }

  secret(method: string, key: string, body: any): [number, unknown] {
    const existing = this.secrets.get(key);
    if (method === 'GET') return existing ? [200, existing] : [404, { kind: 'Status', code: 404 }];
    if (method === 'POST' && existing) return [409, { kind: 'Status', code: 409 }];
    if (method === 'PUT' && existing?.metadata.resourceVersion !== body.metadata.resourceVersion)
      return [409, { kind: 'Status', code: 409 }];
    const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
    this.secrets.set(key, stored);
    return [method === 'POST' ? 201 : 200, stored];
  }
}

let api: FakeApiServer;
let env: Env;
let kubeconfig: string;
const webhooks: Webhook[] = [];

beforeAll(async () => {
  api = new FakeApiServer();
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
  env = await makeEnv();
  kubeconfig = join(env.dir, 'kubeconfig');
  const server = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
  );
});

afterAll(async () => {
  await Promise.all(webhooks.map((w) => w.shutdown()));
  api.server.closeAllConnections();
  api.server.close();
});

const selfManaged = {
  kind: 'self-managed' as const,
  secretName: 'modelgate-tls',
  namespace: 'modelgate',
  serviceName: 'modelgate',
  webhookConfig: 'modelgate',
};

function peerCertificate(port: number, ca: string, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no certificate'));
    });
    socket.on('error', reject);
  });
}

describe('self-managed TLS through the API', () => {
  it('two replicas share one Secret, publish the CA to every webhook, and serve for the Service names', async () => {
    const [a, b] = await Promise.all([
      start(env, { tls: selfManaged, kubeconfig }).then((s) => s.webhook),
      start(env, { tls: selfManaged, kubeconfig }).then((s) => s.webhook),
    ]);
    webhooks.push(a, b);
    expect(api.secrets.size).toBe(1);
    const data = api.secrets.get('modelgate/modelgate-tls').data as Record<string, string>;
    const caPem = Buffer.from(data['ca.crt']!, 'base64').toString('utf8');
    const pem = (text: string) => text.replace(/\r\n/g, '\n').trim();
    const bundles = api.config.webhooks.map((w: any) =>
      pem(Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8')),
    );
    expect(bundles).toEqual([pem(caPem), pem(caPem)]);
    // The API server calls https://modelgate.modelgate.svc:443: the chain and the name check out.
    const certA = await peerCertificate(a.port, caPem, 'modelgate.modelgate.svc');
    const certB = await peerCertificate(b.port, caPem, 'modelgate.modelgate.svc');
    expect(certA.fingerprint256).toBe(certB.fingerprint256);
    expect(certA.checkHost('modelgate.modelgate.svc')).toBe('modelgate.modelgate.svc');
    const metrics = await a.metrics.registry.getSingleMetricAsString(
      'modelgate_certificate_expiry_timestamp_seconds',
    );
    const expiry = Number(/ (\d+(?:\.\d+)?)$/m.exec(metrics)?.[1]);
    expect(expiry * 1000).toBeCloseTo(new Date(certA.validTo).getTime(), -4);
  });
});
