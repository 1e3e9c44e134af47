/**
 * Compile a CEL expression once, when the policy loads: parse, check (check.ts), refuse constant
 * regular expressions RE2 refuses, and plan it for evaluation with every comprehension step
 * metered (cost.ts). Errors carry the line and column inside the expression text.
 */
import { parse, plan } from '@bufbuild/cel';
import type { CelResult, CelType } from '@bufbuild/cel';
import { create } from '@bufbuild/protobuf';
import { ExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import type { Expr, ParsedExpr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { CheckError, checkExpr, isDyn, typeName } from './check.js';
import type { CheckEnv } from './check.js';
import { ENV } from './env.js';
import { REGEX_FUNCTIONS, STEP_FUNCTION, loadRegex } from './functions.js';

/**
 * Longest expression text: ValidatingAdmissionPolicy's own limit is 5 KiB of expression; the
 * parser and checker recurse per nesting level, and this keeps that depth far from the stack's.
 */
export const MAX_EXPRESSION_LENGTH = 5120;

/** A position inside the expression text, 1-based like the policy file's. */
export interface ExpressionError {
  line: number;
  column: number;
  message: string;
}

export interface Program {
  text: string;
  type: CelType;
  /** Label names it reads by constant (labels['x'], labels.x, 'x' in labels): the policy reads them. */
  labels: string[];
  run(bindings: Record<string, unknown>): CelResult;
}

export type CompileResult = { ok: true; program: Program } | { ok: false; error: ExpressionError };

/** What the expression must evaluate to: a validation's bool, a messageExpression's string, anything. */
export type Want = 'bool' | 'string' | 'any';

function position(text: string, offset: number): { line: number; column: number } {
  const chars = [...text];
  let line = 1;
  let column = 1;
  for (let i = 0; i < Math.min(offset, chars.length); i++) {
    if (chars[i] === '\n') [line, column] = [line + 1, 1];
    else column++;
  }
  return { line, column };
}

function errorAt(text: string, parsed: ParsedExpr, id: bigint, message: string): ExpressionError {
  const offset = parsed.sourceInfo?.positions[id.toString()] ?? 0;
  return { ...position(text, offset), message };
}

function children(e: Expr): Expr[] {
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      return k.value.operand ? [k.value.operand] : [];
    case 'callExpr':
      return [...(k.value.target ? [k.value.target] : []), ...k.value.args];
    case 'listExpr':
      return k.value.elements;
    case 'structExpr':
      return k.value.entries.flatMap((x) => [
        ...(x.keyKind.case === 'mapKey' ? [x.keyKind.value] : []),
        ...(x.value ? [x.value] : []),
      ]);
    case 'comprehensionExpr': {
      const c = k.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].filter(
        (x): x is Expr => x !== undefined,
      );
    }
    default:
      return [];
  }
}

/** Every node, iteratively (no recursion on hostile depth). */
function nodes(root: Expr): Expr[] {
  const out: Expr[] = [];
  const stack = [root];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    out.push(e);
    stack.push(...children(e));
  }
  return out;
}

function isLabels(e: Expr | undefined): boolean {
  return e?.exprKind.case === 'identExpr' && e.exprKind.value.name === 'labels';
}

function constString(e: Expr | undefined): string | undefined {
  const k = e?.exprKind;
  return k?.case === 'constExpr' && k.value.constantKind.case === 'stringValue'
    ? k.value.constantKind.value
    : undefined;
}

/** The label names an expression reads by constant (an iteration variable named labels would only add names). */
function labelsRead(root: Expr): string[] {
  const names = new Set<string>();
  for (const e of nodes(root)) {
    const k = e.exprKind;
    if (k.case === 'selectExpr' && isLabels(k.value.operand)) names.add(k.value.field);
    if (k.case !== 'callExpr') continue;
    const [a, b] = k.value.args;
    const name =
      k.value.function === '_[_]' && isLabels(a)
        ? constString(b)
        : k.value.function === '@in' && isLabels(b)
          ? constString(a)
          : undefined;
    if (name !== undefined) names.add(name);
  }
  return [...names];
}

/** A constant pattern RE2 refuses (backreference, lookaround, repeat over 1000) fails at load. */
function badRegex(root: Expr): { id: bigint; message: string } | undefined {
  for (const e of nodes(root)) {
    if (e.exprKind.case !== 'callExpr' || !REGEX_FUNCTIONS.has(e.exprKind.value.function)) continue;
    const { target, args } = e.exprKind.value;
    const pattern = (target === undefined ? args[1] : args[0])?.exprKind;
    if (pattern?.case !== 'constExpr' || pattern.value.constantKind.case !== 'stringValue') continue;
    try {
      loadRegex(pattern.value.constantKind.value);
    } catch (err) {
      return { id: e.id, message: `invalid regular expression (RE2 syntax): ${(err as Error).message}` };
    }
  }
  return undefined;
}

/** Every comprehension's loop condition also charges the meter: one unit per step. */
function meterLoops(root: Expr): void {
  for (const e of nodes(root)) {
    if (e.exprKind.case !== 'comprehensionExpr') continue;
    const c = e.exprKind.value;
    if (c.loopCondition === undefined) continue;
    c.loopCondition = create(ExprSchema, {
      id: c.loopCondition.id,
      exprKind: { case: 'callExpr', value: { function: STEP_FUNCTION, args: [c.loopCondition] } },
    });
  }
}

function parseError(text: string, err: unknown): ExpressionError {
  const loc = (err as { location?: { start?: { line?: number; column?: number } } }).location?.start;
  const raw = err instanceof RangeError ? 'expression nested too deeply' : (err as Error).message;
  // the parser prefixes "<input>:L:C: ", which the policy file's own position replaces
  const message = raw.replace(/^<input>:\d+:\d+: /, '');
  return { line: loc?.line ?? 1, column: loc?.column ?? 1, message: `syntax error: ${message}` };
}

function wrongType(want: Want, got: CelType): string | undefined {
  if (want === 'any' || isDyn(got)) return undefined;
  if (got.kind === 'scalar' && got.scalar === want) return undefined;
  return `must evaluate to ${want}, but its type is ${typeName(got)}`;
}

/** Compile one expression; `env` holds the variables declared before it. */
export function compileExpression(text: string, want: Want, env: CheckEnv): CompileResult {
  if (text.length > MAX_EXPRESSION_LENGTH)
    return {
      ok: false,
      error: { line: 1, column: 1, message: `longer than ${MAX_EXPRESSION_LENGTH} characters` },
    };
  let parsed: ParsedExpr & { expr: Expr };
  try {
    parsed = parse(text);
  } catch (err) {
    return { ok: false, error: parseError(text, err) };
  }
  let type: CelType;
  try {
    type = checkExpr(parsed.expr, env);
  } catch (err) {
    if (err instanceof CheckError)
      return { ok: false, error: errorAt(text, parsed, err.exprId, err.message) };
    if (err instanceof RangeError)
      return { ok: false, error: { line: 1, column: 1, message: 'expression nested too deeply' } };
    throw err;
  }
  const wrong = wrongType(want, type);
  if (wrong !== undefined) return { ok: false, error: { line: 1, column: 1, message: wrong } };
  const regex = badRegex(parsed.expr);
  if (regex !== undefined) return { ok: false, error: errorAt(text, parsed, regex.id, regex.message) };
  const labels = labelsRead(parsed.expr);
  meterLoops(parsed.expr);
  const run = plan(ENV, parsed) as (bindings: Record<string, unknown>) => CelResult;
  return { ok: true, program: { text, type, labels, run } };
}
