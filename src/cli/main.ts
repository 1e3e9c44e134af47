import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { cliVersion } from './version.js';

const commands: Record<string, () => Promise<Command>> = {
  sign: async () => (await import('./sign.js')).sign,
  verify: async () => (await import('./verify.js')).verify,
  keygen: async () => (await import('./keygen.js')).keygen,
  review: async () => (await import('./review.js')).review,
  policy: async () => (await import('./policy.js')).policy,
  serve: async () => (await import('./serve.js')).serve,
  audit: async () => (await import('./audit.js')).audit,
};

const USAGE = `usage: modelgate <command> [options]

commands:
  sign <model> --key-file F [--key-id ID] [--format v1|v2] [--out M]   write a manifest
                                                                        (F: an HMAC key, or a private key from keygen: v2)
  keygen --type ec-p256|ec-p384|ec-p521|ed25519|hmac --key-id ID [--out-dir D]
                                                                        write a signing key pair (public key: the keys Secret)
  verify <model> [--manifest M] (--key-file F | --keys-dir D | --sha256 HEX)   re-hash and check
  review [-f FILE|-] [--policy P] [--keys-dir D] [--user U] [--groups G] [--namespace N] [--configmap F]... [-o json]
                                                                        decide what you will apply (or an AdmissionReview) offline
  serve --keys-dir D (--tls-cert F --tls-key F | --tls-self-managed ...) [--policy P] [--port N] [--client-ca F]   run the webhook
  audit [--log FILE...] [--kubeconfig F] [--user U] [--decision D] [--namespace N] [--reason R] [--since DUR] [--authenticated-only] [--json]
                                                                        past decisions, from log files or the cluster's Events
  policy check <file>                                                   validate a policy file

Run 'modelgate <command> --help' for the options of one command; 'modelgate --version' for the version.
`;

/** `modelgate`, `--help`, `--version`: answered without a command. */
async function topLevel(name: string | undefined, io: CliIO): Promise<number | undefined> {
  if (name === '--version' || name === 'version') {
    io.stdout.write(`modelgate ${(await cliVersion()) ?? 'unknown'}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  return undefined;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  const top = await topLevel(name, io);
  if (top !== undefined) return top;
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    io.stderr.write(`modelgate: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`modelgate ${name}: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`modelgate ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
