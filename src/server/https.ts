import { createServer, type Server } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { RequestListener } from 'node:http';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { KeyPair } from '../tls/x509.js';

export interface HttpsOptions {
  host: string;
  port: number;
  pair: KeyPair;
  /** PEM bundle (`--client-ca`): ask every client for a certificate and verify it against this. */
  clientCaPem?: string;
}

/**
 * The secure context for the serving pair and, when given, the client CA. With a client CA the
 * server asks for a certificate but does not fail the handshake without one
 * (`rejectUnauthorized: false`): the kubelet's probes carry none, and /validate checks
 * `socket.authorized` itself (app.ts). Without one, no certificate is asked for.
 */
export function tlsOptions(pair: KeyPair, clientCaPem?: string): SecureContextOptions & TlsOptions {
  return {
    cert: pair.certPem,
    key: pair.keyPem,
    minVersion: 'TLSv1.2',
    ...(clientCaPem ? { ca: clientCaPem, requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/**
 * node:https with the timeouts an internet-facing (well, API-server-facing) server needs.
 * The API server's webhook timeout is at most 30 s; nothing legitimate takes longer.
 */
export async function listenHttps(
  handler: RequestListener,
  opts: HttpsOptions,
): Promise<{ server: Server; port: number }> {
  // A TLS handshake that stalls is dropped after 10 s (Node's default is 120 s).
  const tls = { ...tlsOptions(opts.pair, opts.clientCaPem), handshakeTimeout: 10_000 };
  const server = createServer(tls, handler);
  // Slowloris: a client must finish sending its headers within 10 s or the socket is closed.
  server.headersTimeout = 10_000;
  // The whole request, body included, must arrive within 30 s (the webhook timeout's ceiling).
  server.requestTimeout = 30_000;
  // The API server keeps connections to webhooks alive (Go's idle timeout: 90 s). The client
  // must be the one to close an idle connection: if the server did, a POST sent at that moment
  // would fail (Go does not retry POSTs) and count as a webhook failure. So: longer than 90 s.
  server.keepAliveTimeout = 120_000;
  return { server, port: await listenOn(server, opts) };
}

/** Listen on host:port; resolves with the bound port (port 0 = any free one), rejects on error. */
export async function listenOn(server: NetServer, opts: { host: string; port: number }): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stop accepting connections, close idle keep-alive sockets, let in-flight requests finish
 * (their answers say `Connection: close`), and after `graceMs` close whatever is left.
 */
export async function drainHttps(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Sockets that finish their in-flight request become idle: close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  await Promise.race([closed, timeout]);
  clearInterval(sweep);
  clearTimeout(timer);
}
