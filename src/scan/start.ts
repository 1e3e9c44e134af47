import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Keyring } from '../keys/types.js';
import { kubeApi, type KubeApi } from '../kube/client.js';
import { ConfigMapFingerprints } from './configmaps.js';
import { ConfigMapResolver } from '../kube/configmaps.js';
import { scanApi } from '../kube/scan-api.js';
import type { Policy } from '../policy/types.js';
import type { Metrics } from '../server/metrics.js';
import { LeaderElector } from './lease.js';
import { Scanner, type ScanStats } from './scanner.js';
import type { WorkloadResult } from './results.js';

/** `modelgate serve` flags for the background scanner (cli/serve.ts). */
export interface ScanConfig {
  enabled: boolean;
  /** Write PolicyReports (else metrics and the log only). */
  reports: boolean;
  periodMs: number;
  /** Where the Lease lives: --scan-lease-namespace, else $POD_NAMESPACE, else the service account's. */
  leaseNamespace?: string;
  leaseName?: string;
  leaseDurationMs?: number;
  /** How often referenced ConfigMaps are read again to see a change (default 30 s). */
  configMapPollMs?: number;
  pageSize?: number;
}

export const DEFAULT_SCAN_PERIOD_MS = 10 * 60_000;
export const DEFAULT_LEASE_NAME = 'modelgate-scanner';
/** client-go's defaults: 15 s lease, renew within 10 s, retry every 2 s. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface RunningScan {
  scanner: Scanner;
  elector: LeaderElector;
  /** Stops scanning and releases the Lease. */
  stop(): Promise<void>;
}

export interface StartScanOptions {
  config: KubeConfig;
  scan: ScanConfig;
  env: NodeJS.ProcessEnv;
  keyring: () => Keyring;
  policy: () => Policy;
  logger: Logger;
  metrics: Metrics;
}

export async function startScan(o: StartScanOptions): Promise<RunningScan> {
  const api = await scanApi(o.config);
  // Its own resolver, new for every full scan: a scan reads referenced ConfigMaps afresh (the 5 s
  // cache only dedupes one scan's reads of a shared ConfigMap), and remembers what it read, so
  // that a poll can tell when one changed (scan/configmaps.ts).
  const kube = await kubeApi(o.config);
  const fingerprints = new ConfigMapFingerprints();
  const newResolver = (): ConfigMapResolver =>
    new ConfigMapResolver({ api: fingerprints.recording(kube), ttlMs: 5000, maxEntries: 10_000 });
  let resolver = newResolver();
  const logger = o.logger.child({ component: 'scanner' });
  const scanner = new Scanner({
    api,
    resolve: (ns, refs, signal) => resolver.resolve(ns, refs, signal),
    keyring: o.keyring,
    policy: o.policy,
    logger,
    periodMs: o.scan.periodMs,
    reports: o.scan.reports,
    pageSize: o.scan.pageSize,
    beforeScan: () => {
      fingerprints.reset();
      resolver = newResolver();
    },
    sink: {
      scanned: (stats, results) => record(o.metrics, stats, results),
      changed: (results) => count(o.metrics, results),
    },
  });
  const namespace = leaseNamespace(o.scan, o.env);
  const identity = `${o.env.POD_NAME ?? hostname()}_${randomUUID().slice(0, 8)}`;
  const duration = o.scan.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const elector = new LeaderElector({
    api,
    namespace,
    name: o.scan.leaseName ?? DEFAULT_LEASE_NAME,
    identity,
    leaseDurationMs: duration,
    renewDeadlineMs: Math.round((duration * 2) / 3),
    retryMs: Math.max(200, Math.round(duration / 7.5)),
    onStart: () => {
      logger.info(
        { identity, lease: `${namespace}/${o.scan.leaseName ?? DEFAULT_LEASE_NAME}` },
        'scanner Lease acquired: this replica scans',
      );
      o.metrics.scanLeader.set(1);
      scanner.start();
    },
    onStop: () => {
      logger.info({ identity }, 'scanner Lease lost or released: this replica no longer scans');
      o.metrics.scanLeader.set(0);
      // Only the leader's figures count: a former leader stops reporting stale ones.
      o.metrics.scanWorkloads.reset();
      o.metrics.scanFailing.reset();
      void scanner.stop();
    },
    onError: (message) => logger.warn(message),
  });
  o.metrics.scanLeader.set(0);
  elector.start();
  const poll = pollConfigMaps(
    { fingerprints, kube, scanner, elector, logger },
    o.scan.configMapPollMs ?? 30_000,
  );
  logger.info(
    { identity, namespace, periodMs: o.scan.periodMs },
    'background scan on: campaigning for the scanner Lease',
  );
  return {
    scanner,
    elector,
    stop: async () => {
      clearInterval(poll);
      await scanner.stop();
      await elector.stop();
    },
  };
}

/** While this replica leads: read the remembered ConfigMaps again; a change re-scans. */
function pollConfigMaps(
  p: {
    fingerprints: ConfigMapFingerprints;
    kube: KubeApi;
    scanner: Scanner;
    elector: LeaderElector;
    logger: Logger;
  },
  everyMs: number,
): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !p.elector.isLeader || p.fingerprints.size === 0) return;
    busy = true;
    p.fingerprints
      .changed(p.kube, AbortSignal.timeout(30_000))
      .then(
        (changed) => {
          if (changed) p.scanner.trigger(`ConfigMap ${changed} changed`);
        },
        (err: unknown) => p.logger.warn({ err: (err as Error).message }, 'referenced ConfigMaps not re-read'),
      )
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return timer;
}

function leaseNamespace(scan: ScanConfig, env: NodeJS.ProcessEnv): string {
  if (scan.leaseNamespace) return scan.leaseNamespace;
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** The scan's figures into the metrics: gauges replaced whole, so a fixed workload drops out. */
function record(metrics: Metrics, stats: ScanStats, results: readonly WorkloadResult[]): void {
  count(metrics, results);
  metrics.scanLastTime.set((stats.startedAt.getTime() + stats.durationMs) / 1000);
  metrics.scanDuration.set(stats.durationMs / 1000);
  for (const [verb, n] of Object.entries(stats.requests)) metrics.scanRequests.inc({ verb }, n);
  metrics.scanOmitted.set(stats.omitted);
}

/** The workloads by result and the failing ones by reason, as they stand now. */
function count(metrics: Metrics, results: readonly WorkloadResult[]): void {
  const byResult = { pass: 0, fail: 0, warn: 0 };
  const byReason = new Map<string, number>();
  for (const r of results) {
    byResult[r.result] += 1;
    for (const code of new Set(r.reasons.map((x) => x.code)))
      byReason.set(code, (byReason.get(code) ?? 0) + 1);
  }
  for (const [result, n] of Object.entries(byResult)) metrics.scanWorkloads.set({ result }, n);
  metrics.scanFailing.reset();
  for (const [reason, n] of byReason) metrics.scanFailing.set({ reason }, n);
}
