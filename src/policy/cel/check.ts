/**
 * The load-time check of a CEL expression. @bufbuild/cel parses and evaluates but its type checker
 * is not finished (0.6: constants and identifiers only), so this checks what a policy author gets
 * wrong: every name is an input, an iteration variable or a declared variable; every function
 * exists with an overload that takes the argument types known here (unknown = dyn matches all);
 * field selection only on maps; a validation is a bool, a messageExpression a string. Types follow
 * INPUTS (env.ts); what is dyn there is checked at run time, where a mismatch is an error (a deny).
 */
import { CelScalar, listType, mapType } from '@bufbuild/cel';
import type { CelType } from '@bufbuild/cel';
import type {
  Expr,
  Expr_Call,
  Expr_Comprehension,
  Expr_CreateStruct,
  Expr_Select,
} from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { FUNCTIONS, INPUTS } from './env.js';

const { BOOL, BYTES, DOUBLE, DYN, INT, NULL, STRING, TYPE, UINT } = CelScalar;

/** A type error at one node of the expression (its id maps to an offset in the text). */
export class CheckError extends Error {
  readonly exprId: bigint;
  constructor(exprId: bigint, message: string) {
    super(message);
    this.exprId = exprId;
  }
}

/** Names that denote types (`type(x) == string`). */
const TYPE_NAMES = new Set([
  'bool',
  'bytes',
  'double',
  'int',
  'uint',
  'string',
  'list',
  'map',
  'null_type',
  'type',
  'dyn',
]);

const OVERLOADS = new Map<string, (typeof FUNCTIONS)[number][]>();
for (const f of FUNCTIONS) OVERLOADS.set(f.name, [...(OVERLOADS.get(f.name) ?? []), f]);

type Scope = ReadonlyMap<string, CelType>;

export interface CheckEnv {
  /** Declared variables so far (`variables.NAME`), with their checked types. */
  variables: ReadonlyMap<string, CelType>;
}

function isDyn(t: CelType): boolean {
  return t.kind === 'scalar' && t.scalar === 'dyn';
}

/** Whether a value of type `actual` may be passed where `declared` is expected (dyn either side: yes). */
export function assignable(actual: CelType, declared: CelType): boolean {
  if (isDyn(actual) || isDyn(declared)) return true;
  if (actual.kind === 'scalar' && declared.kind === 'scalar') return actual.scalar === declared.scalar;
  if (actual.kind === 'list' && declared.kind === 'list') return assignable(actual.element, declared.element);
  if (actual.kind === 'map' && declared.kind === 'map')
    return assignable(actual.key, declared.key) && assignable(actual.value, declared.value);
  if (actual.kind === 'object' && declared.kind === 'object') return actual.name === declared.name;
  return false;
}

function same(a: CelType, b: CelType): boolean {
  return assignable(a, b) && assignable(b, a) && !isDyn(a) && !isDyn(b);
}

/** One type for several (list elements, branches): theirs when they agree, else dyn. */
function join(types: CelType[]): CelType {
  const [first] = types;
  if (first === undefined) return DYN;
  return types.every((t) => same(t, first)) ? first : DYN;
}

function typeName(t: CelType): string {
  if (t.kind === 'list') return `list(${typeName(t.element)})`;
  if (t.kind === 'map') return `map(${typeName(t.key)}, ${typeName(t.value)})`;
  return t.name;
}

function constType(e: Expr & { exprKind: { case: 'constExpr' } }): CelType {
  const byKind: Record<string, CelType> = {
    boolValue: BOOL,
    int64Value: INT,
    uint64Value: UINT,
    doubleValue: DOUBLE,
    stringValue: STRING,
    bytesValue: BYTES,
    nullValue: NULL,
  };
  return byKind[e.exprKind.value.constantKind.case ?? ''] ?? DYN;
}

/** The types of a comprehension's variables over `range` (one: element or key; two: index/key and value). */
function iterationTypes(range: CelType, two: boolean): [CelType, CelType] | undefined {
  if (range.kind === 'list') return two ? [INT, range.element] : [range.element, DYN];
  if (range.kind === 'map') return [range.key, range.value];
  return isDyn(range) ? [DYN, DYN] : undefined;
}

class Checker {
  private readonly env: CheckEnv;
  constructor(env: CheckEnv) {
    this.env = env;
  }

  check(e: Expr, scope: Scope): CelType {
    switch (e.exprKind.case) {
      case 'constExpr':
        return constType(e as Expr & { exprKind: { case: 'constExpr' } });
      case 'identExpr':
        return this.ident(e.id, e.exprKind.value.name, scope);
      case 'selectExpr':
        return this.select(e.id, e.exprKind.value, scope);
      case 'callExpr':
        return this.call(e.id, e.exprKind.value, scope);
      case 'listExpr':
        return listType(join(e.exprKind.value.elements.map((x) => this.check(x, scope))));
      case 'structExpr':
        return this.struct(e.id, e.exprKind.value, scope);
      case 'comprehensionExpr':
        return this.comprehension(e.id, e.exprKind.value, scope);
      default:
        throw new CheckError(e.id, 'invalid expression');
    }
  }

  private ident(id: bigint, name: string, scope: Scope): CelType {
    const t = scope.get(name) ?? (Object.hasOwn(INPUTS, name) ? INPUTS[name] : undefined);
    if (t !== undefined) return t;
    if (TYPE_NAMES.has(name)) return TYPE;
    throw new CheckError(id, `undeclared reference to '${name}' (inputs: ${Object.keys(INPUTS).join(', ')})`);
  }

  private select(id: bigint, { operand, field, testOnly }: Expr_Select, scope: Scope): CelType {
    if (operand === undefined) throw new CheckError(id, 'invalid field selection');
    if (
      operand.exprKind.case === 'identExpr' &&
      operand.exprKind.value.name === 'variables' &&
      !scope.has('variables')
    ) {
      const t = this.env.variables.get(field);
      if (t === undefined) {
        const known = [...this.env.variables.keys()];
        throw new CheckError(
          id,
          `undeclared variable '${field}' (declared before this: ${known.length > 0 ? known.join(', ') : 'none'})`,
        );
      }
      return testOnly ? BOOL : t;
    }
    const t = this.check(operand, scope);
    if (t.kind !== 'map' && !isDyn(t))
      throw new CheckError(id, `type '${typeName(t)}' has no field '${field}'`);
    if (testOnly) return BOOL;
    return t.kind === 'map' ? t.value : DYN;
  }

  private struct(id: bigint, s: Expr_CreateStruct, scope: Scope): CelType {
    if (s.messageName !== '') throw new CheckError(id, `message types are not available (${s.messageName})`);
    const keys: CelType[] = [];
    const values: CelType[] = [];
    for (const entry of s.entries) {
      if (entry.keyKind.case === 'mapKey') keys.push(this.check(entry.keyKind.value, scope));
      if (entry.value !== undefined) values.push(this.check(entry.value, scope));
    }
    const key = join(keys);
    return mapType(key.kind === 'scalar' ? (key as typeof STRING) : DYN, join(values));
  }

  private comprehension(id: bigint, c: Expr_Comprehension, scope: Scope): CelType {
    const { iterRange, accuInit, loopCondition, loopStep, result } = c;
    if (!iterRange || !accuInit || !loopCondition || !loopStep || !result)
      throw new CheckError(id, 'invalid comprehension');
    const range = this.check(iterRange, scope);
    const vars = iterationTypes(range, c.iterVar2 !== '');
    if (vars === undefined)
      throw new CheckError(iterRange.id, `cannot iterate over '${typeName(range)}' (a list or a map)`);
    const inner = new Map(scope);
    inner.set(c.iterVar, vars[0]);
    if (c.iterVar2 !== '') inner.set(c.iterVar2, vars[1]);
    const accu = this.check(accuInit, scope);
    inner.set(c.accuVar, accu.kind === 'list' ? listType(DYN) : accu);
    this.check(loopCondition, inner);
    this.check(loopStep, inner);
    return this.check(result, inner);
  }

  private call(id: bigint, c: Expr_Call, scope: Scope): CelType {
    const name = c.function;
    const qualified = this.qualifiedName(c, scope);
    if (qualified !== undefined)
      return this.overload(
        id,
        qualified,
        undefined,
        c.args.map((a) => this.check(a, scope)),
      );
    const args = c.args.map((a) => this.check(a, scope));
    const target = c.target === undefined ? undefined : this.check(c.target, scope);
    switch (name) {
      case '_&&_':
      case '_||_':
      case '!_':
        this.expect(c.args, args, BOOL, name);
        return BOOL;
      case '@not_strictly_false':
      case '__not_strictly_false__':
        return BOOL;
      case '_?_:_':
        this.expect(c.args.slice(0, 1), args.slice(0, 1), BOOL, 'the condition of ?:');
        return join(args.slice(1));
      case '_[_]':
        return this.index(id, args);
      default:
        return this.overload(id, name, target, args);
    }
  }

  /** `strings.quote(x)`: a namespaced function, when `strings` is no variable. */
  private qualifiedName(c: Expr_Call, scope: Scope): string | undefined {
    const t = c.target;
    if (t?.exprKind.case !== 'identExpr') return undefined;
    const base = t.exprKind.value.name;
    if (scope.has(base) || Object.hasOwn(INPUTS, base)) return undefined;
    const name = `${base}.${c.function}`;
    return OVERLOADS.has(name) ? name : undefined;
  }

  private expect(exprs: Expr[], types: CelType[], want: CelType, what: string): void {
    types.forEach((t, i) => {
      if (!assignable(t, want))
        throw new CheckError(exprs[i]?.id ?? 0n, `${what} takes ${typeName(want)}, got ${typeName(t)}`);
    });
  }

  private index(id: bigint, [operand, key]: CelType[]): CelType {
    if (operand === undefined || key === undefined) throw new CheckError(id, 'invalid index');
    if (operand.kind === 'list') {
      if (!assignable(key, INT) && !assignable(key, UINT))
        throw new CheckError(id, `a list index is an int, got ${typeName(key)}`);
      return operand.element;
    }
    if (operand.kind === 'map') {
      if (!assignable(key, operand.key))
        throw new CheckError(
          id,
          `a key of ${typeName(operand)} is ${typeName(operand.key)}, got ${typeName(key)}`,
        );
      return operand.value;
    }
    if (isDyn(operand)) return DYN;
    throw new CheckError(id, `type '${typeName(operand)}' cannot be indexed`);
  }

  private overload(id: bigint, name: string, target: CelType | undefined, args: CelType[]): CelType {
    const all = OVERLOADS.get(name);
    if (all === undefined) throw new CheckError(id, `undeclared reference to function '${name}'`);
    const shaped = all.filter(
      (f) => (f.target === undefined) === (target === undefined) && f.arguments.length === args.length,
    );
    const fits = shaped.filter(
      (f) =>
        (target === undefined || f.target === undefined || assignable(target, f.target)) &&
        f.arguments.every((p, i) => assignable(args[i] ?? DYN, p)),
    );
    if (fits.length === 0) {
      const on = target === undefined ? '' : `${typeName(target)}.`;
      throw new CheckError(
        id,
        `found no matching overload for '${name}' applied to ${on}(${args.map(typeName).join(', ')})`,
      );
    }
    return join(fits.map((f) => f.result));
  }
}

/** The type of an expression, or a CheckError at the node that is wrong. */
export function checkExpr(expr: Expr, env: CheckEnv): CelType {
  return new Checker(env).check(expr, new Map());
}

export { typeName, isDyn };
