/**
 * `modelgate verify <model> --oms-bundle B --oms-payload-sha256 H`: the init container's re-check
 * of an OMS (model_signing) model. No key: the webhook verified the bundle's signature at
 * admission, and the pod spec it admitted pins the sha256 of exactly the payload it verified, so
 * a bundle swapped on its way to the pod (the ConfigMap edited after admission) is refused here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { digestError } from '../manifest/fields.js';
import { progressLine } from '../manifest/progress.js';
import { parseManifests } from '../manifest/parse.js';
import type { Problem } from '../manifest/types.js';
import type { VerifyValues } from '../manifest/verify-command.js';
import { MAX_OMS_BUNDLE_BYTES } from '../oms/bundle.js';
import { checkOmsModel, type OmsFileCheck } from '../oms/check-files.js';
import { parseOmsStatement } from '../oms/statement.js';
import type { OmsStatement } from '../oms/types.js';
import type { CliIO } from './types.js';
import { UsageError } from './types.js';

export interface OmsVerifyReport {
  valid: boolean;
  mode: 'oms';
  bundle: string;
  name?: string;
  files: OmsFileCheck[];
  problems: Problem[];
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

async function readBundle(path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_OMS_BUNDLE_BYTES) throw new UsageError(`${path} is larger than ${MAX_OMS_BUNDLE_BYTES} bytes`);
    return text;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read OMS bundle ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The statement of the bundle at `path`, if its payload is the pinned one. */
async function pinnedStatement(path: string, pin: string, report: OmsVerifyReport): Promise<OmsStatement | undefined> {
  const parsed = parseManifests(await readBundle(path), path);
  const m = parsed.ok ? parsed.value[0] : undefined;
  if (!parsed.ok || m?.format !== 'oms' || parsed.value.length !== 1) {
    report.problems.push(parsed.ok ? { code: 'unknown-format', path, message: 'is not one OMS bundle' } : parsed.problem);
    return undefined;
  }
  const actual = createHash('sha256').update(m.body.envelope.payload).digest('hex');
  if (!sameHex(actual, pin)) {
    report.problems.push({ code: 'pin-mismatch', path, message: `its payload has sha256 ${actual}, not the admitted ${pin}: the bundle is not the one the webhook verified` });
    return undefined;
  }
  const statement = parseOmsStatement(m.body.envelope.payload, `${path}:payload`);
  if (!statement.ok) {
    report.problems.push(statement.problem);
    return undefined;
  }
  if (statement.value.serialization.allowSymlinks) {
    report.problems.push({ code: 'symlinks-allowed', path, message: 'the bundle was signed with allow_symlinks: true, which modelgate refuses' });
    return undefined;
  }
  return statement.value;
}

function render(r: OmsVerifyReport): string {
  const lines = r.files.map((f) => (f.ok ? `ok    ${f.path}  sha256 ${f.actual ?? '-'}` : `FAIL  ${f.path}: ${f.problem ?? 'invalid'} (expected sha256 ${f.expected ?? '-'}, got ${f.actual ?? '-'})`));
  for (const p of r.problems) lines.push(`FAIL  ${p.path}: ${p.message} [${p.code}]`);
  lines.push(
    r.valid
      ? `valid: ${r.files.length} signed file(s)/shard(s) match the OMS bundle${r.name === undefined ? '' : ` of ${r.name}`}, no unsigned file, no symlink`
      : 'INVALID: the model on the volume is not the one the admitted OMS bundle signs: re-download it, or deploy a newly signed bundle',
  );
  return `${lines.join('\n')}\n`;
}

/** Run the OMS form of verify; values hold --oms-bundle and --oms-payload-sha256. */
export async function verifyOms(values: VerifyValues, models: string[], io: CliIO): Promise<number> {
  const bundle = values['oms-bundle'];
  const pin = values['oms-payload-sha256'];
  if (bundle === undefined || pin === undefined) throw new UsageError('--oms-bundle B and --oms-payload-sha256 HEX go together');
  const other = (['manifest', 'key-file', 'key-id', 'keys-dir', 'sha256'] as const).find((k) => values[k] !== undefined);
  if (other !== undefined) throw new UsageError(`--${other} does not go with --oms-bundle`);
  if (models.length !== 1) throw new UsageError('with --oms-bundle, pass one model directory (or the single signed file)');
  const why = digestError(pin);
  if (why !== undefined) throw new UsageError(`--oms-payload-sha256 ${JSON.stringify(pin)} ${why}`);
  const report: OmsVerifyReport = { valid: false, mode: 'oms', bundle, files: [], problems: [] };
  const statement = await pinnedStatement(bundle, pin, report);
  if (statement !== undefined) {
    report.name = statement.name;
    const progress = progressLine(io.stderr, 'verifying', { signals: process });
    try {
      const checked = await checkOmsModel(models[0] as string, statement, progress.onProgress);
      report.files = checked.files;
      report.problems.push(...checked.problems, ...checked.files.filter((f) => !f.ok).map((f) => ({ code: f.code ?? 'file-refused', path: f.path, message: f.problem ?? 'invalid' })));
    } finally {
      progress.end();
    }
  }
  report.valid = report.problems.length === 0 && report.files.length > 0;
  io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : render(report));
  return report.valid ? 0 : 1;
}
