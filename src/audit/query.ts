/**
 * What security reviewers ask of past decisions: read them from audit log lines or from
 * modelgate's Events, filter, and print. Pure: the CLI does the reading.
 */
import type { DecisionOutcome } from '../decision/types.js';
import { located, oneLine } from '../decision/message.js';
import { isObject, type Obj } from '../json/object.js';
import { parseDuration } from '../policy/duration.js';
import { EVENT_ANNOTATIONS } from '../vocabulary/keys.js';
import { isCaller, type Caller } from './caller.js';

export interface AuditEntry {
  time: Date;
  decision: DecisionOutcome;
  namespace: string;
  kind: string;
  name: string;
  user: string;
  operation: string;
  /** Problem codes (log) or the Event reason when no codes are known. */
  reasons: string[];
  message: string;
  dryRun: boolean;
  breakGlass: boolean;
  /** How many identical decisions this entry stands for (aggregated Events). */
  count: number;
  source: 'log' | 'event';
  /** What the TLS handshake proved about the sender; "unknown" for records older than the field. */
  caller: Caller | 'unknown';
}

export interface AuditFilter {
  user?: string;
  decision?: DecisionOutcome;
  namespace?: string;
  reason?: string;
  since?: Date;
  /** Only decisions on requests whose sender presented a verified client certificate. */
  authenticatedOnly?: boolean;
}

const DECISIONS: readonly DecisionOutcome[] = ['allow', 'deny', 'warn', 'audit'];

export function isDecision(value: string): value is DecisionOutcome {
  return (DECISIONS as readonly string[]).includes(value);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One audit log line (pino JSON, msg "admission") → entry; anything else → undefined. */
export function entryFromLogLine(line: string): AuditEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.msg !== 'admission' || !isDecision(str(value.decision))) return undefined;
  const reasons = Array.isArray(value.reasons) ? value.reasons.filter(isObject) : [];
  return {
    time: new Date(typeof value.time === 'number' ? value.time : str(value.time)),
    decision: value.decision as DecisionOutcome,
    namespace: str(value.namespace),
    kind: str(value.kind),
    name: str(value.name),
    user: str(value.user),
    operation: str(value.operation),
    reasons: reasons.map((r) => str(r.code)),
    message: reasons.map((r) => located({ message: str(r.message), path: str(r.path) })).join('; '),
    dryRun: value.dryRun === true,
    breakGlass: isObject(value.breakGlass),
    count: 1,
    source: 'log',
    caller: isCaller(value.caller) ? value.caller : 'unknown',
  };
}

const DECISION_OF_REASON: Record<string, DecisionOutcome> = {
  ModelRejected: 'deny',
  ModelWarning: 'warn',
  ModelVerified: 'allow',
};

interface EventParts {
  meta: Obj;
  annotations: Obj;
  regarding: Obj;
  series: Obj | undefined;
}

function eventParts(event: Obj): EventParts {
  const meta = isObject(event.metadata) ? event.metadata : {};
  return {
    meta,
    annotations: isObject(meta.annotations) ? meta.annotations : {},
    regarding: isObject(event.regarding) ? event.regarding : {},
    series: isObject(event.series) ? event.series : undefined,
  };
}

function eventDecision(event: Obj, annotations: Obj): DecisionOutcome | undefined {
  const annotated = str(annotations[EVENT_ANNOTATIONS.decision]);
  return isDecision(annotated) ? annotated : DECISION_OF_REASON[str(event.reason)];
}

function eventTime({ series, meta }: EventParts, event: Obj): Date {
  return new Date(str(series?.lastObservedTime) || str(event.eventTime) || str(meta.creationTimestamp));
}

/** An events.k8s.io/v1 Event that modelgate reported → entry; other Events → undefined. */
export function entryFromEvent(event: Obj, reportingController: string): AuditEntry | undefined {
  if (event.reportingController !== reportingController) return undefined;
  const parts = eventParts(event);
  const { annotations, regarding, series } = parts;
  const decision = eventDecision(event, annotations);
  if (!decision) return undefined;
  const codes = str(annotations[EVENT_ANNOTATIONS.reasons]);
  return {
    time: eventTime(parts, event),
    decision,
    namespace: str(regarding.namespace) || str(parts.meta.namespace),
    kind: str(regarding.kind),
    name: str(regarding.name),
    user: str(annotations[EVENT_ANNOTATIONS.user]),
    operation: str(event.action),
    reasons: codes ? codes.split(',') : [str(event.reason)],
    message: str(event.note),
    dryRun: false,
    breakGlass: str(event.note).startsWith('break-glass'),
    count: typeof series?.count === 'number' ? series.count : 1,
    source: 'event',
    caller: callerOf(annotations[EVENT_ANNOTATIONS.caller]),
  };
}

export function matches(entry: AuditEntry, f: AuditFilter): boolean {
  if (f.user !== undefined && entry.user !== f.user) return false;
  if (f.decision !== undefined && entry.decision !== f.decision) return false;
  if (f.namespace !== undefined && entry.namespace !== f.namespace) return false;
  if (f.reason !== undefined && !entry.reasons.some((r) => r === f.reason)) return false;
  if (f.authenticatedOnly === true && entry.caller !== 'verified-client-cert') return false;
  return !(f.since !== undefined && !(entry.time >= f.since));
}

export function filterEntries(entries: readonly AuditEntry[], f: AuditFilter): AuditEntry[] {
  return entries.filter((e) => matches(e, f)).sort((a, b) => a.time.getTime() - b.time.getTime());
}

const COLUMNS = ['TIME', 'DECISION', 'NAMESPACE', 'OBJECT', 'USER', 'CALLER', 'REASONS', 'MESSAGE'] as const;
const MESSAGE_WIDTH = 100;

/** A readable, aligned table; control characters are never printed raw. */
export function formatTable(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) =>
    [
      Number.isNaN(e.time.getTime()) ? '-' : e.time.toISOString().replace(/\.\d+Z$/, 'Z'),
      e.decision +
        (e.count > 1 ? ` x${e.count}` : '') +
        (e.dryRun ? ' (dry-run)' : '') +
        (e.breakGlass ? ' (break-glass)' : ''),
      e.namespace || '-',
      `${e.kind}/${e.name}`,
      e.user || '-',
      e.caller,
      e.reasons.join(',') || '-',
      truncate(e.message, MESSAGE_WIDTH) || '-',
    ].map(oneLine),
  );
  const all = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  return (
    all
      .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
      .join('\n') + '\n'
  );
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/**
 * A duration before now in the policy's grammar (30m, 24h, 7d, 2w, 1h30m; policy/duration.ts),
 * or an ISO 8601 time.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const seconds = parseDuration(text.trim());
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000);
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

function callerOf(value: unknown): Caller | 'unknown' {
  return isCaller(value) ? value : 'unknown';
}
