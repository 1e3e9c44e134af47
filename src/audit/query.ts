/**
 * What security reviewers ask of past decisions: read them from audit log lines or from
 * modelgate's Events, filter, and print. Pure: the CLI does the reading.
 */
import type { DecisionOutcome } from '../decision/types.js';
import { located } from '../decision/message.js';
import { modelRefOf, parseList, parseModelRefs, type ModelRef } from '../decision/summary.js';
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
  source: 'log' | 'event' | 'report';
  /** What the TLS handshake proved about the sender; "unknown" for records older than the field. */
  caller: Caller | 'unknown';
  /** The admission request's uid ("" when unknown). */
  uid: string;
  /** The policy rule that decided ("" for records older than the field, or none). */
  rule: string;
  /** The verified models (empty for records older than the field, or a denial before verification). */
  models: ModelRef[];
  approvers: string[];
  /** claims.approvers (signed) or the workload annotation; "" when none or unknown. */
  approversFrom: string;
  /** Where each problem is: the object's field, and the manifest's origin (log lines only). */
  paths: string[];
}

export interface AuditFilter {
  user?: string;
  decision?: DecisionOutcome;
  namespace?: string;
  reason?: string;
  since?: Date;
  until?: Date;
  /** A model name, with or without @version. */
  model?: string;
  key?: string;
  rule?: string;
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
  const approvers = isObject(value.approvers) ? value.approvers : {};
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
    uid: str(value.uid),
    rule: str(value.rule),
    models: Array.isArray(value.models) ? value.models.filter(isObject).map(modelOfLine) : [],
    approvers: strings(approvers.names),
    approversFrom: str(approvers.from),
    paths: reasons.map((r) => [str(r.path), str(r.origin)].filter(Boolean).join(' from ')).filter(Boolean),
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** A log line's model; lines older than `version` carry it only in a v2 name (name@version). */
function modelOfLine(m: Obj): ModelRef {
  const name = str(m.name);
  const at = name.lastIndexOf('@');
  const version = str(m.version) || (m.format === 'v2' && at > 0 ? name.slice(at + 1) : '');
  return modelRefOf({
    name,
    keyId: str(m.keyId),
    format: m.format === 'v1' || m.format === 'oms' ? m.format : 'v2',
    sha256: str(m.sha256),
    ...(version ? { version } : {}),
  });
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
  const annotated = (name: keyof typeof EVENT_ANNOTATIONS): string =>
    str(annotations[EVENT_ANNOTATIONS[name]]);
  return {
    time: eventTime(parts, event),
    decision,
    namespace: str(regarding.namespace) || str(parts.meta.namespace),
    kind: str(regarding.kind),
    name: str(regarding.name),
    user: str(annotations[EVENT_ANNOTATIONS.user]),
    operation: str(event.action),
    reasons: codes ? parseList(codes) : [str(event.reason)],
    message: str(event.note),
    dryRun: false,
    breakGlass: str(event.note).startsWith('break-glass'),
    count: typeof series?.count === 'number' ? series.count : 1,
    source: 'event',
    caller: callerOf(annotations[EVENT_ANNOTATIONS.caller]),
    uid: annotated('requestUid'),
    rule: annotated('rule'),
    models: parseModelRefs(annotated('models')),
    approvers: parseList(annotated('approvers')),
    approversFrom: annotated('approversFrom'),
    paths: [],
  };
}

/** Each filter a predicate over the entry; an absent filter keeps everything. */
const CHECKS: { [K in keyof AuditFilter]-?: (e: AuditEntry, v: NonNullable<AuditFilter[K]>) => boolean } = {
  user: (e, v) => e.user === v,
  decision: (e, v) => e.decision === v,
  namespace: (e, v) => e.namespace === v,
  reason: (e, v) => e.reasons.includes(v),
  since: (e, v) => e.time >= v,
  until: (e, v) => e.time <= v,
  model: (e, v) => e.models.some((m) => isModel(m, v)),
  key: (e, v) => e.models.some((m) => m.keyId === v),
  rule: (e, v) => e.rule === v,
  authenticatedOnly: (e, v) => !v || e.caller === 'verified-client-cert',
};

export function matches(entry: AuditEntry, f: AuditFilter): boolean {
  return (Object.keys(CHECKS) as (keyof AuditFilter)[]).every((k) => {
    const value = f[k];
    return value === undefined || (CHECKS[k] as (e: AuditEntry, v: unknown) => boolean)(entry, value);
  });
}

export function filterEntries(entries: readonly AuditEntry[], f: AuditFilter): AuditEntry[] {
  return entries.filter((e) => matches(e, f)).sort((a, b) => a.time.getTime() - b.time.getTime());
}

/** "fraud" matches every version of fraud; "fraud@1.2.0" that one. */
function isModel(m: ModelRef, name: string): boolean {
  return m.name === name || (m.version !== undefined && `${m.name}@${m.version}` === name);
}

/** An ISO 8601 date or time: starts with YYYY-MM-DD (so "5" is not read as a date in 2001). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * `--since` / `--until`: a duration before now in the one grammar (30m, 24h, 7d, 2w, 1h30m;
 * policy/duration.ts), or an ISO 8601 time. Anything else, a bare number included, is an error
 * whose message says what was expected.
 */
export function parseTime(
  text: string,
  now: Date,
): { ok: true; value: Date } | { ok: false; message: string } {
  const trimmed = text.trim();
  const seconds = parseDuration(trimmed);
  if (seconds !== undefined) return { ok: true, value: new Date(now.getTime() - seconds * 1000) };
  if (/^\d+$/.test(trimmed))
    return {
      ok: false,
      message: `"${text}" has no unit: write ${trimmed}s, ${trimmed}m, ${trimmed}h, ${trimmed}d or ${trimmed}w`,
    };
  const t = ISO_TIME.test(trimmed) ? new Date(trimmed) : new Date(NaN);
  if (!Number.isNaN(t.getTime())) return { ok: true, value: t };
  return {
    ok: false,
    message: `"${text}" is neither a duration like 30m, 24h, 7d, 2w or 1h30m nor an ISO 8601 time like 2026-05-01T10:00:00Z`,
  };
}

function callerOf(value: unknown): Caller | 'unknown' {
  return isCaller(value) ? value : 'unknown';
}
