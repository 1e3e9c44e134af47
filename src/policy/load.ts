import { readFile } from 'node:fs/promises';
import { ANNOTATIONS, API_VERSION } from '../vocabulary/keys.js';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { POD_KINDS, defaultPolicy, defaultRule } from './defaults.js';
import { parseDuration } from './duration.js';
import { groupNameProblem, parsePrincipal } from './principals.js';
import type { LabelRequirement, Mode, Policy, Rule } from './types.js';

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

/** A value in the document (null when the key has no value) and the node to point at for it. */
interface Slot {
  node: Node | null;
  anchor: Node;
}

interface Reader {
  lc: LineCounter;
  errors: PolicyError[];
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

function listOf<T>(r: Reader, slot: Slot, path: string, read: ItemReader<T>): T[] | undefined {
  const slots = items(r, slot, path);
  if (slots === undefined) return undefined;
  const before = r.errors.length;
  const values = slots.map((s, i) => read(r, s, `${path}[${i}]`));
  if (r.errors.length > before) return undefined;
  return values.filter((v): v is T => v !== undefined);
}

type ItemReader<T> = (r: Reader, slot: Slot, path: string) => T | undefined;

function stringList(r: Reader, slot: Slot, path: string): string[] | undefined {
  return listOf(r, slot, path, asNonEmptyString);
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

function stringMap(r: Reader, slot: Slot, path: string): Record<string, string> | undefined {
  const map = entries(r, slot, path);
  if (map === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of map) {
    const text = asString(r, value, join(path, key));
    if (text !== undefined) out[key] = text;
  }
  return out;
}

function groupListMap(r: Reader, slot: Slot, path: string): Record<string, string[]> | undefined {
  const map = entries(r, slot, path);
  if (map === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const [key, value] of map) {
    const list = listOf(r, value, join(path, key), asGroupName);
    if (list !== undefined) out[key] = list;
  }
  return out;
}

// ---- sections: a table of field readers per map, so the known fields and the reading are one list.

type FieldReaders<T> = Record<string, (r: Reader, slot: Slot, path: string, target: T) => void>;

interface Section<T> {
  fields: FieldReaders<T>;
  /** Pre-filled with defaults; the fields present in the file overwrite them. */
  target: T;
}

function readSection<T>(r: Reader, slot: Slot, path: string, { fields, target }: Section<T>): T | undefined {
  const map = entries(r, slot, path, Object.keys(fields));
  if (map === undefined) return undefined;
  for (const [key, value] of map) fields[key]?.(r, value, join(path, key), target);
  return target;
}

function assign<T>(value: T | undefined, apply: (v: T) => void): void {
  if (value !== undefined) apply(value);
}

/** A principal, parsed here once with the grammar the matcher uses: a malformed one is a policy error. */
function asPrincipal(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asNonEmptyString(r, slot, path);
  if (value === undefined) return undefined;
  const parsed = parsePrincipal(value);
  return parsed.ok ? value : fail(r, slot, path, parsed.message);
}

function principalList(r: Reader, slot: Slot, path: string): string[] | undefined {
  return listOf(r, slot, path, asPrincipal);
}

/** A group name compared exactly with userInfo.groups: no surrounding space, no control character. */
function asGroupName(r: Reader, slot: Slot, path: string): string | undefined {
  const value = asNonEmptyString(r, slot, path);
  const problem = value === undefined ? undefined : groupNameProblem(value);
  return problem === undefined ? value : fail(r, slot, path, problem);
}

const MATCH_FIELDS: FieldReaders<Rule['match']> = {
  namespaces: (r, s, p, m) => assign(stringList(r, s, p), (v) => (m.namespaces = v)),
  excludeNamespaces: (r, s, p, m) => assign(stringList(r, s, p), (v) => (m.excludeNamespaces = v)),
  kinds: (r, s, p, m) =>
    assign(
      listOf(r, s, p, (rr, ss, pp) => asEnum(rr, ss, pp, POD_KINDS)),
      (v) => (m.kinds = v),
    ),
  images: (r, s, p, m) => assign(stringList(r, s, p), (v) => (m.images = v)),
  labels: (r, s, p, m) => assign(stringMap(r, s, p), (v) => (m.labels = v)),
};

const KEYS_FIELDS: FieldReaders<Rule> = {
  trusted: (r, s, p, rule) => assign(stringList(r, s, p), (v) => (rule.trustedKeys = v)),
  allowV1: (r, s, p, rule) => assign(asBool(r, s, p), (v) => (rule.allowV1 = v)),
};

const APPROVALS_FIELDS: FieldReaders<Rule['approvals']> = {
  min: (r, s, p, a) => assign(asCount(r, s, p), (v) => (a.min = v)),
  forbidRequester: (r, s, p, a) => assign(asBool(r, s, p), (v) => (a.forbidRequester = v)),
  allowAnnotation: (r, s, p, a) => assign(asBool(r, s, p), (v) => (a.allowAnnotation = v)),
};

const LABEL_FIELDS: FieldReaders<LabelRequirement> = {
  name: (r, s, p, l) => assign(asNonEmptyString(r, s, p), (v) => (l.name = v)),
  values: (r, s, p, l) => assign(stringList(r, s, p), (v) => (l.values = v)),
  claim: (r, s, p, l) => assign(asNonEmptyString(r, s, p), (v) => (l.claim = v)),
};

function labelRequirement(r: Reader, slot: Slot, path: string): LabelRequirement | undefined {
  const label = readSection(r, slot, path, { fields: LABEL_FIELDS, target: { name: '', values: [] } });
  if (label?.name === '') return fail(r, slot, join(path, 'name'), 'is required');
  return label;
}

const RULE_FIELDS: FieldReaders<Rule> = {
  name: (r, s, p, rule) => assign(asNonEmptyString(r, s, p), (v) => (rule.name = v)),
  mode: (r, s, p, rule) => assign(asEnum(r, s, p, MODES), (v) => (rule.mode = v)),
  match: (r, s, p, rule) => void readSection(r, s, p, { fields: MATCH_FIELDS, target: rule.match }),
  keys: (r, s, p, rule) => void readSection(r, s, p, { fields: KEYS_FIELDS, target: rule }),
  maxAge: (r, s, p, rule) => assign(asDuration(r, s, p), (v) => (rule.maxAgeSeconds = v)),
  requireVerifyInit: (r, s, p, rule) => assign(asBool(r, s, p), (v) => (rule.requireVerifyInit = v)),
  verifyImages: (r, s, p, rule) => assign(stringList(r, s, p), (v) => (rule.verifyImages = v)),
  sharedModelVolumes: (r, s, p, rule) => assign(asBool(r, s, p), (v) => (rule.sharedModelVolumes = v)),
  requiredLabels: (r, s, p, rule) =>
    assign(listOf(r, s, p, labelRequirement), (v) => (rule.requiredLabels = v)),
  requireScanPassed: (r, s, p, rule) => assign(asBool(r, s, p), (v) => (rule.requireScanPassed = v)),
  approvals: (r, s, p, rule) =>
    void readSection(r, s, p, { fields: APPROVALS_FIELDS, target: rule.approvals }),
  allowedRequesters: (r, s, p, rule) => assign(principalList(r, s, p), (v) => (rule.allowedRequesters = v)),
  allowedSources: (r, s, p, rule) => assign(stringList(r, s, p), (v) => (rule.allowedSources = v)),
  classificationAccess: (r, s, p, rule) =>
    assign(groupListMap(r, s, p), (v) => (rule.classificationAccess = v)),
  requireExplainabilityWhenCustomerFacing: (r, s, p, rule) =>
    assign(asBool(r, s, p), (v) => (rule.requireExplainabilityWhenCustomerFacing = v)),
};

function readRule(r: Reader, slot: Slot, path: string): Rule | undefined {
  const rule = readSection(r, slot, path, { fields: RULE_FIELDS, target: defaultRule('') });
  if (rule?.name === '') return fail(r, slot, join(path, 'name'), 'is required: every rule has a name');
  return rule;
}

function readRules(r: Reader, slot: Slot, path: string): Rule[] | undefined {
  const rules = listOf(r, slot, path, readRule);
  if (rules?.length === 0)
    return fail(r, slot, path, 'must hold at least one rule (omit it for the default rule)');
  const seen = new Set<string>();
  rules?.forEach((rule, i) => {
    if (seen.has(rule.name)) fail(r, slot, `${path}[${i}].name`, `duplicate rule name "${rule.name}"`);
    seen.add(rule.name);
  });
  return rules;
}

function readBreakGlass(r: Reader, slot: Slot, path: string): Policy['breakGlass'] {
  const target = { group: '', annotation: ANNOTATIONS.breakGlass as string };
  const fields: FieldReaders<typeof target> = {
    group: (rr, s, p, t) => assign(asGroupName(rr, s, p), (v) => (t.group = v)),
    annotation: (rr, s, p, t) => assign(asNonEmptyString(rr, s, p), (v) => (t.annotation = v)),
  };
  const before = r.errors.length;
  const breakGlass = readSection(r, slot, path, { fields, target });
  // "required" only when it is missing, not when it was there and already reported as malformed
  if (breakGlass?.group === '' && r.errors.length === before)
    return fail(r, slot, join(path, 'group'), 'is required: the group allowed to break glass');
  return breakGlass;
}

function expectConstant(r: Reader, slot: Slot, path: string, expected: string): void {
  const value = asString(r, slot, path);
  if (value !== undefined && value !== expected) fail(r, slot, path, `must be "${expected}", got "${value}"`);
}

const POLICY_FIELDS: FieldReaders<Policy> = {
  apiVersion: (r, s, p) => expectConstant(r, s, p, POLICY_API_VERSION),
  kind: (r, s, p) => expectConstant(r, s, p, POLICY_KIND),
  revokedKeys: (r, s, p, pol) => assign(stringList(r, s, p), (v) => (pol.revokedKeys = v)),
  exemptNamespaces: (r, s, p, pol) => assign(stringList(r, s, p), (v) => (pol.exemptNamespaces = v)),
  controllers: (r, s, p, pol) => assign(principalList(r, s, p), (v) => (pol.controllers = v)),
  breakGlass: (r, s, p, pol) => assign(readBreakGlass(r, s, p), (v) => (pol.breakGlass = v)),
  rules: (r, s, p, pol) => assign(readRules(r, s, p), (v) => (pol.rules = v)),
};

/** Field names per section, for docs/policy.schema.json's drift test. */
export const POLICY_FIELD_NAMES = {
  policy: Object.keys(POLICY_FIELDS),
  breakGlass: ['group', 'annotation'],
  rule: Object.keys(RULE_FIELDS),
  match: Object.keys(MATCH_FIELDS),
  keys: Object.keys(KEYS_FIELDS),
  approvals: Object.keys(APPROVALS_FIELDS),
  requiredLabel: Object.keys(LABEL_FIELDS),
} as const;

function requireHeader(r: Reader, root: Slot): void {
  const map = isMap(root.node) ? root.node : undefined;
  for (const key of ['apiVersion', 'kind']) {
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
  const r: Reader = { lc, errors: [] };
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
