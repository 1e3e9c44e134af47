import { describe, expect, it } from 'vitest';
import * as sigstore from '../src/oms/sigstore.js';
import { runSigstoreBench } from './oms-sigstore.js';

describe('runSigstoreBench (small)', () => {
  it('times cold verifications and cache hits of real bundles, hits cheaper than cold', async () => {
    const { results, lines } = await runSigstoreBench({ iterations: 20, sigstoreModule: sigstore });
    expect(results.iterations).toBe(20);
    expect(results.coldMedianMs).toBeGreaterThan(0);
    expect(results.hitMedianMs).toBeLessThan(results.coldMedianMs);
    expect(lines.join('\n')).toMatch(/cache hit/);
  });
});
