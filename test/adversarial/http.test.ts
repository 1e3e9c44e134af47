/**
 * Hostile bodies at POST /validate on the real app: every one ends in a 400/413/415 with a
 * message, or a 200 deny; never a 500 without a uid, a crash, a hang or a secret.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview, deployment, workloadOfKind } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { MAX_JSON_DEPTH, MAX_REVIEW_BYTES } from '../../src/admission/decode.js';
import { MALFORMED_REQUEST_FIELDS, withRequestField } from '../fixtures/malformed.js';
import { expectNoSecret } from './helpers.js';
import { post, startTestWebhook, type TestWebhook } from './server.js';

let hook: TestWebhook;
beforeAll(async () => {
  hook = await startTestWebhook();
});
afterAll(async () => {
  await hook.close();
});

function review(object = deployment(vectors.wrongKeyManifestText), opts = {}): string {
  return JSON.stringify(admissionReview(object, opts));
}

function expect4xx(answer: { status: number; json: any; text: string }, status: number | RegExp = 400): void {
  if (typeof status === 'number') expect(answer.status).toBe(status);
  else expect(String(answer.status)).toMatch(status);
  expect(answer.json?.kind).toBe('AdmissionReview');
  expect(answer.json?.response?.allowed).toBe(false);
  expect(answer.json?.response?.status?.message).toEqual(expect.any(String));
  expectNoSecret(answer.text);
}

describe('malformed reviews get a 4xx with a message, never a 500', { timeout: 10_000 }, () => {
  it.each([
    ['an empty body', ''],
    ['not JSON', 'AdmissionReview please'],
    ['truncated JSON', review().slice(0, -10)],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a number', '42'],
    ['a review without request', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'],
    ['a v1beta1 review', review().replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1')],
    ['a request whose object is a string', review().replace(/"object":\{/, '"object":"x","o":{')],
    ['a request whose operation is unknown', review().replace('"CREATE"', '"PATCH"')],
    ['a request with no userInfo', review().replace('"userInfo":', '"userInfo_":')],
    ['a request with a numeric uid', review().replace(/"uid":"[^"]*"/, '"uid":7')],
    ['invalid UTF-8 bytes', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('%s → 400', async (_, body) => {
    expect4xx(await post(hook.url, body), 400);
  });

  it('a text/plain content type → 400 (or 415)', async () => {
    expect4xx(await post(hook.url, review(), 'text/plain'), /^(400|415)$/);
  });

  it('a body over the limit → 413, before it is parsed', async () => {
    const body = Buffer.alloc(MAX_REVIEW_BYTES + 1024, 0x20);
    expect4xx(await post(hook.url, body), 413);
  });

  /** Raw HTTP/1.1 over a socket: writes `head` and `body`, then waits (≤ 3 s) for the server to close. */
  async function rawExchange(head: string, body = ''): Promise<{ outcome: unknown; head: string; json: any }> {
    const { port } = new URL(hook.url);
    const socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${head}\r\n${body}`);
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('timeout'), 3000))]);
    socket.destroy();
    const [answerHead, answerBody] = raw.split('\r\n\r\n');
    return { outcome, head: answerHead ?? '', json: answerBody ? JSON.parse(answerBody) : undefined };
  }

  it('a Content-Length announcing 100 MB → 413 with Connection: close at once, the body never read', async () => {
    // Nothing follows the headers: only an answer that does not wait for the body can arrive.
    const answer = await rawExchange(`Content-Length: ${100 * 1024 * 1024}\r\n`);
    expect(answer.outcome).toBe('closed');
    expect(answer.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.head).toMatch(/\r\nconnection: close(\r\n|$)/i);
    expect(answer.json.response).toEqual({
      uid: '',
      allowed: false,
      status: { code: 413, message: `request body exceeds ${MAX_REVIEW_BYTES} bytes` },
    });
  });

  it('a 7 MiB body of nested arrays → 400 and closed after its first kilobytes, the rest never awaited', async () => {
    const answer = await rawExchange(`Content-Length: ${MAX_REVIEW_BYTES - 1}\r\n`, '['.repeat(1000));
    expect(answer.outcome).toBe('closed');
    expect(answer.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.json.response.status).toEqual({ code: 400, message: `request body nests deeper than ${MAX_JSON_DEPTH} levels` });
  });

  it('a gzip-encoded body → 415 (the API server never compresses; no inflating for an attacker)', async () => {
    const answer = await rawExchange('Content-Encoding: gzip\r\nContent-Length: 2\r\n', '{}');
    expect(answer.head).toMatch(/^HTTP\/1\.1 415 /);
    expect(answer.json.response.allowed).toBe(false);
  });

  it('a chunked body over the limit (no Content-Length) → 413 from the body reader', async () => {
    const chunks = function* () {
      for (let sent = 0; sent <= MAX_REVIEW_BYTES; sent += 1024 * 1024) yield Buffer.alloc(1024 * 1024, 0x20);
    };
    const res = await fetch(`${hook.url}/validate`, {
      method: 'POST',
      body: ReadableStream.from(chunks()),
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).response.status.code).toBe(413);
  });

  it('100 000 nested arrays as the whole body → a 400, no stack overflow', async () => {
    expect4xx(await post(hook.url, '['.repeat(100_000) + ']'.repeat(100_000)), 400);
  });

  it('a review whose request.object is nested 50 000 levels deep → a deny or 400, never a crash', async () => {
    const object = deployment(null);
    object.spec.template.spec.deep = {};
    const body = review(object).replace('"deep":{}', `"deep":${'{"x":'.repeat(50_000)}{}${'}'.repeat(50_000)}`);
    const answer = await post(hook.url, body);
    expect(answer.status === 400 || answer.json?.response?.allowed === false).toBe(true);
    if (answer.status === 200) expect(answer.json.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
  });

  it('an UPDATE whose object and oldObject are both nested 50 000 levels deep → denied, never a crash', async () => {
    const object = deployment(vectors.wrongKeyManifestText);
    object.spec.template.spec.deep = {};
    const deep = `"deep":${'{"x":'.repeat(50_000)}{}${'}'.repeat(50_000)}`;
    const body = review(object, { operation: 'UPDATE', oldObject: structuredClone(object) }).replaceAll('"deep":{}', deep);
    const answer = await post(hook.url, body);
    expect(answer.status === 400 || answer.json?.response?.allowed === false).toBe(true);
    expectNoSecret(answer.text);
  });

  it('the server still answers after every hostile body above', async () => {
    const answer = await post(hook.url, review(deployment())); // a valid, signed Deployment
    expect(answer.status).toBe(200);
    expect(answer.json.response.allowed).toBe(true);
  });
});

describe('hostile but well-formed reviews are denied over HTTP, with the uid', { timeout: 10_000 }, () => {
  it('a manifest with duplicate keys, in a real review', async () => {
    const text = `{${vectors.manifestText.trim().slice(1, -1)}, "file_hash": "${'e'.repeat(64)}"}`;
    const answer = await post(hook.url, review(deployment(text)));
    expect(answer.status).toBe(200);
    expect(answer.json.response).toMatchObject({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: false, status: { code: 403 } });
  });

  it('a __proto__ key in request.object itself does not pollute or crash', async () => {
    const body = review(deployment(vectors.wrongKeyManifestText)).replace('"metadata":{', '"metadata":{"__proto__":{"polluted":true},');
    const answer = await post(hook.url, body);
    expect(answer.json?.response?.allowed).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a __proto__ key standing in for metadata.labels does not make it an exempt workload', async () => {
    const object = deployment(vectors.wrongKeyManifestText);
    const body = review(object).replace('"labels":{', '"labels":{"__proto__":{"modelgate.dev/inference":"false"},');
    const answer = await post(hook.url, body);
    expect(answer.json?.response?.allowed).toBe(false);
  });

  it('a ConfigMap reference with no cluster access fails closed', async () => {
    const object = deployment(null);
    object.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    const answer = await post(hook.url, review(object));
    expect(answer.json.response.allowed).toBe(false);
    expect(answer.json.response.status.message).toMatch(/^modelgate: /);
  });

  it('a dry-run deny over HTTP is recorded as dry-run and queues no real Event', async () => {
    const before = hook.events.length;
    const answer = await post(hook.url, review(workloadOfKind('Pod', vectors.wrongKeyManifestText), { dryRun: true, uid: 'dry-1' }));
    expect(answer.json.response).toMatchObject({ uid: 'dry-1', allowed: false });
    expect(hook.events.slice(before)).toEqual([]);
    expect(hook.log()).toMatch(/"uid":"dry-1"[^\n]*"dryRun":true/);
  });

  it('no key material reached the log, the Events or /metrics during this file', async () => {
    expectNoSecret(hook.log());
    expectNoSecret(hook.events);
    expectNoSecret(await hook.metrics());
    for (const line of hook.log().trim().split('\n')) expect(() => void JSON.parse(line)).not.toThrow();
  });
});

describe('hostile input must not reach the failure mode', { timeout: 10_000 }, () => {
  // Internal errors follow the configured failure mode; an operator may choose "allow". Input an
  // attacker controls must therefore be decided, not crash the decision: else "allow" admits it.
  it('a deeply nested UPDATE under failure mode "allow" is still denied (not an internal error)', async () => {
    const lenient = await startTestWebhook({ failureMode: 'allow' });
    try {
      const object = deployment(vectors.wrongKeyManifestText);
      object.spec.template.spec.deep = {};
      const deep = `"deep":${'{"x":'.repeat(50_000)}{}${'}'.repeat(50_000)}`;
      const body = review(object, { operation: 'UPDATE', oldObject: structuredClone(object) }).replaceAll('"deep":{}', deep);
      const answer = await post(lenient.url, body);
      expect(answer.status === 400 || answer.json?.response?.allowed === false, answer.text.slice(0, 300)).toBe(true);
    } finally {
      await lenient.close();
    }
  });

  describe('a request field of the wrong shape under failure mode "allow" → 400 with the uid, never allowed', () => {
    let lenient: TestWebhook;
    beforeAll(async () => {
      lenient = await startTestWebhook({ failureMode: 'allow' });
    });
    afterAll(async () => {
      await lenient.close();
    });

    it.each(MALFORMED_REQUEST_FIELDS)('%s', async (_, path, value, message) => {
      const body = JSON.stringify(withRequestField(admissionReview(deployment(vectors.wrongKeyManifestText)), path, value));
      const answer = await post(lenient.url, body);
      expect4xx(answer, 400);
      expect(answer.json.response).toEqual({
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        allowed: false,
        status: { code: 400, message: `AdmissionReview request ${message}` },
      });
    });
  });
});
