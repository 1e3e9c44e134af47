import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { watchSource, type FollowOptions, type WatchedSource } from '../watch/source.js';

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

/**
 * The `--client-ca` bundle, followed like the serving certificate: a changed file that parses
 * replaces the bundle for new connections (through `onChange`); one that does not is told to
 * `onError` and the last good bundle stays. Throws at once when the file is missing or unusable.
 */
export function watchClientCa(file: string, opts: FollowOptions = {}): Promise<WatchedSource<string>> {
  return watchSource({
    name: 'client-ca',
    dirs: [dirname(file)],
    load: async () => parseCaBundle(await readFile(file, 'utf8'), file),
    same: (a, b) => a === b,
    ...opts,
  });
}
