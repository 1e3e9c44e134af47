import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCelBench } from './cel.js';

const BUILT = existsSync(new URL('../dist/decision/decide.js', import.meta.url));

describe.skipIf(!BUILT)('runCelBench (small)', () => {
  it('decides with 0, 5 and 20 validations per rule and prints one line per size', async () => {
    const { results, lines } = await runCelBench({ iterations: 400 });
    expect(results.map((r) => r.validations)).toEqual([0, 5, 20]);
    for (const r of results) expect(r.decisionMs).toBeGreaterThan(0);
    expect(results[0]?.validationsMs).toBe(0);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^ {2}20 validations per rule: [\d.]+ µs per admission, validations [\d.]+ µs/);
  });
});
