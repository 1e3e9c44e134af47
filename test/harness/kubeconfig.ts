import * as fs from 'node:fs';
import { stringify } from 'yaml';
import { b64 } from './pki.js';

export type Credentials = { clientCertPem: string; clientKeyPem: string } | { token: string };

/** Writes a one-context kubeconfig (mode 0600) and returns its path. */
export function writeKubeconfig(file: string, server: string, caPem: string, creds: Credentials): string {
  const user =
    'token' in creds
      ? { token: creds.token }
      : { 'client-certificate-data': b64(creds.clientCertPem), 'client-key-data': b64(creds.clientKeyPem) };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'modelgate-e2e', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'modelgate-e2e', context: { cluster: 'modelgate-e2e', user: 'user' } }],
    'current-context': 'modelgate-e2e',
  };
  fs.writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}
