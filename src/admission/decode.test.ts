import { describe, expect, it } from 'vitest';
import { admissionReview, deployment } from '../../test/fixtures/objects.js';
import { decodeAdmissionReview, MAX_JSON_DEPTH, MAX_REVIEW_BYTES } from './decode.js';

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
      'no userInfo',
      { ...review, request: { ...review.request, userInfo: undefined } },
      400,
      'AdmissionReview request has no userInfo',
    ],
    [
      'an array object',
      { ...review, request: { ...review.request, object: [] } },
      400,
      'AdmissionReview request object is not an object',
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
      message: 'AdmissionReview request has no kind.kind',
      uid: review.request.uid,
    });
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
