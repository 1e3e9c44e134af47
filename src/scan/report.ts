import { isDeepStrictEqual } from 'node:util';
import { formatModelRef, joinCut, modelRefOf } from '../decision/summary.js';
import { isObject, type Obj } from '../json/object.js';
import { messageOf, type ScanVerdict, type WorkloadResult } from './results.js';

/**
 * wgpolicyk8s.io/v1alpha2 PolicyReports, the format Kyverno, kube-bench and Falco's exporters
 * write and Policy Reporter shows: one report per namespace, one result per workload and rule.
 * Pure: the scanner reads the current reports and writes what `reportFor` returns.
 */

export const REPORT_API = 'wgpolicyk8s.io/v1alpha2';
export const REPORT_NAME = 'modelgate';
export const REPORT_SOURCE = 'modelgate';
/** The label that marks modelgate's reports (the scanner lists and cleans only these). */
export const REPORT_LABEL = 'app.kubernetes.io/managed-by';
export const REPORT_LABEL_VALUE = 'modelgate';

/**
 * Results per report at most. etcd refuses objects over 1.5 MiB; one result is about 600 bytes
 * with a few models, so 1,000 results stay well under it. Failing results are kept first;
 * the summary still counts every workload.
 */
export const MAX_RESULTS = 1000;

/**
 * And at most this many bytes of results: the workload's author writes the names, the models
 * and (through them) the messages, so 1,000 results of long names must not push a report past
 * etcd's 1.5 MiB. Each string in a result is cut too (MAX_MESSAGE, MAX_PROPERTY).
 */
export const MAX_RESULTS_BYTES = 1 << 20;
const MAX_MESSAGE = 400;
const MAX_PROPERTY = 512;

/** Field paths hold commas (`a["x,y"]`); they are joined with this instead. */
export const PATHS_SEPARATOR = ' | ';

const ORDER: Record<ScanVerdict, number> = { fail: 0, warn: 1, pass: 2 };

export interface ReportResult {
  policy: string;
  rule: string;
  result: ScanVerdict;
  scored: true;
  severity: 'high';
  category: string;
  source: string;
  message: string;
  timestamp: { seconds: number; nanos: number };
  resources: { apiVersion: string; kind: string; namespace: string; name: string; uid: string }[];
  properties: Record<string, string>;
}

/**
 * The properties carry what reviewers filter on, in the Event annotations' formats
 * (decision/summary.ts), so `modelgate audit --running` reads them back with the same parsers.
 */
export function propertiesOf(r: WorkloadResult): Record<string, string> {
  const props: Record<string, string> = {
    models: joinCut(
      r.models.map((m) => formatModelRef(modelRefOf(m))),
      MAX_PROPERTY,
    ),
    keyIds: joinCut([...new Set(r.models.map((m) => m.keyId))], MAX_PROPERTY),
    reasons: joinCut(
      r.reasons.map((x) => x.code),
      MAX_PROPERTY,
    ),
  };
  const paths = r.reasons.map((x) => x.path ?? '').filter(Boolean);
  if (paths.length > 0) props.paths = cut(paths.join(PATHS_SEPARATOR), MAX_PROPERTY);
  return props;
}

function resultOf(r: WorkloadResult, now: Date): ReportResult {
  return {
    policy: 'modelgate',
    rule: r.rule || 'none',
    result: r.result,
    scored: true,
    severity: 'high',
    category: 'Model supply chain',
    source: REPORT_SOURCE,
    message: cut(messageOf(r), MAX_MESSAGE),
    timestamp: { seconds: Math.floor(now.getTime() / 1000), nanos: 0 },
    resources: [{ apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid }],
    properties: propertiesOf(r),
  };
}

/** What a result says, without its time: equal results keep their first timestamp. */
function sameResult(a: unknown, b: ReportResult): boolean {
  if (!isObject(a)) return false;
  return isDeepStrictEqual({ ...a, timestamp: undefined }, { ...b, timestamp: undefined });
}

function uidOf(result: unknown): string | undefined {
  const resources = isObject(result) && Array.isArray(result.resources) ? result.resources : [];
  const first: unknown = resources[0];
  return isObject(first) && typeof first.uid === 'string' ? first.uid : undefined;
}

/** The results that fit (MAX_RESULTS, MAX_RESULTS_BYTES), keeping an unchanged result's time. */
function resultsWithin(
  sorted: readonly WorkloadResult[],
  before: Map<string, unknown>,
  now: Date,
): ReportResult[] {
  const out: ReportResult[] = [];
  let bytes = 0;
  for (const r of sorted) {
    const fresh = resultOf(r, now);
    const old = before.get(r.uid);
    const next = sameResult(old, fresh) ? (old as ReportResult) : fresh;
    bytes += JSON.stringify(next).length;
    if (out.length >= MAX_RESULTS || bytes > MAX_RESULTS_BYTES) break;
    out.push(next);
  }
  return out;
}

/** At most `max` characters, the cut marked with an ellipsis. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function byUid(existing: Obj | undefined): Map<string, unknown> {
  const before = new Map<string, unknown>();
  for (const r of Array.isArray(existing?.results) ? existing.results : []) {
    const uid = uidOf(r);
    if (uid) before.set(uid, r);
  }
  return before;
}

export interface NamespaceReport {
  /** The PolicyReport to write, or undefined when `existing` already says the same. */
  write?: Obj;
  /** Results left out beyond MAX_RESULTS or MAX_RESULTS_BYTES. */
  omitted: number;
}

/**
 * The report for one namespace. A result that says what the existing report says keeps its
 * timestamp, and an unchanged report is not written at all: a steady cluster costs no writes.
 */
export function reportFor(
  namespace: string,
  results: readonly WorkloadResult[],
  existing: Obj | undefined,
  now: Date,
): NamespaceReport {
  const sorted = [...results].sort(
    (a, b) =>
      ORDER[a.result] - ORDER[b.result] || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  );
  const out = resultsWithin(sorted, byUid(existing), now);
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result] += 1;
  const omitted = sorted.length - out.length;
  if (existing && isDeepStrictEqual(existing.results, out) && isDeepStrictEqual(existing.summary, summary))
    return { omitted };
  const meta = isObject(existing?.metadata) ? existing.metadata : undefined;
  const report: Obj = {
    apiVersion: REPORT_API,
    kind: 'PolicyReport',
    metadata: {
      name: REPORT_NAME,
      namespace,
      labels: { [REPORT_LABEL]: REPORT_LABEL_VALUE },
      ...(meta && typeof meta.resourceVersion === 'string' ? { resourceVersion: meta.resourceVersion } : {}),
    },
    summary,
    results: out,
  };
  return { write: report, omitted };
}

/** Where a namespace's report lives in the API. */
export function reportPath(namespace: string, name?: string): string {
  const base = `/apis/${REPORT_API}/namespaces/${encodeURIComponent(namespace)}/policyreports`;
  return name ? `${base}/${encodeURIComponent(name)}` : base;
}
