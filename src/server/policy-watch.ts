import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parsePolicy, type PolicyError } from '../policy/load.js';
import type { Policy } from '../policy/types.js';

export type PolicyReload = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

export interface PolicyWatchOptions {
  file: string;
  onReload: (result: PolicyReload) => void;
  /** Re-read this often whatever fs.watch says (a ConfigMap mount changes by symlink swap). Default 2 s. */
  pollMs?: number;
  /** A changed file is used once two reads this far apart agree (an editor or `cp` writes in steps). */
  settleMs?: number;
}

export interface PolicyWatch {
  /** The first load; throws when the file is unreadable, returns the errors when it is invalid. */
  initial: PolicyReload;
  stop(): void;
}

/**
 * Loads the policy file, then reloads it whenever its text changes. A broken file is reported
 * through `onReload({ok:false})`; keeping the last good policy is the caller's choice (it is).
 */
export async function watchPolicyFile(opts: PolicyWatchOptions): Promise<PolicyWatch> {
  let last = await readFile(opts.file, 'utf8');
  const initial = parsePolicy(last, opts.file);
  let busy = false;
  const check = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const first = await readFile(opts.file, 'utf8').catch(() => undefined);
      if (first === undefined || first === last) return;
      const text = await settledText(opts.file, first, opts.settleMs ?? 100);
      if (text === undefined || text === last) return;
      last = text;
      opts.onReload(parsePolicy(text, opts.file));
    } finally {
      busy = false;
    }
  };
  const poll = setInterval(() => void check(), opts.pollMs ?? 2000);
  poll.unref();
  const watcher = tryWatch(dirname(opts.file), () => void check());
  return {
    initial,
    stop: () => {
      clearInterval(poll);
      watcher?.close();
    },
  };
}

async function settledText(file: string, first: string, settleMs: number): Promise<string | undefined> {
  let text: string | undefined = first;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, settleMs));
    const again = await readFile(file, 'utf8').catch(() => undefined);
    if (again === text) return text;
    text = again;
  }
  return text;
}

function tryWatch(dir: string, onEvent: () => void): FSWatcher | undefined {
  try {
    const w = watch(dir, { persistent: false }, onEvent);
    w.on('error', () => w.close()); // the poll still runs
    return w;
  } catch {
    return undefined;
  }
}
