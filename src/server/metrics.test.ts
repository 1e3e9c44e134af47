import { describe, expect, it } from 'vitest';
import { createMetrics, reloadCounter } from './metrics.js';

describe('reloadCounter', () => {
  it('counts every source in modelgate_reloads_total, keys and policy also under their older names', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const count = reloadCounter(metrics);
    count.inc({ source: 'keys', result: 'ok' });
    count.inc({ source: 'policy', result: 'error' });
    count.inc({ source: 'tls', result: 'error' });
    count.inc({ source: 'client-ca', result: 'ok' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('modelgate_reloads_total{source="keys",result="ok"} 1');
    expect(text).toContain('modelgate_reloads_total{source="policy",result="error"} 1');
    expect(text).toContain('modelgate_reloads_total{source="tls",result="error"} 1');
    expect(text).toContain('modelgate_reloads_total{source="client-ca",result="ok"} 1');
    expect(text).toContain('modelgate_key_reloads_total{result="ok"} 1');
    expect(text).toContain('modelgate_policy_reloads_total{result="error"} 1');
    expect(text).not.toMatch(/modelgate_(key|policy)_reloads_total\{result="(error|ok)"\} 2/);
  });
});
