import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { POLICY_FIELD_NAMES, policyJsonSchema } from './load.js';
import { groupNameProblem, parsePrincipal } from './principals.js';
import { formatSchema } from './schema.js';

interface SchemaObject {
  properties: Record<string, unknown>;
  additionalProperties: boolean;
}

const schemaText = readFileSync(new URL('../../docs/policy.schema.json', import.meta.url), 'utf8');
const schema = JSON.parse(schemaText) as SchemaObject & {
  $defs: Record<string, SchemaObject>;
};

// docs/policy.schema.json is generated from the loader's field tables (make policy-schema).
describe('docs/policy.schema.json', () => {
  it('is exactly what the loader generates (run make policy-schema after changing a field)', () => {
    expect(schemaText).toBe(formatSchema(policyJsonSchema()));
  });

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

// The schema's principal pattern is for editors; the loader's parsePrincipal is the authority.
// They must agree, or an editor would bless a principal `policy check` refuses (or the reverse).
describe('docs/policy.schema.json principal and group patterns', () => {
  const defs = schema.$defs as unknown as Record<string, { pattern: string }>;
  const principal = new RegExp(defs.principal!.pattern, 'u');
  const group = new RegExp(defs.groupName!.pattern, 'u');
  const samples = [
    'alice',
    'system:kube-controller-manager',
    'oidc:alice@example.com',
    'user:group:ci',
    'user:',
    'user: x',
    'group:ci',
    'group:system:serviceaccounts:ci',
    'group:',
    'group: ci',
    'group:ci ',
    'group:c\u0000i',
    'serviceaccount:ci:deployer',
    'serviceaccount:ci:*',
    'serviceaccount:ci',
    'serviceaccount:ci:',
    'serviceaccount::x',
    'serviceaccount:ci:deployer:x',
    'serviceaccount:CI:deployer',
    'serviceaccount:ci:Deployer',
    'serviceaccount:ci:a.b-c',
    'serviceaccount:ci:.a',
    'serviceaccount:ci:a.',
    'serviceaccount:-ci:a',
    `serviceaccount:${'a'.repeat(63)}:x`,
    `serviceaccount:${'a'.repeat(64)}:x`,
    `serviceaccount:ci:${'a'.repeat(253)}`,
    `serviceaccount:ci:${'a'.repeat(254)}`,
    'system:serviceaccount:kube-system:replicaset-controller',
    'system:serviceaccount:kube-system:*',
    'system:serviceaccount:kube-system:',
    'system:serviceaccount:kube-system:x:y',
    'Group:ci',
    'groups:ci',
    'ServiceAccount:a:b',
    'serviceaccounts:a:b',
    'User:x',
    'users:x',
    ' alice',
    'alice ',
    'al\u0085ice',
    'alice\u2028',
    'a\u00a0',
    'ünïcødé',
    'sa:ci:x',
  ];

  it.each(samples)('agrees with parsePrincipal on %j', (text) => {
    expect(principal.test(text)).toBe(parsePrincipal(text).ok);
  });

  it('agrees with parsePrincipal on generated principals', () => {
    const token = fc.constantFrom(
      'group:',
      'serviceaccount:',
      'user:',
      'system:serviceaccount:',
      'ci',
      'Ci',
      ':',
      '*',
      '.',
      '-',
      ' ',
      '\u0000',
      '\t',
      'a',
      'Z',
      '9',
      'é',
      '\u00a0',
      's:',
    );
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 8 }), (parts) => {
        const text = parts.join('');
        expect(principal.test(text), JSON.stringify(text)).toBe(parsePrincipal(text).ok);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['ml-leads', true],
    ['system:masters', true],
    [' ml-leads', false],
    ['ml-leads\u0000', false],
    ['', false],
  ])('groupName %j is %s, as the loader says', (name, ok) => {
    expect(group.test(name)).toBe(ok);
    expect(groupNameProblem(name) === undefined).toBe(ok);
  });
});

describe('the chart embeds docs/policy.schema.json as policy.document', () => {
  it('is current (run hack/gen-manifests.sh after changing the policy schema)', () => {
    const script = new URL('../../hack/gen-chart-schema.ts', import.meta.url).pathname;
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('keeps every field, type and enum; only lookaround patterns (which Helm cannot compile) are left out', () => {
    const values = JSON.parse(
      readFileSync(new URL('../../charts/modelgate/values.schema.json', import.meta.url), 'utf8'),
    ) as { properties: { policy: { properties: { document: unknown } } } };
    const strip = (text: string): string =>
      text.replace(/,?\s*"pattern": "(?:[^"\\]|\\.)*\(\?<?[=!](?:[^"\\]|\\.)*"/g, '').replace(/"description": "(?:[^"\\]|\\.)*"/g, '');
    const embedded = JSON.stringify(values.properties.policy.properties.document, null, 2);
    expect(strip(embedded)).toBe(strip(JSON.stringify(JSON.parse(schemaText), null, 2)));
  });
});
