import { describe, expect, it } from 'vitest';
import { serveConfig } from './serve.js';
import { UsageError } from './types.js';

const tls = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--keys-dir', 'keys'];

describe('modelgate serve flags', () => {
  it('defaults: 0.0.0.0:8443, deny on internal errors, 8 s deadline, default policy', () => {
    const cfg = serveConfig(tls, {});
    expect(cfg).toMatchObject({
      host: '0.0.0.0',
      port: 8443,
      tls: { kind: 'files', certFile: 'c.pem', keyFile: 'k.pem' },
      keysDir: 'keys',
      policyFile: undefined,
      failureMode: 'deny',
      deadlineMs: 8000,
      logLevel: 'info',
      eventQueueSize: 1000,
      events: 'all',
      eventRate: 20,
      eventBurst: 100,
      clientCaFile: undefined,
      metricsPort: undefined,
    });
  });

  it('--events chooses which decisions make an Event; --event-rate/--event-burst pace the writes', () => {
    expect(serveConfig([...tls, '--events', 'warnings'], {})).toMatchObject({ events: 'warnings' });
    expect(serveConfig([...tls, '--events', 'none', '--event-rate', '5', '--event-burst', '10'], {})).toMatchObject({
      events: 'none',
      eventRate: 5,
      eventBurst: 10,
    });
    expect(() => serveConfig([...tls, '--events', 'some'], {})).toThrow('--events must be all, warnings or none');
    expect(() => serveConfig([...tls, '--event-rate', '0'], {})).toThrow('--event-rate must be an integer');
  });

  it('--metrics-port gives metrics their own port, which must differ from --port', () => {
    expect(serveConfig([...tls, '--metrics-port', '9402'], {})).toMatchObject({
      port: 8443,
      metricsPort: 9402,
    });
    expect(() => serveConfig([...tls, '--metrics-port', '8443'], {})).toThrow(
      '--metrics-port must differ from --port',
    );
    expect(() => serveConfig([...tls, '--metrics-port', 'x'], {})).toThrow(UsageError);
  });

  it('the background scan is on by default, every 10m, Lease 15s; --no-scan and --no-policy-reports switch it', () => {
    expect(serveConfig(tls, {})).toMatchObject({
      scan: { enabled: true, reports: true, periodMs: 600_000, leaseDurationMs: 15_000 },
    });
    expect(serveConfig([...tls, '--no-scan'], {})).toMatchObject({ scan: { enabled: false } });
    expect(serveConfig([...tls, '--no-policy-reports'], {})).toMatchObject({
      scan: { enabled: true, reports: false },
    });
    expect(
      serveConfig(
        [...tls, '--scan-period', '1h30m', '--scan-lease-namespace', 'mg', '--scan-lease-name', 'x'],
        {},
      ),
    ).toMatchObject({ scan: { periodMs: 5_400_000, leaseNamespace: 'mg', leaseName: 'x' } });
  });

  it.each([
    ['--scan-period', '10'],
    ['--scan-period', '0'],
    ['--scan-lease-duration', '1s'],
    ['--scan-lease-duration', '10m'],
  ])('refuses %s %s, saying the grammar', (flag, value) => {
    expect(() => serveConfig([...tls, flag, value], {})).toThrow(/must be a duration from/);
  });

  const run = async (args: string[]) => {
    const { main } = await import('./main.js');
    const out = { stdout: '', stderr: '' };
    const sink = (k: 'stdout' | 'stderr') => ({ write: (t: string) => ((out[k] += t), true) });
    const io = { stdin: process.stdin, stdout: sink('stdout'), stderr: sink('stderr'), env: {} };
    return { code: await main(['serve', ...args], io as never), ...out };
  };

  it('every flag --help documents is one the parser knows', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const flags = new Set(stdout.match(/--[a-z][a-z-]+/g));
    expect(flags.size).toBeGreaterThan(15);
    for (const flag of flags) expect(() => serveConfig([flag, '--help'], {})).not.toThrow(/Unknown option/);
  });

  it("a bad flag is a usage error: exit 2 with the parser's message", async () => {
    expect(await run(['--prot', '8443'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^modelgate serve: Unknown option '--prot'/),
    });
  });

  it('--client-ca names the CA bundle callers of POST /validate must chain to', () => {
    expect(serveConfig([...tls, '--client-ca', 'apiserver-ca.pem'], {})).toMatchObject({
      clientCaFile: 'apiserver-ca.pem',
    });
  });

  it('self-managed TLS takes the Secret, namespace, Service and webhook configuration', () => {
    const cfg = serveConfig(
      [
        '--keys-dir',
        'k',
        '--tls-self-managed',
        '--tls-secret',
        's',
        '--namespace',
        'n',
        '--service-name',
        'svc',
        '--webhook-config',
        'w',
        '--webhook-failure-policy',
        'Fail',
      ],
      {},
    );
    expect(cfg).toMatchObject({
      tls: {
        kind: 'self-managed',
        secretName: 's',
        namespace: 'n',
        serviceName: 'svc',
        webhookConfig: 'w',
        failurePolicy: 'Fail',
      },
    });
  });

  it.each([
    [['--keys-dir', 'k'], /--tls-cert FILE and --tls-key FILE, or --tls-self-managed/],
    [['--tls-cert', 'c', '--tls-key', 'k'], /--keys-dir DIR is required/],
    [[...tls, '--failure-mode', 'maybe'], /--failure-mode must be deny or allow/],
    [[...tls, '--port', '99999'], /--port must be an integer from 0 to 65535/],
    [[...tls, '--deadline-ms', '30000'], /--deadline-ms must be an integer from 100 to 29000/],
    [
      ['--keys-dir', 'k', '--tls-self-managed', '--tls-secret', 's'],
      /needs --namespace, --service-name, --webhook-config/,
    ],
    [[...tls, '--tls-self-managed'], /exclude each other/],
    [[...tls, '--webhook-failure-policy', 'Fail'], /--webhook-failure-policy needs --tls-self-managed/],
    [
      ['--keys-dir', 'k', '--tls-self-managed', '--tls-secret', 's', '--namespace', 'n', '--service-name', 'v',
        '--webhook-config', 'w', '--webhook-failure-policy', 'fail'],
      /--webhook-failure-policy must be Fail or Ignore/,
    ], // prettier-ignore
    [[...tls, '--log-level', 'loud'], /--log-level must be one of/],
    [[...tls, '--prot', '8443'], /Unknown option '--prot'/],
    [[...tls, '--port'], /--port <value>' argument missing/],
    [[...tls, 'extra'], /unexpected argument "extra"/],
  ])('%j is refused', (args, message) => {
    expect(() => serveConfig(args, {})).toThrow(UsageError);
    expect(() => serveConfig(args, {})).toThrow(message);
  });
});
