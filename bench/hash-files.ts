/**
 * Hashing judged against what a user would run (issue 15 item 5): `modelgate verify` with one
 * `--sha256` per file — the init container's command, with the image's Node flags — against
 * `sha256sum` run on the same files two at a time (`xargs -0 -P2 -n <half> sha256sum`: two
 * processes, each given half the files, so sha256sum is not charged a process start per file),
 * on two layouts:
 *
 *   - sharded: a model in equal shards (default 8 × 128 MiB = 1 GiB);
 *   - small files: 10,000 files of 1–32 KiB (tokenizer- or vocabulary-like, ~160 MiB).
 *
 * Runs alternate (sha256sum, verify, sha256sum, ...) so both sides meet the same background
 * load; the best and the median of each side are kept, from warm page cache (a first
 * sha256sum pass reads every file and gives the expected hashes). Then the init container's
 * fixed cost: Node's own start (`node -e 0`), Node + the CLI's module graph (`verify --help`),
 * and a whole verify of one 1 KiB file.
 *
 * bench/run.ts prints `lines` (BENCH_ONLY=files); `node --experimental-strip-types
 * bench/hash-files.ts [shardMiB] [shards] [smallFiles]` runs it alone. Needs dist/.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePattern } from './hash.js';

const MiB = 1024 ** 2;

/** The target: verify ≥ 0.9× the throughput of sha256sum two at a time. */
export const FILES_TARGET = 0.9;

/** The image's entrypoint flags (Dockerfile, docs/policy.md "command"). */
const IMAGE_NODE_FLAGS = ['--max-semi-space-size=2'];

export interface FilesBenchOptions {
  shardBytes?: number;
  shards?: number;
  smallFiles?: number;
  /** Alternating timed runs of each side (default 5). */
  runs?: number;
  cliPath?: string;
  tmpRoot?: string;
}

export interface Layout {
  name: string;
  files: number;
  bytes: number;
  verifyMs: { best: number; median: number };
  sha256sumMs: { best: number; median: number };
  /** sha256sum's best time / verify's best time: 1.0 = the same throughput. */
  ratio: number;
  /** The same with the medians (a busy machine moves the best times most). */
  medianRatio: number;
  verifyMiBps: number;
  sha256sumMiBps: number;
  pass: boolean;
}

export interface StartupCost {
  nodeMs: number;
  cliLoadMs: number;
  verifyOneFileMs: number;
}

export interface FilesBenchResult {
  layouts: Layout[];
  startup: StartupCost;
  loadAvg: number;
  cores: number;
}

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
    child.stdin.end(opts.input ?? '');
  });
}

async function writeShards(dir: string, count: number, size: number): Promise<string[]> {
  await mkdir(dir);
  const block = randomBytes(16 * MiB);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = join(dir, `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`);
    await writePattern(name, size, block);
    names.push(name);
  }
  return names;
}

/** `count` files of 1–32 KiB, each distinct content. */
async function writeSmall(dir: string, count: number): Promise<string[]> {
  await mkdir(dir);
  const pool = randomBytes(64 * 1024);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1024 + ((i * 7919) % (31 * 1024));
    const start = (i * 104_729) % (pool.length - size);
    const name = join(dir, `t${String(i).padStart(5, '0')}.json`);
    await writeFile(name, pool.subarray(start, start + size));
    names.push(name);
  }
  return names;
}

/** sha256sum two at a time: xargs -0 -P2 -n <ceil(files/2)>. Returns the hashes in `names` order. */
async function sha256sum(names: string[]): Promise<{ ms: number; hashes: string[] }> {
  const half = String(Math.max(1, Math.ceil(names.length / 2)));
  const r = await run('xargs', ['-0', '-P2', '-n', half, 'sha256sum'], { input: `${names.join('\0')}\0` });
  if (r.code !== 0) throw new Error(`sha256sum failed: ${r.stderr.trim()}`);
  const byName = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (m) byName.set(m[2] ?? '', m[1] ?? '');
  }
  return { ms: r.ms, hashes: names.map((n) => byName.get(n) ?? '') };
}

async function verify(cli: string, names: string[], hashes: string[]): Promise<{ ms: number }> {
  const args = [...IMAGE_NODE_FLAGS, cli, 'verify', ...names, ...hashes.flatMap((h) => ['--sha256', h])];
  const r = await run(process.execPath, args);
  if (r.code !== 0) throw new Error(`modelgate verify exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
  return { ms: r.ms };
}

function stats(xs: number[]): { best: number; median: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0] ?? Number.NaN, median: s[Math.floor(s.length / 2)] ?? Number.NaN };
}

async function measureLayout(name: string, cli: string, names: string[], runs: number, bytes: number): Promise<Layout> {
  const { hashes } = await sha256sum(names); // warms the page cache, gives the pins
  if (hashes.some((h) => h.length !== 64)) throw new Error(`sha256sum did not hash every file of ${name}`);
  const sums: number[] = [];
  const verifies: number[] = [];
  for (let i = 0; i < runs; i++) {
    sums.push((await sha256sum(names)).ms);
    verifies.push((await verify(cli, names, hashes)).ms);
  }
  const v = stats(verifies);
  const s = stats(sums);
  const ratio = s.best / v.best;
  return {
    name,
    files: names.length,
    bytes,
    verifyMs: v,
    sha256sumMs: s,
    ratio,
    medianRatio: s.median / v.median,
    verifyMiBps: bytes / MiB / (v.best / 1000),
    sha256sumMiBps: bytes / MiB / (s.best / 1000),
    pass: ratio >= FILES_TARGET,
  };
}

async function bestOf(runs: number, f: () => Promise<Proc>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const r = await f();
    if (r.code !== 0) throw new Error(`exited ${r.code}: ${r.stderr.slice(0, 500)}`);
    best = Math.min(best, r.ms);
  }
  return best;
}

async function startupCost(cli: string, dir: string, runs: number): Promise<StartupCost> {
  const one = join(dir, 'one.bin');
  const content = randomBytes(1024);
  await writeFile(one, content);
  const sha = createHash('sha256').update(content).digest('hex');
  const node = process.execPath;
  return {
    nodeMs: await bestOf(runs, () => run(node, [...IMAGE_NODE_FLAGS, '-e', '0'])),
    cliLoadMs: await bestOf(runs, () => run(node, [...IMAGE_NODE_FLAGS, cli, 'verify', '--help'])),
    verifyOneFileMs: await bestOf(runs, () => run(node, [...IMAGE_NODE_FLAGS, cli, 'verify', one, '--sha256', sha])),
  };
}

export async function runFilesBench(opts: FilesBenchOptions = {}): Promise<{ results: FilesBenchResult; lines: string[] }> {
  const shards = opts.shards ?? 8;
  const shardBytes = opts.shardBytes ?? 128 * MiB;
  const smallCount = opts.smallFiles ?? 10_000;
  const runs = opts.runs ?? 5;
  const cli = opts.cliPath ?? new URL('../dist/cli/bin.js', import.meta.url).pathname;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` first`);
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'mg-bench-files-'));
  try {
    const layouts: Layout[] = [];
    const shardNames = await writeShards(join(dir, 's'), shards, shardBytes);
    layouts.push(await measureLayout(`sharded (${shards} × ${(shardBytes / MiB).toFixed(0)} MiB)`, cli, shardNames, runs, shards * shardBytes));
    await rm(join(dir, 's'), { recursive: true });
    const smallNames = await writeSmall(join(dir, 't'), smallCount);
    const smallBytes = smallNames.reduce((n, _, i) => n + 1024 + ((i * 7919) % (31 * 1024)), 0);
    layouts.push(await measureLayout(`small files (${smallCount} × 1–32 KiB)`, cli, smallNames, runs, smallBytes));
    const startup = await startupCost(cli, dir, runs);
    const results: FilesBenchResult = { layouts, startup, loadAvg: loadavg()[0] ?? 0, cores: availableParallelism() };
    return { results, lines: formatFilesLines(results) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mark = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');

export function formatFilesLines(r: FilesBenchResult): string[] {
  const out = [
    `hash vs sha256sum (xargs -0 -P2 -n <half>), best of alternating runs (median in brackets), load average ${r.loadAvg.toFixed(1)} on ${r.cores} cores${r.loadAvg > r.cores ? ' (busy machine: ratios are noisy)' : ''}`,
  ];
  for (const l of r.layouts) {
    out.push(
      `  ${mark(l.pass)} ${l.name}, ${(l.bytes / MiB).toFixed(0)} MiB: verify ${l.verifyMs.best.toFixed(0)} ms [${l.verifyMs.median.toFixed(0)}] (${l.verifyMiBps.toFixed(0)} MiB/s) vs sha256sum ${l.sha256sumMs.best.toFixed(0)} ms [${l.sha256sumMs.median.toFixed(0)}] (${l.sha256sumMiBps.toFixed(0)} MiB/s): ${l.ratio.toFixed(2)}× best, ${l.medianRatio.toFixed(2)}× median (target ≥ ${FILES_TARGET}×)`,
    );
  }
  const s = r.startup;
  out.push(
    `  init container fixed cost: Node start ${s.nodeMs.toFixed(0)} ms; + CLI module load ${(s.cliLoadMs - s.nodeMs).toFixed(0)} ms (verify --help ${s.cliLoadMs.toFixed(0)} ms); a whole verify of one 1 KiB file ${s.verifyOneFileMs.toFixed(0)} ms`,
  );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mib, shards, small] = process.argv.slice(2).map(Number);
  runFilesBench({
    shardBytes: (mib || 128) * MiB,
    shards: shards || undefined,
    smallFiles: small || undefined,
  }).then(
    ({ lines }) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
