/**
 * Hashing model files: one file streams on this thread; several files are spread over a small
 * pool of worker threads (one per core), because SHA-256 is CPU-bound and sharded models are
 * many large files.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HASH_WORKER_TAG, sha256File, type FileDigest, type WorkerReply } from './hash-worker.js';

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

async function totalSize(paths: readonly string[]): Promise<number> {
  let total = 0;
  for (const p of paths) {
    const info = await stat(p).catch((err: unknown) => {
      throw asHashError(p, err);
    });
    if (!info.isFile()) throw new HashError(p, info.isDirectory() ? 'EISDIR' : 'ENOTREG', `${p} is not a regular file`);
    total += info.size;
  }
  return total;
}

/** Hash one file on this thread, with progress over its size. */
export async function hashFile(path: string, onProgress?: Progress): Promise<FileDigest> {
  const total = await totalSize([path]);
  let done = 0;
  const onBytes = onProgress === undefined ? undefined : (n: number): void => onProgress((done += n), total);
  return sha256File(path, onBytes).catch((err: unknown) => {
    throw asHashError(path, err);
  });
}

/** Hash files one after another on this thread (the baseline the pool is measured against). */
export async function hashFilesSequential(paths: readonly string[], onProgress?: Progress): Promise<PathDigest[]> {
  const total = await totalSize(paths);
  let done = 0;
  const out: PathDigest[] = [];
  for (const path of paths) {
    const d = await sha256File(path, onProgress && ((n) => onProgress((done += n), total))).catch((err: unknown) => {
      throw asHashError(path, err);
    });
    out.push({ path, ...d });
  }
  return out;
}

/** Hash files in parallel on worker threads; results in the order of `paths`. */
export async function hashFiles(paths: readonly string[], opts: HashFilesOptions = {}): Promise<PathDigest[]> {
  const total = await totalSize(paths);
  const size = Math.max(1, Math.min(opts.concurrency ?? Math.min(availableParallelism(), MAX_HASH_WORKERS), paths.length));
  if (size === 1 || paths.length < 2) return hashFilesSequential(paths, opts.onProgress);
  let done = 0;
  const onBytes = (n: number): void => opts.onProgress?.((done += n), total);
  return runPool(paths, size, onBytes);
}

/**
 * `size` hashers pulling from one queue: this thread is one of them (one isolate fewer: an init
 * container's memory matters), the rest are worker threads.
 */
async function runPool(paths: readonly string[], size: number, onBytes: (n: number) => void): Promise<PathDigest[]> {
  const results = new Array<PathDigest>(paths.length);
  const workers = Array.from({ length: size - 1 }, () => new Worker(WORKER_URL, { workerData: HASH_WORKER_TAG, resourceLimits: WORKER_LIMITS }));
  let next = 0;
  const drain = async (hash: (id: number, path: string) => Promise<FileDigest>): Promise<void> => {
    while (next < paths.length) {
      const id = next++;
      const path = paths[id] as string;
      results[id] = { path, ...(await hash(id, path)) };
    }
  };
  const local = (_id: number, path: string): Promise<FileDigest> =>
    sha256File(path, onBytes).catch((err: unknown) => {
      throw asHashError(path, err);
    });
  try {
    await Promise.all([...workers.map((w) => drain((id, path) => hashOn(w, id, path, onBytes))), drain(local)]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Ask worker `w` to hash one file; resolves on its `done` reply. */
function hashOn(w: Worker, id: number, path: string, onBytes: (n: number) => void): Promise<FileDigest> {
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
      if (m.id !== id) return;
      if (m.kind === 'progress') return onBytes(m.bytes);
      cleanup();
      if (m.kind === 'done') resolve({ sha256: m.sha256, size: m.size });
      else reject(new HashError(path, m.code, `cannot read ${path}: ${m.code}`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.postMessage({ id, path });
  });
}
