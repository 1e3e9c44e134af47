import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES_TARGET, runFilesBench } from './hash-files.js';
import { slopePerMinute } from './soak.js';

const CLI = new URL('../dist/cli/bin.js', import.meta.url).pathname;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mg-bench-files-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLI))('runFilesBench (small)', () => {
  it('times verify against sha256sum -P2 on both layouts, states the startup cost, and cleans up', async () => {
    const { results, lines } = await runFilesBench({ shardBytes: 1024 * 1024, shards: 2, smallFiles: 40, runs: 1, tmpRoot: root });
    expect(results.layouts.map((l) => l.files)).toEqual([2, 40]);
    for (const l of results.layouts) {
      expect(l.verifyMs.best).toBeGreaterThan(0);
      expect(l.sha256sumMs.best).toBeGreaterThan(0);
      expect(l.ratio).toBeCloseTo(l.sha256sumMs.best / l.verifyMs.best);
      expect(l.pass).toBe(l.ratio >= FILES_TARGET);
    }
    expect(results.startup.verifyOneFileMs).toBeGreaterThan(results.startup.nodeMs / 2);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain('init container fixed cost');
    expect(await readdir(root)).toEqual([]);
  }, 60_000);
});

describe('slopePerMinute (the soak verdict)', () => {
  it('is 0 for a flat series and the least-squares slope per minute otherwise', () => {
    expect(slopePerMinute([[0, 5], [30, 5], [60, 5]])).toBe(0);
    expect(slopePerMinute([[0, 100], [30, 101], [60, 102]])).toBeCloseTo(2);
    expect(slopePerMinute([[0, 1]])).toBe(0);
  });
});
