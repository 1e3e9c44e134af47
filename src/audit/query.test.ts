import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../decision/types.js';
import { eventAnnotations } from '../decision/summary.js';
import { entryFromEvent, entryFromLogLine, filterEntries, parseTime, type AuditEntry } from './query.js';
import { formatTable } from './render.js';

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
  const sha = 'a'.repeat(64);
  const entries = [
    line({ models: [{ name: 'fraud@1', version: '1', keyId: 'ci-2026', format: 'v2', sha256: sha }] }),
    line({
      user: 'bob',
      decision: 'allow',
      reasons: [],
      rule: 'inference',
      // written before `version` existed: the version only in the name
      models: [{ name: 'fraud@2', keyId: 'ci-2026', format: 'v2', sha256: sha }],
    }),
    line({
      namespace: 'prod',
      time: '2026-05-02T00:00:00Z',
      caller: 'verified-client-cert',
      models: [{ name: 'old.onnx', keyId: 'legacy', format: 'v1', sha256: sha }],
    }),
  ].map((l) => entryFromLogLine(l) as AuditEntry);

  it.each([
    ['by user', { user: 'bob' }, 1],
    ['by decision', { decision: 'deny' as const }, 2],
    ['by namespace', { namespace: 'prod' }, 1],
    ['by reason code', { reason: 'bad-signature' }, 2],
    ['by time', { since: new Date('2026-05-01T12:00:00Z') }, 1],
    ['to authenticated callers only', { authenticatedOnly: true }, 1],
    ['by everything at once', { user: 'alice', decision: 'deny' as const, namespace: 'ml' }, 1],
    ['up to a time', { until: new Date('2026-05-01T12:00:00Z') }, 2],
    ['by model name, every version', { model: 'fraud' }, 2],
    ['by model name@version', { model: 'fraud@2' }, 1],
    ['by model name as v1 writes it', { model: 'old.onnx' }, 1],
    ['by key id', { key: 'ci-2026' }, 2],
    ['by rule', { rule: 'inference' }, 1],
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

describe('parseTime', () => {
  const now = new Date('2026-05-01T00:00:00Z');
  it.each([
    ['30m', '2026-04-30T23:30:00.000Z'],
    ['24h', '2026-04-30T00:00:00.000Z'],
    ['7d', '2026-04-24T00:00:00.000Z'],
    ['2w', '2026-04-17T00:00:00.000Z'],
    ['1h30m', '2026-04-30T22:30:00.000Z'],
    ['2026-04-01T00:00:00Z', '2026-04-01T00:00:00.000Z'],
    ['2026-04-01', '2026-04-01T00:00:00.000Z'],
    ['2026-04-01T02:00:00+02:00', '2026-04-01T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    const t = parseTime(text, now);
    expect(t.ok && t.value.toISOString()).toBe(iso);
  });

  it('refuses a bare number (new Date("5") is a day in 2001) and says which units exist', () => {
    expect(parseTime('5', now)).toEqual({
      ok: false,
      message: expect.stringMatching(/"5" has no unit: write 5s, 5m/),
    });
  });

  it.each(['yesterday-ish', '5 May', 'May 5, 2026', '2026-13-01', '-1h'])('refuses %s', (text) => {
    expect(parseTime(text, now)).toEqual({ ok: false, message: expect.stringMatching(/neither a duration/) });
  });
});

describe('Event annotations, written and read back', () => {
  const record: AuditRecord = {
    uid: 'req-7',
    kind: 'Deployment',
    namespace: 'ml',
    name: 'fraud',
    operation: 'CREATE',
    user: 'alice',
    groups: [],
    dryRun: false,
    decision: 'warn',
    mode: 'warn',
    rule: 'inference',
    reasons: [{ code: 'scan-failed', message: 'm', path: 'p' }],
    models: [
      { name: 'fraud@1.2', version: '1.2', keyId: 'ci', format: 'v2', sha256: 'b'.repeat(64) },
      // separators in a v1 path survive the comma list
      { name: 'models/a,b:c@d.onnx', keyId: 'k', format: 'v1', sha256: 'c'.repeat(64) },
    ],
    approvers: { names: ['carol', 'dave'], from: 'claims.approvers' },
  };
  const read = (annotations: Record<string, string>): AuditEntry | undefined =>
    entryFromEvent(event({ metadata: { namespace: 'ml', annotations } }), 'modelgate.dev/webhook');

  it('carries models, rule, approvers, uid and codes from the decision to `modelgate audit`', () => {
    expect(read(eventAnnotations(record))).toMatchObject({
      uid: 'req-7',
      rule: 'inference',
      user: 'alice',
      decision: 'warn',
      reasons: ['scan-failed'],
      approvers: ['carol', 'dave'],
      approversFrom: 'claims.approvers',
      models: [
        { name: 'fraud', version: '1.2', keyId: 'ci', sha256: 'b'.repeat(12) },
        { name: 'models/a,b:c@d.onnx', keyId: 'k', sha256: 'c'.repeat(12) },
      ],
    });
  });

  it('cuts a long model list at whole entries and says how many were left out', () => {
    const many = {
      ...record,
      models: Array.from({ length: 200 }, (_, i) => ({ ...record.models[0]!, name: `m${i}@1.2` })),
    };
    const value = eventAnnotations(many)['modelgate.dev/models']!;
    expect(value.length).toBeLessThanOrEqual(1024);
    expect(value).toMatch(/,\+\d+$/);
    const entry = read(eventAnnotations(many))!;
    expect(entry.models.length).toBeGreaterThan(10);
    expect(entry.models.length + Number(value.split('+').pop())).toBe(200);
  });

  it('reads an Event written before these annotations: empty, not an error', () => {
    expect(read({ 'modelgate.dev/decision': 'deny' })).toMatchObject({
      uid: '',
      rule: '',
      models: [],
      approvers: [],
      paths: [],
    });
  });
});

describe('old log lines', () => {
  it('read without uid, rule, models or approvers (written before the fields)', () => {
    const entry = entryFromLogLine(line({ uid: undefined, models: undefined }))!;
    expect(entry).toMatchObject({ uid: '', rule: '', models: [], approvers: [], approversFrom: '' });
    expect(formatTable([entry], true).split('\n')[1]).toMatch(
      /deny\s+ml\s+Deployment\/fraud\s+alice\s+unknown\s+-\s+-\s+-\s+-\s+bad-signature/,
    );
  });

  it('keep the field path and the manifest origin of each problem', () => {
    const entry = entryFromLogLine(
      line({
        reasons: [
          {
            code: 'bad-signature',
            message: 'no',
            path: 'metadata.annotations[modelgate.dev/manifest]',
            origin: 'annotation modelgate.dev/manifest:signature',
          },
        ],
      }),
    );
    expect(entry?.paths).toEqual([
      'metadata.annotations[modelgate.dev/manifest] from annotation modelgate.dev/manifest:signature',
    ]);
  });
});
