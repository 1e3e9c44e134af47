import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/fixtures/cli.js';

const dir = new URL('../../test/fixtures/policies/', import.meta.url).pathname;

const run = (...args: string[]): ReturnType<typeof runCli> => runCli(['policy', ...args]);

describe('modelgate policy check', () => {
  it.each([
    ['the full example is valid', 'example.yaml', 'policy OK: 3 rules\n'],
    ['a file without rules has the one default rule', 'minimal.yaml', 'policy OK: 1 rule\n'],
  ])('%s', async (_sentence, file, line) => {
    expect(await run('check', dir + file)).toEqual({ code: 0, out: line, err: '' });
  });

  it.each([
    [
      'an unknown field',
      'broken-unknown-field.yaml',
      [':6:5: rules[0].requireScanPass: unknown field "requireScanPass"'],
    ],
    [
      'an unknown mode',
      'broken-mode.yaml',
      [':5:11: rules[0].mode: unknown value "enforcing" (expected one of: enforce, warn, audit)'],
    ],
    [
      'a YAML syntax error',
      'broken-syntax.yaml',
      [':7:1: Flow sequence in block collection must be sufficiently indented'],
    ],
    ['five wrong types', 'broken-types.yaml', [':6:19:', ':7:27:', ':8:13:', ':9:23:', ':10:24:']],
    [
      'bad CEL: an undeclared name, a wrong overload, a wrong type in a block literal, a backreference',
      'broken-cel.yaml',
      [
        ":9:75: rules[0].validations[0].expression: invalid CEL: undeclared reference to 'bogus'",
        ":10:23: rules[0].validations[1].expression: invalid CEL: found no matching overload for '_+_' applied to (int, string)",
        ":13:36: rules[0].validations[2].expression: invalid CEL: found no matching overload for 'startsWith' applied to dyn.(int)",
        ':15:41: rules[0].validations[3].expression: invalid CEL: invalid regular expression (RE2 syntax)',
      ],
    ],
    [
      'malformed principals (loose service accounts, a mistyped prefix, an empty name, a padded group)',
      'broken-principals.yaml',
      [
        ':5:5: controllers[1]: principal "serviceaccount:kube-system:replicaset-controller:extra": must be serviceaccount:NAMESPACE:NAME',
        ':6:5: controllers[2]: principal "ServiceAccount:kube-system:job-controller": did you mean "serviceaccount:',
        ':9:25: rules[0].allowedRequesters[0]: principal "serviceaccount:ci:": "" is not a service account name',
        ':9:47: rules[0].allowedRequesters[1]: principal "group: ci": the group must not start or end with white space',
      ],
    ],
  ])('exits 1 and prints file:line:col for %s', async (_sentence, file, fragments) => {
    const { code, out, err } = await run('check', dir + file);
    expect(code).toBe(1);
    expect(out).toBe('');
    const lines = err.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(fragments.length);
    fragments.forEach((f, i) => expect(lines[i]).toContain(`${dir}${file}${f}`));
  });

  it('prints the errors as JSON with --json', async () => {
    const { code, out } = await run('check', '--json', dir + 'broken-mode.yaml');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({
      ok: false,
      file: dir + 'broken-mode.yaml',
      errors: [
        {
          line: 5,
          column: 11,
          path: 'rules[0].mode',
          message: 'unknown value "enforcing" (expected one of: enforce, warn, audit)',
        },
      ],
    });
  });

  it('prints the rules as JSON with --json', async () => {
    const { code, out } = await run('check', dir + 'example.yaml', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out).rules).toEqual([
      { name: 'prod', mode: 'enforce' },
      { name: 'staging', mode: 'warn' },
      { name: 'default', mode: 'enforce' },
    ]);
  });

  it.each([
    ['no subcommand', [], 'missing subcommand: check'],
    ['an unknown subcommand', ['lint', 'x'], 'unknown subcommand "lint"'],
    ['no file', ['check'], 'missing the policy file'],
    ['two files', ['check', 'a', 'b'], 'takes one file'],
    ['an unknown flag', ['check', '--strict', 'a'], "Unknown option '--strict'"],
    ['a missing file', ['check', '/nonexistent/policy.yaml'], 'cannot read /nonexistent/policy.yaml: ENOENT'],
  ])('exits 2 for %s', async (_sentence, args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});
