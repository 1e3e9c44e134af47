/**
 * The JSON Schema vocabulary the policy loader describes itself in. docs/policy.schema.json is
 * generated from the loader's field tables (load.ts `policyJsonSchema`), never written by hand:
 * `make policy-schema` writes it, and schema.test.ts fails when the file and the loader differ.
 */
import { DURATION_PATTERN } from './duration.js';
import { RESERVED_WORDS, SERVICE_ACCOUNT_USER_PREFIX } from './principals.js';

/** The part of JSON Schema (2020-12) the policy file needs. */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  title?: string;
  $ref?: string;
  const?: string;
  enum?: string[];
  oneOf?: JsonSchema[];
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  minItems?: number;
  minLength?: number;
  minimum?: number;
  pattern?: string;
  items?: JsonSchema;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
}

/** What a field says about itself besides its type: shown by editors. */
export interface FieldDoc<V> {
  description?: string;
  /** The value the loader pre-fills when the field is left out. */
  default?: V;
}

export function ref(name: string): JsonSchema {
  return { $ref: `#/$defs/${name}` };
}

export function withDoc<V>(schema: JsonSchema, doc: FieldDoc<V>): JsonSchema {
  const out = { ...schema };
  if (doc.description !== undefined) out.description = doc.description;
  if (doc.default !== undefined) out.default = doc.default;
  return out;
}

/** A map whose keys are all listed in `properties`; anything else is refused, as by the loader. */
export function objectSchema(
  properties: Record<string, JsonSchema>,
  meta: { required?: string[]; description?: string } = {},
): JsonSchema {
  return { type: 'object', additionalProperties: false, ...meta, properties };
}

// ---- patterns: principals.ts's grammar as one regular expression (schema.test.ts checks they agree).

/** A user or group name: no surrounding white space, no C0/DEL/C1 control character. */
const NAME = String.raw`(?!\s)[^\x00-\x1f\x7f-\x9f]+(?<!\s)`;
/** IsDNS1123Label with its 63-character bound: a namespace. */
const DNS1123_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
/** IsDNS1123Subdomain with its 253-character bound: a service account name. */
const DNS1123_SUBDOMAIN = String.raw`(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*`;
/** A username: a service account's is held to its grammar, any other is a NAME. */
const USERNAME = `(?:${SERVICE_ACCOUNT_USER_PREFIX}${DNS1123_LABEL}:${DNS1123_SUBDOMAIN}|(?!${SERVICE_ACCOUNT_USER_PREFIX})${NAME})`;
const anyCase = (word: string): string => [...word].map((c) => `[${c.toUpperCase()}${c}]`).join('');
/** A plain username must not look like a mistyped form (Group:, users:, ...). */
const NOT_A_FORM = `(?!(?:${RESERVED_WORDS.map(anyCase).join('|')})[Ss]?:)`;

export const PRINCIPAL_PATTERN = `^(?:group:${NAME}|serviceaccount:${DNS1123_LABEL}:(?:\\*|${DNS1123_SUBDOMAIN})|user:${USERNAME}|${NOT_A_FORM}${USERNAME})$`;
export const GROUP_NAME_PATTERN = `^${NAME}$`;

/** The value types several sections share. */
export const VALUE_DEFS: Record<'principal' | 'duration' | 'groupName', JsonSchema> = {
  principal: {
    type: 'string',
    minLength: 1,
    pattern: PRINCIPAL_PATTERN,
    description:
      'group:NAME (exact group), serviceaccount:NAMESPACE:NAME (exactly the username system:serviceaccount:NAMESPACE:NAME; NAME may be * for any one valid account name), user:NAME, or a plain exact username. Case-sensitive; no surrounding white space or control characters. See docs/policy.md#principals.',
  },
  duration: {
    oneOf: [
      { type: 'string', pattern: DURATION_PATTERN },
      { type: 'integer', minimum: 0 },
    ],
    description: '720h, 30d, 2w, 1h30m, or whole seconds; 0 = no limit.',
  },
  groupName: {
    type: 'string',
    minLength: 1,
    pattern: GROUP_NAME_PATTERN,
    description: "A group name, compared exactly (case-sensitive) with the request's userInfo.groups.",
  },
};

/** The whole document around the top-level section. */
export function policyDocument(top: JsonSchema, defs: Record<string, JsonSchema>): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://modelgate.dev/schemas/policy.schema.json',
    title: 'modelgate Policy',
    description: 'The policy file of modelgate (docs/policy.md). Fields left out take their defaults.',
    ...top,
    $defs: defs,
  };
}

/** The file's exact text: two-space JSON with a final newline. */
export function formatSchema(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
