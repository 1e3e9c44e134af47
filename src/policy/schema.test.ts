import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLICY_FIELD_NAMES } from './load.js';

interface SchemaObject {
  properties: Record<string, unknown>;
  additionalProperties: boolean;
}

const schema = JSON.parse(
  readFileSync(new URL('../../docs/policy.schema.json', import.meta.url), 'utf8'),
) as SchemaObject & {
  $defs: Record<string, SchemaObject>;
};

// docs/policy.schema.json is written by hand for editors; this keeps it in step with the loader.
describe('docs/policy.schema.json', () => {
  it.each([
    ['the top level', schema, POLICY_FIELD_NAMES.policy],
    ['breakGlass', schema.$defs.breakGlass, POLICY_FIELD_NAMES.breakGlass],
    ['a rule', schema.$defs.rule, POLICY_FIELD_NAMES.rule],
    ['match', schema.$defs.match, POLICY_FIELD_NAMES.match],
    ['keys', schema.$defs.keys, POLICY_FIELD_NAMES.keys],
    ['approvals', schema.$defs.approvals, POLICY_FIELD_NAMES.approvals],
    ['a required label', schema.$defs.requiredLabel, POLICY_FIELD_NAMES.requiredLabel],
  ])('describes exactly the fields the loader accepts in %s, and no others', (_s, section, fields) => {
    expect(section).toBeDefined();
    expect(Object.keys(section!.properties).sort()).toEqual([...fields].sort());
    expect(section!.additionalProperties).toBe(false);
  });
});
