/**
 * One way to follow a value read from files that change under a running server: the signing
 * keys, the policy, the serving certificate and the client CA.
 *
 * The kubelet updates a mounted Secret or ConfigMap by writing a new timestamped directory and
 * swapping the `..data` symlink atomically (AtomicWriter). A watch on a file follows the old
 * inode and misses that, so the *directory* is watched. An event schedules a reload after
 * `settleMs` of quiet, and a change is taken only once two reads `settleMs` apart agree: a writer
 * caught between two files (a new certificate, the old key) or in the middle of a file is not
 * taken. A poll every `pollMs` runs the same check, because inotify misses events on some
 * volumes and a watch can fail.
 *
 * A reload that fails keeps the last good value. Each distinct failure is reported once (to the
 * `onError` listeners, and counted), not again on every poll while the files stay broken.
 */
import { watch, type FSWatcher } from 'node:fs';
import { ListenerSet } from './listeners.js';

export type ReloadResult = 'ok' | 'error';

/** Where reloads are counted (`modelgate_reloads_total`); a prom-client Counter fits. */
export interface ReloadCounter {
  inc(labels: { source: string; result: ReloadResult }): void;
}

export interface WatchedSource<T> {
  /** The last value that loaded without error. */
  current(): T;
  /** Called once per real change (a reload that gives a value `same` calls a different one). */
  onChange(listener: (value: T) => void): void;
  /** Called once per distinct failure; `current()` keeps the last good value. */
  onError(listener: (err: Error) => void): void;
  /** Stops the poll, the watches and any pending reload. Idempotent. */
  stop(): void;
}

export interface SourceOptions<T> {
  /** Short and fixed: the `source` label of the reload counter. */
  name: string;
  /** Directories to watch: the mounted volume (or the folder) the files live in. */
  dirs: readonly string[];
  /** Reads and checks the value; throws, saying why, when the files are unusable. */
  load: () => Promise<T>;
  /** True when two loads hold the same content: no change to announce. */
  same: (a: T, b: T) => boolean;
  counter?: ReloadCounter;
  /** Reload this often whatever the watches say. */
  pollMs?: number;
  /** Quiet time after an event, and the gap between two reads that must agree. */
  settleMs?: number;
}

/** What a caller of a source built on this one chooses: how often, how quiet, where counted. */
export type FollowOptions = Pick<SourceOptions<unknown>, 'pollMs' | 'settleMs' | 'counter'>;

export const DEFAULT_POLL_MS = 2000;
export const DEFAULT_SETTLE_MS = 100;
/** A writer still busy after this many settles is taken as it stands (the next poll retries). */
const MAX_SETTLE_ROUNDS = 20;

type Attempt<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Loads the value now (throwing when it is unusable), then follows its files. */
export async function watchSource<T>(opts: SourceOptions<T>): Promise<WatchedSource<T>> {
  return new FileSource(opts, await opts.load());
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

class FileSource<T> implements WatchedSource<T> {
  readonly #opts: SourceOptions<T>;
  readonly #settleMs: number;
  readonly #changes = new ListenerSet<T>();
  readonly #errors = new ListenerSet<Error>();
  readonly #poll: NodeJS.Timeout;
  readonly #watchers: FSWatcher[];
  #value: T;
  /** The message of the failure last reported, until a load succeeds again. */
  #lastError: string | undefined;
  #stopped = false;
  #running = false;
  #again = false;
  #debounce: NodeJS.Timeout | undefined;
  #pause: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(opts: SourceOptions<T>, first: T) {
    this.#opts = opts;
    this.#value = first;
    this.#settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
    this.#poll = setInterval(() => this.#check(), opts.pollMs ?? DEFAULT_POLL_MS);
    this.#poll.unref();
    this.#watchers = [...new Set(opts.dirs)].flatMap((dir) => this.#watch(dir));
  }

  current(): T {
    return this.#value;
  }

  onChange(listener: (value: T) => void): void {
    this.#changes.add(listener);
  }

  onError(listener: (err: Error) => void): void {
    this.#errors.add(listener);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
    clearTimeout(this.#pause?.timer);
    this.#pause?.wake();
    for (const w of this.#watchers) w.close();
  }

  #watch(dir: string): FSWatcher[] {
    try {
      const w = watch(dir, { persistent: false }, () => this.#schedule());
      w.on('error', () => w.close()); // the poll still runs
      return [w];
    } catch {
      return []; // no watch on this volume: the poll still runs
    }
  }

  /** An event: reload once the directory has been quiet for `settleMs`. */
  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#check(), this.#settleMs);
    this.#debounce.unref();
  }

  /** One reload at a time; a request during one runs once more after it. */
  #check(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#reload()
      .catch((err: unknown) => this.#listenerFailed(err))
      .finally(() => {
        this.#running = false;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#check();
        }
      });
  }

  /** A change listener threw: told to the error listeners, never an unhandled rejection. */
  #listenerFailed(err: unknown): void {
    try {
      this.#errors.emit(asError(err));
    } catch {
      // an error listener threw as well: nobody is left to tell
    }
  }

  async #reload(): Promise<void> {
    const first = await this.#attempt();
    const settled = this.#isCurrent(first) ? first : await this.#settle(first);
    if (settled !== undefined && !this.#stopped) this.#commit(settled);
  }

  async #attempt(): Promise<Attempt<T>> {
    try {
      return { ok: true, value: await this.#opts.load() };
    } catch (err) {
      return { ok: false, error: asError(err) };
    }
  }

  /** Nothing new: the value in use, or the failure already reported. */
  #isCurrent(a: Attempt<T>): boolean {
    return a.ok ? this.#opts.same(a.value, this.#value) : a.error.message === this.#lastError;
  }

  /** Reads again until two reads `settleMs` apart agree; undefined once stopped. */
  async #settle(first: Attempt<T>): Promise<Attempt<T> | undefined> {
    let seen = first;
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      await this.#sleep();
      if (this.#stopped) return undefined;
      const again = await this.#attempt();
      if (this.#agree(seen, again)) return again;
      seen = again;
    }
    return seen;
  }

  #agree(a: Attempt<T>, b: Attempt<T>): boolean {
    if (a.ok && b.ok) return this.#opts.same(a.value, b.value);
    return !a.ok && !b.ok && a.error.message === b.error.message;
  }

  #sleep(): Promise<void> {
    if (this.#stopped) return Promise.resolve(); // a load that ends after stop() starts no timer
    return new Promise((wake) => {
      const timer = setTimeout(wake, this.#settleMs);
      timer.unref();
      this.#pause = { timer, wake };
    });
  }

  #commit(a: Attempt<T>): void {
    if (!a.ok) {
      if (a.error.message === this.#lastError) return;
      this.#lastError = a.error.message;
      this.#count('error');
      this.#errors.emit(a.error);
      return;
    }
    const recovered = this.#lastError !== undefined;
    this.#lastError = undefined;
    if (this.#opts.same(a.value, this.#value)) {
      if (recovered) this.#count('ok'); // back to the value in use: a good reload, no change
      return;
    }
    this.#value = a.value;
    this.#count('ok');
    this.#changes.emit(a.value);
  }

  #count(result: ReloadResult): void {
    this.#opts.counter?.inc({ source: this.#opts.name, result });
  }
}
