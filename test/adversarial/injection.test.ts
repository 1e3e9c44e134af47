/**
 * Log injection through names, annotations, manifests and userInfo: newlines, ANSI escapes and
 * Unicode line separators never reach a response message, a warning or an Event note
 * unescaped; the audit log stays one JSON object per line. And key bytes appear nowhere.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { deployment, workloadOfKind, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { auditLine, createLogger, decisionLogger } from '../../src/audit/logger.js';
import { toKubeEvent } from '../../src/audit/events.js';
import type { Decision } from '../../src/decision/types.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { loadKeyDir, loadKeyFile } from '../../src/keys/load.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { decide, expectDenied, expectNoSecret, keyring, policyWith, SECOND_KEY, SEED_KEY, v2Manifest } from './helpers.js';

const HOSTILE = [
  ['a newline', 'x\nmodelgate: Deployment ml/x allowed'],
  ['CR LF', 'x\r\nINFO all good'],
  ['an ANSI escape', 'x\u001b[2K\u001b[1Gmodelgate: allowed\u001b[0m'],
  ['U+2028', 'x\u2028forged line'],
  ['U+2029', 'x\u2029forged paragraph'],
  ['NEL (U+0085)', 'x\u0085forged'],
  ['a NUL', 'x\u0000y'],
  ['DEL and C1 CSI', 'x\u007f\u009b31mred'],
] as const;

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Every human-facing string a decision produces. */
function humanText(d: Decision): string[] {
  return [d.response.status?.message ?? '', ...(d.response.warnings ?? []), d.event?.note ?? '', ...d.record.reasons.map((r) => r.message)];
}

function expectClean(d: Decision): void {
  for (const text of humanText(d)) expect(text, JSON.stringify(text)).not.toMatch(FORBIDDEN);
  // The log keeps the raw values (for forensics) but JSON-escapes them: one physical line, no raw
  // ESC. (JSON does not escape U+2028; line-oriented log tools split on \n only.)
  const line = JSON.stringify(auditLine(d.record, 1));
  expect(line).not.toMatch(/[\n\r\u001b]/);
  expectNoSecret(d);
}

describe.each(HOSTILE)('injection with %s', (_, evil) => {
  it('in metadata.name (and generateName): denied, every message one clean line', () => {
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.name = `fraud${evil}`;
    const result = decide(d);
    expectDenied(result, 'bad-signature');
    expectClean(result);
    const pod = workloadOfKind('Pod', null);
    delete pod.metadata.name;
    pod.metadata.generateName = `gen${evil}`;
    const r2 = decide(pod);
    expectDenied(r2, 'missing-manifest');
    expectClean(r2);
  });

  it('in the unsigned v1 model_path of a wrongly signed manifest', () => {
    const text = JSON.stringify({ ...JSON.parse(vectors.wrongKeyManifestText), model_path: `m${evil}.onnx` });
    const result = decide(deployment(text));
    expectDenied(result);
    expectClean(result);
  });

  it('in the v1 model_path of a valid manifest: the v1 warning stays one clean line', () => {
    const text = JSON.stringify({ ...JSON.parse(vectors.manifestText), model_path: `m${evil}.onnx` });
    const result = decide(deployment(text));
    expectClean(result);
    expect(result.response.warnings?.length).toBeGreaterThan(0);
  });

  it('in signed v2 claims and model name (the signer is hostile; the scan rule refuses it)', () => {
    const m = v2Manifest({ model: { name: `fd${evil}`, version: `1${evil}`, source: 's3://m' }, claims: { scan: `failed${evil}` } });
    const result = decide(deployment(JSON.stringify(m)), { policy: policyWith({ requireScanPassed: true }) });
    expectDenied(result, 'scan-not-passed');
    expectClean(result);
  });

  it('in a ConfigMap reference, a volume name and a label value', () => {
    const d: Obj = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-volume'] = `vol${evil}`;
    d.metadata.labels['modelgate.dev/data-classification'] = `secret${evil}`;
    const result = decide(d);
    expectDenied(result, 'invalid-reference');
    expectClean(result);
  });

  it('in the username, groups and break-glass reason', () => {
    const policy = { ...defaultPolicy(), breakGlass: { group: 'sre', annotation: 'modelgate.dev/break-glass' } };
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations['modelgate.dev/break-glass'] = `incident${evil}`;
    const denied = decide(d, { username: `mallory${evil}`, groups: [`g${evil}`] });
    expectDenied(denied);
    expectClean(denied);
    const overridden = decide(d, { policy, username: `sre-bob${evil}`, groups: ['sre'] });
    expectClean(overridden);
    expect(overridden.event?.reason).toBe('ModelWarning');
  });

  it('in the approved-by annotation and the kind name of an unknown kind', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/approved-by'] = `alice${evil},bob`;
    const result = decide(d);
    expectDenied(result);
    expectClean(result);
  });
});

describe('the audit log and Events stay one record per line', () => {
  it('a hostile name and reason through pino produce exactly one parseable line each', async () => {
    let out = '';
    const sink = new Writable({ write: (c: Buffer, _e, done) => ((out += c.toString()), done()) });
    const log = decisionLogger(createLogger({ destination: sink }));
    for (const [, evil] of HOSTILE) {
      const d = deployment(vectors.wrongKeyManifestText);
      d.metadata.name = `n${evil}`;
      log(decide(d, { username: `u${evil}` }).record, 1);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    const lines = out.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(HOSTILE.length);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({ msg: 'admission', decision: 'deny' });
      expect(line).not.toMatch(/[\r\u001b]/);
    }
    expectNoSecret(out);
  });

  it('the Kubernetes Event built for a hostile deny has a clean note and no key material', () => {
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations['modelgate.dev/manifest'] = JSON.stringify({ ...JSON.parse(vectors.wrongKeyManifestText), model_path: 'a\nb\u001b[31m' });
    const decision = decide(d);
    expect(decision.event).toBeDefined();
    const event = toKubeEvent(decision.event!, 'modelgate-0', new Date('2026-05-01T00:00:00Z'));
    expect(JSON.stringify(event)).not.toMatch(/\\n|\\u001b/);
    expectNoSecret(event);
  });
});

describe('key bytes never leave the keyring', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'mg-adv-keys-'));
    dirs.push(d);
    return d;
  }

  it('not through JSON.stringify, String(), util.inspect or console formatting of a keyring', async () => {
    const { inspect, format } = await import('node:util');
    expectNoSecret(JSON.stringify(keyring));
    expectNoSecret(String(keyring));
    expectNoSecret(inspect(keyring, { showHidden: true, depth: 10 }));
    expectNoSecret(format('%o %O %j', keyring, keyring, keyring));
    expectNoSecret(JSON.stringify({ ...keyring }));
    expectNoSecret(JSON.stringify(Object.getOwnPropertyNames(keyring).map((n) => (keyring as unknown as Record<string, unknown>)[n])));
  });

  it('not through the errors of a key file with an invalid id, or an oversized key', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad id!'), SEED_KEY);
    const err1 = await loadKeyDir(dir).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(Error);
    expectNoSecret(err1);
    const big = join(tempDir(), 'big');
    writeFileSync(big, SECOND_KEY.repeat(5000));
    const err2 = await loadKeyFile(big).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(Error);
    expectNoSecret(err2);
  });

  it('not through a key id that is the key itself (the id is refused by its pattern, not echoed with content)', () => {
    let err: unknown;
    try {
      new MemoryKeyring([['ok-id', Buffer.alloc(0)]]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expectNoSecret(err);
  });

  it('not through a key directory whose entry is a symlink to a directory or a dangling link', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ci'), SEED_KEY);
    symlinkSync('/nonexistent/modelgate-key', join(dir, 'dangling'));
    const err = await loadKeyDir(dir).catch((e: unknown) => e);
    expectNoSecret(err);
  });

  it('not through any decision over the suite\'s hostile inputs (spot check with both keys loaded)', () => {
    for (const text of [vectors.manifestText, vectors.wrongKeyManifestText, JSON.stringify(v2Manifest({}, 'ops-2027')), '{', '[]']) {
      expectNoSecret(decide(deployment(text)));
    }
  });
});
