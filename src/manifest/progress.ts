/** A one-line progress display for hashing large files on a terminal. */
import type { Progress } from './hash.js';

/** Below this a progress line would only flicker. */
const MIN_BYTES_FOR_PROGRESS = 64 * 1024 * 1024;
const REDRAW_MS = 100;

export interface ProgressLine {
  onProgress: Progress | undefined;
  /** Clear the line (call when done, also on failure). */
  end(): void;
}

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(0)} MiB`;
}

/** A progress callback drawing on `out` when it is a TTY; a no-op otherwise (logs stay clean). */
export function progressLine(out: NodeJS.WritableStream & { isTTY?: boolean }, label: string, now: () => number = Date.now): ProgressLine {
  if (out.isTTY !== true) return { onProgress: undefined, end: () => undefined };
  let last = 0;
  let drawn = false;
  const onProgress: Progress = (done, total) => {
    if (total < MIN_BYTES_FOR_PROGRESS || (now() - last < REDRAW_MS && done < total)) return;
    last = now();
    drawn = true;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    out.write(`\r${label}: ${pct}% (${mib(done)} / ${mib(total)})\x1b[K`);
  };
  return { onProgress, end: () => void (drawn && out.write('\r\x1b[K')) };
}
