import { readFile } from 'node:fs/promises';
import { decodeAdmissionReview } from '../admission/decode.js';
import { reviewResponse } from '../admission/respond.js';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { loadKeyDir } from '../keys/load.js';
import type { Keyring } from '../keys/types.js';
import { defaultPolicy } from '../policy/defaults.js';
import { formatPolicyError, loadPolicyFile } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { parseFlags } from './args.js';

const HELP = `usage: modelgate review [-f FILE|-] [--policy P] [--keys-dir D]

Decides one AdmissionReview offline, exactly as the webhook would, and prints the response
review JSON. Manifests in ConfigMaps cannot be read offline and are refused.
exit: 0 allowed, 1 denied, 2 bad input`;

/** `modelgate review`: decide one AdmissionReview offline. */
export const review: Command = async (args, io) => {
  const values = parseFlags(args, {
    file: { type: 'string', short: 'f', default: '-' },
    policy: { type: 'string' },
    'keys-dir': { type: 'string' },
    now: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const body = await readInput(values.file, io);
  const decoded = decodeAdmissionReview(body, 'application/json');
  if (!decoded.ok) throw new UsageError(`${values.file === '-' ? 'stdin' : values.file}: ${decoded.message}`);
  const [keyring, policy] = await Promise.all([loadKeys(values['keys-dir']), loadPolicy(values.policy)]);
  const now = values.now === undefined ? new Date() : parseNow(values.now);
  const decision = decideAdmission(planAdmission(decoded.request, policy), { resolved: [], keyring, now });
  io.stdout.write(`${JSON.stringify(reviewResponse(decision.response), null, 2)}\n`);
  return decision.response.allowed ? 0 : 1;
};

async function readInput(file: string, io: CliIO): Promise<Buffer> {
  if (file !== '-') {
    return readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function loadKeys(dir: string | undefined): Promise<Keyring> {
  if (dir === undefined) return new MemoryKeyring([]);
  return loadKeyDir(dir).catch((err: Error) => {
    throw new UsageError(err.message);
  });
}

async function loadPolicy(file: string | undefined): Promise<Policy> {
  if (file === undefined) return defaultPolicy();
  const result = await loadPolicyFile(file);
  if (!result.ok)
    throw new UsageError(
      `invalid policy:\n${result.errors.map((e) => formatPolicyError(file, e)).join('\n')}`,
    );
  return result.policy;
}

function parseNow(text: string): Date {
  const now = new Date(text);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO 8601 time, got "${text}"`);
  return now;
}
