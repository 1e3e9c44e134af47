/**
 * The webhook's real express app (createApp + handleReview) on plain HTTP over loopback, with
 * a captured audit log and Event sink: TLS is not what these cases attack, the body is.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, decisionLogger } from '../../src/audit/logger.js';
import type { EventIntent } from '../../src/decision/types.js';
import type { KubeApi } from '../../src/kube/client.js';
import { ConfigMapResolver } from '../../src/kube/configmaps.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import type { Policy } from '../../src/policy/types.js';
import { createApp } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { keyring, NOW } from './helpers.js';

export interface TestWebhook {
  url: string;
  /** Raw text the logger wrote (JSON lines). */
  log: () => string;
  events: { intent: EventIntent }[];
  metrics: () => Promise<string>;
  close: () => Promise<void>;
}

export async function startTestWebhook(opts: { policy?: Policy; api?: KubeApi; failureMode?: 'deny' | 'allow' } = {}): Promise<TestWebhook> {
  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString('utf8');
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const metrics = createMetrics({ defaultMetrics: false });
  const events: TestWebhook['events'] = [];
  const resolver = new ConfigMapResolver({ api: opts.api });
  const app = createApp({
    metrics,
    health: { healthy: () => true, notReadyReason: () => undefined, draining: () => false },
    validate: {
      keyring: () => keyring,
      policy: () => opts.policy ?? defaultPolicy(),
      resolve: (ns, refs, signal) => resolver.resolve(ns, refs, signal),
      metrics,
      logDecision: decisionLogger(logger),
      logger,
      recordEvent: (intent) => void events.push({ intent }),
      failureMode: opts.failureMode ?? 'deny',
      deadlineMs: 1000,
      now: () => NOW,
    },
  });
  const server: Server = createServer(app);
  server.requestTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => logText,
    events,
    metrics: () => metrics.registry.metrics(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Answer {
  status: number;
  text: string;
  json: any;
}

export async function post(url: string, body: string | Buffer, contentType: string | null = 'application/json'): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (contentType !== null) headers['content-type'] = contentType;
  const res = await fetch(`${url}/validate`, { method: 'POST', body, headers, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
