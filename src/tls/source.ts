import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
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

export class ListenerSet<T> {
  private readonly listeners: ((v: T) => void)[] = [];
  add(l: (v: T) => void): void {
    this.listeners.push(l);
  }
  emit(v: T): void {
    for (const l of this.listeners) l(v);
  }
}

export interface FileSourceOptions {
  certFile: string;
  keyFile: string;
  /** How often the files are re-read (default 2 s). Polling, not fs.watch: a mounted Secret changes by symlink swap, which inotify watches on the old file miss. */
  pollMs?: number;
  onError?: (message: string) => void;
}

/**
 * Certificate files from cert-manager or a mounted Secret, reloaded when they change.
 * While a writer has replaced the certificate but not yet the key, the pair does not match:
 * it is skipped until both agree, and the last good pair keeps serving.
 */
export class FileCertificateSource implements CertificateSource {
  private pair: KeyPair | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly changes = new ListenerSet<KeyPair>();
  private expiry: Date | undefined;
  private reloading = false;

  constructor(private readonly opts: FileSourceOptions) {}

  /** First load: throws with a clear message when the files are missing or do not match. */
  async start(): Promise<void> {
    const pair = await this.read();
    if (!usablePair(pair))
      throw new Error(
        `TLS certificate ${this.opts.certFile} and key ${this.opts.keyFile} do not form a usable pair`,
      );
    this.accept(pair);
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 2000);
    this.timer.unref();
  }

  current(): KeyPair | undefined {
    return this.pair;
  }

  onChange(listener: (pair: KeyPair) => void): void {
    this.changes.add(listener);
  }

  healthy(now = new Date()): boolean {
    return this.pair !== undefined && this.expiry !== undefined && this.expiry > now;
  }

  notAfter(): Date | undefined {
    return this.expiry;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async read(): Promise<KeyPair> {
    const [certPem, keyPem] = await Promise.all([
      readFile(this.opts.certFile, 'utf8'),
      readFile(this.opts.keyFile, 'utf8'),
    ]);
    return { certPem, keyPem };
  }

  private accept(pair: KeyPair): void {
    this.pair = pair;
    this.expiry = certificateInfo(pair.certPem).notAfter;
  }

  private async poll(): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      const pair = await this.read();
      if (this.pair && pair.certPem === this.pair.certPem && pair.keyPem === this.pair.keyPem) return;
      if (!usablePair(pair)) {
        this.opts.onError?.(
          `TLS files changed but do not form a usable pair yet; keeping the previous certificate`,
        );
        return;
      }
      this.accept(pair);
      this.changes.emit(pair);
    } catch (err) {
      this.opts.onError?.(
        `TLS files unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'}); keeping the previous certificate`,
      );
    } finally {
      this.reloading = false;
    }
  }
}
