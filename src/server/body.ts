import type { Request, RequestHandler, Response } from 'express';
import { JsonStructureScan, MAX_REVIEW_BYTES } from '../admission/decode.js';
import { errored, reviewResponse } from '../admission/respond.js';
import type { Metrics } from './metrics.js';

/**
 * Reads POST /validate's body into `req.body` (a Buffer), refusing as early as it can: an
 * announced Content-Length over the limit before a byte is read (else the reader would drain it
 * first); a body that grows past the limit, or whose JSON structure is hostile (too deep, too many
 * containers or values: JsonStructureScan), as soon as the offending chunk arrives, so a 7 MiB
 * body of nested arrays is never held whole. Each refusal closes the connection: the unread rest
 * must not be taken as the next request, and is not worth decrypting. A compressed body is
 * refused (the API server never compresses, and inflating is work the attacker chooses).
 */
export function readReviewBody(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const refuse = (status: number, message: string): void =>
      refuseAndClose(req, res, metrics, { status, message });
    if (Number(req.headers['content-length'] ?? 0) > MAX_REVIEW_BYTES) return refuse(413, TOO_LARGE);
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity')
      return refuse(
        415,
        `content encoding "${encoding.slice(0, 40)}" is not accepted; send the review uncompressed`,
      );
    const scan = new JsonStructureScan();
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      const problem = size > MAX_REVIEW_BYTES ? TOO_LARGE : scan.feed(chunk);
      if (problem === undefined) return void chunks.push(chunk);
      req.off('data', onData);
      refuse(problem === TOO_LARGE ? 413 : 400, problem === TOO_LARGE ? problem : `request body ${problem}`);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (res.headersSent) return;
      req.body = Buffer.concat(chunks, size);
      next();
    });
    req.on('error', (err) => {
      if (!res.headersSent) next(err);
    });
  };
}

const TOO_LARGE = `request body exceeds ${MAX_REVIEW_BYTES} bytes`;

function refuseAndClose(
  req: Request,
  res: Response,
  metrics: Metrics,
  answer: { status: number; message: string },
): void {
  metrics.malformed.inc({ status: String(answer.status) });
  res.setHeader('Connection', 'close');
  res.on('finish', () => req.socket.end());
  res.status(answer.status).json(reviewResponse(errored('', answer.status, answer.message)));
}
