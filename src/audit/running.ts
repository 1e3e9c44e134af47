/**
 * `modelgate audit --running`: what runs now and whether it still passes, read from the
 * PolicyReports the background scanner writes (scan/report.ts), as audit entries so every
 * filter and output of `modelgate audit` applies. Pure: the CLI does the reading.
 */
import type { DecisionOutcome } from '../decision/types.js';
import { parseList, parseModelRefs } from '../decision/summary.js';
import { asArray, isObject, type Obj } from '../json/object.js';
import { PATHS_SEPARATOR, REPORT_SOURCE } from '../scan/report.js';
import type { AuditEntry } from './query.js';

/** A result read as the decision admission would make now. */
const DECISION_OF_RESULT: Record<string, DecisionOutcome> = { pass: 'allow', fail: 'deny', warn: 'warn' };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Every modelgate result of one PolicyReport; other tools' results are left out. */
export function entriesFromReport(report: Obj): AuditEntry[] {
  const meta = isObject(report.metadata) ? report.metadata : {};
  return asArray(report.results).flatMap((r) => {
    const entry = isObject(r) ? entryFromResult(r, str(meta.namespace)) : undefined;
    return entry ? [entry] : [];
  });
}

function entryFromResult(r: Obj, namespace: string): AuditEntry | undefined {
  const decision = DECISION_OF_RESULT[str(r.result)];
  if (r.source !== REPORT_SOURCE || !decision) return undefined;
  const [resource] = asArray(r.resources);
  const res = isObject(resource) ? resource : {};
  const props = isObject(r.properties) ? r.properties : {};
  const ts = isObject(r.timestamp) && typeof r.timestamp.seconds === 'number' ? r.timestamp.seconds : 0;
  return {
    time: new Date(ts * 1000),
    decision,
    namespace: str(res.namespace) || namespace,
    kind: str(res.kind),
    name: str(res.name),
    user: '',
    operation: 'RUNNING',
    reasons: parseList(str(props.reasons)),
    message: str(r.message),
    dryRun: false,
    breakGlass: false,
    count: 1,
    source: 'report',
    caller: 'unknown',
    uid: str(res.uid),
    rule: str(r.rule),
    models: parseModelRefs(str(props.models)),
    approvers: [],
    approversFrom: '',
    paths: str(props.paths).split(PATHS_SEPARATOR).filter(Boolean),
  };
}
