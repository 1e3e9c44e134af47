import { randomBytes } from 'node:crypto';
import type { EventIntent } from '../decision/types.js';
import { EVENT_ANNOTATIONS, REPORTING_CONTROLLER } from '../vocabulary/keys.js';

/**
 * Kubernetes Events for decisions, sent off the request path.
 *
 * - `record()` never waits: it puts an Event on a bounded queue and returns. A full queue
 *   drops the Event and counts it (the API server's latency never waits on Events).
 * - Dry-run requests never produce an Event (the webhook declares sideEffects: NoneOnDryRun).
 * - Aggregation, keyed as client-go's events.k8s.io recorder keys a series (the object, reason,
 *   action) plus the caller: the first occurrence in a window is sent at once; every repeat for
 *   the same (object, reason) inside the window is only counted, whatever its note. When the
 *   window closes with repeats, one more Event is created for the object with
 *   `series: {count, lastObservedTime}` (count = all occurrences in the window) carrying the
 *   latest repeat's note and annotations (user, request uid). So a loop of refused applies, or
 *   an attacker varying the manifest of one object, yields at most two Events per window.
 *   At most MAX_AGGREGATES windows are open; a new object beyond that closes the oldest early.
 * - Writes are paced: one sender, a token bucket (`writesPerSecond`, `writeBurst`). A burst of
 *   admissions over many objects therefore costs at most `writeBurst + writesPerSecond * t`
 *   writes in t seconds; what the queue cannot hold meanwhile is dropped and counted.
 * - Sending retries with exponential backoff on network errors, 429 and 5xx; other API
 *   answers (403, 422...) are final; a retried create answered 409 was written by an earlier
 *   attempt (same name) and counts as sent. An Event that cannot be sent is counted as dropped.
 */

export { REPORTING_CONTROLLER };

export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: 'Normal' | 'Warning';
  note: string;
  regarding: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string };
  series?: { count: number; lastObservedTime: string };
}

/** Where Events go (the API server, or a fake in tests). Throws on failure; `code` = HTTP status when known. */
export interface EventSink {
  create(event: KubeEvent, signal: AbortSignal): Promise<void>;
}

export type DropCause = 'queue-full' | 'failed' | 'rejected' | 'shutdown';

export interface EventRecorderOptions {
  sink: EventSink;
  reportingInstance: string;
  /** Queue bound (default 1000). */
  maxQueue?: number;
  /** Attempts per Event (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt, capped at 10 s (default 200 ms). */
  backoffMs?: number;
  /** Aggregation window (default 10 minutes). */
  windowMs?: number;
  /** Sustained Event writes per second (default 20). */
  writesPerSecond?: number;
  /** Writes allowed at once before pacing starts (default 100). */
  writeBurst?: number;
  /** Per-call timeout (default 5 s). */
  callTimeoutMs?: number;
  now?: () => Date;
  onSent?: () => void;
  /** A repeat folded into a series (no write of its own). */
  onAggregated?: () => void;
  onDropped?: (cause: DropCause) => void;
  onError?: (err: unknown, event: KubeEvent) => void;
}

export type RecordResult = 'queued' | 'aggregated' | 'dropped';

interface Aggregate {
  intent: EventIntent;
  windowStart: number;
  last: Date;
  count: number;
}

/** Open aggregation windows at most (each holds one decision's Event intent, ~1 KB). */
export const MAX_AGGREGATES = 5000;
const MAX_BACKOFF_MS = 10_000;

export class EventRecorder {
  private readonly queue: KubeEvent[] = [];
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly opts: Required<Omit<EventRecorderOptions, 'onSent' | 'onAggregated' | 'onDropped' | 'onError'>> &
    EventRecorderOptions;
  private working: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private tokens: number;
  private refilledAt = performance.now();

  constructor(opts: EventRecorderOptions) {
    this.opts = {
      maxQueue: 1000,
      maxAttempts: 5,
      backoffMs: 200,
      windowMs: 10 * 60_000,
      callTimeoutMs: 5000,
      writesPerSecond: 20,
      writeBurst: 100,
      now: () => new Date(),
      ...opts,
    };
    this.tokens = this.opts.writeBurst;
  }

  /** Starts the periodic aggregation sweep (not needed in tests that call `sweep()`). */
  start(): void {
    const every = Math.max(1000, Math.floor(this.opts.windowMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** Dry runs never get here: the decision gives them no EventIntent (decision/decide.ts). */
  record(intent: EventIntent): RecordResult {
    if (this.closed) return this.drop('shutdown');
    const now = this.opts.now();
    const key = aggregateKey(intent);
    const agg = this.aggregates.get(key);
    if (agg && now.getTime() - agg.windowStart < this.opts.windowMs) {
      agg.count++;
      agg.last = now;
      // The series Event carries the latest request's note and annotations (user, request uid).
      agg.intent = intent;
      this.opts.onAggregated?.();
      return 'aggregated';
    }
    if (agg) this.closeWindow(key, agg);
    if (this.aggregates.size >= MAX_AGGREGATES) this.evictOldest();
    this.aggregates.set(key, { intent, windowStart: now.getTime(), last: now, count: 1 });
    // A full queue drops before the Event is built (a storm pays for no Event it cannot send).
    if (this.queue.length >= this.opts.maxQueue) return this.drop('queue-full');
    return this.enqueue(toKubeEvent(intent, this.opts.reportingInstance, now));
  }

  /**
   * At the bound, the oldest open window (Maps iterate in insertion order) is closed early: O(1)
   * per record, where sweeping the whole table on every record of a storm over many objects
   * was O(table) each time.
   */
  private evictOldest(): void {
    const oldest = this.aggregates.entries().next();
    if (!oldest.done) this.closeWindow(oldest.value[0], oldest.value[1]);
  }

  /** Closes every window that has ended: repeats become one Event with a series. */
  sweep(): void {
    const now = this.opts.now().getTime();
    for (const [key, agg] of this.aggregates) {
      if (now - agg.windowStart >= this.opts.windowMs) this.closeWindow(key, agg);
    }
  }

  /** Objects with an open aggregation window. */
  get windows(): number {
    return this.aggregates.size;
  }

  /** Pending Events (queued or being sent). */
  get pending(): number {
    return this.queue.length + (this.working ? 1 : 0);
  }

  /** Resolves once the queue is empty (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  /** Stops accepting, sends what it can within `graceMs`, drops (and counts) the rest. */
  async close(graceMs: number): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.flushAll();
    this.closed = true;
    const timer = delay(graceMs);
    await Promise.race([this.idle(), timer.promise]);
    timer.cancel();
    this.abort.abort();
    for (let n = this.queue.splice(0).length; n > 0; n--) this.opts.onDropped?.('shutdown');
  }

  private flushAll(): void {
    for (const [key, agg] of this.aggregates) this.closeWindow(key, agg);
  }

  private closeWindow(key: string, agg: Aggregate): void {
    this.aggregates.delete(key);
    if (agg.count < 2) return;
    const event = toKubeEvent(agg.intent, this.opts.reportingInstance, agg.last);
    event.series = { count: agg.count, lastObservedTime: microTime(agg.last) };
    this.enqueue(event);
  }

  private enqueue(event: KubeEvent): RecordResult {
    if (this.queue.length >= this.opts.maxQueue) return this.drop('queue-full');
    this.queue.push(event);
    this.working ??= this.work().finally(() => {
      this.working = undefined;
    });
    return 'queued';
  }

  private drop(cause: DropCause): RecordResult {
    this.opts.onDropped?.(cause);
    return 'dropped';
  }

  private async work(): Promise<void> {
    for (let event = this.queue.shift(); event; event = this.queue.shift()) {
      await this.pace();
      if (this.abort.signal.aborted) {
        this.opts.onDropped?.('shutdown');
        continue;
      }
      const result = await this.send(event);
      if (result === 'sent') this.opts.onSent?.();
      else this.opts.onDropped?.(result);
    }
  }

  /** Takes one write from the token bucket, waiting for it when the burst is spent. */
  private async pace(): Promise<void> {
    const { writesPerSecond, writeBurst } = this.opts;
    const now = performance.now();
    this.tokens = Math.min(writeBurst, this.tokens + ((now - this.refilledAt) / 1000) * writesPerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) {
      await this.sleep(((1 - this.tokens) / writesPerSecond) * 1000);
      this.tokens = 1;
      this.refilledAt = performance.now();
    }
    this.tokens -= 1;
  }

  private async send(event: KubeEvent): Promise<'sent' | DropCause> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.sink.create(
          event,
          AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.callTimeoutMs)]),
        );
        return 'sent';
      } catch (err) {
        // A retried create whose first attempt reached the API server (the answer was lost,
        // e.g. the server restarted): the Event exists, under the same name.
        if (attempt > 1 && codeOf(err) === 409) return 'sent';
        this.opts.onError?.(err, event);
        if (this.abort.signal.aborted) return 'shutdown';
        if (!retryable(err)) return 'rejected';
        if (attempt >= this.opts.maxAttempts) return 'failed';
        await this.backoff(attempt);
      }
    }
  }

  private async backoff(attempt: number): Promise<void> {
    await this.sleep(Math.min(MAX_BACKOFF_MS, this.opts.backoffMs * 2 ** (attempt - 1)));
  }

  /** Waits `ms`, or less when the recorder is closed. */
  private async sleep(ms: number): Promise<void> {
    if (this.abort.signal.aborted) return;
    const timer = delay(ms);
    const onAbort = (): void => timer.cancel();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    await timer.promise;
    this.abort.signal.removeEventListener('abort', onAbort);
  }
}

function aggregateKey(intent: EventIntent): string {
  const r = intent.regarding;
  // client-go's series key (regarding, reason, action; not the note), plus the caller: an
  // unauthenticated repeat never folds into a verified series.
  const caller = intent.annotations?.[EVENT_ANNOTATIONS.caller];
  return JSON.stringify([r.namespace, r.apiVersion, r.kind, r.name, r.uid, intent.reason, intent.action, caller]);
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | undefined)?.code;
}

/** Network errors, timeouts, 429 and 5xx are worth another try; other HTTP answers are not. */
export function retryable(err: unknown): boolean {
  const code = codeOf(err);
  if (typeof code !== 'number') return true;
  return code === 429 || code >= 500;
}

/** events.k8s.io MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

export function toKubeEvent(intent: EventIntent, reportingInstance: string, at: Date): KubeEvent {
  const r = intent.regarding;
  const regarding: KubeEvent['regarding'] = {
    apiVersion: r.apiVersion,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
  };
  if (r.uid) regarding.uid = r.uid;
  const metadata: KubeEvent['metadata'] = { name: eventName(r.name), namespace: r.namespace };
  if (intent.annotations && Object.keys(intent.annotations).length > 0)
    metadata.annotations = { ...intent.annotations };
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata,
    eventTime: microTime(at),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: reportingInstance.slice(0, 128),
    action: intent.action.slice(0, 128),
    reason: intent.reason,
    type: intent.type,
    note: intent.note,
    regarding,
  };
}

/** `<object>.<random>` as kubectl does; a CREATE with only generateName has no name yet. */
function eventName(objectName: string): string {
  const base = (objectName || 'modelgate').slice(0, 200).replace(/[^a-z0-9.-]/g, '-');
  return `${base}.${randomBytes(8).toString('hex')}`;
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let cancel = (): void => {};
  const promise = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    cancel = (): void => {
      clearTimeout(t);
      resolve();
    };
  });
  return { promise, cancel };
}
