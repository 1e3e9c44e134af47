/**
 * Hashing benchmark: `modelgate verify --sha256` (the init container) against `openssl dgst
 * -sha256` on the same 1 GiB file in the same run, the verify process's peak RSS, and the
 * worker pool's speed-up on the same bytes split into several files.
 *
 * bench/run.ts calls runHashBench() and prints `lines`. It needs the build (dist/).
 * Only Node built-ins and erasable TypeScript here, so Node can run it by stripping types.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dist } from './dist.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Targets from the issue: verify ≥ 0.9× openssl's speed, ≤ 100 MB RSS, pool ≥ 1.7× on 2 cores. */
export const HASH_TARGETS = { speedRatio: 0.9, peakRssMB: 100, poolSpeedup: 1.7 } as const;

export interface HashModule {
  hashFiles(paths: readonly string[], opts?: { concurrency?: number }): Promise<Array<{ sha256: string }>>;
  hashFilesSequential(paths: readonly string[]): Promise<Array<{ sha256: string }>>;
}

export interface HashBenchOptions {
  /** Bytes in the big file (default 1 GiB). */
  sizeBytes?: number;
  /** Files the same bytes are split into for the pool comparison (default 4). */
  parts?: number;
  /** Timed runs of each side, alternating; the best is kept (default 3). */
  runs?: number;
  /** The built CLI (default dist/cli/bin.js of this checkout). */
  cliPath?: string;
  /** The hashing module (default: dist/manifest/hash.js). Tests pass the source module. */
  hashModule?: HashModule;
  /** Where temp files go (default os.tmpdir()). */
  tmpRoot?: string;
}

export interface HashBenchResult {
  sizeBytes: number;
  sha256: string;
  verifyMs: number;
  opensslMs: number;
  /** openssl time / verify time: 1.0 = as fast as openssl. */
  speedRatio: number;
  verifyMiBps: number;
  opensslMiBps: number;
  peakRssMB: number | undefined;
  rssMethod: '/usr/bin/time' | '/proc VmHWM' | 'unavailable';
  parts: number;
  /** Hashing threads in the pool (this thread + workers). */
  workers: number;
  sequentialMs: number;
  parallelMs: number;
  poolSpeedup: number;
  /** CPU time / wall time of the pool run: how many cores the machine actually gave it. */
  poolCoresUsed: number;
  /** 1-minute load average at the end: above the core count, every ratio here is noisy. */
  loadAvg: number;
  cores: number;
  pass: { speedRatio: boolean; peakRss: boolean; poolSpeedup: boolean };
}

const REPO = new URL('..', import.meta.url);

/**
 * Write `size` bytes of a repeated random block, by default a fresh one of up to 16 MiB (content
 * does not change SHA-256 speed).
 */
export async function writePattern(
  path: string,
  size: number,
  block: Buffer = randomBytes(Math.min(16 * MiB, Math.max(size, 1))),
): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(block.length, size - done);
      await fh.write(block, 0, n);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakKB?: number;
}

/** Peak RSS from /proc/<pid>/status while it runs (VmHWM is the high-water mark, so the last read wins). */
async function readHwm(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = status === undefined ? null : /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : undefined;
}

function run(cmd: string, args: string[], pollRss = false): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKB: number | undefined;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const poll = pollRss && child.pid !== undefined
      ? setInterval(() => void readHwm(child.pid as number).then((kb) => (peakKB = kb ?? peakKB)), 10)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr, ms: performance.now() - t0, peakKB });
    });
  });
}

async function timeOpenssl(file: string): Promise<{ ms: number; sha256: string }> {
  const r = await run('openssl', ['dgst', '-sha256', '-r', file]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr.trim()}`);
  return { ms: r.ms, sha256: r.stdout.split(' ')[0] ?? '' };
}

async function timeVerify(cli: string, file: string, sha256: string): Promise<{ ms: number; peakKB: number | undefined; method: HashBenchResult['rssMethod'] }> {
  const args = [cli, 'verify', file, '--sha256', sha256];
  const useTime = existsSync('/usr/bin/time');
  const r = useTime ? await run('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, ...args]) : await run(process.execPath, args, true);
  if (r.code !== 0) throw new Error(`modelgate verify exited ${r.code}: ${r.stdout}${r.stderr}`);
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  if (useTime) return { ms: r.ms, peakKB: m ? Number(m[1]) : undefined, method: '/usr/bin/time' };
  return { ms: r.ms, peakKB: r.peakKB, method: r.peakKB === undefined ? 'unavailable' : '/proc VmHWM' };
}

/**
 * Run `a` and `b` alternately `runs` times and keep the fastest of each: on a shared machine,
 * alternating exposes both sides to the same background load, and the minimum is the least noisy.
 */
async function bestOfPair<A extends { ms: number }, B extends { ms: number }>(runs: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  let topA: A | undefined;
  let topB: B | undefined;
  for (let i = 0; i < runs; i++) {
    const ra = await a();
    if (topA === undefined || ra.ms < topA.ms) topA = ra;
    const rb = await b();
    if (topB === undefined || rb.ms < topB.ms) topB = rb;
  }
  return [topA as A, topB as B];
}

/** Wall time, and CPU time of this process (worker threads included): cpu/ms = cores actually used. */
async function timed(f: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/** Compare verify with openssl on one big file; then the pool against sequential on `parts` files. */
export async function runHashBench(opts: HashBenchOptions = {}): Promise<{ results: HashBenchResult; lines: string[] }> {
  const size = opts.sizeBytes ?? GiB;
  const parts = opts.parts ?? 4;
  const runs = opts.runs ?? 3;
  const cli = opts.cliPath ?? new URL('dist/cli/bin.js', REPO).pathname;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` first`);
  const hash = opts.hashModule ?? (await dist<HashModule>('manifest/hash.js'));
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'mg-bench-hash-'));
  try {
    const big = join(dir, 'model.bin');
    await writePattern(big, size);
    const { sha256 } = await timeOpenssl(big); // warms the page cache for both sides
    const [ossl, ver] = await bestOfPair(runs, () => timeOpenssl(big), () => timeVerify(cli, big, sha256));
    await rm(big);
    const files = Array.from({ length: parts }, (_, i) => join(dir, `shard-${i}.bin`));
    for (const f of files) await writePattern(f, Math.ceil(size / parts));
    const [seq, par] = await bestOfPair(runs, () => timed(() => hash.hashFilesSequential(files)), () => timed(() => hash.hashFiles(files)));
    const results = summarize({ size, sha256: ossl.sha256, ossl, ver, parts, seq, par });
    return { results, lines: formatLines(results) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Raw {
  size: number;
  sha256: string;
  ossl: { ms: number };
  ver: { ms: number; peakKB: number | undefined; method: HashBenchResult['rssMethod'] };
  parts: number;
  seq: { ms: number };
  par: { ms: number; cpuMs: number };
}

function summarize(r: Raw): HashBenchResult {
  const speedRatio = r.ossl.ms / r.ver.ms;
  const peakRssMB = r.ver.peakKB === undefined ? undefined : r.ver.peakKB / 1024;
  const poolSpeedup = r.seq.ms / r.par.ms;
  return {
    sizeBytes: r.size,
    sha256: r.sha256,
    verifyMs: r.ver.ms,
    opensslMs: r.ossl.ms,
    speedRatio,
    verifyMiBps: r.size / MiB / (r.ver.ms / 1000),
    opensslMiBps: r.size / MiB / (r.ossl.ms / 1000),
    peakRssMB,
    rssMethod: r.ver.method,
    parts: r.parts,
    workers: Math.min(availableParallelism(), r.parts),
    sequentialMs: r.seq.ms,
    parallelMs: r.par.ms,
    poolSpeedup,
    poolCoresUsed: r.par.cpuMs / r.par.ms,
    loadAvg: loadavg()[0] ?? 0,
    cores: availableParallelism(),
    pass: {
      speedRatio: speedRatio >= HASH_TARGETS.speedRatio,
      peakRss: peakRssMB !== undefined && peakRssMB <= HASH_TARGETS.peakRssMB,
      poolSpeedup: poolSpeedup >= HASH_TARGETS.poolSpeedup,
    },
  };
}

const mark = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');

export function formatLines(r: HashBenchResult): string[] {
  const size = r.sizeBytes >= GiB ? `${(r.sizeBytes / GiB).toFixed(1)} GiB` : `${(r.sizeBytes / MiB).toFixed(0)} MiB`;
  const rss = r.peakRssMB === undefined ? 'n/a' : `${r.peakRssMB.toFixed(1)} MB`;
  return [
    `hash: ${size} file, sha256 ${r.sha256.slice(0, 16)}…, load average ${r.loadAvg.toFixed(1)} on ${r.cores} cores${r.loadAvg > r.cores ? ' (busy machine: ratios are noisy)' : ''}`,
    `  ${mark(r.pass.speedRatio)} modelgate verify --sha256  ${r.verifyMs.toFixed(0)} ms (${r.verifyMiBps.toFixed(0)} MiB/s) vs openssl dgst ${r.opensslMs.toFixed(0)} ms (${r.opensslMiBps.toFixed(0)} MiB/s): ${r.speedRatio.toFixed(2)}× openssl's speed (target ≥ ${HASH_TARGETS.speedRatio}×)`,
    `  ${mark(r.pass.peakRss)} verify peak RSS ${rss} via ${r.rssMethod} (target ≤ ${HASH_TARGETS.peakRssMB} MB)`,
    `  ${mark(r.pass.poolSpeedup)} ${r.parts} files: sequential ${r.sequentialMs.toFixed(0)} ms, pool of ${r.workers} threads ${r.parallelMs.toFixed(0)} ms: ${r.poolSpeedup.toFixed(2)}× using ${r.poolCoresUsed.toFixed(2)} cores (target ≥ ${HASH_TARGETS.poolSpeedup}× on ${r.cores} cores)`,
  ];
}

// Run directly: node bench/hash.ts [sizeMiB]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  runHashBench({ sizeBytes: sizeMiB * MiB }).then(
    ({ lines }) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
