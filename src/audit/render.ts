/**
 * `modelgate audit -o table|wide|json|csv`: past decisions printed for people (table, wide) or
 * for tools (json, csv). Control characters are never printed raw (csv keeps line breaks, quoted,
 * as RFC 4180 says).
 */
import { oneLine } from '../decision/message.js';
import { formatModelRef } from '../decision/summary.js';
import type { AuditEntry } from './query.js';

export const OUTPUTS = ['table', 'wide', 'json', 'csv'] as const;
export type Output = (typeof OUTPUTS)[number];

export function isOutput(value: string): value is Output {
  return (OUTPUTS as readonly string[]).includes(value);
}

export function render(entries: readonly AuditEntry[], output: Output): string {
  if (output === 'json') return `${JSON.stringify(entries, null, 2)}\n`;
  if (output === 'csv') return formatCsv(entries);
  return formatTable(entries, output === 'wide');
}

const COLUMNS = ['TIME', 'DECISION', 'NAMESPACE', 'OBJECT', 'USER', 'CALLER', 'REASONS', 'MESSAGE'] as const;
const WIDE_COLUMNS = [
  'TIME',
  'DECISION',
  'NAMESPACE',
  'OBJECT',
  'USER',
  'CALLER',
  'RULE',
  'MODELS',
  'APPROVERS',
  'UID',
  'REASONS',
  'PATHS',
  'MESSAGE',
] as const;
const MESSAGE_WIDTH = 100;

const time = (e: AuditEntry): string =>
  Number.isNaN(e.time.getTime()) ? '' : e.time.toISOString().replace(/\.\d+Z$/, 'Z');

const decision = (e: AuditEntry): string =>
  e.decision +
  (e.count > 1 ? ` x${e.count}` : '') +
  (e.dryRun ? ' (dry-run)' : '') +
  (e.breakGlass ? ' (break-glass)' : '');

const approvers = (e: AuditEntry): string =>
  e.approvers.length > 0 ? `${e.approvers.join(',')}${e.approversFrom ? ` (${e.approversFrom})` : ''}` : '';

/** The cells of one entry, unformatted ("" = unknown); shared by wide and csv. */
function wideCells(e: AuditEntry): string[] {
  return [
    time(e),
    decision(e),
    e.namespace,
    `${e.kind}/${e.name}`,
    e.user,
    e.caller,
    e.rule,
    e.models.map(formatModelRef).join(','),
    approvers(e),
    e.uid,
    e.reasons.join(','),
    e.paths.join('; '),
    e.message,
  ];
}

function tableCells(e: AuditEntry): string[] {
  return [
    time(e),
    decision(e),
    e.namespace,
    `${e.kind}/${e.name}`,
    e.user,
    e.caller,
    e.reasons.join(','),
    truncate(e.message, MESSAGE_WIDTH),
  ];
}

/** An aligned table; "-" for what a record does not say (older records lack the newer fields). */
export function formatTable(entries: readonly AuditEntry[], wide = false): string {
  const header: readonly string[] = wide ? WIDE_COLUMNS : COLUMNS;
  const rows = entries.map((e) => (wide ? wideCells(e) : tableCells(e)).map((c) => oneLine(c) || '-'));
  const all = [[...header], ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  return (
    all
      .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
      .join('\n') + '\n'
  );
}

/** RFC 4180: one header line, CRLF, every cell quoted when it holds a comma, quote or line break. */
export function formatCsv(entries: readonly AuditEntry[]): string {
  const lines = [WIDE_COLUMNS.map((c) => c.toLowerCase()), ...entries.map(wideCells)];
  return lines.map((cells) => cells.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** What oneLine replaces, but tabs and line breaks: in csv they are data, kept inside quotes. */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

function csvCell(text: string): string {
  const printable = text.replace(UNPRINTABLE, ' ');
  // A cell a spreadsheet would run as a formula (=, +, -, @ first) is kept as text.
  const safe = /^[=+\-@\t\r]/.test(printable) ? `'${printable}` : printable;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
