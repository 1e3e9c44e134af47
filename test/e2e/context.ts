/** The key id the suite's webhook starts with (the seed vectors' key). */
export const SEED_KEY_ID = 'ci-2026';

/** What globalSetup (setup.ts) hands to the test files. Plain data: it crosses process boundaries. */
export interface E2EContext {
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  server: string;
  /** The cluster CA (PEM). */
  caPem: string;
  /** The CA of the client certificate the API server presents to webhooks that ask (serve --client-ca). */
  webhookClientCaPem: string;
  /** The webhook's keys dir (kubelet Secret layout; rotate with KeysDir). */
  keysDir: string;
  /** The webhook's decision log. */
  webhookLog: string;
  /** The webhook's URL as registered. */
  webhookUrl: string;
  policyFile: string;
  /** "chart" or "fixture": where the RBAC and the webhook configuration came from. */
  installSource: string;
  installHow: string;
  /** The webhook's identity: system:serviceaccount:NS:NAME from the chart. */
  webhookUser: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2EContext;
  }
}
