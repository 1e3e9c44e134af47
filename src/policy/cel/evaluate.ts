/**
 * Run a rule's compiled variables and validations for one request. Every outcome is a value: a
 * validation that is false is a problem with its message; one that errors, exceeds its cost or
 * the request's time is a problem naming the rule and the expression (a deny in enforce mode),
 * never an exception and never the webhook's failure mode.
 */
import { isCelError } from '@bufbuild/cel';
import type { CelValue } from '@bufbuild/cel';
import type { Problem } from '../../manifest/types.js';
import type { Program } from './compile.js';
import {
  CostLimitError,
  Meter,
  PER_EXPRESSION_COST_LIMIT,
  PER_REQUEST_TIME_LIMIT_MS,
  withMeter,
} from './cost.js';

/** ValidatingAdmissionPolicy's reasons; recorded as the problem code `cel-<reason>`. */
export const VALIDATION_REASONS = ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'] as const;
export type ValidationReason = (typeof VALIDATION_REASONS)[number];

export interface CompiledVariable {
  name: string;
  program: Program;
}

export interface CompiledValidation {
  program: Program;
  message?: string;
  messageExpression?: Program;
  reason: ValidationReason;
}

export interface Validations {
  variables: CompiledVariable[];
  validations: CompiledValidation[];
}

export const CEL_CODES = {
  error: 'cel-error',
  costExceeded: 'cel-cost-exceeded',
  timeExceeded: 'cel-time-exceeded',
} as const;

/** Longest message a messageExpression may produce (the Event note holds 1 KiB in all). */
const MAX_MESSAGE = 1024;

/** Longest expression text quoted in a message. */
const QUOTE_MAX = 120;

/**
 * Longest evaluation error quoted in a message: the evaluator's errors quote values
 * (`field not found: KEY`, `Cannot convert TEXT`), and those come from the attacker's object.
 */
const ERROR_MAX = 256;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function quote(text: string): string {
  return cut(text.replace(/\s+/g, ' ').trim(), QUOTE_MAX);
}

type Outcome = { value: CelValue } | { error: string } | { stopped: 'cost' | 'time' };

function run(meter: Meter, program: Program, bindings: Record<string, unknown>): Outcome {
  meter.reset(PER_EXPRESSION_COST_LIMIT);
  let result;
  try {
    result = withMeter(meter, () => program.run(bindings));
  } catch (err) {
    // the evaluator turns exceptions into errors; this is the backstop that keeps the promise
    if (err instanceof CostLimitError) return { stopped: err.reason };
    return { error: err instanceof Error ? err.message : String(err) };
  }
  if (meter.stopped !== undefined) return { stopped: meter.stopped };
  if (isCelError(result)) return { error: result.message };
  return { value: result };
}

function stopProblem(rule: string, what: string, text: string, stopped: 'cost' | 'time'): Problem {
  const limit =
    stopped === 'cost'
      ? { code: CEL_CODES.costExceeded, why: `exceeded its cost limit (${PER_EXPRESSION_COST_LIMIT})` }
      : {
          code: CEL_CODES.timeExceeded,
          why: `exceeded the time limit (${PER_REQUEST_TIME_LIMIT_MS} ms per request)`,
        };
  return {
    code: limit.code,
    path: '',
    message: `rule "${rule}": ${what} (${quote(text)}) ${limit.why}: simplify the expression (smaller comprehensions, no nesting over large lists)`,
  };
}

function errorProblem(rule: string, what: string, text: string, error: string): Problem {
  return {
    code: CEL_CODES.error,
    path: '',
    message: `rule "${rule}": ${what} (${quote(text)}) failed to evaluate: ${cut(error, ERROR_MAX)}`,
  };
}

function failureMessage(meter: Meter, v: CompiledValidation, bindings: Record<string, unknown>): string {
  if (v.messageExpression !== undefined) {
    const out = run(meter, v.messageExpression, bindings);
    if ('value' in out && typeof out.value === 'string' && out.value.trim() !== '')
      return cut(out.value, MAX_MESSAGE);
  }
  return v.message ?? `failed expression: ${quote(v.program.text)}`;
}

/** The problems of one rule's validations for one request's inputs (none when all hold). */
export function runValidations(rule: string, spec: Validations, inputs: Record<string, unknown>): Problem[] {
  if (spec.validations.length === 0) return [];
  const meter = new Meter(PER_EXPRESSION_COST_LIMIT, performance.now() + PER_REQUEST_TIME_LIMIT_MS);
  const variables = new Map<string, CelValue>(); // a Map: a variable may be named __proto__
  const bindings = { ...inputs, variables };
  for (const variable of spec.variables) {
    const what = `variable "${variable.name}"`;
    const out = run(meter, variable.program, bindings);
    if ('stopped' in out) return [stopProblem(rule, what, variable.program.text, out.stopped)];
    if ('error' in out) return [errorProblem(rule, what, variable.program.text, out.error)];
    variables.set(variable.name, out.value);
  }
  const problems: Problem[] = [];
  for (const [i, v] of spec.validations.entries()) {
    const what = `validation ${i + 1}`;
    const out = run(meter, v.program, bindings);
    if ('stopped' in out) {
      problems.push(stopProblem(rule, what, v.program.text, out.stopped));
      if (out.stopped === 'time') break;
    } else if ('error' in out) {
      problems.push(errorProblem(rule, what, v.program.text, out.error));
    } else if (out.value !== true) {
      const message = out.value === false ? failureMessage(meter, v, bindings) : undefined;
      problems.push(
        message === undefined
          ? errorProblem(rule, what, v.program.text, `evaluated to a ${typeof out.value}, not a bool`)
          : { code: `cel-${v.reason}`, path: '', message: `rule "${rule}": ${message}` },
      );
    }
  }
  return problems;
}
