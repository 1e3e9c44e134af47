import type { TLSSocket } from 'node:tls';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import type { Caller } from '../audit/caller.js';
import { errored, reviewResponse } from '../admission/respond.js';
import type { Metrics } from './metrics.js';
import { sendMetrics } from './metrics-listener.js';
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
  /**
   * `serve --client-ca`: POST /validate only from a caller whose certificate chains to that CA.
   * The TLS layer asks for a certificate but lets the handshake finish without one, so that the
   * kubelet's probes (/healthz, /readyz) and scrapes (/metrics) on the same port keep working.
   */
  requireClientCert?: boolean;
  /**
   * Serve GET /metrics on this (HTTPS) port too: true unless `serve --metrics-port` gives
   * metrics their own listener, so a scrape config of an older install keeps working.
   */
  metricsOnWebhookPort?: boolean;
}

/**
 * `authorized` is true only on a TLS socket whose server asked for a certificate (--client-ca)
 * and got one that chains to that CA; without --client-ca nothing is asked, so nobody is.
 */
function callerOf(req: Request): Caller {
  return (req.socket as Partial<TLSSocket>).authorized === true ? 'verified-client-cert' : 'unauthenticated';
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
  app.post('/validate', clientCertGate(deps), readReviewBody(deps.metrics), (req: Request, res: Response) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    inTurn(() => {
      handleReview(body, req.headers['content-type'], deps.validate, callerOf(req)).then(
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
  if (deps.metricsOnWebhookPort !== false) app.get('/metrics', sendMetrics(deps.metrics));
  app.use((_req, res) => void res.status(404).type('text/plain').send('not found\n'));
  app.use(bodyErrors(deps.metrics));
  return app;
}

/**
 * With --client-ca, an unverified caller gets 401 before its body is read: nothing is decided,
 * so no audit line (msg "admission") and no Event can be attributed to it. The refusal itself
 * is logged under another message and counted.
 */
function clientCertGate(deps: AppDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!deps.requireClientCert || callerOf(req) === 'verified-client-cert') return next();
    deps.metrics.unauthenticated.inc();
    deps.validate.logger.info(
      { remote: req.socket.remoteAddress, tlsError: tlsError(req) },
      'admission request without a verified client certificate refused',
    );
    res.setHeader('Connection', 'close');
    sendError(res, 401, 'modelgate: a client certificate issued by the configured --client-ca is required');
  };
}

/**
 * Why the caller is not verified, for the log: "no certificate", or OpenSSL's code (e.g.
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE). `authorizationError` is typed Error but is a string code at
 * runtime (Node 24), and without any certificate it names a misleading issuer error.
 */
function tlsError(req: Request): string {
  const socket = req.socket as Partial<TLSSocket>;
  if (Object.keys(socket.getPeerCertificate?.() ?? {}).length === 0) return 'no certificate';
  const why = socket.authorizationError as unknown;
  if (typeof why === 'string') return why;
  return why instanceof Error ? why.message : 'not verified';
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
