/**
 * Who sent an admission request, as far as the TLS handshake proves it. The server shell knows
 * (it sees the socket), the pure decision does not; audit lines and Events carry it so that a
 * reviewer can tell a decision the API server asked for from one anybody on the network posted.
 *
 * - `verified-client-cert`: the caller presented a certificate that chains to `--client-ca`
 *   (the API server's, by the AdmissionConfiguration in docs/install.md).
 * - `unauthenticated`: no `--client-ca` is configured, so nobody is verified. With
 *   `--client-ca`, such requests are refused before they are decided and are never recorded.
 */
export type Caller = 'verified-client-cert' | 'unauthenticated';

const CALLERS: readonly Caller[] = ['verified-client-cert', 'unauthenticated'];

export function isCaller(value: unknown): value is Caller {
  return (CALLERS as readonly unknown[]).includes(value);
}
