import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_CHUNK_BYTES, HashError, hashFile, hashFiles, hashFilesSequential } from './hash.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';

const VECTORS = VECTORS_DIR.replace(/\/$/, '');
const MODEL_SHA = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';

let dir: string;
const contents: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  small: Buffer.from('hello'),
  exactChunk: Buffer.alloc(HASH_CHUNK_BYTES, 7),
  chunkPlusOne: Buffer.alloc(HASH_CHUNK_BYTES + 1, 9),
  big: Buffer.alloc(3 * HASH_CHUNK_BYTES + 123, 1),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-hash-'));
  for (const [name, b] of Object.entries(contents)) await writeFile(join(dir, name), b);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashFile', () => {
  it('hashes the seed vector model', async () => {
    expect(await hashFile(`${VECTORS}/fraud-detector.onnx`)).toEqual({ sha256: MODEL_SHA, size: 1048583 });
  });

  it.each(Object.keys(contents))(
    'hashes %s across chunk boundaries, reporting progress up to the size',
    async (name) => {
      const seen: Array<[number, number]> = [];
      const got = await hashFile(join(dir, name), (done, total) => seen.push([done, total]));
      const b = contents[name]!;
      expect(got).toEqual({ sha256: sha(b), size: b.length });
      if (b.length > 0) expect(seen.at(-1)).toEqual([b.length, b.length]);
    },
  );

  it.each([
    ['a missing file', 'nope', 'ENOENT'],
    ['a directory', '.', 'EISDIR'],
    ['a character device', '/dev/zero', 'ENOTREG'],
  ])('refuses %s with a HashError', async (_n, name, code) => {
    const err = await hashFile(name.startsWith('/') ? name : join(dir, name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HashError);
    expect(err).toMatchObject({ code });
  });
});

describe('hashFiles (worker pool)', () => {
  const names = Object.keys(contents);
  it.each([1, 2, 4])('matches sequential hashing with %i worker(s), in input order', async (concurrency) => {
    const paths = names.map((n) => join(dir, n));
    let last = 0;
    const got = await hashFiles(paths, { concurrency, onProgress: (done) => (last = done) });
    expect(got).toEqual(await hashFilesSequential(paths));
    expect(got.map((d) => d.sha256)).toEqual(names.map((n) => sha(contents[n]!)));
    expect(last).toBe(Object.values(contents).reduce((s, b) => s + b.length, 0));
  });

  it('a worker refuses a FIFO without blocking (swapped in after the size check)', async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const { sha256File } = await import('./hash-worker.js');
    await expect(sha256File(fifo)).rejects.toMatchObject({ code: 'ENOTREG' });
  });

  it('hashes 300 small files in batches (sync, one buffer) mixed with streamed large ones, in order', async () => {
    const many = await mkdtemp(join(tmpdir(), 'mg-hash-many-'));
    try {
      const bodies = Array.from({ length: 300 }, (_, i) =>
        i % 97 === 0 ? Buffer.alloc(HASH_CHUNK_BYTES + i, i) : Buffer.from(`file ${i} `.repeat(i)),
      );
      const paths = bodies.map((_, i) => join(many, `f${i}`));
      for (const [i, b] of bodies.entries()) await writeFile(paths[i]!, b);
      let last = 0;
      const pooled = await hashFiles(paths, { concurrency: 2, onProgress: (done) => (last = done) });
      expect(pooled.map((d) => d.sha256)).toEqual(bodies.map(sha));
      expect(pooled.map((d) => d.size)).toEqual(bodies.map((b) => b.length));
      expect(pooled.map((d) => d.path)).toEqual(paths);
      expect(last).toBe(bodies.reduce((n, b) => n + b.length, 0));
      expect(await hashFilesSequential(paths)).toEqual(pooled);
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  });

  it('a batch names the file it could not read (a FIFO swapped in after the size check)', async () => {
    const { execFileSync } = await import('node:child_process');
    const { sha256FilesSync } = await import('./hash-worker.js');
    const fifo = join(dir, 'fifo-batch');
    execFileSync('mkfifo', [fifo]);
    const err = (() => {
      try {
        return sha256FilesSync([join(dir, 'small'), fifo]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'ENOTREG', index: 1 });
  });

  it('reports an unreadable file in the pool as a HashError', async () => {
    const err = await hashFiles([join(dir, 'small'), join(dir, 'missing')], { concurrency: 2 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HashError);
    expect(err).toMatchObject({ code: 'ENOENT' });
  });
});
