import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/fixtures/cli.js';

const sha = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';
const line = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    level: 'warn',
    time: '2026-05-01T10:00:00.000Z',
    msg: 'admission',
    uid: 'u1',
    kind: 'Deployment',
    namespace: 'ml',
    name: 'fraud',
    operation: 'CREATE',
    user: 'alice',
    groups: [],
    dryRun: false,
    decision: 'deny',
    mode: 'enforce',
    rule: 'inference',
    reasons: [{ code: 'bad-signature', message: 'model fraud@3: no, "really"', path: 'spec.x' }],
    models: [{ name: 'fraud@3', version: '3', keyId: 'ci', format: 'v2', sha256: sha }],
    caller: 'verified-client-cert',
    durationMs: 1,
    ...over,
  });
const log = [
  line(),
  line({ uid: 'u2', time: '2026-05-03T10:00:00.000Z', rule: 'other', models: [], user: 'bob' }),
  // an old line: no uid, rule or version
  line({
    uid: undefined,
    rule: undefined,
    time: '2026-05-02T10:00:00.000Z',
    models: [{ name: 'old@1', keyId: 'legacy', format: 'v2', sha256: sha }],
  }),
].join('\n');

const audit = (...args: string[]) => runCli(['audit', '--log', '-', ...args], { stdin: log });

describe('modelgate audit', () => {
  it.each([
    ['--model fraud', ['--model', 'fraud'], ['u1']],
    ['--model old@1 (a line older than version)', ['--model', 'old@1'], ['']],
    ['--key ci', ['--key', 'ci'], ['u1']],
    ['--rule other', ['--rule', 'other'], ['u2']],
    ['--until a time', ['--until', '2026-05-02T12:00:00Z'], ['u1', '']],
    ['--since and --until', ['--since', '2026-05-01T12:00:00Z', '--until', '2026-05-02T12:00:00Z'], ['']],
  ])('filters by %s', async (_, args, uids) => {
    const { code, out } = await audit('-o', 'json', ...args);
    expect(code).toBe(0);
    expect((JSON.parse(out) as { uid: string }[]).map((e) => e.uid)).toEqual(uids);
  });

  it('--json is -o json', async () => {
    expect((await audit('--json')).out).toBe((await audit('-o', 'json')).out);
  });

  it('-o csv: a header and quoted cells', async () => {
    const { code, out } = await audit('-o', 'csv', '--model', 'fraud');
    expect(code).toBe(0);
    const [header, row] = out.split('\r\n');
    expect(header).toBe(
      'time,decision,namespace,object,user,caller,rule,models,approvers,uid,reasons,paths,message',
    );
    expect(row).toContain(`fraud@3:ci:${sha.slice(0, 12)}`);
    expect(row).toMatch(/,"model fraud@3: no, ""really"" \(at spec\.x\)"$/);
  });

  it('-o wide: models, rule and paths; "-" for an old line', async () => {
    const { out } = await audit('-o', 'wide');
    const rows = out.trimEnd().split('\n');
    expect(rows[0]).toMatch(/RULE\s+MODELS\s+APPROVERS\s+UID\s+REASONS\s+PATHS\s+MESSAGE$/);
    expect(rows[1]).toContain(`inference  fraud@3:ci:${sha.slice(0, 12)}`);
    expect(rows[2]).toMatch(/verified-client-cert\s+-\s+old@1:legacy:\w+\s+-\s+-\s+bad-signature\s+spec\.x/);
  });

  it.each([
    ['--since 5 (a bare number)', ['--since', '5'], /--since: "5" has no unit: write 5s, 5m, 5h, 5d or 5w/],
    ['--until nonsense', ['--until', 'soon'], /--until: "soon" is neither a duration/],
    ['-o yaml', ['-o', 'yaml'], /-o must be one of table, wide, json, csv, got "yaml"/],
    ['--json with -o csv', ['--json', '-o', 'csv'], /--json is -o json/],
  ])('refuses %s with a message (exit 2)', async (_, args, message) => {
    const { code, err } = await audit(...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it('without a kubeconfig or --log, says to use --log FILE', async () => {
    const { code, err } = await runCli(['audit']);
    expect(code).toBe(2);
    expect(err).toMatch(/no kubeconfig.*--log FILE/);
  });

  it('--help names the outputs and the new filters', async () => {
    const { out } = await runCli(['audit', '--help']);
    for (const flag of [
      '-o table|wide|json|csv',
      '--until',
      '--model',
      '--key',
      '--rule',
      'a bare number is an error',
    ])
      expect(out).toContain(flag);
  });
});
