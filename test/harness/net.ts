import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
}

/** GET `url`, resolving with status and body; never throws for HTTP errors. */
export async function get(url: string, tls: TlsClient = {}): Promise<{ status: number; body: string }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { ...tls, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called each round; throwing aborts the wait (e.g. the process died). */
  guard?: () => void;
}

/**
 * Polls `probe` until it returns a value other than undefined. The last error or value is
 * reported on timeout so a failing wait explains itself.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: string;
  for (;;) {
    opts.guard?.();
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not ready';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(opts.intervalMs ?? 250);
  }
}
