import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReloadCounter } from '../watch/source.js';

/**
 * The webhook's Prometheus metrics, on their own Registry (never the global one, so tests and
 * the bench can run several servers in one process). Labels carry only bounded, non-secret
 * values: decisions, kinds, operations, reason codes. Never key ids' bytes or key material.
 */
export interface Metrics {
  registry: Registry;
  requests: Counter<'decision' | 'kind' | 'operation'>;
  duration: Histogram<'decision'>;
  verificationFailures: Counter<'reason'>;
  eventsSent: Counter;
  eventsDropped: Counter<'cause'>;
  /** Repeats folded into an aggregated series Event (no write of their own). */
  eventsAggregated: Counter;
  /** Events waiting to be written, read from `eventQueueSource` on each scrape. */
  eventQueue: Gauge;
  eventQueueSource: { length: () => number };
  keysLoaded: Gauge;
  /** Every watched source (keys, policy, tls, client-ca); count through `reloadCounter`. */
  reloads: Counter<'source' | 'result'>;
  /** The older per-source names, kept for the chart's dashboard and alerts. */
  keyReloads: Counter<'result'>;
  policyReloads: Counter<'result'>;
  certificateExpiry: Gauge;
  malformed: Counter<'status'>;
  unauthenticated: Counter;
  /** The background scanner (src/scan/): what runs now, and whether it still passes. */
  scanWorkloads: Gauge<'result'>;
  scanFailing: Gauge<'reason'>;
  scanLastTime: Gauge;
  scanDuration: Gauge;
  scanRequests: Counter<'verb'>;
  scanLeader: Gauge;
  scanOmitted: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'modelgate_process_' });
  const registers = [registry];
  const eventQueueSource = { length: (): number => 0 };
  return {
    eventQueueSource,
    registry,
    requests: new Counter({
      name: 'modelgate_requests_total',
      help: 'Admission requests decided, by decision (allow|deny|warn|audit|error), kind and operation.',
      labelNames: ['decision', 'kind', 'operation'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'modelgate_request_duration_seconds',
      help: 'Time from request received to response written for POST /validate.',
      labelNames: ['decision'] as const,
      // The API server's webhook timeout is 10 s at most; most answers take well under 5 ms.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    verificationFailures: new Counter({
      name: 'modelgate_verification_failures_total',
      help: 'Reasons given in deny/warn decisions, by reason code.',
      labelNames: ['reason'] as const,
      registers,
    }),
    eventsSent: new Counter({
      name: 'modelgate_events_sent_total',
      help: 'Kubernetes Events created.',
      registers,
    }),
    eventsDropped: new Counter({
      name: 'modelgate_events_dropped_total',
      help: 'Kubernetes Events not sent: queue full, retries exhausted, or shutdown.',
      labelNames: ['cause'] as const,
      registers,
    }),
    eventsAggregated: new Counter({
      name: 'modelgate_events_aggregated_total',
      help: 'Decisions whose Event was folded into an aggregated series (same object and reason inside the window).',
      registers,
    }),
    eventQueue: new Gauge({
      name: 'modelgate_event_queue_length',
      help: 'Kubernetes Events waiting to be written (bounded by --event-queue-size).',
      registers,
      collect(): void {
        this.set(eventQueueSource.length());
      },
    }),
    keysLoaded: new Gauge({
      name: 'modelgate_keys_loaded',
      help: 'Number of signing keys loaded.',
      registers,
    }),
    reloads: new Counter({
      name: 'modelgate_reloads_total',
      help: 'Reloads of watched files, by source (keys|policy|tls|client-ca) and result (ok|error). Each distinct failure counts once.',
      labelNames: ['source', 'result'] as const,
      registers,
    }),
    keyReloads: new Counter({
      name: 'modelgate_key_reloads_total',
      help: 'Reloads of the keys directory, by result (ok|error).',
      labelNames: ['result'] as const,
      registers,
    }),
    policyReloads: new Counter({
      name: 'modelgate_policy_reloads_total',
      help: 'Reloads of the policy file, by result (ok|error).',
      labelNames: ['result'] as const,
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'modelgate_certificate_expiry_timestamp_seconds',
      help: 'Unix time at which the serving certificate expires.',
      registers,
    }),
    malformed: new Counter({
      name: 'modelgate_malformed_requests_total',
      help: 'Requests refused before a decision, by HTTP status.',
      labelNames: ['status'] as const,
      registers,
    }),
    unauthenticated: new Counter({
      name: 'modelgate_unauthenticated_requests_total',
      help: 'POST /validate refused (401) because --client-ca is set and the caller presented no certificate chaining to it.',
      registers,
    }),
    ...scanMetrics(registers),
  };
}

/**
 * Counts a reload in `modelgate_reloads_total` and, for keys and policy, in the older
 * `modelgate_key_reloads_total` / `modelgate_policy_reloads_total` that dashboards and alerts read.
 */
export function reloadCounter(metrics: Metrics): ReloadCounter {
  const legacy = new Map<string, Counter<'result'>>([
    ['keys', metrics.keyReloads],
    ['policy', metrics.policyReloads],
  ]);
  return {
    inc: ({ source, result }): void => {
      metrics.reloads.inc({ source, result });
      legacy.get(source)?.inc({ result });
    },
  };
}

function scanMetrics(
  registers: Registry[],
): Pick<
  Metrics,
  | 'scanWorkloads'
  | 'scanFailing'
  | 'scanLastTime'
  | 'scanDuration'
  | 'scanRequests'
  | 'scanLeader'
  | 'scanOmitted'
> {
  return {
    scanWorkloads: new Gauge({
      name: 'modelgate_scan_workloads',
      help: 'Running workloads in scope at the last background scan, by result (pass|fail|warn). Set by the leader only.',
      labelNames: ['result'] as const,
      registers,
    }),
    scanFailing: new Gauge({
      name: 'modelgate_scan_failing_workloads',
      help: 'Running workloads that fail (or warn) at the last background scan, by reason code (key-revoked: signed with a revoked key).',
      labelNames: ['reason'] as const,
      registers,
    }),
    scanLastTime: new Gauge({
      name: 'modelgate_scan_last_timestamp_seconds',
      help: 'Unix time at which the last background scan finished.',
      registers,
    }),
    scanDuration: new Gauge({
      name: 'modelgate_scan_duration_seconds',
      help: 'Wall time of the last background scan (list, decide, write reports).',
      registers,
    }),
    scanRequests: new Counter({
      name: 'modelgate_scan_api_requests_total',
      help: 'API server requests made by full background scans (lists, the CRD check, report writes), by verb.',
      labelNames: ['verb'] as const,
      registers,
    }),
    scanLeader: new Gauge({
      name: 'modelgate_scan_leader',
      help: '1 while this replica holds the scanner Lease (and scans), else 0.',
      registers,
    }),
    scanOmitted: new Gauge({
      name: 'modelgate_scan_report_results_omitted',
      help: 'Results left out of PolicyReports at the last scan (over 1000 results or 1 MiB in a namespace; the summary still counts them).',
      registers,
    }),
  };
}
