import { mkdtemp, mkdir, writeFile, copyFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createSelfSignedBundle, createServingCert, type KeyPair } from '../../src/tls/certs.js';
import { startWebhook, type Webhook, type WebhookConfig } from '../../src/server/webhook.js';
import { vectors } from '../fixtures/vectors.js';

export const POLICY_FIXTURE = new URL('../fixtures/reviews/policy.yaml', import.meta.url).pathname;

/** Collects pino's JSON lines. */
export class LogCapture extends Writable {
  lines: Record<string, any>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
    done();
  }
  find(msg: string): Record<string, any>[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

export interface Env {
  dir: string;
  ca: KeyPair;
  certFile: string;
  keyFile: string;
  keysDir: string;
  policyFile: string;
}

/** A temp dir with a CA-signed cert for 127.0.0.1, the `ci` key and the test policy. */
export async function makeEnv(): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-it-'));
  const { ca, serving } = createSelfSignedBundle({
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 2,
  });
  const env: Env = {
    dir,
    ca,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    keysDir: join(dir, 'keys'),
    policyFile: join(dir, 'policy.yaml'),
  };
  await writeFile(env.certFile, serving.certPem);
  await writeFile(env.keyFile, serving.keyPem);
  await mkdir(env.keysDir);
  await copyFile(vectors.keyFile, join(env.keysDir, 'ci'));
  await copyFile(POLICY_FIXTURE, env.policyFile);
  return env;
}

export function newServingCert(env: Env): KeyPair {
  return createServingCert(env.ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 2 });
}

export async function start(
  env: Env,
  extra: Partial<WebhookConfig> = {},
): Promise<{ webhook: Webhook; logs: LogCapture }> {
  const logs = new LogCapture();
  const webhook = await startWebhook({
    host: '127.0.0.1',
    port: 0,
    tls: { kind: 'files', certFile: env.certFile, keyFile: env.keyFile, pollMs: 50 },
    keysDir: env.keysDir,
    policyFile: env.policyFile,
    kubeconfig: undefined,
    env: {},
    failureMode: 'deny',
    deadlineMs: 2000,
    logLevel: 'info',
    logDestination: logs,
    reloadPollMs: 50,
    shutdownDelayMs: 0,
    graceMs: 5000,
    ...extra,
  });
  return { webhook, logs };
}

export interface Answer {
  status: number;
  text: string;
  json: any;
  /** sha256 fingerprint of the server certificate seen on this connection. */
  peer: string;
}

/** One HTTPS request trusting only the test CA. */
export function call(
  port: number,
  opts: {
    ca: string;
    agent?: Agent | false;
    method?: string;
    path?: string;
    body?: Buffer | string;
    contentType?: string;
    /** A client certificate and its key (PEM), for `--client-ca`. */
    clientCert?: { certPem: string; keyPem: string };
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body =
      opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/validate',
        ca: opts.ca,
        agent: opts.agent,
        ...(opts.clientCert ? { cert: opts.clientCert.certPem, key: opts.clientCert.keyPem } : {}),
        headers: {
          ...(opts.contentType === undefined ? {} : { 'content-type': opts.contentType }),
          ...(body === undefined ? {} : { 'content-length': body.length }),
        },
      },
      (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.().fingerprint256 ?? '';
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json, peer });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function review(port: number, ca: string, body: unknown, agent?: Agent | false): Promise<Answer> {
  return call(port, { ca, agent, body: JSON.stringify(body), contentType: 'application/json' });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
