import type { Logger } from 'pino';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import type { Obj } from '../json/object.js';
import { isObject } from '../json/object.js';
import type { Keyring } from '../keys/types.js';
import { statusOf } from '../kube/client.js';
import type { ScanApi, WatchEvent } from '../kube/scan-api.js';
import { isDeepStrictEqual } from 'node:util';
import { followKind } from './follow.js';
import type { Policy } from '../policy/types.js';
import { RESOURCES } from '../admission/request.js';
import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import {
  REPORT_API,
  REPORT_LABEL,
  REPORT_LABEL_VALUE,
  REPORT_NAME,
  reportFor,
  reportPath,
} from './report.js';
import {
  collectionPath,
  controllerUid,
  resultOf,
  scanRequest,
  SCAN_ORDER,
  type WorkloadResult,
} from './results.js';

/**
 * The background scanner: lists every pod-creating workload, decides each with the admission
 * decision (scan/results.ts says how the request is built), and writes PolicyReports and
 * metrics. It keeps one small result per in-scope workload (never the objects: a page of a
 * list is decided and dropped), so memory follows the number of workloads, not their size.
 *
 * A scan runs on a period, soon after the keys or the policy change (`trigger`), and when a
 * decided manifest expires or outgrows its rule's maxAge (Decision.validUntil). Referenced
 * ConfigMaps are read afresh by every scan (the ServiceAccount may only `get` ConfigMaps, not
 * watch them), so a ConfigMap change is seen within one period.
 */
export interface ScanMetricsSink {
  /** Called after every scan with its figures. */
  scanned(stats: ScanStats, results: readonly WorkloadResult[]): void;
  /** Called when watched changes between scans changed results. */
  changed?(results: readonly WorkloadResult[]): void;
}

export interface ScannerOptions {
  api: ScanApi;
  resolve: (namespace: string, refs: ModelRef[], signal: AbortSignal) => Promise<ResolvedManifest[]>;
  keyring: () => Keyring;
  policy: () => Policy;
  logger: Logger;
  sink: ScanMetricsSink;
  periodMs: number;
  /** Write PolicyReports; false: metrics and the log only. */
  reports: boolean;
  /**
   * Between full scans, watch the listed kinds and re-decide a workload when it is created,
   * changed or deleted (default true once started; scanOnce alone never watches).
   */
  watch?: boolean;
  /** Called as every full scan starts (the ConfigMap fingerprints start afresh). */
  beforeScan?: () => void;
  /** Objects per list page (the API server's own default page for kubectl is 500). */
  pageSize?: number;
  /** A burst of reloads makes one scan: wait this long after the last trigger. */
  debounceMs?: number;
  /** Deadline of one API call. */
  callTimeoutMs?: number;
  now?: () => Date;
}

export interface ScanStats {
  startedAt: Date;
  durationMs: number;
  /** Objects listed, of every kind. */
  listed: number;
  /** Workloads in scope (decided, owned objects and out-of-scope ones left out). */
  inScope: number;
  /** API requests this scan made, by verb. */
  requests: Record<string, number>;
  reportsWritten: number;
  reportsDeleted: number;
  /** Results beyond a report's MAX_RESULTS. */
  omitted: number;
  /** Why reports were not written (CRD absent, error), if they were not. */
  reportsSkipped?: string;
}

/** How many objects of one page are decided concurrently (their ConfigMap reads overlap). */
const DECIDE_CONCURRENCY = 8;
/** A failed scan (API unreachable, a timeout) is tried again after this long, or the period if shorter. */
const RETRY_MS = 30_000;
/** setTimeout's limit; longer waits are cut to it (a re-check is harmless). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scanner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ScanStats | undefined> | undefined;
  private again = false;
  private active = false;
  private crdPresent: boolean | undefined;
  /** The current result of every in-scope workload, by uid. */
  private byUid = new Map<string, WorkloadResult>();
  /** Every listed or watched object's uid: an owner is trusted only when it is here. */
  private seen = new Set<string>();
  private watches: AbortController | undefined;
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private nextAt = Infinity;
  /** A write of watched changes under way; a full scan waits for it. */
  private flushing: Promise<void> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly opts: ScannerOptions) {
    this.now = opts.now ?? ((): Date => new Date());
  }

  /** The current results: the last full scan, updated by watched changes since. */
  results(): WorkloadResult[] {
    return [...this.byUid.values()];
  }

  /** Starts scanning now and then on schedule (when this replica becomes the leader). */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule(0);
  }

  /** Stops scheduling; a scan under way finishes. */
  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.stopWatching();
    await this.running;
  }

  /** Re-decide everything soon (keys or policy changed). */
  trigger(why: string): void {
    if (!this.active) return;
    this.opts.logger.info({ why }, 'background scan: re-deciding running workloads');
    if (this.running) this.again = true;
    else this.schedule(this.opts.debounceMs ?? 1000);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.active) return;
    this.nextAt = this.now().getTime() + ms;
    this.timer = setTimeout(() => void this.run(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  private async run(): Promise<void> {
    if (this.running) {
      // Leadership lost and regained while a scan was under way: one scan at a time.
      this.again = true;
      return;
    }
    let failed = false;
    this.running = this.scanOnce().catch((err: unknown) => {
      failed = true;
      this.opts.logger.error(
        { err: (err as Error).message, retryInMs: this.retryMs() },
        'background scan failed; retrying',
      );
      return undefined;
    });
    await this.running;
    this.running = undefined;
    if (failed) {
      // No watches run until a full scan succeeds: retry well before the period.
      this.schedule(this.retryMs());
      return;
    }
    if (this.again) {
      this.again = false;
      this.schedule(this.opts.debounceMs ?? 1000);
      return;
    }
    this.schedule(this.nextDelay());
  }

  private retryMs(): number {
    return Math.min(this.opts.periodMs, RETRY_MS);
  }

  /** The period, or sooner when a decided manifest expires or outgrows its maxAge. */
  private nextDelay(): number {
    const now = this.now().getTime();
    let next = now + this.opts.periodMs;
    for (const r of this.byUid.values())
      if (r.validUntil !== undefined && r.validUntil < next) next = r.validUntil;
    return next - now;
  }

  /** One full scan: list, decide, report. */
  async scanOnce(): Promise<ScanStats> {
    const startedAt = this.now();
    const t0 = performance.now();
    const before = { ...this.opts.api.requests };
    const policy = this.opts.policy();
    const keyring = this.opts.keyring();
    this.stopWatching();
    await this.flushing;
    this.opts.beforeScan?.();
    const seen = new Set<string>();
    const results: WorkloadResult[] = [];
    const versions = new Map<string, string>();
    let listed = 0;
    for (const kind of SCAN_ORDER) {
      let cont: string | undefined;
      do {
        const page = await this.opts.api.list(
          collectionPath(kind),
          { limit: this.opts.pageSize ?? 500, continue: cont },
          this.signal(),
        );
        listed += page.items.length;
        if (!versions.has(kind)) versions.set(kind, page.resourceVersion);
        const todo = page.items.filter((item) => this.admit(item, seen)).map((o) => withKind(o, kind));
        results.push(...(await this.decidePage(todo, policy, keyring)));
        cont = page.continue;
      } while (cont);
    }
    const written = await this.writeReports(results);
    this.byUid = new Map(results.map((r) => [r.uid, r]));
    this.seen = seen;
    if (this.active && this.opts.watch !== false) this.watch(versions);
    const stats: ScanStats = {
      startedAt,
      durationMs: performance.now() - t0,
      listed,
      inScope: results.length,
      requests: diff(this.opts.api.requests, before),
      ...written,
    };
    this.opts.sink.scanned(stats, results);
    this.opts.logger.info(
      {
        listed,
        inScope: results.length,
        failing: results.filter((r) => r.result === 'fail').length,
        durationMs: Math.round(stats.durationMs),
        requests: stats.requests,
        reportsWritten: stats.reportsWritten,
      },
      'background scan done',
    );
    return stats;
  }

  private stopWatching(): void {
    this.watches?.abort();
    this.watches = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dirty.clear();
  }

  /** Follows every kind from the versions its list saw (scan/follow.ts). */
  private watch(versions: Map<string, string>): void {
    const ac = new AbortController();
    this.watches = ac;
    for (const [kind, resourceVersion] of versions) {
      void followKind({
        api: this.opts.api,
        path: collectionPath(kind),
        resourceVersion,
        signal: ac.signal,
        onEvent: (e) => this.changed(kind, e),
        onExpired: () => this.trigger(`${kind} watch expired (410)`),
        onError: (message) => this.opts.logger.warn(message),
      });
    }
  }

  /** A watched workload was created, changed or deleted: decide it again. */
  private async changed(kind: string, e: WatchEvent): Promise<void> {
    const meta = isObject(e.object.metadata) ? e.object.metadata : {};
    const uid = typeof meta.uid === 'string' ? meta.uid : '';
    if (!uid) return;
    if (e.type === 'DELETED') {
      this.seen.delete(uid);
      this.replace(uid, undefined);
      return;
    }
    this.seen.add(uid);
    const owner = controllerUid(e.object);
    const owned = owner !== undefined && this.seen.has(owner);
    const result = owned
      ? undefined
      : await this.decide(withKind(e.object, kind), this.opts.policy(), this.opts.keyring());
    this.replace(uid, result);
  }

  private replace(uid: string, result: WorkloadResult | undefined): void {
    const old = this.byUid.get(uid);
    if (isDeepStrictEqual(old, result)) return;
    if (result) this.byUid.set(uid, result);
    else this.byUid.delete(uid);
    const ns = result?.namespace ?? old?.namespace;
    if (ns !== undefined) this.dirty.add(ns);
    this.flushTimer ??= setTimeout(() => {
      this.flushing = this.flush();
    }, this.opts.debounceMs ?? 1000);
    this.wakeBy(result?.validUntil);
  }

  /** A watched change whose manifest expires before the next scheduled scan brings that scan forward. */
  private wakeBy(validUntil: number | undefined): void {
    if (validUntil === undefined || validUntil >= this.nextAt || this.running) return;
    this.schedule(validUntil - this.now().getTime());
  }

  /** Writes the reports of the namespaces whose results changed since the last write. */
  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const namespaces = [...this.dirty];
    this.dirty.clear();
    const all = this.results();
    this.opts.sink.changed?.(all);
    try {
      if (!this.opts.reports || !(await this.reportsServed())) return;
      for (const ns of namespaces) {
        const existing = await this.opts.api.get(reportPath(ns, REPORT_NAME), this.signal());
        await this.writeOne(
          ns,
          all.filter((r) => r.namespace === ns),
          existing,
        );
      }
      this.opts.logger.debug({ namespaces }, 'background scan: reports updated from watched changes');
    } catch (err) {
      this.opts.logger.warn(
        { err: (err as Error).message },
        'reports not updated; the next scan writes them',
      );
    }
  }

  private async decidePage(objects: Obj[], policy: Policy, keyring: Keyring): Promise<WorkloadResult[]> {
    const out: WorkloadResult[] = [];
    for (let i = 0; i < objects.length; i += DECIDE_CONCURRENCY) {
      const batch = objects.slice(i, i + DECIDE_CONCURRENCY);
      const decided = await Promise.all(batch.map((o) => this.decide(o, policy, keyring)));
      for (const r of decided) if (r) out.push(r);
    }
    return out;
  }

  /** Remembers the object's uid; false for objects a listed controller made from its template. */
  private admit(item: Obj, seen: Set<string>): boolean {
    const meta = isObject(item.metadata) ? item.metadata : {};
    if (typeof meta.uid === 'string') seen.add(meta.uid);
    const owner = controllerUid(item);
    return owner === undefined || !seen.has(owner);
  }

  private async decide(object: Obj, policy: Policy, keyring: Keyring): Promise<WorkloadResult | undefined> {
    const meta = isObject(object.metadata) ? object.metadata : {};
    const uid = typeof meta.uid === 'string' ? meta.uid : '';
    const plan = planAdmission(scanRequest(object, uid), policy);
    if (plan.classification.kind === 'skip') return undefined;
    const resolved =
      plan.refs.length > 0 ? await this.opts.resolve(plan.namespace, plan.refs, this.signal()) : [];
    return resultOf(plan, decideAdmission(plan, { resolved, keyring, now: this.now() }));
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.opts.callTimeoutMs ?? 30_000);
  }

  /** Whether the PolicyReport CRD is served; logged once each time that changes. */
  private async reportsServed(): Promise<boolean> {
    const present = (await this.opts.api.get(`/apis/${REPORT_API}`, this.signal())) !== undefined;
    if (present !== this.crdPresent) {
      if (present)
        this.opts.logger.info('PolicyReport CRD found: writing wgpolicyk8s.io/v1alpha2 PolicyReports');
      else
        this.opts.logger.warn(
          'PolicyReport CRD (wgpolicyk8s.io/v1alpha2) not installed: background scan results are not written as PolicyReports (metrics only); install it with the chart value scanner.policyReports.installCRD=true',
        );
    }
    this.crdPresent = present;
    return present;
  }

  private async writeReports(
    results: readonly WorkloadResult[],
  ): Promise<Pick<ScanStats, 'reportsWritten' | 'reportsDeleted' | 'omitted' | 'reportsSkipped'>> {
    const out = { reportsWritten: 0, reportsDeleted: 0, omitted: 0 };
    if (!this.opts.reports) return { ...out, reportsSkipped: '--no-policy-reports' };
    if (!(await this.reportsServed())) return { ...out, reportsSkipped: 'PolicyReport CRD not installed' };
    const existing = await this.existingReports();
    const byNamespace = new Map<string, WorkloadResult[]>();
    for (const r of results) {
      const list = byNamespace.get(r.namespace) ?? [];
      list.push(r);
      byNamespace.set(r.namespace, list);
    }
    for (const [ns, list] of byNamespace) {
      const one = await this.writeOne(ns, list, existing.get(ns));
      out.omitted += one.omitted;
      if (one.written) out.reportsWritten += 1;
    }
    for (const [ns, old] of existing) {
      if (byNamespace.has(ns)) continue;
      if ((await this.writeOne(ns, [], old)).deleted) out.reportsDeleted += 1;
    }
    return out;
  }

  /**
   * One namespace's report: created, replaced, deleted when no result is left, or left alone.
   * A conflict (written meanwhile: a watched change, another replica a moment ago) is retried
   * once against the report as it now is, so the newest results are what stays.
   */
  private async writeOne(
    ns: string,
    list: readonly WorkloadResult[],
    existing: Obj | undefined,
    retry = true,
  ): Promise<{ written: boolean; deleted: boolean; omitted: number }> {
    if (list.length === 0) {
      if (existing) await this.opts.api.remove(reportPath(ns, REPORT_NAME), this.signal());
      return { written: false, deleted: existing !== undefined, omitted: 0 };
    }
    const { write, omitted } = reportFor(ns, list, existing, this.now());
    if (!write) return { written: false, deleted: false, omitted };
    try {
      if (existing) await this.opts.api.replace(reportPath(ns, REPORT_NAME), write, this.signal());
      else await this.opts.api.create(reportPath(ns), write, this.signal());
      return { written: true, deleted: false, omitted };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      if (!retry) return { written: false, deleted: false, omitted };
      const now = await this.opts.api.get(reportPath(ns, REPORT_NAME), this.signal());
      return this.writeOne(ns, list, now, false);
    }
  }

  /** modelgate's reports, by namespace (one cluster-wide list by label). */
  private async existingReports(): Promise<Map<string, Obj>> {
    const found = new Map<string, Obj>();
    let cont: string | undefined;
    do {
      const page = await this.opts.api.list(
        `/apis/${REPORT_API}/policyreports`,
        { limit: 500, continue: cont, labelSelector: `${REPORT_LABEL}=${REPORT_LABEL_VALUE}` },
        this.signal(),
      );
      for (const item of page.items) {
        const meta = isObject(item.metadata) ? item.metadata : {};
        if (meta.name === REPORT_NAME && typeof meta.namespace === 'string') found.set(meta.namespace, item);
      }
      cont = page.continue;
    } while (cont);
    return found;
  }
}

/** List items carry no kind or apiVersion; the request builder needs both. */
function withKind(item: Obj, kind: string): Obj {
  const where = RESOURCES[kind];
  const apiVersion = where?.group ? `${where.group}/v1` : 'v1';
  return { ...item, apiVersion, kind };
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
