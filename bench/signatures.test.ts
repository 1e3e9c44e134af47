import { describe, expect, it } from 'vitest';
import { loadSignatureModules, runSignaturesBench } from './signatures.js';

describe('runSignaturesBench (small)', () => {
  it('times every v2 algorithm and each OMS method cold and on a cache hit, in one table', async () => {
    const modules = await loadSignatureModules('src');
    const { rows, lines } = await runSignaturesBench({ files: [3, 50], rounds: 1, ms: 20, omsSigner: 'node', modules });
    expect(rows.map((r) => `${r.kind} ${r.files}`)).toEqual([
      'v2 HMAC-SHA256 1',
      'v2 ECDSA-P256-SHA256 1',
      'v2 ECDSA-P384-SHA384 1',
      'v2 ECDSA-P521-SHA512 1',
      'v2 Ed25519 1',
      'OMS key 3',
      'OMS certificate 3',
      'OMS sigstore 3',
      'OMS key 50',
      'OMS certificate 50',
      'OMS sigstore 50',
    ]);
    for (const r of rows) expect(r.coldUs).toBeGreaterThan(0);
    for (const r of rows.filter((x) => x.kind.startsWith('OMS') && x.files === 50)) expect(r.hitUs).toBeLessThan(r.coldUs);
    expect(lines).toHaveLength(3 + rows.length);
    expect(lines[3]).toMatch(/^\| v2 HMAC-SHA256 \| 1 \| \d+ \| [\d.]+ (µs|ms) \| — \| 1\.0× \|$/);
  }, 60_000);
});
