import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { watchSource, type FollowOptions, type WatchedSource } from '../watch/source.js';
import { certificateInfo, pairMatches, type KeyPair } from './x509.js';

/**
 * Where the serving certificate comes from. The server asks `current()` once at start and
 * then gets every new pair through `onChange` (it calls `server.setSecureContext`, which
 * applies to new connections; open keep-alive connections keep their session, so nothing
 * is dropped). `healthy()` feeds /healthz: false once the certificate has expired.
 */
export interface CertificateSource {
  current(): KeyPair | undefined;
  onChange(listener: (pair: KeyPair) => void): void;
  healthy(now?: Date): boolean;
  notAfter(): Date | undefined;
  stop(): void;
  /** Called once the server answers with this certificate (self-managed: publish failurePolicy). */
  listening?(): Promise<void>;
}

/** A pair that Node accepts as a TLS context (cert and key parse and belong together). */
export function usablePair(pair: KeyPair): boolean {
  if (!pairMatches(pair)) return false;
  try {
    createSecureContext({ cert: pair.certPem, key: pair.keyPem });
    return true;
  } catch {
    return false;
  }
}

export interface FileSourceOptions extends FollowOptions {
  certFile: string;
  keyFile: string;
}

/** The serving pair from files, followed: a CertificateSource that also tells its reload failures. */
export type FileCertificateSource = CertificateSource & WatchedSource<KeyPair>;

function samePair(a: KeyPair, b: KeyPair): boolean {
  return a.certPem === b.certPem && a.keyPem === b.keyPem;
}

async function readPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  const pair = { certPem, keyPem };
  if (!usablePair(pair))
    throw new Error(`TLS certificate ${certFile} and key ${keyFile} do not form a usable pair`);
  return pair;
}

/**
 * Certificate files from cert-manager or a mounted Secret, followed (src/watch/source.ts).
 * While a writer has replaced the certificate but not yet the key, the pair does not match:
 * it is refused until both agree, and the last good pair keeps serving. Throws at once when
 * the files are missing or do not match.
 */
export async function watchCertificateFiles(opts: FileSourceOptions): Promise<FileCertificateSource> {
  const { certFile, keyFile, ...follow } = opts;
  const files = await watchSource({
    name: 'tls',
    dirs: [dirname(certFile), dirname(keyFile)],
    load: () => readPair(certFile, keyFile),
    same: samePair,
    ...follow,
  });
  let expiry = certificateInfo(files.current().certPem).notAfter;
  files.onChange((pair) => {
    expiry = certificateInfo(pair.certPem).notAfter; // first listener: the others see the new expiry
  });
  return {
    current: () => files.current(),
    onChange: (listener) => files.onChange(listener),
    onError: (listener) => files.onError(listener),
    healthy: (now = new Date()) => expiry > now,
    notAfter: () => expiry,
    stop: () => files.stop(),
  };
}
