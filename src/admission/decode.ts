import { getPath, isObject } from '../json/object.js';
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

/**
 * Most arrays + objects accepted in one body, counted before JSON.parse allocates them. The
 * largest realistic review measured, an UPDATE of a 100-container Deployment with 50 env vars
 * per container, managedFields and the last-applied annotation (1.8 MB), has 55k. Parsed, each
 * costs 50–100 bytes of heap and the whole parse ~10 ms per 100k: under 8 concurrent hostile
 * reviews at this cap the server peaked near 230 MiB RSS (150k: 290 MiB, over the chart's 256 Mi
 * limit), whereas a 6.6 MiB body of empty arrays (2.3M of them) took one request from 81 to 585 MB.
 */
export const MAX_JSON_CONTAINERS = 100_000;

/**
 * Most JSON values (scalars, arrays and objects) accepted in one body, counted as commas +
 * containers + 1 (an upper bound). The review above has 107k; scalars are cheaper than
 * containers, so this allows ~2.3× that before refusing.
 */
export const MAX_JSON_VALUES = 250_000;

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
  const tooBig = structureProblem(body);
  if (tooBig !== undefined) return fail(`request body ${tooBig}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return fail(`request body is not valid JSON: ${(err as Error).message}`);
  }
  return decodeReview(parsed);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const isOpener = (byte: number): boolean => byte === 0x5b || byte === 0x7b; // [ {
const isCloser = (byte: number): boolean => byte === 0x5d || byte === 0x7d; // ] }

const TOO_DEEP = `nests deeper than ${MAX_JSON_DEPTH} levels`;
const TOO_MANY_CONTAINERS = `has more than ${MAX_JSON_CONTAINERS} arrays and objects; no AdmissionReview needs that many`;
const TOO_MANY_VALUES = `has more than ${MAX_JSON_VALUES} JSON values; no AdmissionReview needs that many`;

/**
 * One linear pass over the raw bytes, before JSON.parse allocates anything, fed chunk by chunk
 * as the body arrives (so the server can stop reading a hostile body early) or all at once.
 * `feed` answers why the body is refused (too deep, too many containers, too many values) or
 * undefined. String contents are skipped, honouring escapes, so brackets and commas inside
 * strings do not count; UTF-8 continuation bytes are never ASCII, so a byte scan is exact.
 * Not a validator: JSON.parse still judges the syntax. Values are counted as commas +
 * containers + 1, an upper bound on the number of JSON values.
 */
export class JsonStructureScan {
  private depth = 0;
  private containers = 0;
  private commas = 0;
  private inString = false;
  private escaped = false;

  feed(chunk: Uint8Array): string | undefined {
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) i = this.skipString(chunk, i);
      else {
        const problem = this.structural(chunk[i]!);
        if (problem !== undefined) return problem;
      }
    }
    return undefined;
  }

  private structural(byte: number): string | undefined {
    if (byte === QUOTE) this.inString = true;
    else if (byte === COMMA) this.commas++;
    else if (isCloser(byte)) this.depth--;
    else if (isOpener(byte)) {
      if (++this.depth > MAX_JSON_DEPTH) return TOO_DEEP;
      if (++this.containers > MAX_JSON_CONTAINERS) return TOO_MANY_CONTAINERS;
    } else return undefined;
    return 1 + this.containers + this.commas > MAX_JSON_VALUES ? TOO_MANY_VALUES : undefined;
  }

  /**
   * From `i` inside a string: the index of its closing quote, or the chunk's last index. Jumps
   * from quote to quote with indexOf (a manifest annotation is mostly one long string: a byte loop
   * here cost ~0.2 ms per 200 KB review, and the server scans twice); a quote is escaped when an
   * odd run of backslashes, counted back to `i`, precedes it. Linear: every byte is passed over by
   * indexOf once and counted back at most once.
   */
  private skipString(chunk: Uint8Array, i: number): number {
    if (this.escaped) {
      // The chunk before ended in an escaping backslash: this byte is content, whatever it is.
      this.escaped = false;
      i++;
    }
    while (i < chunk.length) {
      const quote = chunk.indexOf(QUOTE, i);
      if (quote === -1) {
        this.escaped = backslashesBefore(chunk, chunk.length, i) % 2 === 1;
        return chunk.length - 1;
      }
      if (backslashesBefore(chunk, quote, i) % 2 === 0) {
        this.inString = false;
        return quote;
      }
      i = quote + 1;
    }
    return chunk.length - 1;
  }
}

/** How many backslashes immediately precede `end`, not looking before `from`. */
function backslashesBefore(chunk: Uint8Array, end: number, from: number): number {
  let j = end - 1;
  while (j >= from && chunk[j] === BACKSLASH) j--;
  return end - 1 - j;
}

/** The structure scan over a whole body: why it is refused, or undefined. */
export function structureProblem(body: Uint8Array): string | undefined {
  return new JsonStructureScan().feed(body);
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

type Shape = (value: unknown) => boolean;

const isString: Shape = (v) => typeof v === 'string';
const isNonEmptyString: Shape = (v) => typeof v === 'string' && v.length > 0;
const isBoolean: Shape = (v) => typeof v === 'boolean';
const isStringArray: Shape = (v) => Array.isArray(v) && v.every(isString);
const isStringArrayMap: Shape = (v) => isObject(v) && Object.values(v).every(isStringArray);
const absentOr =
  (shape: Shape): Shape =>
  (v) =>
    v === undefined || shape(v);
/** Go encodes an empty runtime.RawExtension (object, oldObject, options) as `null`. */
const absentNullOrObject: Shape = (v) => v === undefined || v === null || isObject(v);

/**
 * The shape of every request field modelgate reads, checked once here so that no later code sees
 * a number where a string belongs or a string where an array belongs (`groups: "xx-sre-oncall-xx"`
 * once matched group "sre-oncall" by substring). Parents come before their fields. The username
 * must be non-empty: the API server always names the requester ("system:anonymous" when
 * unauthenticated) and it is what break-glass and controller checks match.
 */
const REQUEST_FIELDS: readonly [path: string, expected: string, holds: Shape][] = [
  ['kind', 'an object', isObject],
  ['kind.group', 'a string', isString],
  ['kind.version', 'a string', isString],
  ['kind.kind', 'a string', isString],
  ['resource', 'an object', isObject],
  ['resource.group', 'a string', isString],
  ['resource.version', 'a string', isString],
  ['resource.resource', 'a string', isString],
  ['subResource', 'a string when present', absentOr(isString)],
  ['name', 'a string when present', absentOr(isString)],
  ['namespace', 'a string when present', absentOr(isString)],
  ['userInfo', 'an object', isObject],
  ['userInfo.username', 'a non-empty string', isNonEmptyString],
  ['userInfo.uid', 'a string when present', absentOr(isString)],
  ['userInfo.groups', 'an array of strings when present', absentOr(isStringArray)],
  ['userInfo.extra', 'an object of string arrays when present', absentOr(isStringArrayMap)],
  ['object', 'an object, null or absent', absentNullOrObject],
  ['oldObject', 'an object, null or absent', absentNullOrObject],
  ['options', 'an object, null or absent', absentNullOrObject],
  ['dryRun', 'a boolean when present', absentOr(isBoolean)],
];

/** What a value is, for messages: its JSON type, never its (attacker-written, maybe huge) text. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Longest operation echoed back in a message (the known ones are 7 characters). */
const MAX_ECHOED_OPERATION = 32;

function requestProblem(req: Record<string, unknown>): string | undefined {
  if (!OPERATIONS.includes(req.operation as Operation)) {
    const shown =
      typeof req.operation === 'string' && req.operation.length <= MAX_ECHOED_OPERATION
        ? JSON.stringify(req.operation)
        : describe(req.operation);
    return `has an unknown operation ${shown}`;
  }
  for (const [path, expected, holds] of REQUEST_FIELDS) {
    const value = getPath(req, path.split('.'));
    if (!holds(value)) return `${path} must be ${expected}, got ${describe(value)}`;
  }
  return undefined;
}
