import type { AdmissionRequest } from '../admission/types.js';
import type { Workload } from '../workload/types.js';

/**
 * One printable line: control characters (newlines, ANSI escapes) from names, annotations or
 * manifests are replaced so nobody can forge extra log or kubectl lines; bidirectional overrides
 * too, so nobody can make kubectl display a message reordered.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ');
}

/** "Deployment ml/fraud-detector" — what the request is about, for messages. */
export function describe(request: AdmissionRequest, workload?: Workload): string {
  const ns = request.namespace ?? workload?.namespace ?? '';
  const name = request.name || workload?.name || '(unnamed)';
  return oneLine(`${request.kind.kind} ${ns ? `${ns}/` : ''}${name}`);
}

/** A reason as a user reads it: its message, and the field it is about unless it names it already. */
export function located(r: { message: string; path?: string }): string {
  return r.path && !r.message.includes(r.path) ? `${r.message} (at ${r.path})` : r.message;
}
