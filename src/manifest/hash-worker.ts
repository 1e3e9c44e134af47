/**
 * Streaming SHA-256 of one file, and the worker-thread entry of the hashing pool (hash.ts).
 *
 * This file imports nothing relative on purpose: under vitest the pool starts it as .ts, which
 * Node 24 runs by stripping types but cannot follow to other .ts modules by their .js names.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/**
 * Read size. Two reused 1 MiB buffers keep memory flat for any file size, and are large enough
 * that syscalls are a rounding error next to SHA-256 itself.
 */
export const HASH_CHUNK_BYTES = 1024 * 1024;

export interface FileDigest {
  sha256: string;
  size: number;
}

/** sha256 (lowercase hex) and byte count of a file; `onBytes` is told each chunk's length. */
export async function sha256File(path: string, onBytes?: (n: number) => void): Promise<FileDigest> {
  const hash = createHash('sha256');
  // Two buffers: the next read (libuv thread pool) runs while this thread hashes the last one.
  const bufs = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)] as const;
  // O_NONBLOCK: a FIFO swapped in after the caller's stat must not block the open forever.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let size = 0;
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    let turn = 0;
    pending = fh.read(bufs[0], 0, HASH_CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      turn ^= 1;
      pending = fh.read(bufs[turn as 0 | 1], 0, HASH_CHUNK_BYTES, null);
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
      onBytes?.(bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined); // never close under an in-flight read
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Files up to this size are hashed in batches with synchronous reads into one reused buffer: for
 * a model of thousands of small files (tokenizers, vocabularies) the per-file cost — promises,
 * two fresh 1 MiB buffers and the garbage they make, a message to a worker and back — was
 * 15× the hashing itself (bench/hash-files.ts).
 */
export const SMALL_FILE_BYTES = 1024 * 1024;

let syncBuffer: Buffer | undefined;

/** sha256 and size of each file, read synchronously into this thread's one buffer. Throws with `index` set. */
export function sha256FilesSync(paths: readonly string[]): FileDigest[] {
  syncBuffer ??= Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const buf = syncBuffer;
  return paths.map((path, index) => {
    try {
      return sha256FileSync(path, buf);
    } catch (err) {
      throw Object.assign(err as Error, { index });
    }
  });
}

function sha256FileSync(path: string, buf: Buffer): FileDigest {
  // O_NONBLOCK: a FIFO swapped in after the caller's stat must not block the open forever.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    const hash = createHash('sha256');
    const expected = info.size;
    let size = 0;
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      hash.update(buf.subarray(0, n));
      size += n;
      // A short read that reached the size fstat gave is the end: no extra read to see 0.
      if (n < buf.length && size === expected) break;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

/** Marks a worker started by the pool (vitest may itself run tests inside worker threads). */
export const HASH_WORKER_TAG = 'modelgate-hash-worker';

export type WorkerRequest = { id: number; path: string } | { id: number; paths: string[] };
export type WorkerReply =
  | { id: number; kind: 'progress'; bytes: number }
  | { id: number; kind: 'done'; sha256: string; size: number }
  | { id: number; kind: 'batch'; digests: FileDigest[] }
  | { id: number; kind: 'error'; code: string; message: string; index?: number };

function serveBatch(port: NonNullable<typeof parentPort>, id: number, paths: string[]): void {
  try {
    port.postMessage({ id, kind: 'batch', digests: sha256FilesSync(paths) } satisfies WorkerReply);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { index?: number };
    port.postMessage({ id, kind: 'error', code: e.code ?? 'EIO', message: e.message, index: e.index } satisfies WorkerReply);
  }
}

/** Report progress at most every 16 MiB per file: enough for a smooth bar, few messages. */
const PROGRESS_EVERY = 16 * HASH_CHUNK_BYTES;

function serve(port: NonNullable<typeof parentPort>): void {
  port.on('message', (req: WorkerRequest) => {
    if ('paths' in req) return serveBatch(port, req.id, req.paths);
    let pending = 0;
    const onBytes = (n: number): void => {
      pending += n;
      if (pending < PROGRESS_EVERY) return;
      port.postMessage({ id: req.id, kind: 'progress', bytes: pending } satisfies WorkerReply);
      pending = 0;
    };
    sha256File(req.path, onBytes).then(
      (d) => {
        if (pending > 0) port.postMessage({ id: req.id, kind: 'progress', bytes: pending } satisfies WorkerReply);
        port.postMessage({ id: req.id, kind: 'done', ...d } satisfies WorkerReply);
      },
      (err: NodeJS.ErrnoException) => {
        port.postMessage({ id: req.id, kind: 'error', code: err.code ?? 'EIO', message: err.message } satisfies WorkerReply);
      },
    );
  });
}

if (!isMainThread && parentPort !== null && workerData === HASH_WORKER_TAG) serve(parentPort);
