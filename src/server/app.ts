import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { MAX_REVIEW_BYTES } from '../admission/decode.js';
import { errored, reviewResponse } from '../admission/respond.js';
import type { Metrics } from './metrics.js';
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
  app.post(
    '/validate',
    refuseAnnouncedOversize(deps.metrics),
    express.raw({ type: () => true, limit: MAX_REVIEW_BYTES }),
    (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      handleReview(body, req.headers['content-type'], deps.validate).then(
        (answer) => void res.status(answer.status).json(answer.body),
        (err: unknown) =>
          sendError(res, 500, `modelgate: internal error: ${err instanceof Error ? err.message : 'unknown'}`),
      );
    },
  );
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

/**
 * A Content-Length over the limit gets its 413 at once, before a byte of the body is read (else
 * express's reader drains up to the limit first), and the connection is closed after the answer:
 * the unread body must not be taken as the next request. Chunked bodies without a length still
 * get their 413 from express.raw's limit.
 */
function refuseAnnouncedOversize(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const announced = Number(req.headers['content-length'] ?? 0);
    if (!(announced > MAX_REVIEW_BYTES)) return next();
    metrics.malformed.inc({ status: '413' });
    res.setHeader('Connection', 'close');
    res.on('finish', () => req.socket.end());
    sendError(res, 413, `request body exceeds ${MAX_REVIEW_BYTES} bytes`);
  };
}

/** Errors from reading the body (too large, aborted, bad encoding), mapped once, here. */
function bodyErrors(metrics: Metrics): ErrorRequestHandler {
  return (err: { type?: string; status?: number; message?: string }, _req, res, _next) => {
    if (err.type === 'entity.too.large') {
      metrics.malformed.inc({ status: '413' });
      return sendError(res, 413, `request body exceeds ${MAX_REVIEW_BYTES} bytes`);
    }
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
