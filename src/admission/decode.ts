import { isObject } from '../json/object.js';
import type { AdmissionRequest, Operation } from './types.js';

/**
 * Largest body accepted. The API server caps a stored object at ~1.5 MiB (etcd's request
 * limit) and an UPDATE review carries object and oldObject, JSON-encoded with the review's
 * own envelope; 7 MiB leaves room for both at their worst (the figure controller-runtime uses).
 */
export const MAX_REVIEW_BYTES = 7 * 1024 * 1024;

/**
 * Deepest JSON nesting accepted. A pod-creating object is a few dozen levels deep; anything far
 * deeper is hostile and would make recursive comparisons overflow the stack, which must end in
 * a 400, never in the failure mode (an operator may have chosen "allow").
 */
export const MAX_JSON_DEPTH = 512;

export type DecodeResult =
  | { ok: true; request: AdmissionRequest }
  | { ok: false; status: 400 | 413 | 415; message: string; uid?: string };

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

function fail(message: string, uid?: string, status: 400 | 413 = 400): DecodeResult {
  return uid === undefined ? { ok: false, status, message } : { ok: false, status, message, uid };
}

/** Decodes an AdmissionReview body once, at the edge. Every malformed input gets its own message. */
export function decodeAdmissionReview(body: Buffer, contentType: string | undefined): DecodeResult {
  if (body.length > MAX_REVIEW_BYTES)
    return fail(`request body exceeds ${MAX_REVIEW_BYTES} bytes`, undefined, 413);
  if (body.length === 0) return fail('request body is empty; expected an AdmissionReview');
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
    return fail(`content type must be application/json, got "${contentType.slice(0, 100)}"`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return fail(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (exceedsDepth(parsed, MAX_JSON_DEPTH))
    return fail(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return decodeReview(parsed);
}

/** Iterative (an attacker's depth must not overflow the checker's own stack). */
export function exceedsDepth(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v))
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/** Validates an already-parsed value as an admission.k8s.io/v1 AdmissionReview request. */
export function decodeReview(parsed: unknown): DecodeResult {
  if (!isObject(parsed) || parsed.kind !== 'AdmissionReview') {
    return fail('request body is not an AdmissionReview (kind must be "AdmissionReview")');
  }
  if (parsed.apiVersion !== 'admission.k8s.io/v1') {
    return fail(
      `unsupported AdmissionReview apiVersion ${JSON.stringify(parsed.apiVersion)}; expected "admission.k8s.io/v1"`,
    );
  }
  const req = parsed.request;
  if (!isObject(req)) return fail('AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid.length === 0) return fail('AdmissionReview request has no uid');
  const problem = requestProblem(req);
  if (problem !== undefined) return fail(`AdmissionReview request ${problem}`, req.uid);
  return { ok: true, request: req as unknown as AdmissionRequest };
}

const optionalObject = (v: unknown): boolean => v === undefined || v === null || isObject(v);
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** Shape checks of the request fields modelgate reads: [problem, holds?]. First failing one wins. */
const REQUEST_CHECKS: readonly [string, (r: Record<string, unknown>) => boolean][] = [
  ['has no kind.kind', (r) => isObject(r.kind) && typeof r.kind.kind === 'string'],
  ['has no resource', (r) => isObject(r.resource) && typeof r.resource.resource === 'string'],
  ['has no userInfo', (r) => isObject(r.userInfo)],
  ['object is not an object', (r) => optionalObject(r.object)],
  ['oldObject is not an object', (r) => optionalObject(r.oldObject)],
  ['namespace is not a string', (r) => optionalString(r.namespace)],
  ['name is not a string', (r) => optionalString(r.name)],
];

function requestProblem(req: Record<string, unknown>): string | undefined {
  if (!OPERATIONS.includes(req.operation as Operation))
    return `has an unknown operation ${JSON.stringify(req.operation)}`;
  return REQUEST_CHECKS.find(([, holds]) => !holds(req))?.[0];
}
