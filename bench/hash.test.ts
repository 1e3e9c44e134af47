import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as hash from '../src/manifest/hash.js';
import { runHashBench } from './hash.js';

const CLI = new URL('../dist/cli/bin.js', import.meta.url).pathname;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mg-bench-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLI))('runHashBench (small)', () => {
  it('measures verify vs openssl, RSS and the pool, and cleans up', async () => {
    const { results, lines } = await runHashBench({ sizeBytes: 8 * 1024 * 1024, parts: 2, runs: 1, hashModule: hash, tmpRoot: root });
    expect(results.sizeBytes).toBe(8 * 1024 * 1024);
    expect(results.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(results.verifyMs).toBeGreaterThan(0);
    expect(results.opensslMs).toBeGreaterThan(0);
    expect(results.speedRatio).toBeCloseTo(results.opensslMs / results.verifyMs);
    expect(results.peakRssMB).toBeGreaterThan(10);
    expect(results.poolSpeedup).toBeGreaterThan(0);
    expect(results.poolCoresUsed).toBeGreaterThan(0);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain("openssl's speed");
    expect(await readdir(root)).toEqual([]);
  }, 60_000);
});
