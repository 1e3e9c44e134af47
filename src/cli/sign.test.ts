import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryKeyring } from '../keys/keyring.js';
import { parseManifests } from '../manifest/parse.js';
import { verifyManifest } from '../manifest/verify.js';
import { main } from './main.js';
import { parseClaims, parseDuration } from './sign.js';
import { fakeIO } from '../../test/fixtures/cli.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const VECTORS = VECTORS_DIR.replace(/\/$/, '');
const vector = JSON.parse(await readFile(`${VECTORS}/fraud-detector.manifest.json`, 'utf8')) as Record<
  string,
  unknown
>;

let dir: string;
let cwd: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-sign-'));
  cwd = process.cwd();
  await copyFile(`${VECTORS}/fraud-detector.onnx`, join(dir, 'fraud-detector.onnx'));
  await copyFile(`${VECTORS}/signing.key`, join(dir, 'signing.key'));
  process.chdir(dir);
});
afterEach(async () => {
  process.chdir(cwd);
  await rm(dir, { recursive: true, force: true });
});

describe('modelgate sign --format v1', () => {
  it('writes the seed vector: same hash, signature, size and layout', async () => {
    const io = fakeIO();
    expect(await main(['sign', 'fraud-detector.onnx', '--key-file', 'signing.key'], io)).toBe(0);
    const text = await readFile('fraud-detector.manifest.json', 'utf8');
    const got = JSON.parse(text) as Record<string, unknown>;
    expect(got).toMatchObject({
      model_path: 'fraud-detector.onnx',
      file_hash: vector.file_hash,
      signature: vector.signature,
      file_size: vector.file_size,
    });
    expect(got.signed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    // Same bytes as the seed's file apart from the time.
    const seedText = await readFile(`${VECTORS}/fraud-detector.manifest.json`, 'utf8');
    expect(text.replace(/"signed_at": "[^"]*"/, '')).toBe(seedText.replace(/"signed_at": "[^"]*"/, ''));
    expect(io.out()).toContain('wrote fraud-detector.manifest.json (v1');
    expect(io.err()).toBe('');
  });

  it('keeps model_path exactly as given and writes beside the model', async () => {
    await mkdir('models');
    await copyFile('fraud-detector.onnx', 'models/fraud.v3.onnx');
    expect(
      await main(['sign', './models/fraud.v3.onnx', '--key-file', 'signing.key', '--json'], fakeIO()),
    ).toBe(0);
    const got = JSON.parse(await readFile('models/fraud.v3.manifest.json', 'utf8')) as Record<
      string,
      unknown
    >;
    expect(got.model_path).toBe('./models/fraud.v3.onnx');
  });

  it.each([
    ['no model', ['--key-file', 'signing.key'], 'which model?'],
    ['no key file', ['fraud-detector.onnx'], '--key-file is required'],
    ['a missing model', ['nope.onnx', '--key-file', 'signing.key'], 'cannot read nope.onnx: ENOENT'],
    ['a missing key', ['fraud-detector.onnx', '--key-file', 'nokey'], 'cannot read key "nokey"'],
    ['an empty key', ['fraud-detector.onnx', '--key-file', 'empty.key'], 'key "empty.key" is empty'],
    [
      'two files in v1',
      ['fraud-detector.onnx', 'signing.key', '--key-file', 'signing.key'],
      'exactly one model file',
    ],
    [
      'an unknown format',
      ['fraud-detector.onnx', '--key-file', 'signing.key', '--format', 'v3'],
      'use v1 or v2',
    ],
    ['an unknown flag', ['fraud-detector.onnx', '--key', 'signing.key'], "Unknown option '--key'"],
    [
      'v2 without --version',
      ['fraud-detector.onnx', '--key-file', 'signing.key', '--key-id', 'ci', '--format', 'v2', '--source', 's'],
      'needs --version',
    ],
    [
      'v2 with a key file named like a file, not a key id',
      ['fraud-detector.onnx', '--key-file', 'signing.key', '--format', 'v2', '--version', '1', '--source', 's'],
      'the key file name "signing.key" has an extension, so it is not the key\'s id in the cluster\'s keys Secret: pass --key-id, the key\'s file name in the keys Secret (--key-id signing if the Secret holds it as signing)',
    ],
    [
      'a bad duration',
      [
        'fraud-detector.onnx',
        '--key-file',
        'signing.key',
        '--key-id',
        'ci',
        '--format',
        'v2',
        '--source',
        's',
        '--version',
        '1',
        '--expires-in',
        '3 days',
      ],
      'use a duration',
    ],
  ])('exits 2 for %s', async (_n, args, message) => {
    await writeFile('empty.key', '\n');
    const io = fakeIO();
    expect(await main(['sign', ...args], io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).not.toContain('ci-signing-key-2026');
  });
});

describe('modelgate sign --format v2', () => {
  it('signs a sharded model that verifies with the key and binds claims', async () => {
    await mkdir('shards');
    await writeFile('shards/a.bin', 'first shard');
    await writeFile('shards/b.bin', 'second shard');
    const args = [
      'sign',
      'shards/a.bin',
      'shards/b.bin',
      '--format',
      'v2',
      '--key-file',
      'signing.key',
      '--key-id',
      'ci-2026',
    ];
    const extra = [
      '--name',
      'llm',
      '--version',
      '7',
      '--source',
      'git@x:y@abc',
      '--claim',
      'scan=passed',
      '--claim',
      'approvers=alice, bob',
      '--claim',
      'customerFacing=true',
      '--expires-in',
      '30d',
    ];
    expect(await main([...args, ...extra], fakeIO())).toBe(0);
    const parsed = parseManifests(await readFile('shards/llm.manifest.json', 'utf8'), 'file');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const m = parsed.value[0]!;
    expect(m.format === 'v2' && m.body.files.map((f) => f.path)).toEqual(['a.bin', 'b.bin']);
    expect(m.format === 'v2' && m.body.claims).toEqual({
      scan: 'passed',
      approvers: ['alice', 'bob'],
      customerFacing: true,
    });
    const keyring = new MemoryKeyring([['ci-2026', await readFile('signing.key')]]);
    expect(verifyManifest(m, keyring, { origin: 'file', now: new Date() })).toMatchObject({
      ok: true,
      value: { keyId: 'ci-2026', name: 'llm@7' },
    });
    expect(
      verifyManifest(m, keyring, { origin: 'file', now: new Date(Date.now() + 31 * 86400e3) }),
    ).toMatchObject({ ok: false, problem: { code: 'expired' } });
  });

  it('records a key file name without extension as the key id', async () => {
    await copyFile('signing.key', 'ci-2026');
    const io = fakeIO();
    const args = ['sign', 'fraud-detector.onnx', '--format', 'v2', '--key-file', 'ci-2026'];
    expect(await main([...args, '--version', '1', '--source', 's', '--json'], io)).toBe(0);
    expect(io.out()).toContain('"keyId":"ci-2026"');
  });

  it('refuses a file outside the base directory', async () => {
    const io = fakeIO();
    const code = await main(
      [
        'sign',
        'fraud-detector.onnx',
        '--format',
        'v2',
        '--key-file',
        'signing.key',
        '--key-id',
        'ci',
        '--version',
        '1',
        '--source',
        's',
        '--base-dir',
        'sub',
      ],
      io,
    );
    expect(code).toBe(2);
    expect(io.err()).toContain('pass --base-dir');
  });

  it("refuses several files without --name: the first shard's name is not the model's", async () => {
    await writeFile('b.bin', 'second shard');
    const io = fakeIO();
    const args = ['sign', 'fraud-detector.onnx', 'b.bin', '--format', 'v2', '--key-file', 'signing.key'];
    expect(await main([...args, '--key-id', 'ci', '--version', '1', '--source', 's'], io)).toBe(2);
    expect(io.err()).toContain('2 files given: pass --name');
  });

  it('writes file paths relative to the files\' directory, wherever --out puts the manifest', async () => {
    await mkdir('llm');
    await writeFile('llm/a.bin', 'a');
    await writeFile('llm/b.bin', 'b');
    const args = ['sign', 'llm/a.bin', 'llm/b.bin', '--format', 'v2', '--key-file', 'signing.key'];
    const extra = ['--key-id', 'ci', '--name', 'llm', '--version', '1', '--source', 's', '--out', 'llm.json'];
    expect(await main([...args, ...extra], fakeIO())).toBe(0);
    const m = JSON.parse(await readFile('llm.json', 'utf8')) as { files: { path: string }[] };
    expect(m.files.map((f) => f.path)).toEqual(['a.bin', 'b.bin']);
  });
});

describe('flag helpers', () => {
  it.each([
    ['90d', 90 * 86400e3],
    ['1w2d', 9 * 86400e3],
    ['12h30m', 12.5 * 3600e3],
    ['45s', 45e3],
  ])('parseDuration(%s)', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([['0d'], ['d'], ['1y'], ['-1d'], ['']])('parseDuration refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow();
  });

  it.each([
    [['x'], 'use name=value'],
    [['=v'], 'use name=value'],
    [['__proto__=1'], 'use name=value'],
    [['a=1', 'a=2'], 'given twice'],
    [['customerFacing=yes'], 'true or false'],
  ])('parseClaims refuses %j', (items, message) => {
    expect(() => parseClaims(items)).toThrow(message);
  });
});
