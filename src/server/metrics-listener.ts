import { createServer, type Server } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import { listenOn } from './https.js';
import type { Metrics } from './metrics.js';

/** GET /metrics in Prometheus text format; shared by the metrics listener and the webhook port. */
export function sendMetrics(metrics: Metrics) {
  return (_req: Request, res: Response): void => {
    metrics.registry.metrics().then(
      (text) => void res.type(metrics.registry.contentType).send(text),
      () => void res.status(500).end(),
    );
  };
}

/** The metrics listener's routes: GET /metrics and nothing else (no /validate, no probes). */
export function createMetricsApp(metrics: Metrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/metrics', sendMetrics(metrics));
  app.use((_req, res) => void res.status(404).type('text/plain').send('not found\n'));
  return app;
}

/**
 * `serve --metrics-port`: plain HTTP, as cert-manager (9402) and Kyverno (8000) serve metrics.
 * The series are counts and timestamps, no secret; plain HTTP spares Prometheus from trusting a
 * CA that the self-managed mode rotates, and the chart's NetworkPolicy opens this port only to
 * networkPolicy.metricsFrom. Same slowloris bounds as the webhook port.
 */
export async function listenMetrics(
  metrics: Metrics,
  opts: { host: string; port: number },
): Promise<{ server: Server; port: number }> {
  const server = createServer(createMetricsApp(metrics));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return { server, port: await listenOn(server, opts) };
}
