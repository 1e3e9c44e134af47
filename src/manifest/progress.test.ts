import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine } from './progress.js';

const MiB = 1024 * 1024;

function stream(tty: boolean): PassThrough & { isTTY?: boolean; text: () => string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString()));
  s.isTTY = tty;
  s.text = () => out;
  return s;
}

/** A clock that reads `t` ms, starting at 0 (the first read is the start). */
function clock(): { now: () => number; set: (ms: number) => void } {
  let t = 0;
  return { now: () => t, set: (ms) => void (t = ms) };
}

describe('progressLine on a terminal', () => {
  it.each([
    ['a small file (no flicker)', 10 * MiB, ''],
    [
      'a large file, with rate and time left, then done',
      1024 * MiB,
      '\rhashing: 50% (512 MiB / 1024 MiB), 512 MiB/s, ETA 1s\x1b[K' +
        '\rhashing: 100% (1024 MiB / 1024 MiB), 512 MiB/s, in 2s\x1b[K\r\x1b[K',
    ],
  ])('%s', (_n, total, want) => {
    const s = stream(true);
    const c = clock();
    const p = progressLine(s, 'hashing', { now: c.now });
    c.set(1000);
    p.onProgress?.(total / 2, total);
    c.set(2000);
    p.onProgress?.(total, total);
    p.end();
    expect(s.text()).toBe(want);
  });

  it('redraws at most every 100 ms but always shows completion', () => {
    const s = stream(true);
    const c = clock();
    const p = progressLine(s, 'x', { now: c.now });
    c.set(1000);
    for (let i = 1; i <= 10; i++) p.onProgress?.(i * 100 * MiB, 1000 * MiB);
    const lines = s
      .text()
      .split('\r')
      .filter((l) => l !== '');
    expect(lines.map((l) => l.slice(0, l.indexOf(')') + 1))).toEqual([
      'x: 10% (100 MiB / 1000 MiB)',
      'x: 100% (1000 MiB / 1000 MiB)',
    ]);
  });
});

describe('progressLine in logs (not a terminal: an init container)', () => {
  it('prints a plain line at each tenth of the work, with rate and ETA, and the last one', () => {
    const s = stream(false);
    const c = clock();
    const p = progressLine(s, 'verifying', { now: c.now });
    for (let i = 1; i <= 100; i++) {
      c.set(i * 100); // 10 MiB per 100 ms: 100 MiB/s
      p.onProgress?.(i * 10 * MiB, 1000 * MiB);
    }
    p.end();
    const lines = s.text().split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('verifying: 10% (100 MiB / 1000 MiB), 100 MiB/s, ETA 9s');
    expect(lines.at(-1)).toBe('verifying: 100% (1000 MiB / 1000 MiB), 100 MiB/s, in 10s');
    expect(s.text()).not.toMatch(/[\r\x1b]/);
  });

  it('prints a line every 10 s on a slow volume, even between tenths', () => {
    const s = stream(false);
    const c = clock();
    const p = progressLine(s, 'verifying', { now: c.now });
    for (let sec = 1; sec <= 30; sec++) {
      c.set(sec * 1000);
      p.onProgress?.(sec * MiB, 1000 * MiB); // 1 MiB/s
    }
    expect(s.text().split('\n').filter((l) => l !== '')).toEqual([
      'verifying: 1% (10 MiB / 1000 MiB), 1 MiB/s, ETA 16m30s',
      'verifying: 2% (20 MiB / 1000 MiB), 1 MiB/s, ETA 16m20s',
      'verifying: 3% (30 MiB / 1000 MiB), 1 MiB/s, ETA 16m10s',
    ]);
  });
});

describe('Ctrl-C while hashing', () => {
  it.each([
    [true, '\r\x1b[Kverifying: interrupted at 50% (512 MiB / 1024 MiB), 512 MiB/s, ETA 1s\n'],
    [false, 'verifying: interrupted at 50% (512 MiB / 1024 MiB), 512 MiB/s, ETA 1s\n'],
  ])('ends with one clean line (tty: %s), then exits', (tty, tail) => {
    const s = stream(tty);
    const c = clock();
    const signals = new EventEmitter();
    let exited = 0;
    const p = progressLine(s, 'verifying', { now: c.now, signals, onInterrupt: () => exited++ });
    c.set(1000);
    p.onProgress?.(512 * MiB, 1024 * MiB);
    signals.emit('SIGINT');
    expect(exited).toBe(1);
    expect(s.text().endsWith(tail)).toBe(true);
    p.end();
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});

it.each([
  [4.2, '4s'],
  [125, '2m05s'],
  [3720, '1h02m'],
])('formatDuration(%s) = %s', (s, want) => {
  expect(formatDuration(s)).toBe(want);
});
