/**
 * The CLI against hostile files: `verify` of tampered bytes, path traversal and symlinks in a
 * model directory, device files; `review` of hostile reviews. Exit 1 or 2, never 0, never a
 * hang, never a key on stdout or stderr.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview, deployment, workloadOfKind } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { main } from '../../src/cli/main.js';
import { expectNoSecret, SECOND_KEY, v2Manifest } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({ write: (c: Buffer, _e, done) => (append(c.toString()), done()) });
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(argv, {
    stdin: input,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: {},
  });
  const result = { code, stdout, stderr };
  expectNoSecret(stdout);
  expectNoSecret(stderr);
  return result;
}

let root: string;
let keyFile: string;
let keysDir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mg-adv-cli-'));
  keyFile = join(root, 'ci.key');
  writeFileSync(keyFile, vectors.key);
  keysDir = join(root, 'keys');
  mkdirSync(keysDir);
  writeFileSync(join(keysDir, 'ci'), vectors.key);
  writeFileSync(join(keysDir, 'ops-2027'), SECOND_KEY);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A model directory holding `files`, with a v2 manifest (signed by "ci") listing `listed`. */
function modelDir(name: string, listed: { path: string; sha256?: string; size?: number }[]): { dir: string; manifest: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const m = v2Manifest({ files: listed.map((f) => ({ path: f.path, sha256: f.sha256 ?? vectors.sha256, size: f.size ?? vectors.fileSize })) });
  const manifest = join(root, `${name}.manifest.json`);
  writeFileSync(manifest, JSON.stringify(m));
  return { dir, manifest };
}

const T = { timeout: 20_000 };

describe('modelgate verify refuses tampered bytes', () => {
  it('(control) the vector model verifies with its manifest and key', T, async () => {
    const r = await run(['verify', vectors.model, '--manifest', `${vectors.dir}fraud-detector.manifest.json`, '--key-file', keyFile]);
    expect(r.code).toBe(0);
  });

  it('the tampered vector (one bit flipped) with the valid manifest and key → exit 1', T, async () => {
    const r = await run(['verify', vectors.tamperedModel, '--manifest', `${vectors.dir}fraud-detector.manifest.json`, '--key-file', keyFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/INVALID|mismatch/);
  });

  it('the tampered vector against the pinned --sha256 (the init container) → exit 1', T, async () => {
    const r = await run(['verify', vectors.tamperedModel, '--sha256', vectors.sha256]);
    expect(r.code).toBe(1);
  });

  it('the vector model with the manifest signed by another key → exit 1', T, async () => {
    const r = await run(['verify', vectors.model, '--manifest', `${vectors.dir}wrong-key.manifest.json`, '--keys-dir', keysDir]);
    expect(r.code).toBe(1);
  });

  it.each([
    ['upper-case', vectors.sha256.toUpperCase()],
    ['63 digits', vectors.sha256.slice(1)],
    ['non-hex', `${vectors.sha256.slice(0, 63)}g`],
    ['empty', ''],
  ])('a %s --sha256 is bad input → exit 2', T, async (_, pin) => {
    expect((await run(['verify', vectors.model, '--sha256', pin])).code).toBe(2);
  });

  it('a pinned --sha256 that differs from the manifest the init container was given → exit 1', T, async () => {
    const r = await run(['verify', vectors.model, '--manifest', `${vectors.dir}fraud-detector.manifest.json`, '--sha256', 'a'.repeat(64)]);
    expect(r.code).toBe(1);
  });
});

describe('modelgate verify <dir> --manifest never reads outside the directory', () => {
  it.each([
    ['"../x"', '../outside.onnx'],
    ['"/etc/passwd"', '/etc/passwd'],
    ['"a\\\\b"', 'a\\b'],
    ['a NUL byte', 'model\u0000.onnx'],
    ['"./model.onnx"', './model.onnx'],
    ['"sub/../../x"', 'sub/../../outside.onnx'],
    ['a Windows drive path', 'C:/models/x.onnx'],
  ])('a v2 manifest listing %s is refused (exit 1 or 2)', T, async (_, path) => {
    // the manifest is signed: signV2 does not validate paths, the parser must
    const { dir, manifest } = modelDir(`trav-${Buffer.from(path).toString('hex')}`, [{ path }]);
    copyFileSync(vectors.model, join(root, 'outside.onnx'));
    const r = await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile]);
    expect([1, 2]).toContain(r.code);
    expect(r.stdout + r.stderr).toMatch(/bad-path/); // refused for its path, not merely missing
  });

  it('(control) the same directory with a regular file verifies', T, async () => {
    const { dir, manifest } = modelDir('regular', [{ path: 'model.onnx' }]);
    copyFileSync(vectors.model, join(dir, 'model.onnx'));
    expect((await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile])).code).toBe(0);
  });

  it('a symlink inside the directory pointing outside it is refused', T, async () => {
    const outside = join(root, 'outside-copy.onnx');
    copyFileSync(vectors.model, outside); // the right bytes, but not inside the directory
    const { dir, manifest } = modelDir('symlink-out', [{ path: 'model.onnx' }]);
    symlinkSync(outside, join(dir, 'model.onnx'));
    const r = await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile]);
    expect(r.code, `verify followed ${join(dir, 'model.onnx')} -> ${outside}:\n${r.stdout}`).toBe(1);
  });

  it('a symlinked directory component pointing outside ("sub" -> the parent) is refused', T, async () => {
    const { dir, manifest } = modelDir('symlink-dir', [{ path: 'sub/outside-copy2.onnx' }]);
    copyFileSync(vectors.model, join(root, 'outside-copy2.onnx'));
    symlinkSync(root, join(dir, 'sub'));
    const r = await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile]);
    expect(r.code, r.stdout).toBe(1);
  });

  it('a symlink to /dev/zero (a model that never ends) fails fast instead of hanging', T, async () => {
    const { dir, manifest } = modelDir('symlink-dev', [{ path: 'model.onnx' }]);
    symlinkSync('/dev/zero', join(dir, 'model.onnx'));
    const r = await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile]);
    expect(r.code).toBe(1);
  });

  it('a model path that is /dev/zero with a pinned sha256 fails fast', T, async () => {
    expect((await run(['verify', '/dev/zero', '--sha256', vectors.sha256])).code).not.toBe(0);
  });

  it('a FIFO in place of the model fails fast instead of blocking', T, async () => {
    const { execFileSync } = await import('node:child_process');
    const { dir, manifest } = modelDir('fifo', [{ path: 'model.onnx' }]);
    execFileSync('mkfifo', [join(dir, 'model.onnx')]);
    const r = await run(['verify', dir, '--manifest', manifest, '--key-file', keyFile]);
    expect(r.code).toBe(1);
  });
});

describe('modelgate review of hostile reviews', () => {
  const review = (o: Record<string, unknown>, opts = {}): string => JSON.stringify(admissionReview(o, opts));

  it('a deployment with a manifest signed by an unknown key → exit 1, a deny on stdout', T, async () => {
    const r = await run(['review', '--keys-dir', keysDir, '--now', '2026-05-01T00:00:00Z'], review(deployment(vectors.wrongKeyManifestText)));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).response).toMatchObject({ allowed: false, status: { code: 403 } });
  });

  it('a ConfigMap-referenced manifest offline → exit 1 (fails closed)', T, async () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'manifests';
    const r = await run(['review', '--keys-dir', keysDir], review(d));
    expect(r.code).toBe(1);
  });

  it('an ephemeral container on an inference pod → exit 1', T, async () => {
    const old = workloadOfKind('Pod');
    const pod = structuredClone(old);
    pod.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
    const r = await run(['review', '--keys-dir', keysDir, '--now', '2026-05-01T00:00:00Z'], review(pod, { operation: 'UPDATE', oldObject: old, subResource: 'ephemeralcontainers' }));
    expect(r.code).toBe(1);
  });

  it.each([
    ['garbage', 'not json'],
    ['100 000 nested arrays', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['an empty input', ''],
    ['a review of another apiVersion', '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}'],
  ])('%s on stdin → exit 2 with a message', T, async (_, stdin) => {
    const r = await run(['review', '--keys-dir', keysDir], stdin);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^modelgate review: /);
  });

  it('a keys dir with a key file named like a path is bad input, and the key is not echoed', T, async () => {
    const bad = join(root, 'bad-keys');
    mkdirSync(bad);
    writeFileSync(join(bad, 'has space'), vectors.key);
    const r = await run(['review', '--keys-dir', bad], review(deployment()));
    expect(r.code).toBe(2);
  });
});
