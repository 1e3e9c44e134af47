import { describe, expect, it } from 'vitest';
import { CelScalar } from '@bufbuild/cel';
import { compileExpression, MAX_EXPRESSION_LENGTH } from './compile.js';
import type { CheckEnv } from './check.js';

const none: CheckEnv = { variables: new Map() };

function error(text: string, want: 'bool' | 'string' | 'any' = 'bool', env = none): unknown {
  const r = compileExpression(text, want, env);
  return r.ok ? undefined : r.error;
}

describe('compileExpression: what a policy author gets wrong is refused at load', () => {
  it.each([
    ["object.metadata.name == 'x'"],
    ["models.all(m, m.claims.scan == 'passed')"],
    ["request.userInfo.groups.exists(g, g == 'ml-leads')"],
    ["now - timestamp(models[0].claims.biasTestedAt) < duration('2160h')"],
    ["labels['env'] == 'prod' && has(object.spec)"],
    ["'a1b22'.findAll('[0-9]+').size() == 2 && 'x'.matches('^x$') && 'ab'.find('b') == 'b'"],
    ['[3, 1, 2].max() == 3 && [1, 2].isSorted() && [1, 2].sum() == 3 && [1, 2].indexOf(2) == 1'],
    ["'Abc'.lowerAscii().startsWith('ab') && 'a,b'.split(',').size() == 2 && strings.quote('x') != ''"],
    ['oldObject == null || oldObject.metadata.name == object.metadata.name'],
    ['type(request.dryRun) == bool'],
    ['{"a": 1}.all(k, k == "a") && [1, 2].map(x, x * 2) == [2, 4] && [1, 2].exists_one(x, x == 2)'],
  ])('accepts %s', (text) => {
    expect(error(text)).toBeUndefined();
  });

  it.each([
    ['nope == 1', 1, 1, /undeclared reference to 'nope'/],
    ['toString == 1', 1, 1, /undeclared reference to 'toString'/],
    ['__proto__ == 1', 1, 1, /undeclared reference to '__proto__'/],
    [
      "object.metadata.name == 'x' &&\n  models.size() > 0 && bogus",
      2,
      24,
      /undeclared reference to 'bogus'/,
    ],
    ["1 + 'a'", 1, 2, /no matching overload for '_\+_' applied to \(int, string\)/],
    [
      'object.metadata.name.startsWith(1)',
      1,
      21,
      /no matching overload for 'startsWith' applied to dyn\.\(int\)/,
    ],
    ['models.frobnicate()', 1, 7, /undeclared reference to function 'frobnicate'/],
    ["labels['env'].size", 1, 14, /type 'string' has no field 'size'/],
    ['now.seconds', 1, 4, /has no field 'seconds'/],
    ['[1, 2].all(x, x)', 1, 15, /takes bool, got int/],
    ['1.all(x, true)', 1, 1, /cannot iterate over 'int'/],
    ['object.metadata.name ==', 1, 22, /syntax error/],
    ['variables.missing', 1, 10, /undeclared variable 'missing' \(declared before this: none\)/],
  ])('refuses %j at line %i, column %i', (text, line, column, message) => {
    expect(error(text)).toMatchObject({ line, column, message: expect.stringMatching(message) });
  });

  it('refuses a validation that is not a bool, and a messageExpression that is not a string', () => {
    expect(error("labels['env']")).toMatchObject({
      message: 'must evaluate to bool, but its type is string',
    });
    expect(error('1 + 1', 'string')).toMatchObject({
      message: 'must evaluate to string, but its type is int',
    });
    expect(error('object.metadata.name', 'string')).toBeUndefined(); // dyn: checked when it runs
  });

  it('lists the label names it reads by constant', () => {
    const r = compileExpression(
      "labels['a'] == 'x' && labels.b == 'y' && 'c' in labels && labels.exists(k, k == 'd')",
      'bool',
      none,
    );
    expect(r.ok && r.program.labels.sort()).toEqual(['a', 'b', 'c']);
  });

  it('reads a variable declared before it, with its type', () => {
    const env: CheckEnv = { variables: new Map([['env', CelScalar.STRING]]) };
    expect(error("variables.env == 'prod'", 'bool', env)).toBeUndefined();
    expect(error('variables.env + 1 == 2', 'bool', env)).toMatchObject({
      message: expect.stringMatching(/overload/),
    });
  });

  it.each([
    ["'x'.matches('(a)\\\\1')", /backreference|invalid escape/],
    ["'x'.matches('(?=a)')", /Perl syntax/],
    ["'x'.find('a{1001}') == ''", /invalid repeat count/],
    ["matches('x', '((a{1000}){1000}){1000}')", /invalid repeat count/],
  ])(
    'refuses the regular expression in %s at load (RE2 syntax: no backtracking constructs)',
    (text, message) => {
      expect(error(text)).toMatchObject({ message: expect.stringMatching(message) });
    },
  );

  it('refuses an expression longer than the limit, and one nested too deeply for the parser', () => {
    expect(error(`${'true && '.repeat(MAX_EXPRESSION_LENGTH / 8)}true`)).toMatchObject({
      message: `longer than ${MAX_EXPRESSION_LENGTH} characters`,
    });
    const deep = `${'['.repeat(2000)}${']'.repeat(2000)} == []`;
    expect(error(deep)).toMatchObject({
      message: expect.stringMatching(/nested too deeply|syntax error|overload/),
    });
  });
});
