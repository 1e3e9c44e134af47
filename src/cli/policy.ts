/** `modelgate policy check <file>`: validate a policy file before it goes into the ConfigMap. */
import { formatPolicyError, loadPolicyFile, type PolicyLoadResult } from '../policy/load.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { parseCommandLine } from './args.js';

const HELP = `usage: modelgate policy check <file> [--json]

Validates a policy file (see docs/policy.md): YAML syntax, unknown fields, wrong types,
unknown modes, kinds and durations, each reported as file:line:col: path: message.
  --json   print {"ok":true,"rules":[...]} or {"ok":false,"errors":[{line,column,path,message}]}
exit: 0 valid, 1 invalid, 2 bad input`;

const OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const policy: Command = async (args, io) => {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [sub, file, ...extra] = positionals;
  if (sub !== 'check')
    throw new UsageError(
      sub === undefined ? 'missing subcommand: check' : `unknown subcommand "${sub}"; use: check`,
    );
  if (file === undefined) throw new UsageError('policy check: missing the policy file');
  if (extra.length > 0) throw new UsageError(`policy check takes one file, got also: ${extra.join(' ')}`);
  const result = await loadPolicyFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
  });
  report(result, file, values.json, io);
  return result.ok ? 0 : 1;
};

function report(result: PolicyLoadResult, file: string, json: boolean, io: CliIO): void {
  if (json) {
    const body = result.ok
      ? { ok: true, file, rules: result.policy.rules.map((r) => ({ name: r.name, mode: r.mode })) }
      : { ok: false, file, errors: result.errors };
    io.stdout.write(`${JSON.stringify(body)}\n`);
    return;
  }
  if (result.ok) {
    const n = result.policy.rules.length;
    io.stdout.write(`policy OK: ${n} ${n === 1 ? 'rule' : 'rules'}\n`);
    return;
  }
  for (const e of result.errors) io.stderr.write(`${formatPolicyError(file, e)}\n`);
}
