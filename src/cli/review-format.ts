import { located, oneLine } from '../decision/message.js';
import type { Decision, Reason } from '../decision/types.js';

/**
 * A decision as the engineer who applies the object reads it: one line naming the object and
 * the verdict, then every problem on its own line with the field it is about and what to do.
 */
export function formatDecision({ response, record }: Decision): string {
  const subject = oneLine(
    `${record.kind} ${record.namespace ? `${record.namespace}/` : ''}${record.name || '(unnamed)'}`,
  );
  const lines = [`${subject}: ${verdictOf(record)}`];
  if (!isSkip(record)) lines.push(...record.reasons.map((r) => `  - ${problemLine(r)}`));
  // Warn mode repeats each problem as a warning for kubectl; here it is listed once, above.
  const repeated = new Set(record.reasons.map((r) => `modelgate: ${located(r)}`));
  const warnings = (response.warnings ?? []).filter((w) => !repeated.has(w));
  lines.push(...warnings.map((w) => `  warning: ${oneLine(w)}`));
  return `${lines.join('\n')}\n`;
}

function verdictOf(record: Decision['record']): string {
  if (record.decision === 'deny') return 'DENIED';
  if (isSkip(record)) return `ALLOWED (not checked: ${record.reasons[0]?.code ?? ''})`;
  if (record.breakGlass)
    return `ALLOWED by break-glass (${record.breakGlass.user}: "${record.breakGlass.reason}")`;
  if (record.decision !== 'allow')
    return `ALLOWED with problems (rule ${record.rule ?? ''}, ${modeNote(record)})`;
  const models = record.models.map((m) => `${m.name} with key ${m.keyId}`);
  return models.length > 0 ? `ALLOWED (verified ${models.join(', ')})` : 'ALLOWED';
}

function modeNote(record: Decision['record']): string {
  return record.decision === 'audit' ? 'audit mode: only recorded' : 'warn mode';
}

/** A request the decision never verified records one reason: why it was skipped. */
function isSkip(record: Decision['record']): boolean {
  return record.reasons.length === 1 && record.reasons[0]?.message === 'not verified';
}

/** `code at path: message [manifest origin]`; every part was made one line by the decision. */
function problemLine(r: Reason): string {
  const at = r.path ? ` at ${r.path}` : '';
  const origin = r.origin ? ` [${r.origin}]` : '';
  return `${r.code}${at}: ${r.message}${origin}`;
}
