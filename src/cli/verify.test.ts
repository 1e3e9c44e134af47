import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from './verify.js';
import { runCli } from '../../test/fixtures/cli.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const V = VECTORS_DIR.replace(/\/$/, '');
const MODEL = `${V}/fraud-detector.onnx`;
const TAMPERED = `${V}/fraud-detector-tampered.onnx`;
const MANIFEST = `${V}/fraud-detector.manifest.json`;
const WRONG = `${V}/wrong-key.manifest.json`;
const KEY = `${V}/signing.key`;
const SHA = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';

const run = (...args: string[]): ReturnType<typeof runCli> => runCli(['verify', ...args]);

let dir: string;
let shardDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-verify-'));
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'ci-2026'), 'ci-signing-key-2026\n');
  await writeFile(join(dir, 'keys', 'other'), 'unrelated');
  // A sharded v2 model, signed with the real CLI.
  shardDir = join(dir, 'llm');
  await mkdir(join(shardDir, 'sub'), { recursive: true });
  await writeFile(join(shardDir, 'a.bin'), 'shard a');
  await writeFile(join(shardDir, 'sub', 'b.bin'), 'shard b');
  const signArgs = [
    'sign',
    join(shardDir, 'a.bin'),
    join(shardDir, 'sub', 'b.bin'),
    '--format',
    'v2',
    '--key-file',
    join(dir, 'keys', 'ci-2026'),
    '--name',
    'llm',
    '--version',
    '1',
    '--source',
    'test',
  ];
  expect((await runCli(signArgs)).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('modelgate verify with a key (seed vectors)', () => {
  it.each([
    ['the model with its manifest and key', [MODEL, '--key-file', KEY], 0, 'valid: 1 file(s) match'],
    ['the model with --keys-dir', [MODEL, '--keys-dir', 'KEYS'], 0, 'signed with key "ci-2026"'],
    ['the tampered model', [TAMPERED, '--manifest', MANIFEST, '--key-file', KEY], 1, 'sha256 mismatch'],
    ['the wrong-key manifest', [MODEL, '--manifest', WRONG, '--key-file', KEY], 1, '[bad-signature]'],
    [
      'the wrong-key manifest against a keys dir',
      [MODEL, '--manifest', WRONG, '--keys-dir', 'KEYS'],
      1,
      'does not match any of the 2 allowed key(s)',
    ],
  ])('%s → exit %i', async (_n, args, code, fragment) => {
    const got = await run(...args.map((a) => (a === 'KEYS' ? join(dir, 'keys') : a)));
    expect(got.code).toBe(code);
    expect(got.out).toContain(fragment);
  });

  it('warns that v1 binds only the hash', async () => {
    expect((await run(MODEL, '--key-file', KEY)).out).toContain(
      'warning: v1 manifest: the signature covers only the file hash',
    );
  });

  it('tells the user what to do when the bytes changed', async () => {
    const got = await run(TAMPERED, '--manifest', MANIFEST, '--key-file', KEY);
    expect(got.out).toContain(
      'INVALID: the model bytes changed after signing: re-download the model, or sign it again in CI',
    );
  });

  it('prints a JSON report with --json', async () => {
    const got = await run(TAMPERED, '--manifest', MANIFEST, '--key-file', KEY, '--json');
    const report = JSON.parse(got.out) as VerifyReport;
    expect(report).toMatchObject({
      valid: false,
      mode: 'key',
      format: 'v1',
      keyId: 'signing.key',
      manifest: MANIFEST,
    });
    expect(report.files).toEqual([
      {
        path: TAMPERED,
        expected: SHA,
        actual: expect.stringMatching(/^[0-9a-f]{64}$/),
        ok: false,
        code: 'sha256-mismatch',
        problem: 'sha256 mismatch',
      },
    ]);
    expect(report.problems).toEqual([
      { code: 'sha256-mismatch', path: TAMPERED, message: 'sha256 mismatch' },
    ]);
  });

  it('prints the full sha256 of each file', async () => {
    expect((await run(MODEL, '--key-file', KEY)).out).toContain(`ok    ${MODEL}  sha256 ${SHA}\n`);
  });

  it('says a malformed manifest is malformed, not a wrong key', async () => {
    const bad = join(dir, 'malformed.manifest.json');
    await writeFile(bad, '{"file_hash": "abc", "file_hash": "abc"}');
    const got = await run(MODEL, '--manifest', bad, '--key-file', KEY);
    expect(got.code).toBe(1);
    expect(got.out).toContain('[invalid-json]');
    expect(got.out).toContain(`INVALID: the manifest ${bad} is malformed`);
    expect(got.out).not.toContain('check that the key');
  });
});

describe('modelgate verify --sha256 (init container)', () => {
  it.each([
    ['the model with its pinned hash', [MODEL, '--sha256', SHA], 0],
    ['the model with --sha256=HEX', [MODEL, `--sha256=${SHA}`], 0],
    ['the tampered model', [TAMPERED, '--sha256', SHA], 1],
    ['two files paired in order', [MODEL, TAMPERED, '--sha256', SHA, '--sha256', SHA], 1],
  ])('%s → exit %i', async (_n, args, code) => {
    expect((await run(...args)).code).toBe(code);
  });

  it('refuses a pinned file reached through a symlink: another container may resolve it elsewhere', async () => {
    const link = join(dir, 'linked.onnx');
    await symlink(MODEL, link);
    const r = await run(link, '--sha256', SHA);
    expect(r.code).toBe(1);
    expect(r.out).toContain('reached through a symlink');
  });

  it('refuses a pinned file whose directory is a symlink (each directory resolved once, not skipped)', async () => {
    const real = join(dir, 'real-models');
    const linked = join(dir, 'linked-models');
    await mkdir(real);
    await writeFile(join(real, 'a.onnx'), 'a');
    await writeFile(join(real, 'b.onnx'), 'b');
    await symlink(real, linked);
    const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
    const r = await run(join(linked, 'a.onnx'), join(linked, 'b.onnx'), '--sha256', sha('a'), '--sha256', sha('b'));
    expect(r.code).toBe(1);
    expect(r.out.match(/reached through a symlink/g)).toHaveLength(2);
    expect((await run(join(real, 'a.onnx'), join(real, 'b.onnx'), '--sha256', sha('a'), '--sha256', sha('b'))).code).toBe(0);
  });
});

describe('modelgate verify on a sharded v2 model', () => {
  const manifest = (): string => join(shardDir, 'llm.manifest.json');
  it('checks every file of a directory with the key', async () => {
    const got = await run(shardDir, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'));
    expect(got.code).toBe(0);
    expect(got.out).toContain('valid: 2 file(s) match (signed with key "ci-2026", v2)');
  });

  it('checks one shard given as a file', async () => {
    expect(
      (
        await run(
          join(shardDir, 'sub', 'b.bin'),
          '--manifest',
          manifest(),
          '--key-file',
          join(dir, 'keys', 'ci-2026'),
        )
      ).code,
    ).toBe(0);
  });

  it('checks a directory against pinned hashes, and refuses a swapped pin', async () => {
    const report = JSON.parse(
      (await run(shardDir, '--manifest', manifest(), '--sha256', SHA, '--json')).out,
    ) as VerifyReport;
    expect(report.problems[0]?.code).toBe('pin-mismatch');
    const pins = (await run(shardDir, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'), '--json'))
      .out;
    const hashes = (JSON.parse(pins) as VerifyReport).files.map((f) => f.expected);
    expect(hashes).toHaveLength(2);
    expect(
      (await run(shardDir, '--manifest', manifest(), ...hashes.flatMap((h) => ['--sha256', h]))).code,
    ).toBe(0);
  });

  it('follows a symlink that stays inside the model directory (Hugging Face cache layout)', async () => {
    const hf = join(dir, 'hf');
    await mkdir(join(hf, 'blobs'), { recursive: true });
    await mkdir(join(hf, 'snap', 'sub'), { recursive: true });
    await writeFile(join(hf, 'blobs', 'x'), 'shard a');
    await writeFile(join(hf, 'blobs', 'y'), 'shard b');
    await symlink('../blobs/x', join(hf, 'snap', 'a.bin'));
    await symlink('../../blobs/y', join(hf, 'snap', 'sub', 'b.bin'));
    expect(
      (await run(join(hf, 'snap'), '--manifest', manifest(), '--keys-dir', join(dir, 'keys'))).code,
    ).toBe(1); // blobs/ is outside snap/
    expect((await run(hf, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'))).out).toContain(
      'a.bin: missing',
    );
    await symlink('snap/a.bin', join(hf, 'a.bin'));
    await mkdir(join(hf, 'sub'));
    await symlink('../snap/sub/b.bin', join(hf, 'sub', 'b.bin'));
    expect((await run(hf, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'))).code).toBe(0);
  });

  it('warns when the manifest names a key that a Secret holding the key file would call otherwise', async () => {
    const keyCopy = join(dir, 'ci-2026.key');
    await writeFile(keyCopy, 'ci-signing-key-2026\n');
    const got = await run(shardDir, '--manifest', manifest(), '--key-file', keyCopy);
    expect(got.code).toBe(0);
    expect(got.out).toContain(
      'warning: the manifest names key "ci-2026", but the key file name "ci-2026.key" has an extension',
    );
    expect(got.out).toContain('the cluster verifies only if its keys Secret has a key named "ci-2026"');
    const exact = await run(shardDir, '--manifest', manifest(), '--key-file', join(dir, 'keys', 'ci-2026'));
    expect(exact.out).not.toContain('warning');
  });

  it('names the keys a keys directory holds when the manifest names another', async () => {
    await mkdir(join(dir, 'keys2'));
    await writeFile(join(dir, 'keys2', 'ci-2027'), 'x');
    const got = await run(shardDir, '--manifest', manifest(), '--keys-dir', join(dir, 'keys2'));
    expect(got.code).toBe(1);
    expect(got.out).toContain(`key "ci-2026" is not loaded`);
    expect(got.out).toContain(`(${join(dir, 'keys2')} holds: ci-2027; file name = key id) [unknown-key]`);
  });

  it('reports a missing shard as invalid, as missing (not as changed bytes), in --json too', async () => {
    const got = await run(dir, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'));
    expect(got.code).toBe(1);
    expect(got.out).toContain('sub/b.bin: missing');
    expect(got.out).toContain(`INVALID: file(s) the manifest lists are missing from ${dir}`);
    expect(got.out).not.toContain('bytes changed');
    const json = await run(dir, '--manifest', manifest(), '--keys-dir', join(dir, 'keys'), '--json');
    const report = JSON.parse(json.out) as VerifyReport;
    expect(report.problems).toEqual([
      { code: 'file-missing', path: join(dir, 'a.bin'), message: 'missing' },
      { code: 'file-missing', path: join(dir, 'sub', 'b.bin'), message: 'missing' },
    ]);
  });

  it('a manifest written elsewhere with --out lists paths relative to the model directory', async () => {
    const out = join(dir, 'elsewhere.manifest.json');
    const signed = await runCli([
      'sign',
      join(shardDir, 'a.bin'),
      join(shardDir, 'sub', 'b.bin'),
      '--format',
      'v2',
      '--key-file',
      join(dir, 'keys', 'ci-2026'),
      '--name',
      'llm',
      '--version',
      '1',
      '--source',
      'test',
      '--out',
      out,
    ]);
    expect(signed.code).toBe(0);
    const got = await run(shardDir, '--manifest', out, '--keys-dir', join(dir, 'keys'));
    expect(got.out).toContain('valid: 2 file(s) match');
    expect(
      (await run(join(shardDir, 'sub', 'b.bin'), '--manifest', out, '--keys-dir', join(dir, 'keys'))).code,
    ).toBe(0);
  });
});

describe('modelgate verify bad input → exit 2', () => {
  it.each([
    ['no key choice', [MODEL], 'choose one of'],
    ['two key choices', [MODEL, '--key-file', KEY, '--sha256', SHA], 'choose one of'],
    ['no model', ['--key-file', KEY], 'which model?'],
    ['a missing model', ['/nope/model.onnx', '--sha256', SHA], 'does not exist'],
    ['a missing manifest', [KEY, '--key-file', KEY], 'cannot read manifest'],
    ['an upper-case pin', [MODEL, '--sha256', SHA.toUpperCase()], 'lower-case hex'],
    ['a short pin', [MODEL, '--sha256', 'abc'], 'got 3'],
    ['fewer pins than files', [MODEL, TAMPERED, '--sha256', SHA], 'one --sha256 per file'],
    ['a directory without a manifest', [V, '--sha256', SHA], 'is a directory'],
    ['an empty key file', [MODEL, '--key-file', '/dev/null'], 'is not a regular file'],
  ])('%s', async (_n, args, fragment) => {
    const got = await run(...args);
    expect(got.code).toBe(2);
    expect(got.err).toContain(fragment);
    expect(got.err).not.toContain('ci-signing-key-2026');
  });
});

const BIN = new URL('../../dist/cli/bin.js', import.meta.url).pathname;
describe.skipIf(!existsSync(BIN))('the built CLI (dist/cli/bin.js, spawned)', () => {
  it.each([
    ['the model', [MODEL, '--key-file', KEY], 0],
    ['the tampered model', [TAMPERED, '--manifest', MANIFEST, '--key-file', KEY], 1],
    ['the wrong-key manifest', [MODEL, '--manifest', WRONG, '--key-file', KEY], 1],
    ['the pinned hash', [MODEL, '--sha256', SHA], 0],
    ['no key choice', [MODEL], 2],
  ])('verify %s → exit %i', (_n, args, code) => {
    const r = spawnSync(process.execPath, [BIN, 'verify', ...args], { encoding: 'utf8' });
    expect(r.status).toBe(code);
  });

  it('hashes several files in worker threads from dist/', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'verify',
        shardDir,
        '--manifest',
        join(shardDir, 'llm.manifest.json'),
        '--keys-dir',
        join(dir, 'keys'),
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toContain('valid: 2 file(s) match');
    expect(r.status).toBe(0);
  });
});
