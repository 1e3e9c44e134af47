import { describe, expect, it } from 'vitest';
import type { EventIntent } from '../decision/types.js';
import {
  EventRecorder,
  MAX_AGGREGATES,
  REPORTING_CONTROLLER,
  retryable,
  toKubeEvent,
  type DropCause,
  type EventSink,
  type KubeEvent,
} from './events.js';

const rejected: EventIntent = {
  reason: 'ModelRejected',
  type: 'Warning',
  note: 'modelgate: model fraud-detector.onnx: signature does not match any trusted key',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: 'fraud' },
  action: 'Admit',
};

class FakeSink implements EventSink {
  sent: KubeEvent[] = [];
  failures: unknown[] = [];
  create(event: KubeEvent): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined)
      return Promise.reject(failure instanceof Error ? failure : Object.assign(new Error('api'), failure));
    this.sent.push(event);
    return Promise.resolve();
  }
}

function setup(extra: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}) {
  const sink = new FakeSink();
  let now = new Date('2026-05-01T10:00:00.000Z');
  const drops: DropCause[] = [];
  let sent = 0;
  const recorder = new EventRecorder({
    sink,
    reportingInstance: 'modelgate-0',
    backoffMs: 1,
    windowMs: 60_000,
    now: () => now,
    onSent: () => sent++,
    onDropped: (c) => drops.push(c),
    ...extra,
  });
  return {
    sink,
    recorder,
    drops,
    sent: () => sent,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

describe('EventRecorder', () => {
  it('sends an events.k8s.io/v1 Event regarding the workload in its namespace', async () => {
    const { sink, recorder, sent } = setup();
    expect(recorder.record(rejected)).toBe('queued');
    await recorder.idle();
    expect(sink.sent).toHaveLength(1);
    const ev = sink.sent[0]!;
    expect(ev).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'ml' },
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: 'modelgate-0',
      action: 'Admit',
      reason: 'ModelRejected',
      type: 'Warning',
      regarding: { kind: 'Deployment', name: 'fraud', namespace: 'ml' },
      eventTime: '2026-05-01T10:00:00.000000Z',
    });
    expect(ev.metadata.name).toMatch(/^fraud\.[0-9a-f]{16}$/);
    expect(ev.series).toBeUndefined();
    expect(sent()).toBe(1);
  });

  it('aggregates identical rejections in a window into one series Event', async () => {
    const { sink, recorder, advance } = setup();
    recorder.record(rejected);
    for (let i = 0; i < 49; i++) {
      advance(100);
      expect(recorder.record(rejected)).toBe('aggregated');
    }
    await recorder.idle();
    expect(sink.sent).toHaveLength(1);
    advance(60_000);
    recorder.sweep();
    await recorder.idle();
    expect(sink.sent).toHaveLength(2);
    expect(sink.sent[1]!.series).toEqual({ count: 50, lastObservedTime: '2026-05-01T10:00:04.900000Z' });
  });

  it('folds a different note for the same object into its series (the latest note wins)', async () => {
    const { sink, recorder, advance } = setup();
    recorder.record(rejected);
    expect(recorder.record({ ...rejected, note: 'modelgate: other reason' })).toBe('aggregated');
    await recorder.idle();
    expect(sink.sent.map((e) => e.note)).toEqual([rejected.note]);
    advance(60_000);
    recorder.sweep();
    await recorder.idle();
    expect(sink.sent[1]).toMatchObject({ note: 'modelgate: other reason', series: { count: 2 } });
  });

  it('does not fold other objects, reasons or actions', async () => {
    const { sink, recorder } = setup();
    recorder.record(rejected);
    recorder.record({ ...rejected, regarding: { ...rejected.regarding, name: 'other' } });
    recorder.record({ ...rejected, reason: 'ModelWarning' });
    recorder.record({ ...rejected, action: 'Update' });
    await recorder.idle();
    expect(sink.sent).toHaveLength(4);
  });

  it('a storm of 5000 refusals over 50 objects costs 50 writes, then 50 series writes', async () => {
    let aggregated = 0;
    const { sink, recorder, advance } = setup({ onAggregated: () => aggregated++ });
    for (let i = 0; i < 5000; i++) {
      advance(5);
      recorder.record({
        ...rejected,
        note: `modelgate: attempt ${i}`,
        regarding: { ...rejected.regarding, name: `d${i % 50}` },
      });
    }
    await recorder.idle();
    expect(sink.sent).toHaveLength(50);
    expect(aggregated).toBe(4950);
    expect(recorder.windows).toBe(50);
    advance(60_000);
    recorder.sweep();
    await recorder.idle();
    expect(sink.sent).toHaveLength(100);
    expect(sink.sent.slice(50).map((e) => e.series?.count)).toEqual(Array(50).fill(100));
  });

  it('at MAX_AGGREGATES open windows, a new object closes the oldest window (O(1), no full sweep)', async () => {
    const { sink, recorder, advance } = setup({ maxQueue: 20_000, writeBurst: 20_000, writesPerSecond: 10_000 });
    const obj = (i: number): EventIntent => ({ ...rejected, regarding: { ...rejected.regarding, name: `d${i}` } });
    recorder.record(obj(0));
    recorder.record(obj(0)); // a repeat: its series is written when its window closes
    for (let i = 1; i < MAX_AGGREGATES; i++) recorder.record(obj(i));
    expect(recorder.windows).toBe(MAX_AGGREGATES);
    advance(1);
    const t0 = performance.now();
    for (let i = MAX_AGGREGATES; i < MAX_AGGREGATES + 2000; i++) recorder.record(obj(i));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(recorder.windows).toBe(MAX_AGGREGATES);
    await recorder.idle();
    // Every object's first Event, plus d0's series when its window was closed early.
    expect(sink.sent).toHaveLength(MAX_AGGREGATES + 2000 + 1);
    expect(sink.sent.find((e) => e.series)?.regarding.name).toBe('d0');
  });

  it('paces writes with a token bucket: a burst, then writesPerSecond', async () => {
    const { sink, recorder } = setup({ writeBurst: 5, writesPerSecond: 50 });
    const started = performance.now();
    for (let i = 0; i < 15; i++)
      recorder.record({ ...rejected, regarding: { ...rejected.regarding, name: `d${i}` } });
    await recorder.idle();
    const took = performance.now() - started;
    expect(sink.sent).toHaveLength(15);
    // 5 at once, the 10 others at 50/s: at least ~200 ms.
    expect(took).toBeGreaterThanOrEqual(180);
  });

  it('while paced, a storm over many objects is held to the queue bound; the rest is counted', async () => {
    const { sink, recorder, drops } = setup({ writeBurst: 2, writesPerSecond: 1000, maxQueue: 10 });
    for (let i = 0; i < 100; i++)
      recorder.record({ ...rejected, regarding: { ...rejected.regarding, name: `d${i}` } });
    expect(recorder.pending).toBeLessThanOrEqual(11);
    await recorder.idle();
    expect(sink.sent.length + drops.length).toBe(100);
    expect(sink.sent).toHaveLength(11);
    expect(new Set(drops)).toEqual(new Set(['queue-full']));
  });

  it('does not fold a repeat from another caller into the series (modelgate.dev/caller)', async () => {
    const { sink, recorder } = setup();
    const by = (caller: string): EventIntent => ({
      ...rejected,
      annotations: { 'modelgate.dev/caller': caller },
    });
    recorder.record(by('verified-client-cert'));
    expect(recorder.record(by('unauthenticated'))).toBe('queued');
    await recorder.idle();
    expect(sink.sent.map((e) => e.metadata.annotations?.['modelgate.dev/caller'])).toEqual([
      'verified-client-cert',
      'unauthenticated',
    ]);
  });

  it('a single occurrence closes its window without a second Event', async () => {
    const { sink, recorder, advance } = setup();
    recorder.record(rejected);
    advance(61_000);
    recorder.sweep();
    await recorder.idle();
    expect(sink.sent).toHaveLength(1);
  });

  it('drops and counts when the bounded queue is full', async () => {
    const { recorder, drops, sink } = setup({ maxQueue: 2 });
    const results = [0, 1, 2, 3].map((i) =>
      recorder.record({ ...rejected, regarding: { ...rejected.regarding, name: `n${i}` } }),
    );
    // The worker took the first Event off the queue synchronously; two fit; the last is dropped.
    expect(results).toEqual(['queued', 'queued', 'queued', 'dropped']);
    expect(drops).toEqual(['queue-full']);
    await recorder.idle();
    expect(sink.sent).toHaveLength(3);
  });

  it('retries transient failures with backoff, then sends', async () => {
    const { recorder, sink, drops } = setup();
    sink.failures.push(new Error('ECONNRESET'), { code: 503 }, { code: 429 });
    recorder.record(rejected);
    await recorder.idle();
    expect(sink.sent).toHaveLength(1);
    expect(drops).toEqual([]);
  });

  it('gives up after maxAttempts and counts the drop', async () => {
    const { recorder, sink, drops } = setup({ maxAttempts: 3 });
    sink.failures.push({ code: 500 }, { code: 500 }, { code: 500 });
    recorder.record(rejected);
    await recorder.idle();
    expect(sink.sent).toHaveLength(0);
    expect(drops).toEqual(['failed']);
  });

  it('counts a retried create answered 409 AlreadyExists as sent (the first attempt got through)', async () => {
    const { recorder, sink, drops, sent } = setup();
    sink.failures.push(new Error('ECONNRESET'), { code: 409 });
    recorder.record(rejected);
    await recorder.idle();
    expect(drops).toEqual([]);
    expect(sent()).toBe(1);
  });

  it('does not retry a final API answer (403)', async () => {
    const { recorder, sink, drops } = setup();
    sink.failures.push({ code: 403 });
    recorder.record(rejected);
    await recorder.idle();
    expect(sink.sent).toHaveLength(0);
    expect(drops).toEqual(['rejected']);
  });

  it('close() flushes pending aggregates and refuses new Events', async () => {
    const { recorder, sink, drops } = setup();
    recorder.record(rejected);
    recorder.record(rejected);
    await recorder.close(1000);
    expect(sink.sent.map((e) => e.series?.count)).toEqual([undefined, 2]);
    expect(recorder.record(rejected)).toBe('dropped');
    expect(drops).toEqual(['shutdown']);
  });
});

describe('toKubeEvent', () => {
  it('puts the intent annotations on the Event metadata (for modelgate audit)', () => {
    const annotations = { 'modelgate.dev/user': 'alice', 'modelgate.dev/decision': 'deny' };
    const ev = toKubeEvent({ ...rejected, annotations }, 'pod', new Date(0));
    expect(ev.metadata.annotations).toEqual(annotations);
  });

  it('names an Event for a not-yet-named object (generateName CREATE)', () => {
    const ev = toKubeEvent(
      { ...rejected, regarding: { ...rejected.regarding, name: '' } },
      'pod',
      new Date(0),
    );
    expect(ev.metadata.name).toMatch(/^modelgate\.[0-9a-f]{16}$/);
  });

});

describe('retryable', () => {
  it.each([
    [new Error('socket hang up'), true],
    [{ code: 500 }, true],
    [{ code: 429 }, true],
    [{ code: 404 }, false],
    [{ code: 422 }, false],
  ])('%o → %s', (err, expected) => {
    expect(retryable(err)).toBe(expected);
  });
});
