import { describe, expect, it } from 'vitest';
import {
  entryFromEvent,
  entryFromLogLine,
  filterEntries,
  formatTable,
  parseSince,
  type AuditEntry,
} from './query.js';

const line = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    level: 30,
    time: '2026-05-01T10:00:00.000Z',
    msg: 'admission',
    uid: 'u1',
    kind: 'Deployment',
    namespace: 'ml',
    name: 'fraud',
    operation: 'CREATE',
    user: 'alice',
    groups: [],
    dryRun: false,
    decision: 'deny',
    mode: 'enforce',
    reasons: [{ code: 'bad-signature', message: 'model m: signature does not match' }],
    models: [],
    durationMs: 1.2,
    ...over,
  });

const event = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: {
    name: 'fraud.1',
    namespace: 'ml',
    annotations: {
      'modelgate.dev/user': 'bob',
      'modelgate.dev/decision': 'deny',
      'modelgate.dev/reasons': 'missing-manifest',
    },
  },
  eventTime: '2026-05-01T11:00:00.000000Z',
  reportingController: 'modelgate.dev/webhook',
  action: 'Create',
  reason: 'ModelRejected',
  type: 'Warning',
  note: 'declares no model manifest',
  regarding: { kind: 'Deployment', namespace: 'ml', name: 'fraud' },
  ...over,
});

describe('audit entries', () => {
  it('reads an audit log line', () => {
    expect(entryFromLogLine(line())).toMatchObject({
      decision: 'deny',
      user: 'alice',
      reasons: ['bad-signature'],
      namespace: 'ml',
      source: 'log',
    });
  });

  it.each([
    ['a non-JSON line', 'hello'],
    ['another log message', line({ msg: 'policy reloaded' })],
    ['an unknown decision', line({ decision: 'maybe' })],
    ['a JSON array', '[]'],
  ])('skips %s', (_, text) => {
    expect(entryFromLogLine(text)).toBeUndefined();
  });

  it('reads a modelgate Event with its annotations', () => {
    expect(entryFromEvent(event(), 'modelgate.dev/webhook')).toMatchObject({
      decision: 'deny',
      user: 'bob',
      reasons: ['missing-manifest'],
      count: 1,
      source: 'event',
    });
  });

  it('falls back to the Event reason and counts a series', () => {
    const e = entryFromEvent(
      event({
        metadata: { namespace: 'ml' },
        reason: 'ModelWarning',
        series: { count: 7, lastObservedTime: '2026-05-01T12:00:00Z' },
      }),
      'modelgate.dev/webhook',
    );
    expect(e).toMatchObject({ decision: 'warn', reasons: ['ModelWarning'], count: 7 });
    expect(e?.time.toISOString()).toBe('2026-05-01T12:00:00.000Z');
  });

  it.each([
    ['a log line', () => entryFromLogLine(line({ caller: 'verified-client-cert' }))],
    [
      'an Event',
      () =>
        entryFromEvent(
          event({
            metadata: { annotations: { 'modelgate.dev/caller': 'verified-client-cert' } },
          }),
          'modelgate.dev/webhook',
        ),
    ],
  ])('reads the caller from %s', (_, entry) => {
    expect(entry()?.caller).toBe('verified-client-cert');
  });

  it.each([
    ['no caller (written before the field existed)', undefined],
    ['a caller it does not know', 'root'],
  ])('says caller "unknown" for %s', (_, caller) => {
    expect(entryFromLogLine(line({ caller }))?.caller).toBe('unknown');
  });

  it("ignores other controllers' Events", () => {
    expect(
      entryFromEvent(event({ reportingController: 'kubelet' }), 'modelgate.dev/webhook'),
    ).toBeUndefined();
  });
});

describe('filterEntries', () => {
  const entries = [
    line(),
    line({ user: 'bob', decision: 'allow', reasons: [] }),
    line({ namespace: 'prod', time: '2026-05-02T00:00:00Z', caller: 'verified-client-cert' }),
  ].map((l) => entryFromLogLine(l) as AuditEntry);

  it.each([
    ['by user', { user: 'bob' }, 1],
    ['by decision', { decision: 'deny' as const }, 2],
    ['by namespace', { namespace: 'prod' }, 1],
    ['by reason code', { reason: 'bad-signature' }, 2],
    ['by time', { since: new Date('2026-05-01T12:00:00Z') }, 1],
    ['to authenticated callers only', { authenticatedOnly: true }, 1],
    ['by everything at once', { user: 'alice', decision: 'deny' as const, namespace: 'ml' }, 1],
  ])('filters %s', (_, filter, n) => {
    expect(filterEntries(entries, filter)).toHaveLength(n);
  });

  it('prints an aligned table without raw control characters', () => {
    const evil = entryFromLogLine(line({ name: 'x\n\u001b[31mfake' }))!;
    const table = formatTable([evil]);
    expect(table.split('\n')[0]).toMatch(
      /^TIME\s+DECISION\s+NAMESPACE\s+OBJECT\s+USER\s+CALLER\s+REASONS\s+MESSAGE$/,
    );
    expect(table.trimEnd().split('\n')).toHaveLength(2);
    expect(table).not.toMatch(/\u001b/);
  });
});

describe('parseSince', () => {
  const now = new Date('2026-05-01T00:00:00Z');
  it.each([
    ['30m', '2026-04-30T23:30:00.000Z'],
    ['24h', '2026-04-30T00:00:00.000Z'],
    ['7d', '2026-04-24T00:00:00.000Z'],
    ['2w', '2026-04-17T00:00:00.000Z'],
    ['1h30m', '2026-04-30T22:30:00.000Z'],
    ['2026-04-01T00:00:00Z', '2026-04-01T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseSince(text, now)?.toISOString()).toBe(iso);
  });
  it('refuses nonsense', () => {
    expect(parseSince('yesterday-ish', now)).toBeUndefined();
  });
});
