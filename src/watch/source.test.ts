import type { FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchSource, type ReloadResult, type SourceOptions, type WatchedSource } from './source.js';

// Every fs.watch the source opens, until it is closed: stop() must leave none.
const watches = vi.hoisted(() => new Set<unknown>());
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const watch = (...args: Parameters<typeof fs.watch>): FSWatcher => {
    const w = fs.watch(...args);
    watches.add(w);
    const close = w.close.bind(w);
    w.close = () => {
      watches.delete(w);
      close();
    };
    return w;
  };
  return { ...fs, default: { ...fs, watch }, watch };
});

let dir: string;
let source: WatchedSource<string> | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-watch-'));
});
afterEach(async () => {
  source?.stop();
  source = undefined;
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait for `cond` without timers (for tests that fake them). */
async function untilImmediate(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

/** Write `files` the way the kubelet updates a mounted Secret: new folder, `..data` swapped, old folder removed. */
async function kubeletWrite(root: string, files: Record<string, string>, version: string): Promise<void> {
  const folder = `..${version}`;
  await mkdir(join(root, folder));
  for (const [name, content] of Object.entries(files)) await writeFile(join(root, folder, name), content);
  const old = await readFile(join(root, '..data', '.version'), 'utf8').catch(() => undefined);
  await writeFile(join(root, folder, '.version'), folder);
  await symlink(folder, join(root, '..data_tmp'));
  await rename(join(root, '..data_tmp'), join(root, '..data'));
  for (const name of Object.keys(files))
    await symlink(join('..data', name), join(root, name)).catch(() => undefined);
  if (old) await rm(join(root, old), { recursive: true });
}

/** A source of one file's text; `bad` content fails to load, the way a broken file does. */
async function follow(file: string, opts: Partial<SourceOptions<string>> = {}) {
  const counted: Record<string, number> = {};
  const loads = { n: 0 };
  const s = await watchSource<string>({
    name: 'test',
    dirs: [dir],
    load: async () => {
      loads.n++;
      const text = await readFile(file, 'utf8');
      if (text.startsWith('bad')) throw new Error(`broken: ${text}`);
      return text;
    },
    same: (a, b) => a === b,
    counter: {
      inc: ({ result }: { result: ReloadResult }) => void (counted[result] = (counted[result] ?? 0) + 1),
    },
    settleMs: 20,
    pollMs: 60_000,
    ...opts,
  });
  source = s;
  const changes: string[] = [];
  const errors: Error[] = [];
  s.onChange((v) => changes.push(v));
  s.onError((e) => errors.push(e));
  return { s, changes, errors, counted, loads };
}

describe('watchSource', () => {
  it('follows a kubelet-style ..data swap through the directory watch alone (no poll)', async () => {
    await kubeletWrite(dir, { value: 'one' }, 'v1');
    const { s, changes, counted } = await follow(join(dir, 'value'));
    expect(s.current()).toBe('one');
    await kubeletWrite(dir, { value: 'two' }, 'v2');
    await expect.poll(() => s.current(), { timeout: 3000 }).toBe('two');
    await kubeletWrite(dir, { value: 'three' }, 'v3');
    await expect.poll(() => s.current(), { timeout: 3000 }).toBe('three');
    expect(changes).toEqual(['two', 'three']);
    expect(counted).toEqual({ ok: 2 });
  });

  it('polls when no event comes (inotify misses changes on some volumes)', async () => {
    await writeFile(join(dir, 'value'), 'one');
    const { s, changes } = await follow(join(dir, 'value'), { dirs: [], pollMs: 30 });
    await writeFile(join(dir, 'value'), 'two');
    await expect.poll(() => s.current(), { timeout: 3000 }).toBe('two');
    expect(changes).toEqual(['two']);
  });

  it('throws at start when the first load fails', async () => {
    await writeFile(join(dir, 'value'), 'bad start');
    await expect(follow(join(dir, 'value'))).rejects.toThrow('broken: bad start');
  });

  it('keeps the last good value on a bad reload, reports each failure once, and takes the fix', async () => {
    await writeFile(join(dir, 'value'), 'good');
    const { s, changes, errors, counted } = await follow(join(dir, 'value'), { pollMs: 30 });
    await writeFile(join(dir, 'value'), 'bad one');
    await expect.poll(() => errors.length, { timeout: 3000 }).toBe(1);
    await sleep(200); // several polls over the same broken file
    expect(errors.map((e) => e.message)).toEqual(['broken: bad one']);
    expect(s.current()).toBe('good');
    await writeFile(join(dir, 'value'), 'bad two'); // a different failure is news
    await expect.poll(() => errors.length, { timeout: 3000 }).toBe(2);
    await writeFile(join(dir, 'value'), 'fixed');
    await expect.poll(() => s.current(), { timeout: 3000 }).toBe('fixed');
    expect(changes).toEqual(['fixed']);
    expect(counted).toEqual({ error: 2, ok: 1 });
  });

  it('notifies once per real change: not for a rewrite with the same content, once for a burst of writes', async () => {
    await writeFile(join(dir, 'value'), 'same');
    const { s, changes } = await follow(join(dir, 'value'), { settleMs: 40 });
    await writeFile(join(dir, 'value'), 'same');
    await sleep(200);
    expect(changes).toEqual([]);
    // A writer that takes several steps: only the settled result is a change.
    let text = '';
    for (const part of ['a', 'b', 'c', 'd', 'e']) {
      text += part;
      await writeFile(join(dir, 'value'), text);
      await sleep(5);
    }
    await expect.poll(() => s.current(), { timeout: 3000 }).toBe('abcde');
    await sleep(200);
    expect(changes).toEqual(['abcde']);
  });

  it('a writer between two files (a certificate, then its key): no failure reported, one change', async () => {
    await writeFile(join(dir, 'a'), '1');
    await writeFile(join(dir, 'b'), '1');
    const pairs: string[] = [];
    const s = await watchSource({
      name: 'pair',
      dirs: [dir],
      load: async () => {
        const [a, b] = await Promise.all([
          readFile(join(dir, 'a'), 'utf8'),
          readFile(join(dir, 'b'), 'utf8'),
        ]);
        if (a !== b) throw new Error('a and b disagree');
        return a;
      },
      same: (x, y) => x === y,
      settleMs: 50,
      pollMs: 60_000,
    });
    s.onChange((v) => pairs.push(v));
    const errors: Error[] = [];
    s.onError((e) => errors.push(e));
    try {
      await writeFile(join(dir, 'a'), '2');
      await sleep(20); // inside the settle: the half-done state is read, then read again
      await writeFile(join(dir, 'b'), '2');
      await expect.poll(() => s.current(), { timeout: 3000 }).toBe('2');
      expect(pairs).toEqual(['2']);
      expect(errors).toEqual([]);
    } finally {
      s.stop();
    }
  });

  it('stop() clears its timers and closes its watches, even in the middle of a reload', async () => {
    await writeFile(join(dir, 'value'), 'one');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const { s, changes, loads } = await follow(join(dir, 'value'), { pollMs: 1000, settleMs: 50 });
    expect(watches.size).toBe(1);
    expect(vi.getTimerCount()).toBe(1); // the poll
    await writeFile(join(dir, 'value'), 'two');
    vi.advanceTimersByTime(1000); // the poll reads "two" and waits for it to settle
    await untilImmediate(() => vi.getTimerCount() > 1); // the settle timer

    s.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(watches.size).toBe(0);
    vi.useRealTimers();
    const before = loads.n;
    await writeFile(join(dir, 'value'), 'three');
    await sleep(150);
    expect(loads.n).toBe(before);
    expect(changes).toEqual([]);
    expect(s.current()).toBe('one');
  });
});
