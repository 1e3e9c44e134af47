/**
 * Hashing model files: one file streams on this thread; several files are spread over a small
 * pool of worker threads (one per core), because SHA-256 is CPU-bound and sharded models are
 * many large files.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  HASH_WORKER_TAG,
  SMALL_FILE_BYTES,
  sha256File,
  sha256FilesSync,
  type FileDigest,
  type WorkerReply,
  type WorkerRequest,
} from './hash-worker.js';

export { HASH_CHUNK_BYTES, sha256File, type FileDigest } from './hash-worker.js';

/**
 * Most worker threads by default. Each is a V8 isolate (~10 MB) plus 2 MiB of buffers, and
 * beyond a handful the disk, not SHA-256, is the limit: an init container on a 64-core node
 * should not take 700 MB to hash a model.
 */
export const MAX_HASH_WORKERS = 8;

/**
 * A worker only holds two 1 MiB buffers (off-heap) and a hash: a small young generation keeps
 * each isolate's RSS down (V8's default semi-space is sized for allocation-heavy apps).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 };

/** Called with bytes hashed so far and the total, across all files. */
export type Progress = (done: number, total: number) => void;

export interface HashFilesOptions {
  /** Worker threads to use; default: one per available core up to MAX_HASH_WORKERS, at most one per file. */
  concurrency?: number;
  onProgress?: Progress;
  /**
   * Each file's size from the caller's own stat (skips a second one). Only for batching and
   * progress: every file is read to its end whatever its size was.
   */
  sizes?: readonly number[];
}

export interface PathDigest extends FileDigest {
  path: string;
}

/** A file could not be read. `code` is the errno code (ENOENT, EACCES, EISDIR, ...). */
export class HashError extends Error {
  override name = 'HashError';
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Under vitest this module is .ts and so is its worker; from dist/ both are .js.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url);

function asHashError(path: string, err: unknown): HashError {
  const e = err as NodeJS.ErrnoException;
  return new HashError(path, e.code ?? 'EIO', `cannot read ${path}: ${e.code ?? e.message}`);
}

/**
 * `fn` over `items` with at most `limit` calls in flight, results in input order: file checks
 * of thousands of small files (stat, realpath) overlap in libuv's pool instead of queueing one
 * round trip after another.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Each file's size (and a clear HashError for one that is missing or not a regular file). */
async function sizesOf(paths: readonly string[]): Promise<number[]> {
  return mapBounded(paths, 16, async (p) => {
    const info = await stat(p).catch((err: unknown) => {
      throw asHashError(p, err);
    });
    if (!info.isFile()) throw new HashError(p, info.isDirectory() ? 'EISDIR' : 'ENOTREG', `${p} is not a regular file`);
    return info.size;
  });
}

/** Small files hashed together in one synchronous batch: at most this many... */
const BATCH_FILES = 64;
/** ...or this many bytes, so a pool of two still gets many batches to share. */
const BATCH_BYTES = 4 * 1024 * 1024;

/** A unit of work: one large file streamed, or consecutive small files in one synchronous batch. */
interface Job {
  stream: boolean;
  indexes: number[];
}

function jobsOf(sizes: readonly number[]): Job[] {
  const jobs: Job[] = [];
  let batch: number[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (batch.length > 0) jobs.push({ stream: false, indexes: batch });
    batch = [];
    bytes = 0;
  };
  sizes.forEach((size, i) => {
    if (size > SMALL_FILE_BYTES) {
      jobs.push({ stream: true, indexes: [i] });
      return;
    }
    batch.push(i);
    bytes += size;
    if (batch.length >= BATCH_FILES || bytes >= BATCH_BYTES) flush();
  });
  flush();
  return jobs;
}

/** Hashes a batch of small files on this thread. */
function batchHere(paths: readonly string[]): FileDigest[] {
  try {
    return sha256FilesSync(paths);
  } catch (err) {
    const index = (err as { index?: number }).index ?? 0;
    throw asHashError(paths[index] ?? '', err);
  }
}

/** Hash one file on this thread, with progress over its size. */
export async function hashFile(path: string, onProgress?: Progress): Promise<FileDigest> {
  const [total = 0] = await sizesOf([path]);
  let done = 0;
  const onBytes = onProgress === undefined ? undefined : (n: number): void => onProgress((done += n), total);
  return sha256File(path, onBytes).catch((err: unknown) => {
    throw asHashError(path, err);
  });
}

/** Hash files one after another on this thread (the baseline the pool is measured against). */
export async function hashFilesSequential(
  paths: readonly string[],
  onProgress?: Progress,
  known?: readonly number[],
): Promise<PathDigest[]> {
  const sizes = known?.length === paths.length ? known : await sizesOf(paths);
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  const onBytes = (n: number): void => onProgress?.((done += n), total);
  const out = new Array<PathDigest>(paths.length);
  for (const job of jobsOf(sizes)) {
    const digests = await runHere(job, paths, onBytes);
    job.indexes.forEach((i, k) => (out[i] = { path: paths[i] as string, ...(digests[k] as FileDigest) }));
  }
  return out;
}

async function runHere(job: Job, paths: readonly string[], onBytes: (n: number) => void): Promise<FileDigest[]> {
  const batch = job.indexes.map((i) => paths[i] as string);
  if (!job.stream) {
    const digests = batchHere(batch);
    onBytes(digests.reduce((n, d) => n + d.size, 0));
    return digests;
  }
  const path = batch[0] as string;
  const d = await sha256File(path, onBytes).catch((err: unknown) => {
    throw asHashError(path, err);
  });
  return [d];
}

/** Hash files in parallel on worker threads; results in the order of `paths`. */
export async function hashFiles(paths: readonly string[], opts: HashFilesOptions = {}): Promise<PathDigest[]> {
  const size = Math.max(1, Math.min(opts.concurrency ?? Math.min(availableParallelism(), MAX_HASH_WORKERS), paths.length));
  const sizes = opts.sizes?.length === paths.length ? opts.sizes : await sizesOf(paths);
  const jobs = jobsOf(sizes);
  if (size === 1 || jobs.length < 2) return hashFilesSequential(paths, opts.onProgress, sizes);
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  const onBytes = (n: number): void => opts.onProgress?.((done += n), total);
  return runPool(paths, jobs, Math.min(size, jobs.length), onBytes);
}

/**
 * `size` hashers pulling from one queue of jobs: this thread is one of them (one isolate fewer:
 * an init container's memory matters), the rest are worker threads.
 */
async function runPool(
  paths: readonly string[],
  jobs: readonly Job[],
  size: number,
  onBytes: (n: number) => void,
): Promise<PathDigest[]> {
  const results = new Array<PathDigest>(paths.length);
  const workers = Array.from({ length: size - 1 }, () => new Worker(WORKER_URL, { workerData: HASH_WORKER_TAG, resourceLimits: WORKER_LIMITS }));
  let next = 0;
  const drain = async (hash: (id: number, job: Job) => Promise<FileDigest[]>): Promise<void> => {
    while (next < jobs.length) {
      const id = next++;
      const job = jobs[id] as Job;
      const digests = await hash(id, job);
      job.indexes.forEach((i, k) => (results[i] = { path: paths[i] as string, ...(digests[k] as FileDigest) }));
    }
  };
  // This thread's turn: yield first so the workers' replies are handled between batches.
  const local = async (_id: number, job: Job): Promise<FileDigest[]> => {
    await new Promise<void>((r) => setImmediate(r));
    return runHere(job, paths, onBytes);
  };
  const remote = (w: Worker) => (id: number, job: Job): Promise<FileDigest[]> => {
    const batch = job.indexes.map((i) => paths[i] as string);
    return job.stream ? hashOn(w, id, batch[0] as string, onBytes).then((d) => [d]) : batchOn(w, id, batch, onBytes);
  };
  try {
    await Promise.all([...workers.map((w) => drain(remote(w))), drain(local)]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Ask worker `w` to hash a batch of small files; resolves on its `batch` reply. */
function batchOn(w: Worker, id: number, paths: string[], onBytes: (n: number) => void): Promise<FileDigest[]> {
  return ask<FileDigest[]>(w, { id, paths }, (m) => () => {
    if (m.kind === 'batch') {
      onBytes(m.digests.reduce((n, d) => n + d.size, 0));
      return { value: m.digests };
    }
    if (m.kind === 'error') {
      const path = paths[m.index ?? 0] ?? '';
      return { error: new HashError(path, m.code, `cannot read ${path}: ${m.code}`) };
    }
    return { error: new Error(`unexpected reply ${m.kind} to a batch`) };
  });
}

/** Ask worker `w` to hash one file; resolves on its `done` reply. */
function hashOn(w: Worker, id: number, path: string, onBytes: (n: number) => void): Promise<FileDigest> {
  return ask<FileDigest>(w, { id, path }, (m) => {
    if (m.kind === 'progress') return void onBytes(m.bytes);
    return () => {
      if (m.kind === 'done') return { value: { sha256: m.sha256, size: m.size } };
      if (m.kind === 'error') return { error: new HashError(path, m.code, `cannot read ${path}: ${m.code}`) };
      return { error: new Error(`unexpected reply ${m.kind} to one file`) };
    };
  });
}

type Settled<T> = { value: T } | { error: Error };

/**
 * Post `message` to worker `w` and settle on its replies with the same id: `reply` returns
 * undefined to keep listening (progress), or what settles the promise, run once the listeners
 * are removed. A worker error rejects.
 */
function ask<T>(
  w: Worker,
  message: WorkerRequest,
  reply: (m: WorkerReply) => (() => Settled<T>) | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      w.off('message', onMessage);
      w.off('error', onError);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onMessage = (m: WorkerReply): void => {
      if (m.id !== message.id) return;
      const settle = reply(m);
      if (settle === undefined) return;
      cleanup();
      const settled = settle();
      if ('error' in settled) reject(settled.error);
      else resolve(settled.value);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.postMessage(message);
  });
}
