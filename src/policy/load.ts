import { readFile } from 'node:fs/promises';
import { ANNOTATIONS, API_VERSION } from '../vocabulary/keys.js';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { POD_KINDS, defaultPolicy, defaultRule } from './defaults.js';
import { parseDuration } from './duration.js';
import { groupNameProblem, parsePrincipal } from './principals.js';
import { VALUE_DEFS, objectSchema, policyDocument, ref, withDoc } from './schema.js';
import type { FieldDoc, JsonSchema } from './schema.js';
import type { LabelRequirement, Mode, Policy, Rule } from './types.js';
import { compileExpression } from './cel/compile.js';
import type { Program, Want } from './cel/compile.js';
import type { CheckEnv } from './cel/check.js';
import { VALIDATION_REASONS } from './cel/evaluate.js';
import type { CompiledValidation, CompiledVariable, ValidationReason } from './cel/evaluate.js';
import { expressionOffset } from './cel/position.js';
import type { ScalarStyle } from './cel/position.js';
import { isValidKeyId } from '../keys/keyring.js';
import { compileOmsAuthority, PUBLIC_GOOD, type OmsAuthorityDraft } from '../oms/authorities.js';
import { OMS_METHODS, type OmsAuthority } from '../oms/types.js';

const BREAK_GLASS_ANNOTATION: string = ANNOTATIONS.breakGlass;

/** One thing wrong with a policy file, with where (1-based line and column) and which field. */
export interface PolicyError {
  line: number;
  column: number;
  path: string;
  message: string;
}

export type PolicyLoadResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

export const POLICY_API_VERSION = API_VERSION;
export const POLICY_KIND = 'Policy';
const MODES: readonly Mode[] = ['enforce', 'warn', 'audit'];
/** Fields every policy file states. */
const HEADER_FIELDS = ['apiVersion', 'kind'] as const;

/** A value in the document (null when the key has no value) and the node to point at for it. */
interface Slot {
  node: Node | null;
  anchor: Node;
}

interface Reader {
  lc: LineCounter;
  errors: PolicyError[];
  /** The file's text, to place errors inside CEL expressions. */
  source: string;
}

function fail(r: Reader, slot: Slot, path: string, message: string): undefined {
  const offset = (slot.node ?? slot.anchor).range?.[0] ?? 0;
  const { line, col } = r.lc.linePos(offset);
  r.errors.push({ line, column: col, path, message });
  return undefined;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node))
    return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`;
  return 'an alias';
}

// ---- scalar and collection readers: each returns the value, or records an error and returns undefined.

function asString(r: Reader, slot: Slot, path: string): string | undefined {
  const { node } = slot;
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  const scalar = isScalar(node) ? node.value : undefined;
  const quotable = typeof scalar === 'number' || typeof scalar === 'boolean';
  const hint = quotable ? ` (quote it: "${String(scalar)}")` : '';
  return fail(r, slot, path, `must be a string, got ${describe(node)}${hint}`);
}

function asNonEmptyString(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asString(r, slot, path);
  if (value === '') return fail(r, slot, path, 'must not be empty');
  return value;
}

function asBool(r: Reader, slot: Slot, path: string): boolean | undefined {
  const { node } = slot;
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  return fail(r, slot, path, `must be true or false, got ${describe(node)}`);
}

function asCount(r: Reader, slot: Slot, path: string): number | undefined {
  const { node } = slot;
  if (isScalar(node) && Number.isInteger(node.value) && (node.value as number) >= 0)
    return node.value as number;
  return fail(r, slot, path, `must be a whole number >= 0, got ${describe(node)}`);
}

function asEnum<T extends string>(r: Reader, slot: Slot, path: string, allowed: readonly T[]): T | undefined {
  const value = asString(r, slot, path);
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return fail(r, slot, path, `unknown value "${value}" (expected one of: ${allowed.join(', ')})`);
}

function asDuration(r: Reader, slot: Slot, path: string): number | undefined {
  const { node } = slot;
  if (isScalar(node) && Number.isInteger(node.value) && (node.value as number) >= 0)
    return node.value as number;
  const seconds = isScalar(node) && typeof node.value === 'string' ? parseDuration(node.value) : undefined;
  if (seconds !== undefined) return seconds;
  return fail(r, slot, path, `must be a duration like 720h, 30d, 2w or 1h30m, got ${describe(node)}`);
}

function items(r: Reader, slot: Slot, path: string): Slot[] | undefined {
  const { node } = slot;
  if (!isSeq(node)) return fail(r, slot, path, `must be a list, got ${describe(node)}`);
  return node.items.map((item) => ({ node: item as Node | null, anchor: node }));
}

type ItemReader<T> = (r: Reader, slot: Slot, path: string) => T | undefined;

function readList<T>(r: Reader, slot: Slot, path: string, read: ItemReader<T>): T[] | undefined {
  const slots = items(r, slot, path);
  if (slots === undefined) return undefined;
  const before = r.errors.length;
  const values = slots.map((s, i) => read(r, s, `${path}[${i}]`));
  if (r.errors.length > before) return undefined;
  return values.filter((v): v is T => v !== undefined);
}

/** The entries of a map, keyed by their (string) key; unknown keys reported when `known` is given. */
function entries(
  r: Reader,
  slot: Slot,
  path: string,
  known?: readonly string[],
): Map<string, Slot> | undefined {
  const { node } = slot;
  if (!isMap(node)) return fail(r, slot, path, `must be a map, got ${describe(node)}`);
  const out = new Map<string, Slot>();
  for (const pair of node.items) {
    const key = pair.key as Node;
    const keySlot = { node: key, anchor: node };
    const name = isScalar(key) ? String(key.value) : '';
    if (known !== undefined && !known.includes(name)) {
      fail(r, keySlot, join(path, name), unknownField(name, known));
      continue;
    }
    out.set(name, { node: (pair.value as Node | null) ?? null, anchor: key });
  }
  return out;
}

function unknownField(name: string, known: readonly string[]): string {
  return `unknown field "${name}" (known fields: ${known.join(', ')})`;
}

function readMap<T>(r: Reader, slot: Slot, path: string, read: ItemReader<T>): Record<string, T> | undefined {
  const map = entries(r, slot, path);
  if (map === undefined) return undefined;
  const out: Record<string, T> = {};
  for (const [key, value] of map) {
    const item = read(r, value, join(path, key));
    if (item !== undefined) out[key] = item;
  }
  return out;
}

/** A principal, parsed here once with the grammar the matcher uses: a malformed one is a policy error. */
function asPrincipal(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asNonEmptyString(r, slot, path);
  if (value === undefined) return undefined;
  const parsed = parsePrincipal(value);
  return parsed.ok ? value : fail(r, slot, path, parsed.message);
}

/** A group name compared exactly with userInfo.groups: no surrounding space, no control character. */
function asGroupName(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asNonEmptyString(r, slot, path);
  const problem = value === undefined ? undefined : groupNameProblem(value);
  return problem === undefined ? value : fail(r, slot, path, problem);
}

// ---- kinds of value: each reader beside the JSON Schema of what it accepts, so they cannot part.

interface ValueKind<V> {
  read: ItemReader<V>;
  schema: JsonSchema;
}

const text: ValueKind<string> = { read: asString, schema: { type: 'string' } };
const nonEmptyText: ValueKind<string> = { read: asNonEmptyString, schema: { type: 'string', minLength: 1 } };
const bool: ValueKind<boolean> = { read: asBool, schema: { type: 'boolean' } };
const count: ValueKind<number> = { read: asCount, schema: { type: 'integer', minimum: 0 } };
const duration: ValueKind<number> = { read: asDuration, schema: ref('duration') };
const principal: ValueKind<string> = { read: asPrincipal, schema: ref('principal') };
const groupName: ValueKind<string> = { read: asGroupName, schema: ref('groupName') };

function oneOf<T extends string>(allowed: readonly T[]): ValueKind<T> {
  return { read: (r, s, p) => asEnum(r, s, p, allowed), schema: { enum: [...allowed] } };
}

function listOf<V>(item: ValueKind<V>): ValueKind<V[]> {
  return { read: (r, s, p) => readList(r, s, p, item.read), schema: { type: 'array', items: item.schema } };
}

function mapOf<V>(item: ValueKind<V>): ValueKind<Record<string, V>> {
  return {
    read: (r, s, p) => readMap(r, s, p, item.read),
    schema: { type: 'object', additionalProperties: item.schema },
  };
}

const textList = listOf(nonEmptyText);

// ---- sections: a table of fields per map, so the known fields, their reading and their schema are one list.

interface Field<T> {
  read: (r: Reader, slot: Slot, path: string, target: T) => void;
  schema: JsonSchema;
}

type Fields<T> = Record<string, Field<T>>;

/** A field holding one kind of value, stored into the target by `apply`. */
function field<T, V>(
  kind: ValueKind<V>,
  apply: (target: T, value: V) => void,
  doc: FieldDoc<V> = {},
): Field<T> {
  return {
    read: (r, s, p, target) => {
      const value = kind.read(r, s, p);
      if (value !== undefined) apply(target, value);
    },
    schema: withDoc(kind.schema, doc),
  };
}

interface Section<T> {
  fields: Fields<T>;
  /** Pre-filled with defaults; the fields present in the file overwrite them. */
  target: T;
}

function readSection<T>(r: Reader, slot: Slot, path: string, { fields, target }: Section<T>): T | undefined {
  const map = entries(r, slot, path, Object.keys(fields));
  if (map === undefined) return undefined;
  for (const [key, value] of map) fields[key]?.read(r, value, join(path, key), target);
  return target;
}

/** A nested map (a $defs entry) read into the part of the target `part` picks. */
function sectionField<T, S>(name: SectionName, fields: Fields<S>, part: (target: T) => S): Field<T> {
  return {
    read: (r, s, p, target) => void readSection(r, s, p, { fields, target: part(target) }),
    schema: ref(name),
  };
}

/** The loader's defaults, which the schema states as `default`. */
const RULE = defaultRule('');
const POLICY = defaultPolicy();

const MATCH_FIELDS: Fields<Rule['match']> = {
  namespaces: field(textList, (m, v) => (m.namespaces = v), {
    description: 'Namespace globs; empty = all.',
    default: RULE.match.namespaces,
  }),
  excludeNamespaces: field(textList, (m, v) => (m.excludeNamespaces = v), {
    default: RULE.match.excludeNamespaces,
  }),
  kinds: field(listOf(oneOf(POD_KINDS)), (m, v) => (m.kinds = v), {
    description: 'Empty = every pod-creating kind.',
    default: [],
  }),
  images: field(textList, (m, v) => (m.images = v), {
    description: 'Image globs that make a workload an inference workload.',
    default: RULE.match.images,
  }),
  labels: field(mapOf(text), (m, v) => (m.labels = v), {
    description: 'Labels that, all present, make a workload an inference workload.',
    default: RULE.match.labels,
  }),
};

const KEYS_FIELDS: Fields<Rule> = {
  trusted: field(textList, (rule, v) => (rule.trustedKeys = v), {
    description:
      'Key ids (and omsAuthorities names) this rule trusts; empty = every loaded, non-revoked key and every OMS authority.',
    default: RULE.trustedKeys,
  }),
  allowV1: field(bool, (rule, v) => (rule.allowV1 = v), { default: RULE.allowV1 }),
};

const APPROVALS_FIELDS: Fields<Rule['approvals']> = {
  min: field(count, (a, v) => (a.min = v), { default: RULE.approvals.min }),
  forbidRequester: field(bool, (a, v) => (a.forbidRequester = v), {
    default: RULE.approvals.forbidRequester,
  }),
  allowAnnotation: field(bool, (a, v) => (a.allowAnnotation = v), {
    description:
      'Count the unsigned modelgate.dev/approved-by annotation for models without signed claims.approvers (warns).',
    default: RULE.approvals.allowAnnotation,
  }),
};

const LABEL_FIELDS: Fields<LabelRequirement> = {
  name: field(nonEmptyText, (l, v) => (l.name = v)),
  values: field(textList, (l, v) => (l.values = v), {
    description: 'Allowed values; empty = any non-empty value.',
    default: [],
  }),
  claim: field(nonEmptyText, (l, v) => (l.claim = v), {
    description: 'The signed claim the label must agree with.',
  }),
};

function readLabelRequirement(r: Reader, slot: Slot, path: string): LabelRequirement | undefined {
  const label = readSection(r, slot, path, { fields: LABEL_FIELDS, target: { name: '', values: [] } });
  if (label?.name === '') return fail(r, slot, join(path, 'name'), 'is required');
  return label;
}

const labelRequirement: ValueKind<LabelRequirement> = {
  read: readLabelRequirement,
  schema: ref('requiredLabel'),
};

// ---- CEL: variables and validations, read with their YAML nodes, compiled when the rule is read.

/** An expression's text and where it is in the file. */
interface Sourced {
  text: string;
  slot: Slot;
  path: string;
}

interface RawVariable {
  name: string;
  expression?: Sourced;
}

interface RawValidation {
  expression?: Sourced;
  message?: string;
  messageExpression?: Sourced;
  reason: ValidationReason;
}

/** What a rule's fields read, before compiling (compileRule consumes it). */
const PENDING = new WeakMap<Rule, { variables: RawVariable[]; validations: RawValidation[] }>();

function pendingOf(rule: Rule): { variables: RawVariable[]; validations: RawValidation[] } {
  let pending = PENDING.get(rule);
  if (pending === undefined) {
    pending = { variables: [], validations: [] };
    PENDING.set(rule, pending);
  }
  return pending;
}

const expressionText: ValueKind<Sourced> = {
  read: (r, slot, path) => {
    const text = asNonEmptyString(r, slot, path);
    return text === undefined ? undefined : { text, slot, path };
  },
  schema: { type: 'string', minLength: 1, description: 'A CEL expression.' },
};

/** A variable name is a CEL identifier (it is read as variables.NAME). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function asVariableName(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asNonEmptyString(r, slot, path);
  if (value === undefined || VARIABLE_NAME.test(value)) return value;
  return fail(
    r,
    slot,
    path,
    `"${value}" is not a CEL identifier (letters, digits, _; not starting with a digit)`,
  );
}

const VARIABLE_FIELDS: Fields<RawVariable> = {
  name: field(
    { read: asVariableName, schema: { type: 'string', pattern: VARIABLE_NAME.source } },
    (v, x) => (v.name = x),
  ),
  expression: field(expressionText, (v, x) => (v.expression = x)),
};

const VALIDATION_FIELDS: Fields<RawValidation> = {
  expression: field(expressionText, (v, x) => (v.expression = x), {
    description: 'Must evaluate to true; false denies (in enforce mode) with message.',
  }),
  message: field(nonEmptyText, (v, x) => (v.message = x), {
    description: 'Shown when the expression is false; default: "failed expression: EXPRESSION".',
  }),
  messageExpression: field(expressionText, (v, x) => (v.messageExpression = x), {
    description:
      'A CEL expression of type string, shown instead of message when it yields a non-empty string.',
  }),
  reason: field(oneOf(VALIDATION_REASONS), (v, x) => (v.reason = x), {
    description: 'Recorded as the problem code cel-REASON.',
    default: 'Invalid' as ValidationReason,
  }),
};

/** A section some of whose fields must be present. */
function readRequired<T extends object>(
  r: Reader,
  slot: Slot,
  path: string,
  section: Section<T> & { required: (keyof T & string)[] },
): T | undefined {
  const before = r.errors.length;
  const value = readSection(r, slot, path, section);
  if (value === undefined || r.errors.length > before) return value;
  for (const key of section.required)
    if (value[key] === undefined || value[key] === '') return fail(r, slot, join(path, key), 'is required');
  return value;
}

const variableKind: ValueKind<RawVariable> = {
  read: (r, s, p) =>
    readRequired<RawVariable>(r, s, p, {
      fields: VARIABLE_FIELDS,
      target: { name: '' },
      required: ['name', 'expression'],
    }),
  schema: ref('variable'),
};

const validationKind: ValueKind<RawValidation> = {
  read: (r, s, p) =>
    readRequired<RawValidation>(r, s, p, {
      fields: VALIDATION_FIELDS,
      target: { reason: 'Invalid' },
      required: ['expression'],
    }),
  schema: ref('validation'),
};

/** Compile one expression; an error is reported at its line and column in the file. */
function compileAt(r: Reader, src: Sourced, want: Want, env: CheckEnv): Program | undefined {
  const result = compileExpression(src.text, want, env);
  if (result.ok) return result.program;
  const node = src.slot.node;
  const start = node?.range?.[0] ?? 0;
  const style: ScalarStyle = isScalar(node) ? node.type : undefined;
  const offset = expressionOffset(
    r.source,
    { start, end: node?.range?.[1] ?? start, style },
    result.error.line,
    result.error.column,
  );
  const { line, col } = r.lc.linePos(offset);
  r.errors.push({ line, column: col, path: src.path, message: `invalid CEL: ${result.error.message}` });
  return undefined;
}

/** Compile a rule's variables (in order, each seeing the ones before) and validations, once, at load. */
function compileRule(r: Reader, rule: Rule, path: string): void {
  const pending = PENDING.get(rule);
  if (pending === undefined) return;
  const types = new Map<string, Program['type']>();
  const env: CheckEnv = { variables: types };
  const variables: CompiledVariable[] = [];
  pending.variables.forEach((v, i) => {
    if (v.expression && types.has(v.name))
      fail(r, v.expression.slot, `${path}.variables[${i}].name`, `duplicate variable "${v.name}"`);
    const program = v.expression && compileAt(r, v.expression, 'any', env);
    if (program === undefined) return;
    types.set(v.name, program.type);
    variables.push({ name: v.name, program });
  });
  const validations: CompiledValidation[] = [];
  for (const v of pending.validations) {
    const program = v.expression && compileAt(r, v.expression, 'bool', env);
    const messageExpression = v.messageExpression && compileAt(r, v.messageExpression, 'string', env);
    if (program === undefined || (v.messageExpression !== undefined && messageExpression === undefined))
      continue;
    validations.push({
      program,
      reason: v.reason,
      ...(v.message === undefined ? {} : { message: v.message }),
      ...(messageExpression === undefined ? {} : { messageExpression }),
    });
  }
  rule.variables = variables;
  rule.validations = validations;
  PENDING.delete(rule);
}

const OMS_RULE_FIELDS: Fields<Rule['oms']> = {
  methods: field(listOf(oneOf(OMS_METHODS)), (o, v) => (o.methods = v), {
    description: 'OMS signing methods this rule accepts.',
    default: RULE.oms.methods,
  }),
  ignorePaths: field(textList, (o, v) => (o.ignorePaths = v), {
    description:
      "Paths an OMS bundle may leave unsigned (its ignore_paths), compared exactly; the default is model_signing's own.",
    default: RULE.oms.ignorePaths,
  }),
};

const RULE_FIELDS: Fields<Rule> = {
  name: field(nonEmptyText, (rule, v) => (rule.name = v)),
  mode: field(oneOf(MODES), (rule, v) => (rule.mode = v), { default: RULE.mode }),
  match: sectionField('match', MATCH_FIELDS, (rule) => rule.match),
  keys: sectionField('keys', KEYS_FIELDS, (rule) => rule),
  maxAge: field(duration, (rule, v) => (rule.maxAgeSeconds = v)),
  requireVerifyInit: field(bool, (rule, v) => (rule.requireVerifyInit = v), {
    default: RULE.requireVerifyInit,
  }),
  verifyImages: field(textList, (rule, v) => (rule.verifyImages = v), {
    description:
      'Image globs a modelgate verify init container must match to count; empty = the official ghcr.io/modelgate/modelgate image (by tag or digest).',
    default: RULE.verifyImages,
  }),
  sharedModelVolumes: field(bool, (rule, v) => (rule.sharedModelVolumes = v), {
    description:
      'Accept model volumes other pods may reach (PVC, hostPath, nfs, csi, ...); off = only emptyDir and image volumes.',
    default: RULE.sharedModelVolumes,
  }),
  requiredLabels: field(listOf(labelRequirement), (rule, v) => (rule.requiredLabels = v), {
    default: RULE.requiredLabels,
  }),
  requireScanPassed: field(bool, (rule, v) => (rule.requireScanPassed = v), {
    default: RULE.requireScanPassed,
  }),
  approvals: sectionField('approvals', APPROVALS_FIELDS, (rule) => rule.approvals),
  allowedRequesters: field(listOf(principal), (rule, v) => (rule.allowedRequesters = v), {
    description: 'Empty = anyone.',
    default: RULE.allowedRequesters,
  }),
  allowedSources: field(textList, (rule, v) => (rule.allowedSources = v), {
    description: 'Prefixes of the signed v2 model.source; empty = any.',
    default: RULE.allowedSources,
  }),
  classificationAccess: field(mapOf(listOf(groupName)), (rule, v) => (rule.classificationAccess = v), {
    description: 'classification -> groups allowed to deploy it.',
    default: RULE.classificationAccess,
  }),
  requireExplainabilityWhenCustomerFacing: field(
    bool,
    (rule, v) => (rule.requireExplainabilityWhenCustomerFacing = v),
    { default: RULE.requireExplainabilityWhenCustomerFacing },
  ),
  variables: field(listOf(variableKind), (rule, v) => (pendingOf(rule).variables = v), {
    description:
      'Named CEL sub-expressions, read by later ones as variables.NAME (as in ValidatingAdmissionPolicy).',
    default: [],
  }),
  validations: field(listOf(validationKind), (rule, v) => (pendingOf(rule).validations = v), {
    description:
      'CEL expressions that must all be true (as in ValidatingAdmissionPolicy); inputs: object, oldObject, request, models, labels, now, variables. See docs/policy.md#validations-cel.',
    default: [],
  }),
  oms: sectionField('oms', OMS_RULE_FIELDS, (rule) => rule.oms),
};

function readRule(r: Reader, slot: Slot, path: string): Rule | undefined {
  const rule = readSection(r, slot, path, { fields: RULE_FIELDS, target: defaultRule('') });
  // compiled even when another field is wrong, so one `policy check` reports every problem
  if (rule !== undefined) compileRule(r, rule, path);
  if (rule?.name === '') return fail(r, slot, join(path, 'name'), 'is required: every rule has a name');
  return rule;
}

function readRules(r: Reader, slot: Slot, path: string): Rule[] | undefined {
  const rules = readList(r, slot, path, readRule);
  if (rules?.length === 0)
    return fail(r, slot, path, 'must hold at least one rule (omit it for the default rule)');
  const seen = new Set<string>();
  rules?.forEach((rule, i) => {
    if (seen.has(rule.name)) fail(r, slot, `${path}[${i}].name`, `duplicate rule name "${rule.name}"`);
    seen.add(rule.name);
  });
  return rules;
}

const rules: ValueKind<Rule[]> = {
  read: readRules,
  schema: { type: 'array', minItems: 1, items: ref('rule') },
};

type BreakGlass = NonNullable<Policy['breakGlass']>;

const BREAK_GLASS_FIELDS: Fields<BreakGlass> = {
  group: field(groupName, (t, v) => (t.group = v)),
  annotation: field(nonEmptyText, (t, v) => (t.annotation = v), { default: BREAK_GLASS_ANNOTATION }),
};

function readBreakGlass(r: Reader, slot: Slot, path: string): BreakGlass | undefined {
  const target = { group: '', annotation: BREAK_GLASS_ANNOTATION };
  const before = r.errors.length;
  const breakGlass = readSection(r, slot, path, { fields: BREAK_GLASS_FIELDS, target });
  // "required" only when it is missing, not when it was there and already reported as malformed
  if (breakGlass?.group === '' && r.errors.length === before)
    return fail(r, slot, join(path, 'group'), 'is required: the group allowed to break glass');
  return breakGlass;
}

/** A header field whose value is fixed (apiVersion, kind). */
function constant<T>(expected: string): Field<T> {
  return {
    read: (r, slot, path) => {
      const value = asString(r, slot, path);
      if (value !== undefined && value !== expected)
        fail(r, slot, path, `must be "${expected}", got "${value}"`);
    },
    schema: { const: expected },
  };
}

type Signer = NonNullable<OmsAuthorityDraft['signers']>[number];

const SIGNER_FIELDS: Fields<Signer> = {
  subject: field(nonEmptyText, (x, v) => (x.subject = v), {
    description: "The Fulcio certificate's identity (its SAN: an e-mail or a URI), compared exactly.",
  }),
  issuer: field(nonEmptyText, (x, v) => (x.issuer = v), {
    description: 'The OIDC issuer Fulcio recorded in the certificate, compared exactly.',
  }),
};

const signerKind: ValueKind<Signer> = {
  read: (r, s, p) =>
    readRequired<Signer>(r, s, p, { fields: SIGNER_FIELDS, target: { subject: '', issuer: '' }, required: ['subject', 'issuer'] }),
  schema: ref('signer'),
};

const OMS_AUTHORITY_FIELDS: Fields<OmsAuthorityDraft> = {
  name: field(nonEmptyText, (a, v) => (a.name = v), {
    description: 'The key id of the models it verifies: rules trust it by this name in keys.trusted.',
  }),
  method: field(oneOf(['key', 'certificate', 'sigstore'] as const), (a, v) => (a.method = v)),
  publicKeys: field(textList, (a, v) => (a.publicKeys = v), {
    description: 'method key: PEM EC public keys (P-256, P-384, P-521).',
    default: [],
  }),
  roots: field(textList, (a, v) => (a.roots = v), {
    description: 'method certificate: PEM CA certificates (root or intermediate) the signing certificate must chain to.',
    default: [],
  }),
  identities: field(textList, (a, v) => (a.identities = v), {
    description: "method certificate: accepted signers, compared exactly with the signing certificate's SAN values.",
    default: [],
  }),
  trustedRoot: field(nonEmptyText, (a, v) => (a.trustedRoot = v), {
    description:
      'method sigstore: "public-good" (Sigstore\'s public instance, the root shipped with modelgate) or the text of a trusted_root.json (a private instance).',
    default: PUBLIC_GOOD,
  }),
  signers: field(listOf(signerKind), (a, v) => (a.signers = v), {
    description: 'method sigstore: accepted signers, each {subject, issuer} compared exactly with the Fulcio certificate.',
    default: [],
  }),
};

function readOmsAuthority(r: Reader, slot: Slot, path: string): OmsAuthority | undefined {
  const before = r.errors.length;
  const target: OmsAuthorityDraft = { name: '', method: '', publicKeys: [], roots: [], identities: [], trustedRoot: '', signers: [] };
  const draft = readSection(r, slot, path, { fields: OMS_AUTHORITY_FIELDS, target });
  if (draft === undefined || r.errors.length > before) return undefined;
  if (!isValidKeyId(draft.name))
    return fail(r, slot, join(path, 'name'), 'is required and must match [A-Za-z0-9._-]{1,253} (it is used as a key id)');
  if (draft.method === '') return fail(r, slot, join(path, 'method'), 'is required: key, certificate or sigstore');
  const compiled = compileOmsAuthority(draft);
  return compiled.ok ? compiled.value : fail(r, slot, join(path, compiled.field), compiled.message);
}

function readOmsAuthorities(r: Reader, slot: Slot, path: string): OmsAuthority[] | undefined {
  const list = readList(r, slot, path, readOmsAuthority);
  const seen = new Set<string>();
  list?.forEach((a, i) => {
    if (seen.has(a.name)) fail(r, slot, `${path}[${i}].name`, `duplicate authority name "${a.name}"`);
    seen.add(a.name);
  });
  return list;
}

const POLICY_FIELDS: Fields<Policy> = {
  apiVersion: constant(POLICY_API_VERSION),
  kind: constant(POLICY_KIND),
  revokedKeys: field(textList, (pol, v) => (pol.revokedKeys = v), {
    description: 'Key ids no rule trusts; revocation wins over keys.trusted.',
    default: POLICY.revokedKeys,
  }),
  exemptNamespaces: field(textList, (pol, v) => (pol.exemptNamespaces = v), {
    description: 'Namespace globs (* and ?) never checked.',
    default: POLICY.exemptNamespaces,
  }),
  controllers: field(listOf(principal), (pol, v) => (pol.controllers = v), {
    description:
      "Principals whose requests are cluster controllers acting on admitted templates. Replaces the default list (the kube-controller-manager's identities).",
  }),
  breakGlass: field({ read: readBreakGlass, schema: ref('breakGlass') }, (pol, v) => (pol.breakGlass = v)),
  rules: field(rules, (pol, v) => (pol.rules = v), {
    description: 'Tried in order; the first match decides. Default: one rule named default.',
  }),
  omsAuthorities: field(
    { read: readOmsAuthorities, schema: { type: 'array', items: ref('omsAuthority') } },
    (pol, v) => (pol.omsAuthorities = v),
    { description: 'Who may sign OMS (model_signing) bundles; rules trust them by name in keys.trusted.', default: [] },
  ),
};

/** Field names per section, for docs/policy.schema.json's drift test. */
export const POLICY_FIELD_NAMES = {
  policy: Object.keys(POLICY_FIELDS),
  breakGlass: Object.keys(BREAK_GLASS_FIELDS),
  rule: Object.keys(RULE_FIELDS),
  match: Object.keys(MATCH_FIELDS),
  keys: Object.keys(KEYS_FIELDS),
  approvals: Object.keys(APPROVALS_FIELDS),
  requiredLabel: Object.keys(LABEL_FIELDS),
  variable: Object.keys(VARIABLE_FIELDS),
  validation: Object.keys(VALIDATION_FIELDS),
  oms: Object.keys(OMS_RULE_FIELDS),
  omsAuthority: Object.keys(OMS_AUTHORITY_FIELDS),
  signer: Object.keys(SIGNER_FIELDS),
} as const;

type SectionName =
  | 'breakGlass'
  | 'match'
  | 'keys'
  | 'approvals'
  | 'requiredLabel'
  | 'rule'
  | 'variable'
  | 'validation'
  | 'oms'
  | 'omsAuthority'
  | 'signer';

function properties<T>(fields: Fields<T>): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(fields).map(([name, f]) => [name, f.schema]));
}

/**
 * docs/policy.schema.json, from the tables above: every field the loader reads, its type, its
 * default (the value the loader pre-fills) and its description. `required` mirrors the
 * "is required" checks of readRule, readLabelRequirement, readBreakGlass and requireHeader.
 */
export function policyJsonSchema(): JsonSchema {
  const top = objectSchema(properties(POLICY_FIELDS), { required: [...HEADER_FIELDS] });
  return policyDocument(top, {
    principal: VALUE_DEFS.principal,
    duration: VALUE_DEFS.duration,
    breakGlass: objectSchema(properties(BREAK_GLASS_FIELDS), {
      required: ['group'],
      description:
        'Members of group who set the annotation to a non-empty reason are admitted despite problems (recorded).',
    }),
    match: objectSchema(properties(MATCH_FIELDS)),
    keys: objectSchema(properties(KEYS_FIELDS)),
    approvals: objectSchema(properties(APPROVALS_FIELDS)),
    requiredLabel: objectSchema(properties(LABEL_FIELDS), { required: ['name'] }),
    rule: objectSchema(properties(RULE_FIELDS), { required: ['name'] }),
    variable: objectSchema(properties(VARIABLE_FIELDS), { required: ['name', 'expression'] }),
    validation: objectSchema(properties(VALIDATION_FIELDS), { required: ['expression'] }),
    oms: objectSchema(properties(OMS_RULE_FIELDS)),
    omsAuthority: objectSchema(properties(OMS_AUTHORITY_FIELDS), { required: ['name', 'method'] }),
    signer: objectSchema(properties(SIGNER_FIELDS), { required: ['subject', 'issuer'] }),
    groupName: VALUE_DEFS.groupName,
  } satisfies Record<SectionName | keyof typeof VALUE_DEFS, JsonSchema>);
}

function requireHeader(r: Reader, root: Slot): void {
  const map = isMap(root.node) ? root.node : undefined;
  for (const key of HEADER_FIELDS) {
    if (map !== undefined && !map.has(key))
      fail(r, root, key, `is required: ${key}: ${key === 'kind' ? POLICY_KIND : POLICY_API_VERSION}`);
  }
}

/**
 * Parse and validate a policy file (YAML). Every problem comes back with its line and column:
 * YAML syntax errors as the parser words them, schema errors (unknown field, wrong type, unknown
 * mode or kind, bad duration) with the field path. Fields left out take their defaults.
 */
export function parsePolicy(text: string, source: string): PolicyLoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const r: Reader = { lc, errors: [], source: text };
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    r.errors.push({ line, column: col, path: '', message: e.message.split('\n')[0] ?? e.code });
  }
  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  const root = doc.contents as Node | null;
  if (root === null)
    return { ok: false, errors: [{ line: 1, column: 1, path: '', message: 'the policy file is empty' }] };
  const slot = { node: root, anchor: root };
  const policy = { ...defaultPolicy(), source };
  requireHeader(r, slot);
  readSection(r, slot, '', { fields: POLICY_FIELDS, target: policy });
  if (r.errors.length > 0) return { ok: false, errors: sortErrors(r.errors) };
  return { ok: true, policy };
}

function sortErrors(errors: PolicyError[]): PolicyError[] {
  return [...errors].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Read and parse a policy file. A file that cannot be read is broken infrastructure: it throws. */
export async function loadPolicyFile(path: string): Promise<PolicyLoadResult> {
  return parsePolicy(await readFile(path, 'utf8'), path);
}

/** `file:line:col: path: message`, the way compilers print it, one line. */
export function formatPolicyError(source: string, e: PolicyError): string {
  return `${source}:${e.line}:${e.column}: ${e.path === '' ? '' : `${e.path}: `}${e.message}`;
}
