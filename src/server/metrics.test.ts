import { readdirSync, readFileSync } from 'node:fs';
import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CODES } from '../policy/rules.js';
import { createMetrics, reloadCounter } from './metrics.js';

/**
 * The chart's alerts and dashboard watch what the server exports: every `modelgate_*` series
 * they name exists, and every `reason` they match is a problem code a decision can carry (an
 * alert on a code nothing emits never fires). Read from the chart's own files, so a renamed
 * metric or code fails here, not silently in production.
 */
const chart = new URL('../../charts/modelgate/', import.meta.url);
const read = (rel: string): string => readFileSync(new URL(rel, chart), 'utf8');

/** Histograms are exported as these three series. */
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

async function exportedSeries(): Promise<Set<string>> {
  const metrics = createMetrics({ defaultMetrics: true });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (metrics.registry.getSingleMetric(m.name) instanceof Histogram) {
      for (const s of HISTOGRAM_SUFFIXES) names.add(m.name + s);
    }
  }
  return names;
}

/**
 * Every problem code a reason can carry: the policy's (which include the verify step's), and
 * the literals of the decision and manifest modules (`code: '...'`, `fail('...'`,
 * `problem(path, '...'`).
 */
function problemCodes(): Set<string> {
  const codes = new Set<string>(Object.values(CODES));
  const literal = /(?:code: |fail\(|problem\(path, )'([a-z][a-z0-9-]*)'/g;
  for (const dir of ['decision', 'manifest', 'workload']) {
    const base = new URL(`../${dir}/`, import.meta.url);
    for (const file of readdirSync(base).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      for (const m of readFileSync(new URL(file, base), 'utf8').matchAll(literal)) codes.add(m[1] ?? '');
    }
  }
  return codes;
}

function alertExpressions(): string[] {
  return [...read('templates/prometheusrule.yaml').matchAll(/^\s*expr: (.*)$/gm)].map((m) => m[1] ?? '');
}

function dashboardExpressions(): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'expr' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(JSON.parse(read('files/dashboard.json')));
  return out;
}

const metricNames = (expr: string): string[] => [...expr.matchAll(/\bmodelgate_[a-z0-9_]+/g)].map((m) => m[0]);

/** The values a `reason="..."` or `reason=~"a|b"` matcher accepts. */
function reasonValues(expr: string): string[] {
  return [...expr.matchAll(/\breason\s*(=~|=)\s*"([^"]*)"/g)].flatMap((m) =>
    m[1] === '=~' ? (m[2] ?? '').split('|') : [m[2] ?? ''],
  );
}

describe.each([
  ['the PrometheusRule', alertExpressions],
  ['the Grafana dashboard', dashboardExpressions],
])('%s', (_what, expressions) => {
  it('has expressions to check', () => {
    expect(expressions().length).toBeGreaterThan(5);
  });

  it('names only series the server exports', async () => {
    const exported = await exportedSeries();
    const unknown = expressions().flatMap(metricNames).filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
  });

  it('matches only reasons that are real problem codes', () => {
    const codes = problemCodes();
    const unknown = expressions().flatMap(reasonValues).filter((r) => !codes.has(r));
    expect(unknown).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('see the codes of the policy, the manifest verifier and the decision', () => {
    const codes = problemCodes();
    for (const c of ['key-revoked', 'bad-signature', 'missing-manifest', 'verify-step-not-inert']) {
      expect(codes.has(c), c).toBe(true);
    }
    expect(codes.has('hash-mismatch')).toBe(false);
  });

  it('find metric names and reason values in an expression', () => {
    const expr = 'sum(increase(modelgate_verification_failures_total{reason=~"a|b", x="y"}[5m]))';
    expect(metricNames(expr)).toEqual(['modelgate_verification_failures_total']);
    expect(reasonValues(expr)).toEqual(['a', 'b']);
    expect(reasonValues('m{reason="bad-signature"}')).toEqual(['bad-signature']);
  });
});

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
