/**
 * The functions a CEL validation may call: CEL's standard library (from @bufbuild/cel), the strings
 * extension, and the Kubernetes extension functions a ValidatingAdmissionPolicy author expects that
 * the library lacks: lists (isSorted, sum, min, max, indexOf, lastIndexOf) and regex (find, findAll).
 * Every regular expression, `matches` included, runs on one linear-time RE2 engine (re2js): no
 * backtracking, so no pattern or input makes it exponential, and RE2 refuses backreferences,
 * lookaround and repeat counts over 1000 when the pattern compiles.
 */
import { CelScalar, celFunc, celList, celMethod, listType } from '@bufbuild/cel';
import type { CelFunc, CelList, CelValue } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { RE2JS } from 're2js';
import { firstUse } from './cost.js';

const { BOOL, DYN, INT, STRING } = CelScalar;
const LIST = listType(DYN);
const LIST_STRING = listType(STRING);

/** Called on every comprehension step (compile.ts wraps each loop condition in it): the step's cost. */
export const STEP_FUNCTION = '@modelgate_step';

// ---- regex

/** The policy's constant patterns, compiled at load (compile.ts): kept for the process's life. */
const CONSTANT_PATTERNS = new Map<string, RE2JS>();
/** Patterns built at run time; a hostile request's may be many: bounded. */
const PATTERNS = new Map<string, RE2JS>();
const MAX_CACHED_PATTERNS = 256;

/** Compile a pattern written in the policy, at load; an invalid pattern throws RE2's own message. */
export function loadRegex(pattern: string): RE2JS {
  let re = CONSTANT_PATTERNS.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern);
    CONSTANT_PATTERNS.set(pattern, re);
  }
  return re;
}

/** Compile with the one regex engine; an invalid pattern throws RE2's own message. */
export function compileRegex(pattern: string): RE2JS {
  let re = CONSTANT_PATTERNS.get(pattern) ?? PATTERNS.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern);
    if (PATTERNS.size >= MAX_CACHED_PATTERNS) PATTERNS.clear();
    PATTERNS.set(pattern, re);
  }
  return re;
}

/**
 * Cost units per character of a pattern built at run time, charged before it is compiled (once
 * per request and pattern). A compile is not interruptible and re2js admits programs of up to
 * 1.4 million instructions: `a{1000}` repeated 1,390 times (9.7 KB) took 3.4 s and 226 MB to
 * compile here. At most ~143 instructions per character of pattern (`x{1000}`), at ~2.4 µs each,
 * is ~340 µs per character: 8,192 units (1,000,000 units of scanning took at most 41 ms), so one
 * expression compiles at most ~120 characters of new pattern. The policy's own constant patterns
 * were compiled at load and cost nothing here.
 */
const COMPILE_UNITS_PER_CHAR = 8192;

/**
 * The price of a regex scan, per character of text: (REGEX_CHAR_BASE + the pattern's size) /
 * REGEX_WORK_PER_UNIT units. re2js's scan is linear in the text, but not cheap: measured here (2
 * loaded cores) up to ~300 ns per character for the smallest patterns (`(a+)+$`, `(?i)a.{12}b`),
 * growing with the pattern (an image-reference pattern of 358 instructions: 393-531 ns). So priced,
 * the longest scan one expression's budget (1,000,000 units) admits took at most 41 ms here, over
 * 17 patterns and 5 shapes of text; an honest image (100 characters) against that image-reference
 * pattern costs ~5,000 units, and a 1 MiB string against it is refused before it runs.
 */
const REGEX_CHAR_BASE = 32;
const REGEX_WORK_PER_UNIT = 8;

/** The size of a pattern as a scan pays for it: its text or its compiled program, the larger. */
function regexSize(pattern: string): number | undefined {
  try {
    return Math.max(pattern.length, compileRegex(pattern).programSize());
  } catch {
    return undefined; // the call itself reports RE2's refusal
  }
}

/** The functions that run a regular expression (compile.ts checks their constant patterns at load). */
export const REGEX_FUNCTIONS: ReadonlySet<string> = new Set(['matches', 'find', 'findAll']);

/** The text and the pattern of a regex call (a method, `s.matches(p)`, or a function, `matches(s, p)`). */
function regexOperands(
  name: string,
  target: unknown,
  args: readonly unknown[],
): [string, string] | undefined {
  if (!REGEX_FUNCTIONS.has(name)) return undefined;
  const [text, pattern] = target === undefined ? args : [target, args[0]];
  return typeof text === 'string' && typeof pattern === 'string' ? [text, pattern] : undefined;
}

/**
 * Cost units of compiling the pattern of a regex call, charged before it is compiled: 0 for the
 * policy's constant patterns, and for a pattern this request already paid for.
 */
export function regexCompileUnits(name: string, target: unknown, args: readonly unknown[]): number {
  const pattern = regexOperands(name, target, args)?.[1];
  if (pattern === undefined || CONSTANT_PATTERNS.has(pattern) || !firstUse(pattern)) return 0;
  return pattern.length * COMPILE_UNITS_PER_CHAR;
}

/**
 * Cost units of the scan a regex call will do, charged before it runs (one call cannot be
 * interrupted): by the text's length times the pattern's size (the Kubernetes estimator multiplies
 * them too). 0 for any other call, or a pattern RE2 refuses.
 */
export function regexUnits(name: string, target: unknown, args: readonly unknown[]): number {
  const operands = regexOperands(name, target, args);
  if (operands === undefined) return 0;
  const [text, pattern] = operands;
  const size = regexSize(pattern);
  return size === undefined ? 0 : Math.ceil((text.length * (REGEX_CHAR_BASE + size)) / REGEX_WORK_PER_UNIT);
}

function matches(text: string, pattern: string): boolean {
  return compileRegex(pattern).matcher(text).find();
}

function find(text: string, pattern: string): string {
  const m = compileRegex(pattern).matcher(text);
  return m.find() ? (m.group() ?? '') : '';
}

function findAll(text: string, pattern: string, limit = -1n): string[] {
  const m = compileRegex(pattern).matcher(text);
  const out: string[] = [];
  while ((limit < 0n || BigInt(out.length) < limit) && m.find()) out.push(m.group() ?? '');
  return out;
}

// ---- strings

/**
 * `replace` in linear time. The library's rebuilds the whole string at every occurrence (a
 * substring of a rope flattens it): 'x' replaced in a 3 MiB string of x's ran for minutes. Go's
 * semantics, as cel-go: a negative count replaces all; an empty needle matches at the start and
 * after each character.
 */
function replace(text: string, from: string, to: string, limit = -1n): string {
  let left = limit < 0n ? Infinity : Number(limit);
  let out = '';
  if (from === '') {
    for (const char of text) {
      if (left-- > 0) out += to;
      out += char;
    }
    return left > 0 ? out + to : out;
  }
  let at = 0;
  for (let i = text.indexOf(from); i !== -1 && left-- > 0; i = text.indexOf(from, at)) {
    out += text.slice(at, i) + to;
    at = i + from.length;
  }
  return out + text.slice(at);
}

// ---- lists (the Kubernetes library: comparable elements are ints, uints, doubles or strings)

type Comparable = bigint | number | string;

function comparable(v: CelValue): Comparable {
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && 'value' in v && typeof v.value === 'bigint') return v.value;
  throw new Error(`list element of type ${typeof v} is not comparable`);
}

function compare(a: CelValue, b: CelValue): number {
  const x = comparable(a);
  const y = comparable(b);
  if ((typeof x === 'string') !== (typeof y === 'string')) throw new Error('list elements of mixed types');
  return x < y ? -1 : x > y ? 1 : 0;
}

function isSorted(list: CelList): boolean {
  let prev: CelValue | undefined;
  for (const v of list) {
    if (prev !== undefined && compare(prev, v) > 0) return false;
    prev = v;
  }
  return true;
}

function extreme(list: CelList, sign: 1 | -1): CelValue {
  let best: CelValue | undefined;
  for (const v of list) if (best === undefined || compare(v, best) * sign > 0) best = v;
  if (best === undefined) throw new Error('min/max of an empty list');
  return best;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** The sum, an int64 like every CEL int: past its range an error, as `+` is, never a larger number. */
function sum(list: CelList): bigint | number {
  let ints = 0n;
  let doubles = 0;
  let sawDouble = false;
  for (const v of list) {
    if (typeof v === 'bigint') ints += v;
    else if (typeof v === 'number') [doubles, sawDouble] = [doubles + v, true];
    else throw new Error('sum() takes a list of ints or doubles');
  }
  if (!sawDouble && (ints > INT64_MAX || ints < INT64_MIN)) throw new Error('int overflow during sum()');
  return sawDouble ? doubles + Number(ints) : ints;
}

/** Index of the first (or last) element equal to `x` under CEL equality, or -1. */
function indexIn(
  list: CelList,
  x: CelValue,
  equal: (a: CelValue, b: CelValue) => boolean,
  last: boolean,
): bigint {
  const items = [...list];
  for (let i = 0; i < items.length; i++) {
    const at = last ? items.length - 1 - i : i;
    if (equal(items[at] as CelValue, x)) return BigInt(at);
  }
  return -1n;
}

/** Every function besides the standard library; `equal` is CEL's own `==` (from the environment). */
export function extensionFunctions(equal: (a: CelValue, b: CelValue) => boolean): CelFunc[] {
  return [
    ...strings.filter((f) => f.name !== 'replace'),
    celMethod('replace', STRING, [STRING, STRING], STRING, function (this: string, from: string, to: string) {
      return replace(this, from, to);
    }),
    celMethod(
      'replace',
      STRING,
      [STRING, STRING, INT],
      STRING,
      function (this: string, from: string, to: string, n: bigint) {
        return replace(this, from, to, n);
      },
    ),
    celMethod('matches', STRING, [STRING], BOOL, function (this: string, p: string) {
      return matches(this, p);
    }),
    celFunc('matches', [STRING, STRING], BOOL, matches),
    celMethod('find', STRING, [STRING], STRING, function (this: string, p: string) {
      return find(this, p);
    }),
    celMethod('findAll', STRING, [STRING], LIST_STRING, function (this: string, p: string) {
      return celList(findAll(this, p));
    }),
    celMethod('findAll', STRING, [STRING, INT], LIST_STRING, function (this: string, p: string, n: bigint) {
      return celList(findAll(this, p, n));
    }),
    celMethod('isSorted', LIST, [], BOOL, function (this: CelList) {
      return isSorted(this);
    }),
    celMethod('sum', LIST, [], DYN, function (this: CelList) {
      return sum(this);
    }),
    celMethod('min', LIST, [], DYN, function (this: CelList) {
      return extreme(this, -1);
    }),
    celMethod('max', LIST, [], DYN, function (this: CelList) {
      return extreme(this, 1);
    }),
    celMethod('indexOf', LIST, [DYN], INT, function (this: CelList, x: CelValue) {
      return indexIn(this, x, equal, false);
    }),
    celMethod('lastIndexOf', LIST, [DYN], INT, function (this: CelList, x: CelValue) {
      return indexIn(this, x, equal, true);
    }),
    celFunc(STEP_FUNCTION, [DYN], DYN, (x: CelValue) => x),
  ];
}
