import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import type { AuditRecord, ModelSummary, Reason } from '../decision/types.js';
import type { Caller } from './caller.js';

/**
 * Paths removed from every log line whatever logs them. Key bytes never reach a logger by
 * design (the Keyring does not expose them); this is the belt to those braces, e.g. for an
 * error object that carried a request option or a Secret.
 */
const REDACT_PATHS = [
  'key',
  'keys',
  'secret',
  'password',
  'token',
  'privateKey',
  'tls.key',
  'data',
  '*.key',
  '*.keys',
  '*.secret',
  '*.password',
  '*.token',
  '*.privateKey',
  '*.data',
  'err.config',
  'err.options',
  'headers.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go (default stdout); tests pass a stream. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** The DESIGN.md audit line: one per decision, `msg: "admission"` (pino adds time and level). */
export interface AuditLine extends AuditRecord {
  durationMs: number;
  /** Whether the TLS handshake proved the caller (see caller.ts); absent where no server is involved. */
  caller?: Caller;
}

export function auditLine(record: AuditRecord, durationMs: number, caller?: Caller): AuditLine {
  const line: AuditLine = {
    uid: record.uid,
    kind: record.kind,
    namespace: record.namespace,
    name: record.name,
    operation: record.operation,
    user: record.user,
    groups: record.groups,
    dryRun: record.dryRun,
    decision: record.decision,
    mode: record.mode,
    reasons: record.reasons.map(copyReason),
    models: record.models.map(copyModel),
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  if (record.rule !== undefined) line.rule = record.rule;
  if (record.approvers) line.approvers = { names: [...record.approvers.names], from: record.approvers.from };
  if (record.breakGlass) line.breakGlass = { user: record.breakGlass.user, reason: record.breakGlass.reason };
  if (caller !== undefined) line.caller = caller;
  return line;
}

export type DecisionLogger = (record: AuditRecord, durationMs: number, caller?: Caller) => void;

/** Returns `logDecision(record, durationMs, caller)`: denies log at warn, the rest at info. */
export function decisionLogger(logger: Logger): DecisionLogger {
  // An audit line holds only the fields auditLine copies (no key, Secret or header can be in
  // it), so it skips the wildcard redaction every other line gets: 30 → 12 µs a decision.
  const audit = logger.child({}, { redact: { paths: [] } });
  return (record, durationMs, caller) => {
    const line = auditLine(record, durationMs, caller);
    if (record.decision === 'deny') audit.warn(line, 'admission');
    else audit.info(line, 'admission');
  };
}

/** The fields of a reason, copied one by one: a log line holds only what it names. */
function copyReason(r: Reason): Reason {
  const out: Reason = { code: r.code, message: r.message };
  if (r.path !== undefined) out.path = r.path;
  if (r.origin !== undefined) out.origin = r.origin;
  return out;
}

function copyModel(m: ModelSummary): ModelSummary {
  const out: ModelSummary = { name: m.name, keyId: m.keyId, format: m.format, sha256: m.sha256 };
  if (m.version !== undefined) out.version = m.version;
  if (m.algorithm !== undefined) out.algorithm = m.algorithm;
  if (m.approvers !== undefined) out.approvers = [...m.approvers];
  return out;
}
