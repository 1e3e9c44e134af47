import { describe, expect, it } from 'vitest';
import type { AuditEntry } from './query.js';
import { formatCsv, formatTable, render } from './render.js';

const base: AuditEntry = {
  time: new Date('2026-05-01T10:00:00Z'),
  decision: 'deny',
  namespace: 'ml',
  kind: 'Deployment',
  name: 'fraud',
  user: 'alice',
  operation: 'CREATE',
  reasons: ['bad-signature', 'scan-failed'],
  message: 'model fraud@1: signature does not match (at metadata.annotations[modelgate.dev/manifest])',
  dryRun: false,
  breakGlass: false,
  count: 1,
  source: 'log',
  caller: 'verified-client-cert',
  uid: 'req-1',
  rule: 'inference',
  models: [{ name: 'fraud', version: '1', keyId: 'ci', sha256: 'abcdef012345' }],
  approvers: ['carol'],
  approversFrom: 'claims.approvers',
  paths: ['metadata.annotations[modelgate.dev/manifest]'],
};
const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({ ...base, ...over });

/** RFC 4180 read back: enough of a parser to prove the quoting round-trips. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [[]];
  let cell = '';
  let quoted = false;
  const endCell = (): void => {
    rows.at(-1)!.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (quoted) cell += c;
    else if (c === ',') endCell();
    else if (c === '\r' && text[i + 1] === '\n') {
      endCell();
      rows.push([]);
      i++;
    } else cell += c;
  }
  return rows.filter((r) => r.length > 0);
}

describe('render', () => {
  it('wide shows rule, models, approvers, uid, paths and the whole message', () => {
    const long = entry({ message: `${'x'.repeat(150)} end` });
    const [header, row] = formatTable([long], true).split('\n');
    expect(header).toMatch(
      /^TIME\s+DECISION\s+NAMESPACE\s+OBJECT\s+USER\s+CALLER\s+RULE\s+MODELS\s+APPROVERS\s+UID\s+REASONS\s+PATHS\s+MESSAGE$/,
    );
    expect(row).toContain('inference');
    expect(row).toContain('fraud@1:ci:abcdef012345');
    expect(row).toContain('carol (claims.approvers)');
    expect(row).toContain('req-1');
    expect(row).toContain('metadata.annotations[modelgate.dev/manifest]');
    expect(row).toMatch(/x{150} end$/);
    expect(formatTable([long])).not.toContain(' end');
  });

  it('prints "-" for what an old record does not say', () => {
    const old = entry({
      uid: '',
      rule: '',
      models: [],
      approvers: [],
      approversFrom: '',
      paths: [],
      caller: 'unknown',
    });
    const row = formatTable([old], true).split('\n')[1]!;
    expect(row).toMatch(/alice\s+unknown\s+-\s+-\s+-\s+-\s+bad-signature,scan-failed\s+-\s+model/);
  });

  it('csv: a header, then one row per entry, commas, quotes and newlines quoted and read back intact', () => {
    const nasty = entry({ name: 'a,b', user: 'say "hi"', message: 'line one\nline two\r\nthree' });
    const text = formatCsv([nasty]);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual([
      'time',
      'decision',
      'namespace',
      'object',
      'user',
      'caller',
      'rule',
      'models',
      'approvers',
      'uid',
      'reasons',
      'paths',
      'message',
    ]);
    expect(rows[1]).toEqual([
      '2026-05-01T10:00:00Z',
      'deny',
      'ml',
      'Deployment/a,b',
      'say "hi"',
      'verified-client-cert',
      'inference',
      'fraud@1:ci:abcdef012345',
      'carol (claims.approvers)',
      'req-1',
      'bad-signature,scan-failed',
      'metadata.annotations[modelgate.dev/manifest]',
      'line one\nline two\r\nthree',
    ]);
    expect(text).toContain('"say ""hi"""');
  });

  it('csv: no ANSI escape or bidirectional override printed raw', () => {
    const text = formatCsv([entry({ name: 'x\u001b[31mred\u202etxt' })]);
    expect(text).not.toMatch(/[\u001b\u202e]/);
  });

  it('csv: empty cells for what an old record does not say, and no cell a spreadsheet would run', () => {
    const rows = parseCsv(formatCsv([entry({ rule: '', models: [], user: '=HYPERLINK("x")' })]));
    expect(rows[1]?.[4]).toBe(`'=HYPERLINK("x")`);
    expect(rows[1]?.[6]).toBe('');
    expect(rows[1]?.[7]).toBe('');
  });

  it('json: the entries with every field', () => {
    const [read] = JSON.parse(render([base], 'json')) as Record<string, unknown>[];
    expect(read).toMatchObject({ uid: 'req-1', rule: 'inference', models: base.models, paths: base.paths });
  });
});
