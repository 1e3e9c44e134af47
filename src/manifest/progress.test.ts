import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine } from './progress.js';

const MiB = 1024 * 1024;

function stream(tty: boolean): PassThrough & { isTTY?: boolean; text: () => string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString()));
  s.isTTY = tty;
  s.text = () => out;
  return s;
}

describe('progressLine', () => {
  it('draws nothing when stderr is not a terminal', () => {
    const s = stream(false);
    const p = progressLine(s, 'hashing');
    expect(p.onProgress).toBeUndefined();
    p.end();
    expect(s.text()).toBe('');
  });

  it.each([
    ['a small file (no flicker)', 10 * MiB, ''],
    [
      'a large file',
      1024 * MiB,
      '\rhashing: 50% (512 MiB / 1024 MiB)\x1b[K\rhashing: 100% (1024 MiB / 1024 MiB)\x1b[K\r\x1b[K',
    ],
  ])('on a terminal, %s', (_n, total, want) => {
    const s = stream(true);
    let t = 0;
    const p = progressLine(s, 'hashing', () => (t += 1000));
    p.onProgress?.(total / 2, total);
    p.onProgress?.(total, total);
    p.end();
    expect(s.text()).toBe(want);
  });

  it('redraws at most every 100 ms but always shows completion', () => {
    const s = stream(true);
    const p = progressLine(s, 'x', () => 1000);
    for (let i = 1; i <= 10; i++) p.onProgress?.(i * 100 * MiB, 1000 * MiB);
    expect(
      s
        .text()
        .split('\r')
        .filter((l) => l !== ''),
    ).toEqual(['x: 10% (100 MiB / 1000 MiB)\x1b[K', 'x: 100% (1000 MiB / 1000 MiB)\x1b[K']);
  });
});
