/**
 * Progress of hashing large files, where people look: a redrawn line on a terminal, and plain
 * lines in logs (an init container's stderr is no terminal; `kubectl logs` must still show it
 * moving). Both carry the rate and the time left; Ctrl-C ends with a clean line, not a torn one.
 */
import type { Progress } from './hash.js';

/** Below this a progress line would only flicker. */
const MIN_BYTES_FOR_PROGRESS = 64 * 1024 * 1024;
/** Terminal redraw interval: smooth without flooding a slow terminal. */
const REDRAW_MS = 100;
/** Logs: a line at least this often, so a slow volume does not look hung... */
export const LOG_EVERY_MS = 10_000;
/** ...and at each tenth of the work, so a fast one still shows a few steps. */
const LOG_EVERY_PERCENT = 10;
/** Exit code after SIGINT, as shells report it (128 + 2). */
const SIGINT_EXIT = 130;

export interface ProgressLine {
  onProgress: Progress | undefined;
  /** Finish the display (call when done, also on failure) and stop listening for Ctrl-C. */
  end(): void;
}

/** Where Ctrl-C is heard: `process`, or a stand-in in tests. */
export interface SignalSource {
  on(signal: 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGINT', listener: () => void): unknown;
}

export interface ProgressOptions {
  now?: () => number;
  /** Listen for SIGINT here while hashing (default: none). */
  signals?: SignalSource;
  /** After the interrupted line is written (default: exit 130). */
  onInterrupt?: () => void;
}

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(0)} MiB`;
}

/** 4s, 2m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

interface State {
  done: number;
  total: number;
}

function describe(label: string, st: State, elapsedMs: number): string {
  const pct = st.total === 0 ? 100 : Math.floor((st.done / st.total) * 100);
  const head = `${label}: ${pct}% (${mib(st.done)} / ${mib(st.total)})`;
  if (elapsedMs <= 0 || st.done === 0) return head;
  const rate = st.done / (elapsedMs / 1000);
  const tail =
    st.done >= st.total ? `in ${formatDuration(elapsedMs / 1000)}` : `ETA ${formatDuration((st.total - st.done) / rate)}`;
  return `${head}, ${mib(rate)}/s, ${tail}`;
}

/** When to draw: on a terminal every REDRAW_MS; in logs every LOG_EVERY_MS or tenth. Always at 100%. */
function shouldDraw(tty: boolean, st: State, last: { at: number; pct: number }, t: number): boolean {
  if (st.done >= st.total) return true;
  if (tty) return t - last.at >= REDRAW_MS;
  const pct = Math.floor((st.done / st.total) * 100);
  return t - last.at >= LOG_EVERY_MS || pct >= last.pct + LOG_EVERY_PERCENT;
}

/** A progress callback drawing on `out`: redrawn on a TTY, one line per step otherwise. */
export function progressLine(
  out: NodeJS.WritableStream & { isTTY?: boolean },
  label: string,
  opts: ProgressOptions = {},
): ProgressLine {
  const now = opts.now ?? Date.now;
  const tty = out.isTTY === true;
  const start = now();
  const last = { at: start, pct: 0 };
  const st: State = { done: 0, total: 0 };
  let drawn = false;
  const onProgress: Progress = (done, total) => {
    Object.assign(st, { done, total });
    const t = now();
    if (total < MIN_BYTES_FOR_PROGRESS || !shouldDraw(tty, st, last, t)) return;
    Object.assign(last, { at: t, pct: Math.floor((done / total) * 100) });
    drawn = true;
    const line = describe(label, st, t - start);
    out.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  const onSigint = (): void => {
    const where = st.total === 0 ? '' : ` at ${describe(label, st, now() - start).slice(label.length + 2)}`;
    out.write(`${tty && drawn ? '\r\x1b[K' : tty ? '\n' : ''}${label}: interrupted${where}\n`);
    (opts.onInterrupt ?? (() => process.exit(SIGINT_EXIT)))();
  };
  opts.signals?.on('SIGINT', onSigint);
  return {
    onProgress,
    end: () => {
      opts.signals?.off('SIGINT', onSigint);
      if (tty && drawn) out.write('\r\x1b[K');
    },
  };
}
