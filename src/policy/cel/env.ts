/**
 * The CEL environment of a policy's validations: the inputs they read (docs/policy.md#validations-cel),
 * every function they may call, and the metering of each call (cost.ts). Built once per process.
 */
import {
  CelScalar,
  celEnv,
  celError,
  isCelError,
  isCelList,
  isCelMap,
  listType,
  mapType,
  objectType,
} from '@bufbuild/cel';
import type { CelEnv, CelResult, CelType, CelValue } from '@bufbuild/cel';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { LARGE_CALL, charge, checkClock, unitsFor } from './cost.js';
import { extensionFunctions, regexCompileUnits, regexUnits } from './functions.js';

const { DYN, STRING } = CelScalar;
const OBJECT = mapType(STRING, DYN);
export const TIMESTAMP = objectType(TimestampSchema);

/** The inputs every validation and variable may read, and their types for the load-time check. */
export const INPUTS: Readonly<Record<string, CelType>> = {
  object: OBJECT,
  oldObject: DYN,
  request: OBJECT,
  models: listType(OBJECT),
  labels: mapType(STRING, STRING),
  now: TIMESTAMP,
  variables: OBJECT,
};

interface FuncGroup {
  call(id: number, target: CelValue | undefined, args: CelValue[]): CelResult | undefined;
}

interface FuncResolver extends Iterable<CelEnv['funcs'] extends Iterable<infer F> ? F : never> {
  find(name: string): FuncGroup | undefined;
}

/** Characters, bytes or entries a value holds at its top level: what a call on it may touch. */
export function sizeOf(v: CelValue | undefined): number {
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (isCelList(v)) return v.size;
  if (isCelMap(v)) return v.size;
  return 0;
}

/**
 * What a call will build, charged before it runs where the output can be much larger than the
 * inputs: `replace` (an empty needle inserts between every character), `join` (of many long
 * strings), `format`.
 */
/** Characters per unit are 32; `replace('', x)` is charged a unit per character of its input. */
const EMPTY_NEEDLE_CHAR = 32;

function outputEstimate(name: string, target: CelValue | undefined, args: CelValue[]): number {
  if (name === 'replace' && typeof target === 'string') {
    const [from, to] = args;
    if (typeof from === 'string' && from.length > 0) return (target.length / from.length) * sizeOf(to);
    // an empty needle walks every character (~200 ns each): a unit per character besides the output
    return (target.length + 1) * (sizeOf(to) + EMPTY_NEEDLE_CHAR);
  }
  if ((name === 'join' || name === 'format') && isCelList(name === 'join' ? target : args[0])) {
    let total = 0;
    for (const item of (name === 'join' ? target : args[0]) as Iterable<CelValue>) total += sizeOf(item) + 1;
    return total * (name === 'join' ? 1 + sizeOf(args[0]) : 1);
  }
  return 0;
}

function metered(name: string, group: FuncGroup): FuncGroup {
  return {
    call(id, target, args) {
      let size = sizeOf(target) + outputEstimate(name, target, args);
      for (const a of args) size += sizeOf(a);
      charge(unitsFor(size) + regexCompileUnits(name, target, args));
      const scan = regexUnits(name, target, args); // compiles the pattern, paid for above
      if (scan > 0) charge(scan);
      const result = group.call(id, target, args);
      if (result !== undefined && !isCelError(result)) charge(unitsFor(sizeOf(result)) - 1);
      if (size >= LARGE_CALL || scan >= LARGE_CALL) checkClock();
      return result;
    },
  };
}

/** Conversions from a string that are pure and, with a constant argument, repeated every request. */
const MEMOIZED = new Set(['duration', 'timestamp']);
const MAX_MEMOIZED = 256;

/** `duration('720h')` parses its text once, not on every evaluation (30 µs of a 60 µs policy). */
function memoized(group: FuncGroup): FuncGroup {
  const cache = new Map<string, CelResult>();
  return {
    call(id, target, args) {
      const [text] = args;
      if (target !== undefined || args.length !== 1 || typeof text !== 'string')
        return group.call(id, target, args);
      const known = cache.get(text);
      if (known !== undefined) return known;
      const result = group.call(id, target, args);
      if (result === undefined || isCelError(result)) return result;
      if (cache.size >= MAX_MEMOIZED) cache.clear();
      cache.set(text, result);
      return result;
    },
  };
}

/**
 * CEL's syntax for a number or a duration in a string (cel-go: base-10 strconv.ParseInt,
 * ParseUint, ParseFloat; time.ParseDuration). The library's conversions are JavaScript's:
 * `int('')` is 0, `int(' 0x10 ')` 16, `double('')` 0, `duration('')` 0s. A string from the
 * attacker's object that is no such value must be an error (a deny), never a value a check passes.
 */
const STRING_SYNTAX: Readonly<Record<string, RegExp>> = {
  int: /^[+-]?[0-9]+$/,
  uint: /^\+?[0-9]+$/,
  double: /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/,
  duration: /^[+-]?(?:0|(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|ms|s|m|h))+)$/,
};

function strictString(name: string, syntax: RegExp, group: FuncGroup): FuncGroup {
  return {
    call(id, target, args) {
      const [text] = args;
      if (target === undefined && args.length === 1 && typeof text === 'string' && !syntax.test(text))
        return celError(`cannot convert "${text.slice(0, 64)}" to ${name}: not in CEL's syntax`, id);
      return group.call(id, target, args);
    },
  };
}

/** A function group as evaluation calls it: strict and memoised where that matters, then metered. */
function wrapped(name: string, group: FuncGroup): FuncGroup {
  let inner = group;
  const syntax = Object.hasOwn(STRING_SYNTAX, name) ? STRING_SYNTAX[name] : undefined;
  if (syntax !== undefined) inner = strictString(name, syntax, inner);
  if (MEMOIZED.has(name)) inner = memoized(inner);
  return metered(name, inner);
}

function meteredResolver(inner: FuncResolver): FuncResolver {
  const groups = new Map<string, FuncGroup | undefined>();
  return {
    [Symbol.iterator]: () => inner[Symbol.iterator](),
    find(name) {
      if (!groups.has(name)) {
        const group = inner.find(name);
        groups.set(name, group && wrapped(name, group));
      }
      return groups.get(name);
    },
  };
}

function build(): { env: CelEnv; plain: CelEnv } {
  const holder: { equals?: FuncGroup } = {};
  const equal = (a: CelValue, b: CelValue): boolean => holder.equals?.call(0, undefined, [a, b]) === true;
  const plain = celEnv({ variables: INPUTS, funcs: extensionFunctions(equal) });
  const funcs = plain.funcs as unknown as FuncResolver;
  holder.equals = funcs.find('_==_');
  const env = {
    namespace: plain.namespace,
    registry: plain.registry,
    variables: plain.variables,
    funcs: meteredResolver(funcs),
  } as unknown as CelEnv;
  return { env, plain };
}

const BUILT = build();

/** The environment validations are planned in: every call metered. */
export const ENV: CelEnv = BUILT.env;

/** Every function overload, for the load-time check. */
export const FUNCTIONS = [...BUILT.plain.funcs];
