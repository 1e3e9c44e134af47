import type { Logger } from 'pino';
import { decodeAdmissionReview } from '../admission/decode.js';
import { errored, reviewResponse } from '../admission/respond.js';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from '../admission/types.js';
import type { Caller } from '../audit/caller.js';
import { EVENT_ANNOTATIONS } from '../vocabulary/keys.js';
import type { DecisionLogger } from '../audit/logger.js';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import type { Decision, EventIntent } from '../decision/types.js';
import type { Keyring } from '../keys/types.js';
import type { Policy } from '../policy/types.js';
import { isPodCreatingKind } from '../workload/kinds.js';
import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import type { Metrics } from './metrics.js';

export type FailureMode = 'deny' | 'allow';

export interface ValidateDeps {
  keyring: () => Keyring;
  policy: () => Policy;
  resolve: (namespace: string, refs: ModelRef[], signal: AbortSignal) => Promise<ResolvedManifest[]>;
  metrics: Metrics;
  logDecision: DecisionLogger;
  logger: Logger;
  /** Sends an Event (asynchronously); the decision already left dry runs without one. */
  recordEvent?: (intent: EventIntent) => void;
  failureMode: FailureMode;
  /** Internal deadline for cluster reads, below the API server's webhook timeout. */
  deadlineMs: number;
  now?: () => Date;
}

export interface HttpAnswer {
  status: number;
  body: AdmissionReview<AdmissionResponse>;
}

/**
 * POST /validate after the body is read: decode once at the edge, resolve cluster refs
 * within the deadline, decide (pure), audit. Malformed input → 400/413/415 with a message;
 * anything that throws after decoding → an answer that keeps the uid, by the failure mode.
 * `caller` is what the TLS handshake proved about the sender (app.ts); it goes on the audit
 * line and the Event, never into the decision.
 */
export async function handleReview(
  body: Buffer,
  contentType: string | undefined,
  deps: ValidateDeps,
  caller: Caller,
): Promise<HttpAnswer> {
  const started = performance.now();
  const decoded = decodeAdmissionReview(body, contentType);
  if (!decoded.ok) {
    deps.metrics.malformed.inc({ status: String(decoded.status) });
    deps.logger.info(
      { status: decoded.status, uid: decoded.uid, reason: decoded.message },
      'malformed admission review',
    );
    return {
      status: decoded.status,
      body: reviewResponse(errored(decoded.uid ?? '', decoded.status, decoded.message)),
    };
  }
  const request = decoded.request;
  try {
    const decision = await decide(request, deps);
    finish({ decision, caller, started }, deps);
    return { status: 200, body: reviewResponse(decision.response) };
  } catch (err) {
    return { status: 200, body: reviewResponse(internalError(request, err, deps, started)) };
  }
}

async function decide(request: AdmissionRequest, deps: ValidateDeps): Promise<Decision> {
  const policy = deps.policy();
  const plan = planAdmission(request, policy);
  // Annotation-only workloads (the common case) need no I/O: stay synchronous.
  const resolved =
    plan.refs.length === 0
      ? []
      : await deps.resolve(plan.namespace, plan.refs, AbortSignal.timeout(deps.deadlineMs));
  return decideAdmission(plan, { resolved, keyring: deps.keyring(), now: deps.now?.() ?? new Date() });
}

/**
 * Metric label for a kind: anyone who reaches the port can POST any kind, and every label value
 * is a series kept forever, so only the kinds the webhook is registered for get their own.
 */
function kindLabel(kind: string): string {
  return isPodCreatingKind(kind) ? kind : 'other';
}

interface Decided {
  decision: Decision;
  caller: Caller;
  started: number;
}

function finish({ decision, caller, started }: Decided, deps: ValidateDeps): void {
  const seconds = (performance.now() - started) / 1000;
  const { record } = decision;
  deps.metrics.requests.inc({
    decision: record.decision,
    kind: kindLabel(record.kind),
    operation: record.operation,
  });
  deps.metrics.duration.observe({ decision: record.decision }, seconds);
  if (record.decision !== 'allow') {
    for (const r of record.reasons) deps.metrics.verificationFailures.inc({ reason: r.code });
  }
  deps.logDecision(record, seconds * 1000, caller);
  if (decision.event && deps.recordEvent) deps.recordEvent(withCaller(decision.event, caller));
}

function withCaller(event: EventIntent, caller: Caller): EventIntent {
  return { ...event, annotations: { ...event.annotations, [EVENT_ANNOTATIONS.caller]: caller } };
}

/** A throw after decoding: logged with the uid; the answer follows the failure mode. */
function internalError(
  request: AdmissionRequest,
  err: unknown,
  deps: ValidateDeps,
  started: number,
): AdmissionResponse {
  const seconds = (performance.now() - started) / 1000;
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  deps.logger.error(
    {
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      err: detail,
    },
    'internal error while deciding',
  );
  deps.metrics.requests.inc({
    decision: 'error',
    kind: kindLabel(request.kind.kind),
    operation: request.operation,
  });
  deps.metrics.duration.observe({ decision: 'error' }, seconds);
  if (deps.failureMode === 'allow') {
    return {
      uid: request.uid,
      allowed: true,
      warnings: ['modelgate: internal error; allowed because the failure mode is "allow"'],
    };
  }
  return errored(
    request.uid,
    500,
    'modelgate: internal error while checking models; refused (failure mode "deny"); see the modelgate logs',
  );
}
