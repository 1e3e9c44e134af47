import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLLERS, defaultPolicy, defaultRule } from './defaults.js';
import { formatPolicyError, loadPolicyFile, parsePolicy, type PolicyError } from './load.js';

const fixtures = new URL('../../test/fixtures/policies/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), 'utf8');
const HEADER = 'apiVersion: modelgate.dev/v1\nkind: Policy\n';

function errorsOf(text: string): PolicyError[] {
  const result = parsePolicy(text, 'p.yaml');
  if (result.ok) throw new Error('expected the policy to be invalid');
  return result.errors;
}

describe('parsePolicy on valid files', () => {
  it('reads the full example with every field', () => {
    const result = parsePolicy(fixture('example.yaml'), 'example.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { policy } = result;
    expect(policy.source).toBe('example.yaml');
    expect(policy.revokedKeys).toEqual(['old-2025']);
    expect(policy.exemptNamespaces).toEqual(['kube-system', 'monitoring']);
    expect(policy.controllers).toEqual(DEFAULT_CONTROLLERS);
    expect(policy.breakGlass).toEqual({ group: 'sre-oncall', annotation: 'modelgate.dev/break-glass' });
    expect(policy.rules.map((r) => [r.name, r.mode])).toEqual([
      ['prod', 'enforce'],
      ['staging', 'warn'],
      ['default', 'enforce'],
    ]);
    const prod = policy.rules[0]!;
    expect(prod.match.namespaces).toEqual(['prod-*']);
    expect(prod.match.images).toEqual(['*/tritonserver*', '*vllm*']);
    expect(prod.trustedKeys).toEqual(['ci-2026']);
    expect(prod.allowV1).toBe(false);
    expect(prod.maxAgeSeconds).toBe(720 * 3600);
    expect(prod.requiredLabels).toEqual([
      {
        name: 'modelgate.dev/data-classification',
        values: ['public', 'internal', 'confidential'],
        claim: 'dataClassification',
      },
      { name: 'modelgate.dev/owner', values: [] },
    ]);
    expect(prod.approvals).toEqual({ min: 2, forbidRequester: true, allowAnnotation: false });
    expect(prod.allowedRequesters).toEqual(['group:ci', 'serviceaccount:ci:deployer']);
    expect(prod.classificationAccess).toEqual({ confidential: ['ml-leads'] });
    expect(prod.requireExplainabilityWhenCustomerFacing).toBe(true);
  });

  it('fills every field left out with its default', () => {
    const result = parsePolicy(fixture('example.yaml'), 'example.yaml');
    if (!result.ok) throw new Error('example.yaml should be valid');
    const staging = result.policy.rules[1]!;
    expect(staging.validations).toHaveLength(1); // compiled CEL: seed-rules.test.ts runs them
    expect(staging).toEqual({
      ...defaultRule('staging'),
      validations: staging.validations,
      mode: 'warn',
      match: { ...defaultRule().match, namespaces: ['staging-*'] },
      maxAgeSeconds: 90 * 86400,
      requireScanPassed: true,
      approvals: { min: 1, forbidRequester: true, allowAnnotation: true },
    });
    const fallback = result.policy.rules[2]!;
    expect(fallback).toEqual({ ...defaultRule('default'), validations: fallback.validations });
  });

  it('gives a file without rules the built-in default rule', () => {
    const result = parsePolicy(fixture('minimal.yaml'), 'minimal.yaml');
    expect(result).toEqual({
      ok: true,
      policy: { ...defaultPolicy(), revokedKeys: ['old-2025'], source: 'minimal.yaml' },
    });
  });

  it.each([
    ['an integer maxAge is seconds', 'maxAge: 3600', 3600],
    ['maxAge 0 means no limit', 'maxAge: "0"', 0],
    ['maxAge adds up units', 'maxAge: 1d2h30m', 86400 + 7200 + 1800],
  ])('%s', (_sentence, line, seconds) => {
    const result = parsePolicy(`${HEADER}rules:\n  - name: r\n    ${line}\n`, 'p.yaml');
    expect(result.ok && result.policy.rules[0]!.maxAgeSeconds).toBe(seconds);
  });

  it('replaces the default controllers with the listed ones', () => {
    const result = parsePolicy(
      `${HEADER}controllers: ["serviceaccount:kube-system:*", "group:system:nodes"]\n`,
      'p.yaml',
    );
    expect(result.ok && result.policy.controllers).toEqual([
      'serviceaccount:kube-system:*',
      'group:system:nodes',
    ]);
  });
});

describe('parsePolicy on broken files reports line, column and reason', () => {
  it.each<[string, string, Partial<PolicyError>[]]>([
    [
      'a YAML syntax error is reported where the parser stopped',
      'broken-syntax.yaml',
      [
        {
          line: 7,
          column: 1,
          path: '',
          message: 'Flow sequence in block collection must be sufficiently indented and end with a ]',
        },
        {
          line: 7,
          column: 1,
          path: '',
          message: 'Flow map in block collection must be sufficiently indented and end with a }',
        },
      ],
    ],
    [
      'an unknown field names itself and the known ones',
      'broken-unknown-field.yaml',
      [
        {
          line: 6,
          column: 5,
          path: 'rules[0].requireScanPass',
          message: expect.stringContaining(
            'unknown field "requireScanPass" (known fields: name, mode',
          ) as string,
        },
      ],
    ],
    [
      'an unknown mode lists the modes',
      'broken-mode.yaml',
      [
        {
          line: 5,
          column: 11,
          path: 'rules[0].mode',
          message: 'unknown value "enforcing" (expected one of: enforce, warn, audit)',
        },
      ],
    ],
    [
      'every wrong type in one file is reported, in file order',
      'broken-types.yaml',
      [
        {
          line: 6,
          column: 19,
          path: 'rules[0].match.namespaces',
          message: 'must be a list, got string "prod-*"',
        },
        {
          line: 7,
          column: 27,
          path: 'rules[0].match.kinds[1]',
          message: expect.stringContaining('unknown value "Deploymnet"') as string,
        },
        {
          line: 8,
          column: 13,
          path: 'rules[0].maxAge',
          message: 'must be a duration like 720h, 30d, 2w or 1h30m, got string "30 days"',
        },
        {
          line: 9,
          column: 23,
          path: 'rules[0].approvals.min',
          message: 'must be a whole number >= 0, got string "two"',
        },
        {
          line: 10,
          column: 24,
          path: 'rules[0].requireScanPassed',
          message: 'must be true or false, got string "yes"',
        },
      ],
    ],
  ])('%s', (_sentence, file, expected) => {
    const errors = errorsOf(fixture(file));
    expect(errors).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(errors[i]).toMatchObject(e));
  });

  it.each<[string, string, Partial<PolicyError>]>([
    ['an empty file is invalid', '', { line: 1, column: 1, message: 'the policy file is empty' }],
    ['a list at the top is not a policy', '- a\n', { line: 1, message: 'must be a map, got a list' }],
    [
      'a missing kind is named',
      'apiVersion: modelgate.dev/v1\n',
      { path: 'kind', message: 'is required: kind: Policy' },
    ],
    [
      'a wrong apiVersion is named',
      'apiVersion: v1\nkind: Policy\n',
      { line: 1, column: 13, path: 'apiVersion', message: 'must be "modelgate.dev/v1", got "v1"' },
    ],
    [
      'a duplicate key is a YAML error',
      `${HEADER}revokedKeys: []\nrevokedKeys: []\n`,
      { line: 4, message: expect.stringContaining('unique') as string },
    ],
    [
      'a rule without a name is refused',
      `${HEADER}rules:\n  - mode: warn\n`,
      { line: 4, path: 'rules[0].name', message: 'is required: every rule has a name' },
    ],
    [
      'two rules with one name are refused',
      `${HEADER}rules:\n  - name: a\n  - name: a\n`,
      { path: 'rules[1].name', message: 'duplicate rule name "a"' },
    ],
    [
      'an empty rules list is refused',
      `${HEADER}rules: []\n`,
      { line: 3, column: 8, path: 'rules', message: expect.stringContaining('at least one rule') as string },
    ],
    [
      'an unquoted boolean label value says how to quote it',
      `${HEADER}rules:\n  - name: a\n    match: { labels: { team: true } }\n`,
      {
        line: 5,
        path: 'rules[0].match.labels.team',
        message: 'must be a string, got boolean true (quote it: "true")',
      },
    ],
    [
      'a malformed service account principal is refused',
      `${HEADER}rules:\n  - name: a\n    allowedRequesters: ["serviceaccount:ci"]\n`,
      {
        path: 'rules[0].allowedRequesters[0]',
        message: expect.stringContaining('must be serviceaccount:NAMESPACE:NAME') as string,
      },
    ],
    [
      'break glass needs a group',
      `${HEADER}breakGlass: { annotation: x }\n`,
      { path: 'breakGlass.group', message: expect.stringContaining('is required') as string },
    ],
    [
      'a required label needs a name',
      `${HEADER}rules:\n  - name: a\n    requiredLabels: [{ values: [x] }]\n`,
      { path: 'rules[0].requiredLabels[0].name', message: 'is required' },
    ],
    [
      'a key with no value is reported at the key',
      `${HEADER}revokedKeys:\n`,
      { line: 3, column: 13, path: 'revokedKeys', message: 'must be a list, got null' },
    ],
    [
      'a tab used as indentation is a YAML error',
      `${HEADER}rules:\n\t- name: a\n`,
      { line: 4, column: 1, path: '', message: 'Tabs are not allowed as indentation' },
    ],
    [
      'a mis-indented rule field is a YAML error on its line',
      `${HEADER}rules:\n  - name: a\n   mode: warn\n`,
      { line: 5, message: 'Sequence item without - indicator' },
    ],
  ])('%s', (_sentence, text, expected) => {
    const errors = errorsOf(text);
    expect(errors[0]).toMatchObject(expected);
  });
});

describe('parsePolicy parses every principal once, with the grammar the matcher uses', () => {
  it.each([
    ['serviceaccount:ci:deployer:anything', 'controllers', 'exactly two parts'],
    ['serviceaccount:ci:', 'controllers', 'not a service account name'],
    ['serviceaccount:CI:deployer', 'controllers', 'not a namespace name'],
    ['system:serviceaccount:kube-system:*', 'controllers', 'write serviceaccount:kube-system:*'],
    ['Group:ci', 'controllers', 'did you mean "group:'],
    ['group: ci', 'controllers', 'white space'],
    [' alice', 'controllers', 'white space'],
    ['group:', 'controllers', 'must not be empty'],
  ])('refuses %j in %s: %s', (principal, field, message) => {
    const errors = errorsOf(`${HEADER}${field}: [${JSON.stringify(principal)}]\n`);
    expect(errors).toEqual([
      {
        line: 3,
        column: expect.any(Number) as number,
        path: `${field}[0]`,
        message: expect.stringContaining(message) as string,
      },
    ]);
  });

  it('refuses a malformed allowedRequesters principal at its rule path', () => {
    const errors = errorsOf(
      `${HEADER}rules:\n  - name: a\n    allowedRequesters: [alice, "serviceaccount:ci:x:y"]\n`,
    );
    expect(errors).toMatchObject([{ line: 5, path: 'rules[0].allowedRequesters[1]' }]);
  });

  it.each([
    ['breakGlass.group', `breakGlass: { group: " sre" }\n`],
    [
      'rules[0].classificationAccess.confidential[0]',
      `rules:\n  - name: a\n    classificationAccess: { confidential: ["leads\\u0000"] }\n`,
    ],
  ])('refuses a group name with surrounding space or a control character at %s', (path, body) => {
    expect(errorsOf(`${HEADER}${body}`)).toMatchObject([{ path }]);
  });

  it('accepts every form of the grammar', () => {
    const principals = [
      'alice',
      'user:group:x',
      'group:system:serviceaccounts:ci',
      'serviceaccount:ci:deployer',
      'serviceaccount:ci:*',
    ];
    const result = parsePolicy(`${HEADER}controllers: ${JSON.stringify(principals)}\n`, 'p.yaml');
    expect(result.ok && result.policy.controllers).toEqual(principals);
  });
});

describe('loadPolicyFile and formatPolicyError', () => {
  it('loads a file by path and names it as the source', async () => {
    const path = new URL('example.yaml', fixtures).pathname;
    const result = await loadPolicyFile(path);
    expect(result.ok && result.policy.source).toBe(path);
  });

  it('throws when the file cannot be read, as broken infrastructure', async () => {
    await expect(loadPolicyFile('/nonexistent/policy.yaml')).rejects.toThrow(/ENOENT/);
  });

  it.each([
    [
      'a field error carries its path',
      { line: 5, column: 11, path: 'rules[0].mode', message: 'bad' },
      'p.yaml:5:11: rules[0].mode: bad',
    ],
    ['a syntax error has no path', { line: 2, column: 1, path: '', message: 'bad' }, 'p.yaml:2:1: bad'],
  ])('%s', (_sentence, error, line) => {
    expect(formatPolicyError('p.yaml', error)).toBe(line);
  });
});
