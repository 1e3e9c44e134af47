/**
 * Adversarial expressions: whatever an operator writes, or an attacker puts in the object it reads,
 * evaluation ends within the limits, as a problem (a deny), never a crash and never a hang.
 */
import { describe, expect, it } from 'vitest';
import { compileExpression } from './compile.js';
import { PER_EXPRESSION_COST_LIMIT, PER_REQUEST_TIME_LIMIT_MS } from './cost.js';
import { runValidations, type Validations } from './evaluate.js';
import { celJson } from './inputs.js';

function validations(...expressions: string[]): Validations {
  return {
    variables: [],
    validations: expressions.map((text) => {
      const r = compileExpression(text, 'bool', { variables: new Map() });
      if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
      return { program: r.program, reason: 'Invalid' as const };
    }),
  };
}

const MiB = 1024 * 1024;
/** An object as an attacker may send it: a 1 MiB annotation and a long list. */
const object = celJson({
  metadata: { name: 'x', annotations: { big: 'a'.repeat(MiB) } },
  spec: { items: Array.from({ length: 20_000 }, (_, i) => i) },
});
const inputs = { object, oldObject: null, request: {}, models: [], labels: {}, now: null };

function timed(...expressions: string[]): { codes: string[]; messages: string[]; ms: number } {
  const start = performance.now();
  const problems = runValidations('r', validations(...expressions), inputs);
  return {
    codes: problems.map((p) => p.code),
    messages: problems.map((p) => p.message),
    ms: performance.now() - start,
  };
}

const TEN = '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]';
const nested = (depth: number): string =>
  Array.from({ length: depth }, (_, i) => `${TEN}.all(v${i}, `).join('') + 'true' + ')'.repeat(depth);

/** Generous for a shared CI machine; what matters is that it ends, near the limit, not in minutes. */
const PROMPT_MS = 8 * PER_REQUEST_TIME_LIMIT_MS;

describe('runaway expressions stop inside evaluation', () => {
  it('an unbounded comprehension (10^8 steps) stops at the time or cost limit and denies', () => {
    const r = timed(nested(8));
    expect(r.codes).toEqual([expect.stringMatching(/^cel-(time|cost)-exceeded$/)]);
    expect(r.messages[0]).toMatch(/^rule "r": validation 1 \(\[0, 1, 2.*\) exceeded/);
    expect(r.ms).toBeLessThan(PROMPT_MS);
  });

  it("CEL's error-absorbing || cannot turn a stopped evaluation into true", () => {
    const r = timed(`${nested(8)} || true`);
    expect(r.codes).toEqual([expect.stringMatching(/^cel-(time|cost)-exceeded$/)]);
  });

  it('a comprehension over a long list in the object costs a unit per step', () => {
    const r = timed('object.spec.items.all(i, object.spec.items.all(j, i + j >= 0))');
    expect(r.codes).toEqual([expect.stringMatching(/^cel-(time|cost)-exceeded$/)]);
    expect(r.ms).toBeLessThan(PROMPT_MS);
  });

  it('work spread over many validations, each inside its cost, is stopped by the clock, and the rest is not run', () => {
    // each scans 128 KiB (~660,000 units, under the cost limit, ~25 ms here); 60 of them take over a second
    const slow = "!object.metadata.annotations.big.substring(0, 131072).matches('(a+)+[^a]')";
    const r = timed(...Array.from({ length: 60 }, () => slow), 'true', 'false');
    expect(r.codes).toEqual(['cel-time-exceeded']);
    expect(r.messages[0]).toContain(`exceeded the time limit (${PER_REQUEST_TIME_LIMIT_MS} ms per request)`);
    expect(r.ms).toBeLessThan(PROMPT_MS);
  });

  it('a cheap validation after a costly one still runs with its own budget', () => {
    const r = timed(
      "object.metadata.annotations.big.replace('', object.metadata.annotations.big).size() > 0",
      'false',
    );
    expect(r.codes).toEqual(['cel-cost-exceeded', 'cel-Invalid']);
  });
});

describe('huge strings are charged by size, before they are built', () => {
  it.each([
    [
      'replace with an empty needle (1 MiB x 1 MiB)',
      "object.metadata.annotations.big.replace('', object.metadata.annotations.big).size() > 0",
    ],
    [
      'doubling in a comprehension',
      `${TEN}.map(i, object.metadata.annotations.big + object.metadata.annotations.big).size() > 0`,
    ],
    [
      'join of many long strings',
      `${TEN}.map(i, ${TEN}.map(j, object.metadata.annotations.big)).map(l, l.join(',')).size() > 0`,
    ],
    [
      'a regex scan repeated over the big string',
      `${TEN}.all(i, ${TEN}.all(j, ${TEN}.all(k, !object.metadata.annotations.big.matches('b'))))`,
    ],
  ])('%s', (_what, expression) => {
    const r = timed(expression);
    expect(r.codes).toEqual([expect.stringMatching(/^cel-(cost|time)-exceeded$/)]);
    expect(r.ms).toBeLessThan(PROMPT_MS);
  });

  it(`the cost limit is ${PER_EXPRESSION_COST_LIMIT} units`, () => {
    expect(
      timed("object.metadata.annotations.big.replace('', object.metadata.annotations.big).size() > 0")
        .messages[0],
    ).toContain(`exceeded its cost limit (${PER_EXPRESSION_COST_LIMIT})`);
  });
});

describe('regular expressions run in linear time (RE2)', () => {
  it.each([
    ['(a+)+$', 'nested quantifiers, catastrophic for a backtracking engine'],
    ['(a|a)*b', 'alternation of equals'],
    ['(a|aa)+$', 'overlapping alternation'],
    ['^(a?){64}a{64}$', 'the classic exponential case for backtracking'],
  ])('%s on a 1 MiB string: %s', (pattern) => {
    // a scan is charged (text length x pattern size) before it runs: refused unrun, or linear and quick
    const r = timed(`object.metadata.annotations.big.matches('${pattern}') || true`);
    expect(r.codes.every((c) => c === 'cel-cost-exceeded')).toBe(true);
    expect(r.ms).toBeLessThan(PER_REQUEST_TIME_LIMIT_MS);
  });

  it.each([
    ['(a+)+$', 64 * 1024],
    ['^(a?){64}a{64}$', 16 * 1024],
  ])(
    '%s on the longest string its cost admits runs in linear time, well inside the time limit',
    (pattern, length) => {
      const r = runValidations('r', validations(`object.s.matches('${pattern}') || true`), {
        ...inputs,
        object: celJson({ s: 'a'.repeat(length) }),
      });
      expect(r).toEqual([]);
    },
  );

  it('on a 16 KiB string, well inside the time limit', () => {
    const small = { ...inputs, object: celJson({ s: 'a'.repeat(16 * 1024) }) };
    const start = performance.now();
    const problems = runValidations(
      'r',
      validations("object.s.matches('(a+)+$') && object.s.matches('^(a?){64}a{64}')"),
      small,
    );
    expect(problems).toEqual([]);
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
  });
});

describe('the Kubernetes extension functions evaluate as documented', () => {
  it.each([
    ["'a1b22c333'.findAll('[0-9]+') == ['1', '22', '333']"],
    ["'a1b22c333'.findAll('[0-9]+', 2) == ['1', '22']"],
    ["'a1b22'.find('[0-9]{2}') == '22' && 'abc'.find('[0-9]') == ''"],
    ["'model-v2'.matches('^model-v[0-9]+$') && matches('x', 'x') && !'ab'.matches('^b')"],
    ['[1, 2, 3].isSorted() && !["b", "a"].isSorted()'],
    ['[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0 && [].sum() == 0'],
    ['[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && ["b", "a"].min() == "a"'],
    ['[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2 && [1].indexOf(5) == -1'],
    ["'Hello'.lowerAscii() == 'hello' && 'a,b'.split(',') == ['a', 'b'] && ' x '.trim() == 'x'"],
    ["'abc'.charAt(1) == 'b' && 'abc'.substring(1) == 'bc' && ['a', 'b'].join('-') == 'a-b'"],
    ["'%s=%d'.format(['a', 1]) == 'a=1' && strings.quote('a\"b') == '\"a\\\\\"b\"'"],
    ["timestamp('2026-01-01T00:00:00Z') + duration('24h') == timestamp('2026-01-02T00:00:00Z')"],
    ["duration('90m').getHours() == 1 && timestamp('2026-03-01T10:00:00Z').getMonth() == 2"],
  ])('%s', (expression) => {
    expect(timed(expression).codes).toEqual([]);
  });

  it('min() of an empty list is an error, a deny', () => {
    expect(timed('[].min() == 0').codes).toEqual(['cel-error']);
  });
});
