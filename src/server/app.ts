import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { errored, reviewResponse } from '../admission/respond.js';
import type { Metrics } from './metrics.js';
import { readReviewBody } from './body.js';
import { oneJobPerTurn } from './turns.js';
import { handleReview, type ValidateDeps } from './validate.js';

export interface Health {
  /** Liveness: the serving certificate is present and unexpired. */
  healthy(): boolean;
  /** Why the webhook is not ready (TLS, keys, policy not loaded; draining), or undefined when ready. */
  notReadyReason(): string | undefined;
  /** True once shutdown began: answers carry `Connection: close` so clients move on. */
  draining(): boolean;
}

export interface AppDeps {
  validate: ValidateDeps;
  metrics: Metrics;
  health: Health;
}

/** The routes, thin: all admission logic is in handleReview. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    if (deps.health.draining()) res.setHeader('Connection', 'close');
    next();
  });
  // Any content type is read as bytes; decodeAdmissionReview checks it with a precise message.
  const inTurn = oneJobPerTurn();
  app.post('/validate', readReviewBody(deps.metrics), (req: Request, res: Response) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    inTurn(() => {
      handleReview(body, req.headers['content-type'], deps.validate).then(
        (answer) => void res.status(answer.status).json(answer.body),
        (err: unknown) =>
          sendError(res, 500, `modelgate: internal error: ${err instanceof Error ? err.message : 'unknown'}`),
      );
    });
  });
  app.get('/healthz', (_req, res) => {
    if (deps.health.healthy()) res.type('text/plain').send('ok\n');
    else res.status(500).type('text/plain').send('serving certificate missing or expired\n');
  });
  app.get('/readyz', (_req, res) => {
    const reason = deps.health.notReadyReason();
    if (reason === undefined) res.type('text/plain').send('ok\n');
    else res.status(503).type('text/plain').send(`not ready: ${reason}\n`);
  });
  app.get('/metrics', (_req, res) => {
    deps.metrics.registry.metrics().then(
      (text) => void res.type(deps.metrics.registry.contentType).send(text),
      () => void res.status(500).end(),
    );
  });
  app.use((_req, res) => void res.status(404).type('text/plain').send('not found\n'));
  app.use(bodyErrors(deps.metrics));
  return app;
}

/** Errors from reading the body (aborted, reset), mapped once, here; readReviewBody answers the rest. */
function bodyErrors(metrics: Metrics): ErrorRequestHandler {
  return (err: { type?: string; status?: number; message?: string }, _req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    metrics.malformed.inc({ status: String(status) });
    sendError(
      res,
      status,
      status === 500
        ? 'modelgate: internal error'
        : `cannot read request body: ${err.message ?? err.type ?? 'error'}`,
    );
  };
}

function sendError(res: Response, status: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json(reviewResponse(errored('', status, message)));
}
