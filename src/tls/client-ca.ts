import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ListenerSet } from './source.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM bundle, each checked by node:crypto; throws with the reason when
 * the bundle holds none, or holds one that does not parse (a half-written file is refused,
 * not half-trusted).
 */
export function parseCaBundle(pem: string, file: string): string {
  const certs = pem.match(PEM_CERT) ?? [];
  if (certs.length === 0) throw new Error(`${file} holds no PEM certificate`);
  for (const cert of certs) {
    try {
      new X509Certificate(cert);
    } catch {
      throw new Error(`${file} holds a certificate that does not parse`);
    }
  }
  return certs.join('\n') + '\n';
}

export interface ClientCaOptions {
  file: string;
  /** How often the file is re-read (default 2 s); polling for the reason FileCertificateSource gives. */
  pollMs?: number;
  onError?: (message: string) => void;
}

/**
 * The `--client-ca` bundle, reloaded like the serving certificate: a changed file that parses
 * replaces the bundle for new connections (through `onChange`); one that does not is reported
 * and the last good bundle stays.
 */
export class FileClientCaSource {
  private pem = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly changes = new ListenerSet<string>();
  private reloading = false;

  constructor(private readonly opts: ClientCaOptions) {}

  /** First load: throws with a clear message when the file is missing or holds no usable certificate. */
  async start(): Promise<void> {
    this.pem = await this.read();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 2000);
    this.timer.unref();
  }

  current(): string {
    return this.pem;
  }

  onChange(listener: (pem: string) => void): void {
    this.changes.add(listener);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async read(): Promise<string> {
    return parseCaBundle(await readFile(this.opts.file, 'utf8'), this.opts.file);
  }

  private async poll(): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      const pem = await this.read();
      if (pem === this.pem) return;
      this.pem = pem;
      this.changes.emit(pem);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.opts.onError?.(`client CA unusable (${why}); keeping the previous bundle`);
    } finally {
      this.reloading = false;
    }
  }
}
