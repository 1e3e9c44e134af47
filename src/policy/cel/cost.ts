/**
 * Runtime cost accounting for CEL validations. The evaluator (@bufbuild/cel) has no cost limit of
 * its own, and a timer cannot interrupt synchronous code, so the cost is counted inside evaluation:
 * every function call (operators too) and every comprehension step charges the meter of the
 * evaluation in progress (env.ts wraps them), and the meter reads the clock every few charges.
 * Past either limit the meter throws, and keeps throwing on every later charge, so the evaluation
 * unwinds; the caller reads `stopped` afterwards, whatever value CEL's error-absorbing `||` and
 * `&&` made of it, and denies.
 */

/** Per expression, like the Kubernetes API server's per-call limit for ValidatingAdmissionPolicy. */
export const PER_EXPRESSION_COST_LIMIT = 1_000_000;
/**
 * Per request, for every variable and validation of the rule together: the backstop for work the
 * cost units do not see (one call is not interruptible; equality on nested values is charged by
 * their top-level size). The API server waits at most the webhook's timeoutSeconds for the whole
 * decision; real policies take microseconds (bench/cel.ts: 20 validations, ~0.06 ms). Not tighter:
 * the clock also counts what is not the expression (a garbage-collection pause, a descheduled
 * process); at 50 ms, 1 in ~50,000 bench decisions on a loaded 2-core machine was refused so.
 */
export const PER_REQUEST_TIME_LIMIT_MS = 250;
/** Characters (or list/map entries) per cost unit: a scan over 32 characters costs what one call does. */
const UNIT_SIZE = 32;
/** Read the clock once every this many charges (performance.now() is ~40 ns; a charge is ~1 ns). */
const CLOCK_EVERY = 16;

export type StopReason = 'cost' | 'time';

export class CostLimitError extends Error {
  readonly reason: StopReason;
  constructor(reason: StopReason) {
    super(reason === 'cost' ? 'cost limit exceeded' : 'time limit exceeded');
    this.reason = reason;
  }
}

export class Meter {
  spent = 0;
  private charges = 0;
  stopped: StopReason | undefined;
  private limit: number;
  readonly deadline: number;
  private readonly used = new Set<string>();

  constructor(limit: number, deadline: number) {
    this.limit = limit;
    this.deadline = deadline;
  }

  /** A new expression starts with a fresh cost budget; the request's deadline (and a time stop) stays. */
  reset(limit: number): void {
    this.spent = 0;
    this.limit = limit;
    if (this.stopped === 'cost') this.stopped = undefined;
  }

  charge(units: number): void {
    if (this.stopped !== undefined) throw new CostLimitError(this.stopped);
    this.spent += units;
    if (this.spent > this.limit) this.stop('cost');
    if (++this.charges % CLOCK_EVERY === 0 && performance.now() > this.deadline) this.stop('time');
  }

  /** Whether this request meets `key` for the first time (a pattern it compiles: paid for once). */
  firstUse(key: string): boolean {
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }

  /** After a call that touched a lot (one call is not interruptible): is the request out of time? */
  checkClock(): void {
    if (this.stopped === undefined && performance.now() > this.deadline) this.stop('time');
  }

  private stop(reason: StopReason): never {
    this.stopped = reason;
    throw new CostLimitError(reason);
  }
}

/** The meter of the evaluation in progress: evaluation is synchronous, so one at a time. */
let current: Meter | undefined;

/** Run `fn` with `meter` charged by every call and comprehension step inside it. */
export function withMeter<T>(meter: Meter, fn: () => T): T {
  const outer = current;
  current = meter;
  try {
    return fn();
  } finally {
    current = outer;
  }
}

/** Charge the evaluation in progress (outside one, e.g. at load, nothing is counted). */
export function charge(units: number): void {
  current?.charge(units);
}

/** Whether the evaluation in progress meets `key` for the first time in its request (outside one: no). */
export function firstUse(key: string): boolean {
  return current?.firstUse(key) ?? false;
}

/** Calls touching at least this many characters or entries read the clock when they return. */
export const LARGE_CALL = 4096;

/** After a large call: the evaluation in progress stops if it is past its deadline. */
export function checkClock(): void {
  current?.checkClock();
}

/** Cost units for touching `size` characters or entries: at least one per call. */
export function unitsFor(size: number): number {
  return 1 + Math.floor(size / UNIT_SIZE);
}
