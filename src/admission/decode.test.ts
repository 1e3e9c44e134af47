import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admissionReview, deployment } from '../../test/fixtures/objects.js';
import { MALFORMED_REQUEST_FIELDS, withRequestField } from '../../test/fixtures/malformed.js';
import {
  decodeAdmissionReview,
  MAX_JSON_CONTAINERS,
  MAX_JSON_DEPTH,
  MAX_JSON_VALUES,
  MAX_REVIEW_BYTES,
  JsonStructureScan,
  structureProblem,
} from './decode.js';

const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const review = admissionReview(deployment());

describe('decodeAdmissionReview', () => {
  it('decodes a well-formed review', () => {
    const r = decodeAdmissionReview(body(review), 'application/json; charset=utf-8');
    expect(r).toMatchObject({ ok: true, request: { uid: review.request.uid, operation: 'CREATE' } });
  });

  it.each([
    ['an empty body', '', 400, 'request body is empty; expected an AdmissionReview'],
    ['a body that is not JSON', '{not json', 400, /^request body is not valid JSON: /],
    ['a JSON array', '[]', 400, 'request body is not an AdmissionReview (kind must be "AdmissionReview")'],
    [
      'another kind',
      { apiVersion: 'v1', kind: 'Pod' },
      400,
      'request body is not an AdmissionReview (kind must be "AdmissionReview")',
    ],
    [
      'v1beta1',
      { ...review, apiVersion: 'admission.k8s.io/v1beta1' },
      400,
      /unsupported AdmissionReview apiVersion "admission.k8s.io\/v1beta1"/,
    ],
    [
      'no request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      400,
      'AdmissionReview has no request',
    ],
    [
      'no uid',
      { ...review, request: { ...review.request, uid: undefined } },
      400,
      'AdmissionReview request has no uid',
    ],
    [
      'an empty uid',
      { ...review, request: { ...review.request, uid: '' } },
      400,
      'AdmissionReview request has no uid',
    ],
    [
      'a bad operation',
      { ...review, request: { ...review.request, operation: 'PATCH' } },
      400,
      'AdmissionReview request has an unknown operation "PATCH"',
    ],
    [
      'a huge unknown operation, described rather than echoed',
      { ...review, request: { ...review.request, operation: 'X'.repeat(1000) } },
      400,
      'AdmissionReview request has an unknown operation a string',
    ],
  ])('refuses %s with 400 and its own message', (_, input, status, message) => {
    const r = decodeAdmissionReview(body(input), 'application/json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(status);
    if (typeof message === 'string') expect(r.message).toBe(message);
    else expect(r.message).toMatch(message);
  });

  it('keeps the uid when the request is malformed past it', () => {
    const r = decodeAdmissionReview(
      body({ ...review, request: { ...review.request, kind: 'x' } }),
      undefined,
    );
    expect(r).toEqual({
      ok: false,
      status: 400,
      message: 'AdmissionReview request kind must be an object, got a string',
      uid: review.request.uid,
    });
  });

  it.each(MALFORMED_REQUEST_FIELDS)(
    'refuses %s with 400, its field path and the uid',
    (_, path, value, message) => {
      expect(decodeAdmissionReview(body(withRequestField(review, path, value)), 'application/json')).toEqual({
        ok: false,
        status: 400,
        message: `AdmissionReview request ${message}`,
        uid: review.request.uid,
      });
    },
  );

  it.each([
    [
      'no optional field at all',
      [
        'subResource',
        'name',
        'namespace',
        'userInfo.uid',
        'userInfo.groups',
        'userInfo.extra',
        'object',
        'oldObject',
        'options',
        'dryRun',
      ],
    ],
    ['null object, oldObject and options (an empty RawExtension)', []],
  ])('accepts a request with %s', (label, removed) => {
    let r = review;
    for (const path of removed) r = withRequestField(r, path, undefined);
    if (removed.length === 0)
      for (const path of ['object', 'oldObject', 'options']) r = withRequestField(r, path, null);
    expect(decodeAdmissionReview(body(r), 'application/json').ok, label).toBe(true);
  });

  it('accepts the fields the API server sends: empty group, subresource, uid, extra, options', () => {
    let r = withRequestField(review, 'kind.group', '');
    r = withRequestField(r, 'subResource', 'status');
    r = withRequestField(r, 'userInfo.uid', 'b2f8');
    r = withRequestField(r, 'userInfo.extra', { 'authentication.kubernetes.io/pod-name': ['p'], scopes: [] });
    r = withRequestField(r, 'options', { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' });
    expect(decodeAdmissionReview(body(r), 'application/json').ok).toBe(true);
  });

  it('refuses a wrong content type', () => {
    expect(decodeAdmissionReview(body(review), 'text/plain')).toMatchObject({
      ok: false,
      status: 400,
      message: /content type/,
    });
  });

  it('refuses an oversized body with 413 before parsing it', () => {
    const r = decodeAdmissionReview(Buffer.alloc(MAX_REVIEW_BYTES + 1, 0x20), 'application/json');
    expect(r).toEqual({ ok: false, status: 413, message: `request body exceeds ${MAX_REVIEW_BYTES} bytes` });
  });

  it('refuses a body nested deeper than the limit with 400 instead of overflowing later', () => {
    const deep = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(decodeAdmissionReview(body(deep), 'application/json')).toEqual({
      ok: false,
      status: 400,
      message: `request body nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });
});

describe('structureProblem (before JSON.parse allocates)', () => {
  /** The fixture review with `padding` (raw JSON text) as an extra request field. */
  const padded = (padding: string): Buffer =>
    Buffer.from(JSON.stringify(review).replace('"request":{', `"request":{"padding":${padding},`));
  const emptyArrays = (n: number): string => `[${Array(n).fill('[]').join(',')}]`;
  const zeros = (n: number): string => `[${Array(n).fill('0').join(',')}]`;

  it('accepts a realistic review untouched', () => {
    expect(structureProblem(body(review))).toBeUndefined();
  });

  it('refuses more arrays and objects than the limit with 400, before parsing', () => {
    expect(decodeAdmissionReview(padded(emptyArrays(MAX_JSON_CONTAINERS)), 'application/json')).toEqual({
      ok: false,
      status: 400,
      message: `request body has more than ${MAX_JSON_CONTAINERS} arrays and objects; no AdmissionReview needs that many`,
    });
  });

  it('refuses more JSON values than the limit with 400, before parsing', () => {
    expect(decodeAdmissionReview(padded(zeros(MAX_JSON_VALUES)), 'application/json')).toEqual({
      ok: false,
      status: 400,
      message: `request body has more than ${MAX_JSON_VALUES} JSON values; no AdmissionReview needs that many`,
    });
  });

  it('counts containers and values exactly at the limits as acceptable', () => {
    expect(structureProblem(Buffer.from(emptyArrays(MAX_JSON_CONTAINERS - 1)))).toBeUndefined();
    expect(structureProblem(Buffer.from(zeros(MAX_JSON_VALUES - 1)))).toBeUndefined();
    expect(structureProblem(Buffer.from(zeros(MAX_JSON_VALUES)))).toMatch(/JSON values/);
    const nested = (n: number): Buffer => Buffer.from('['.repeat(n) + ']'.repeat(n));
    expect(structureProblem(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(structureProblem(nested(MAX_JSON_DEPTH + 1))).toBe(`nests deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('does not count brackets, commas or escaped quotes inside strings', () => {
    const inString = JSON.stringify('[{,\\"'.repeat(MAX_JSON_VALUES));
    expect(structureProblem(Buffer.from(`{"a":${inString}}`))).toBeUndefined();
    expect(structureProblem(Buffer.from(`["\\\\",${'['.repeat(MAX_JSON_DEPTH)}`))).toBe(
      `nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  });
});

describe('JsonStructureScan fed in chunks', () => {
  it('gives the same answer for any split of the body, strings and escapes included', () => {
    const text = `{"a":"[\\\\\\"{,","b":[${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)}]}`;
    const deeper = text.replace('"b":[', '"b":[[');
    for (const [input, expected] of [
      [text, undefined],
      [deeper, `nests deeper than ${MAX_JSON_DEPTH} levels`],
    ] as const) {
      const bytes = Buffer.from(input);
      expect(structureProblem(bytes)).toBe(expected);
      for (const size of [1, 2, 3, 7, 64]) {
        const scan = new JsonStructureScan();
        let problem: string | undefined;
        for (let i = 0; i < bytes.length && problem === undefined; i += size)
          problem = scan.feed(bytes.subarray(i, i + size));
        expect(problem, `chunks of ${size}`).toBe(expected);
      }
    }
  });
});

/** The scan as it was first written, a byte at a time: the reference the faster one must agree with. */
function referenceScan(bytes: Uint8Array): { depth: number; inString: boolean; escaped: boolean; commas: number } {
  const st = { depth: 0, inString: false, escaped: false, commas: 0 };
  for (const b of bytes) {
    if (st.inString) {
      if (st.escaped) st.escaped = false;
      else if (b === 0x5c) st.escaped = true;
      else if (b === 0x22) st.inString = false;
    } else if (b === 0x22) st.inString = true;
    else if (b === 0x2c) st.commas++;
    else if (b === 0x5b || b === 0x7b) st.depth++;
    else if (b === 0x5d || b === 0x7d) st.depth--;
  }
  return st;
}

describe('JsonStructureScan string skipping (property)', () => {
  it('agrees with a byte-at-a-time scan on any text of quotes, backslashes, brackets and commas, in any chunks', () => {
    const alphabet = fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', 'a', 'é');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (chars, size) => {
        const bytes = Buffer.from(chars.join(''));
        const ref = referenceScan(bytes);
        const scan = new JsonStructureScan();
        for (let i = 0; i < bytes.length; i += size) scan.feed(bytes.subarray(i, i + size));
        const state = scan as unknown as { depth: number; inString: boolean; escaped: boolean; commas: number };
        expect({ depth: state.depth, inString: state.inString, escaped: state.escaped, commas: state.commas }).toEqual(ref);
      }),
      { numRuns: 2000 },
    );
  });
});

