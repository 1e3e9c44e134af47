import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load.js';

function rule(body: string): string {
  return `apiVersion: modelgate.dev/v1
kind: Policy
rules:
  - name: r
${body}`;
}

function errors(body: string): string[] {
  const r = parsePolicy(rule(body), 'p.yaml');
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.column}: ${e.path}: ${e.message}`);
}

describe('the policy loader reads validations and variables', () => {
  it('compiles them once, in the rule, in order', () => {
    const r = parsePolicy(
      rule(`    variables:
      - name: a
        expression: "1"
      - name: b
        expression: variables.a + 1
    validations:
      - expression: variables.b == 2
        message: two
        reason: Forbidden
      - expression: "true"
        messageExpression: "'never shown'"
`),
      'p.yaml',
    );
    expect(r.ok).toBe(true);
    const [compiled] = r.ok ? r.policy.rules : [];
    expect(compiled?.variables.map((v) => [v.name, v.program.text])).toEqual([
      ['a', '1'],
      ['b', 'variables.a + 1'],
    ]);
    expect(
      compiled?.validations.map((v) => [v.program.text, v.message, v.reason, v.messageExpression?.text]),
    ).toEqual([
      ['variables.b == 2', 'two', 'Forbidden', undefined],
      ['true', undefined, 'Invalid', "'never shown'"],
    ]);
  });

  it('leaves a rule without them with none', () => {
    const r = parsePolicy(rule('    mode: warn\n'), 'p.yaml');
    expect(r.ok && [r.policy.rules[0]?.variables, r.policy.rules[0]?.validations]).toEqual([[], []]);
  });

  it.each([
    [
      'a validation without expression',
      '    validations:\n      - message: hi\n',
      ['6:9: rules[0].validations[0].expression: is required'],
    ],
    [
      'a misspelt field',
      '    validations:\n      - expression: "true"\n        mesage: hi\n',
      [
        '7:9: rules[0].validations[0].mesage: unknown field "mesage" (known fields: expression, message, messageExpression, reason)',
      ],
    ],
    [
      'an unknown reason',
      '    validations:\n      - expression: "true"\n        reason: Nope\n',
      [
        '7:17: rules[0].validations[0].reason: unknown value "Nope" (expected one of: Unauthorized, Forbidden, Invalid, RequestEntityTooLarge)',
      ],
    ],
    [
      'a messageExpression that is not a string',
      '    validations:\n      - expression: "true"\n        messageExpression: "1"\n',
      [
        '7:29: rules[0].validations[0].messageExpression: invalid CEL: must evaluate to string, but its type is int',
      ],
    ],
    [
      'a variable name that is no identifier',
      '    variables:\n      - name: my-var\n        expression: "1"\n',
      [
        '6:15: rules[0].variables[0].name: "my-var" is not a CEL identifier (letters, digits, _; not starting with a digit)',
      ],
    ],
    [
      'a variable declared twice',
      '    variables:\n      - name: a\n        expression: "1"\n      - name: a\n        expression: "2"\n',
      ['9:21: rules[0].variables[1].name: duplicate variable "a"'],
    ],
    [
      'a variable read before it is declared',
      '    variables:\n      - name: a\n        expression: variables.b\n      - name: b\n        expression: "1"\n',
      [
        "7:30: rules[0].variables[0].expression: invalid CEL: undeclared variable 'b' (declared before this: none)",
      ],
    ],
  ])('refuses %s, saying where', (_what, body, expected) => {
    expect(errors(body)).toEqual(expected);
  });
});
