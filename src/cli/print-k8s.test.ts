/**
 * `sign --print k8s` prints what to paste; pasted into a Deployment it must be admitted by the
 * very decision the webhook runs (test/adversarial/helpers.ts decide()), not merely look right.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from './main.js';
import { deployment, type Obj } from '../../test/fixtures/objects.js';
import { fakeIO } from '../../test/fixtures/cli.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';
import { decide, expectDenied } from '../../test/adversarial/helpers.js';

const VECTORS = VECTORS_DIR.replace(/\/$/, '');
let dir: string;
let cwd: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-print-'));
  cwd = process.cwd();
  await copyFile(`${VECTORS}/fraud-detector.onnx`, join(dir, 'fraud-detector.onnx'));
  await copyFile(`${VECTORS}/signing.key`, join(dir, 'ci')); // the helpers' keyring holds it as "ci"
  process.chdir(dir);
});
afterEach(async () => {
  process.chdir(cwd);
  await rm(dir, { recursive: true, force: true });
});

/** Runs `sign ... --print k8s`, returns stdout (the snippet) and stderr. */
async function printK8s(args: string[]): Promise<{ out: string; err: string }> {
  const io = fakeIO();
  expect(await main(['sign', ...args, '--key-file', 'ci', '--print', 'k8s'], io), io.err()).toBe(0);
  return { out: io.out(), err: io.err() };
}

/** The fixture Deployment with no manifest of its own, its pod template replaced by the snippet's parts. */
function pasted(snippet: Obj): Obj {
  const d = deployment(null);
  d.spec.template.metadata.annotations = snippet.metadata.annotations;
  d.spec.template.spec.initContainers = snippet.spec.initContainers;
  return d;
}

const V2 = ['--format', 'v2', '--version', '1.0.0', '--source', 's3://models/fraud-detector/1.0.0'];

describe('modelgate sign --print k8s', () => {
  it('prints, for v1, an annotation and verify step the decision admits', async () => {
    const { out, err } = await printK8s(['fraud-detector.onnx']);
    expect(err).toContain('wrote fraud-detector.manifest.json');
    expect(out).toMatch(/^ {4}modelgate\.dev\/manifest: '\{"model_path":"fraud-detector\.onnx",/m);
    const snippet = parse(out) as Obj;
    expect(snippet.spec.initContainers[0]).toEqual({
      name: 'verify-model',
      image: 'ghcr.io/modelgate/modelgate:0.1.0',
      args: ['verify', '/models/fraud-detector.onnx', '--sha256', expect.stringMatching(/^[0-9a-f]{64}$/)],
      volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
    });
    { const dd = decide(pasted(snippet), { now: new Date() }); expect(dd.response.allowed, JSON.stringify(dd.record.reasons)).toBe(true); }
  });

  it('prints, for a sharded v2 model, every file and pin; the decision admits it', async () => {
    await mkdir('llm/sub', { recursive: true });
    await writeFile('llm/a.bin', 'shard a');
    await writeFile('llm/sub/b.bin', "shard b with 'quotes'");
    const { out } = await printK8s(['llm/a.bin', 'llm/sub/b.bin', ...V2, '--name', 'llm', '--verify-image', 'ghcr.io/modelgate/modelgate@sha256:' + 'a'.repeat(64)]);
    const snippet = parse(out) as Obj;
    const args = snippet.spec.initContainers[0].args as string[];
    expect(args.slice(0, 3)).toEqual(['verify', '/models/a.bin', '/models/sub/b.bin']);
    expect(args.filter((a) => a === '--sha256')).toHaveLength(2);
    expect(snippet.metadata.annotations['modelgate.dev/manifest']).toBe(
      JSON.stringify(JSON.parse(await readFile('llm/llm.manifest.json', 'utf8'))),
    );
    { const dd = decide(pasted(snippet), { now: new Date() }); expect(dd.response.allowed, JSON.stringify(dd.record.reasons)).toBe(true); }
  });

  it('what it prints is what counts: a pin edited after printing is denied', async () => {
    const snippet = parse((await printK8s(['fraud-detector.onnx', ...V2])).out) as Obj;
    const args = snippet.spec.initContainers[0].args as string[];
    args[3] = 'f'.repeat(64);
    expectDenied(decide(pasted(snippet), { now: new Date() }), /pin|sha256|verify/);
  });

  it.each([
    [['--print', 'yaml'], '--print yaml: use --print k8s'],
    [['--print', 'k8s', '--json'], '--print and --json: choose one'],
  ])('refuses %j', async (extra, message) => {
    const io = fakeIO();
    expect(await main(['sign', 'fraud-detector.onnx', '--key-file', 'ci', ...extra], io)).toBe(2);
    expect(io.err()).toContain(message);
  });
});
