/**
 * `modelgate verify`: re-hash model bytes and check them against a signed manifest (with a key)
 * or against sha256 values pinned in the pod spec (the init container: no key in the workload).
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { KeyLoadError, keyIdOfFileName, loadKeyDir, loadKeyFile } from '../keys/load.js';
import type { Keyring } from '../keys/types.js';
import { digestError } from '../manifest/fields.js';
import { manifestPathFor } from '../manifest/files.js';
import { HashError, hashFiles } from '../manifest/hash.js';
import { parseManifests } from '../manifest/parse.js';
import { progressLine } from '../manifest/progress.js';
import type { Manifest, Problem } from '../manifest/types.js';
import { verifyManifest } from '../manifest/verify.js';
import { parseVerifyArgs, type VerifyValues } from '../manifest/verify-command.js';
import type { CliIO, Command } from './types.js';
import { verifyOms } from './verify-oms.js';
import { UsageError } from './types.js';

const HELP = `usage: modelgate verify <model> [--manifest M] (--key-file F [--key-id ID] | --keys-dir D | --sha256 HEX...)
       modelgate verify <model> --oms-bundle B --oms-payload-sha256 HEX

Re-hashes the model and checks it. Exit 0 valid, 1 invalid, 2 bad input, 130 on Ctrl-C.
Progress (64 MiB and more) goes to stderr with rate and ETA: redrawn on a terminal; in logs
(the init container) a plain line every 10% or 10 s. Each file's full sha256 ends the output.
  --key-file F   check the manifest's signature with this key: an HMAC key or a PEM public
                 key (what the keys Secret holds; a private key is refused). v2: it stands for
                 the key the manifest names; a warning says when a keys Secret would know it
                 by another id
  --keys-dir D   check it with any key in D (a mounted Secret: file name = key id; HMAC keys
                 and PEM public keys, each used only with its own algorithm)
  --sha256 HEX   no key: the bytes must have this sha256 (what the init container runs).
                 Repeat it for several files: verify a.bin b.bin --sha256 A --sha256 B,
                 or verify <dir> --manifest M --sha256 ... to check every file M lists.
  --manifest M   default: beside the model (model.onnx → model.manifest.json). With a
                 directory, the manifest's file paths are relative to that directory,
                 wherever the manifest itself is.
  --oms-bundle B, --oms-payload-sha256 HEX
                 an OpenSSF Model Signing (model_signing) model: B is its bundle, HEX the
                 sha256 of the bundle's DSSE payload the webhook verified. Every file outside
                 the signed ignore_paths must be signed, every signed file (or shard) match;
                 symlinks and unsigned extra files are refused. No key needed.
  --json         machine-readable result on stdout; every failure is in problems[]
                 (file-missing, file-refused, sha256-mismatch, size-mismatch, or the
                 manifest's own: invalid-json, bad-signature, unknown-key,
                 algorithm-mismatch, ...)
`;

type Values = VerifyValues;

/** One file to hash and what it must be. `sizeSigned: false` for v1, whose size is not signed. */
interface Target {
  path: string;
  /** Directory mode: the model directory the file must really be inside (symlinks resolved). */
  within?: string;
  /**
   * Pinned-file mode (the init container): the path itself must be the file, no symlink on the
   * way. A link resolves in each container's own filesystem, so the serving container could read
   * other bytes at the same path than the ones hashed here.
   */
  direct?: boolean;
  /** The resolved path actually read. */
  readFrom?: string;
  /** Its stat from planning (pinned files are stat'ed once, not again when resolved). */
  info?: Stats;
  sha256: string;
  size?: number;
  sizeSigned?: boolean;
}

export interface FileCheck {
  path: string;
  expected: string;
  actual?: string;
  ok: boolean;
  /** Why it failed, as a problem code (also listed in the report's problems). */
  code?: FileProblemCode;
  problem?: string;
}

/** Why a listed file failed: each names a different cause and a different fix. */
type FileProblemCode = 'file-missing' | 'file-refused' | 'sha256-mismatch' | 'size-mismatch';

export interface VerifyReport {
  valid: boolean;
  mode: 'key' | 'sha256';
  /** Directory mode: the model directory the manifest's file paths are relative to. */
  modelDir?: string;
  manifest?: string;
  format?: 'v1' | 'v2';
  name?: string;
  keyId?: string;
  /** The signature algorithm that verified (HMAC-SHA256, ECDSA-P256-SHA256, ..., Ed25519). */
  algorithm?: string;
  files: FileCheck[];
  problems: Problem[];
  warnings: Problem[];
}

interface Plan {
  report: VerifyReport;
  targets: Target[];
  /** sha256 mode with a manifest: the pinned set the manifest's hashes must match. */
  pinned?: string[];
}

function parse(args: string[]): { values: Values; models: string[] } {
  const parsed = parseVerifyArgs(args);
  if (!parsed.ok) throw new UsageError(parsed.message);
  return { values: parsed.values, models: parsed.positionals };
}

function pickMode(values: Values): 'key' | 'sha256' {
  const chosen = [values['key-file'], values['keys-dir'], values.sha256].filter(
    (v) => v !== undefined,
  ).length;
  if (chosen !== 1) throw new UsageError('choose one of --key-file F, --keys-dir D or --sha256 HEX');
  return values.sha256 === undefined ? 'key' : 'sha256';
}

function pinnedHashes(values: Values): string[] {
  const pins = values.sha256 ?? [];
  for (const p of pins) {
    const why = digestError(p);
    if (why !== undefined) throw new UsageError(`--sha256 ${JSON.stringify(p)} ${why}`);
  }
  return pins;
}

async function isDirectory(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new UsageError(`${path} does not exist: check the model path`);
  return info.isDirectory();
}

async function readManifest(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read manifest ${path} (${code}): pass --manifest, or sign the model first`);
  }
}

async function loadKeys(values: Values, manifest: Manifest): Promise<Keyring> {
  try {
    if (values['keys-dir'] !== undefined) return await loadKeyDir(values['keys-dir']);
    const file = values['key-file'] as string;
    // A key file has no id of its own; for v2 it stands for the key the manifest names.
    const id =
      values['key-id'] ?? (manifest.format === 'v2' ? manifest.body.signature.keyId : basename(file));
    return await loadKeyFile(file, id);
  } catch (err) {
    if (err instanceof KeyLoadError) throw new UsageError(err.message);
    throw err;
  }
}

/** The entry a single model file stands for: its path ends with the entry's path (the longest such). */
/**
 * `--key-file` stands for the key the v2 manifest names; say so when a keys Secret holding this
 * file would give it another id, so "valid" here is not "unknown-key" in the cluster.
 */
function keyIdWarnings(values: Values, m: Manifest): Problem[] {
  const file = values['key-file'];
  if (file === undefined || values['key-id'] !== undefined || m.format !== 'v2') return [];
  const named = m.body.signature.keyId;
  const derived = keyIdOfFileName(file);
  if ('id' in derived && derived.id === named) return [];
  return [
    {
      code: 'key-id-unknown-to-cluster',
      path: values.manifest ?? '',
      message: `the manifest names key "${named}", but ${'id' in derived ? `a keys Secret holding this file would call it "${derived.id}"` : derived.why}: the cluster verifies only if its keys Secret has a key named "${named}" (re-sign with --key-id, or pass --key-id ${named} to say this file is that key)`,
    },
  ];
}

/** With --keys-dir, name the keys that are there, so a mistyped or extended id is visible. */
function explainUnknownKey(p: Problem, values: Values, keyring: Keyring): Problem {
  if (p.code !== 'unknown-key' || values['keys-dir'] === undefined) return p;
  return { ...p, message: `${p.message} (${values['keys-dir']} holds: ${keyring.ids().join(', ')}; file name = key id)` };
}

function v2Entry(m: Manifest & { format: 'v2' }, model: string, manifestPath: string): Target {
  const files = m.body.files;
  const given = resolve(model).split(sep).join('/');
  const hit =
    files.length === 1
      ? files[0]
      : files
          .filter((f) => given.endsWith(`/${f.path}`))
          .sort((a, b) => b.path.length - a.path.length)
          .at(0);
  if (hit === undefined)
    throw new UsageError(
      `${model} is not one of the files ${manifestPath} lists; pass the model directory to check them all`,
    );
  return { path: model, sha256: hit.sha256, size: hit.size, sizeSigned: true };
}

function targetsOf(m: HashManifest, model: string, isDir: boolean, manifestPath: string): Target[] {
  if (m.format === 'v1') {
    if (isDir) throw new UsageError('a v1 manifest names one file: pass the model file, not a directory');
    return [{ path: model, sha256: m.body.file_hash, size: m.body.file_size, sizeSigned: false }];
  }
  if (!isDir) return [v2Entry(m, model, manifestPath)];
  return m.body.files.map((f) => ({
    path: join(model, ...f.path.split('/')),
    within: model,
    sha256: f.sha256,
    size: f.size,
    sizeSigned: true,
  }));
}

function emptyReport(mode: 'key' | 'sha256'): VerifyReport {
  return { valid: false, mode, files: [], problems: [], warnings: [] };
}

/** The manifests `modelgate verify` re-hashes against (OMS bundles are checked by model_signing). */
type HashManifest = Exclude<Manifest, { format: 'oms' }>;

async function loadManifest(manifestPath: string, report: VerifyReport): Promise<HashManifest | undefined> {
  const parsed = parseManifests(await readManifest(manifestPath), manifestPath);
  if (!parsed.ok) {
    report.problems.push(parsed.problem);
    return undefined;
  }
  if (parsed.value.length !== 1)
    throw new UsageError(`${manifestPath} holds ${parsed.value.length} manifests; verify takes one`);
  const m = parsed.value[0] as Manifest;
  if (m.format === 'oms')
    throw new UsageError(
      `${manifestPath} is an OMS (model_signing) bundle: check the files with \`python -m model_signing verify\`; modelgate verify reads v1 and v2 manifests`,
    );
  report.format = m.format;
  return m;
}

async function planFromManifest(values: Values, model: string, mode: 'key' | 'sha256'): Promise<Plan> {
  const isDir = await isDirectory(model);
  if (isDir && values.manifest === undefined)
    throw new UsageError(`${model} is a directory: pass --manifest`);
  const manifestPath = values.manifest ?? manifestPathFor(model);
  const report: VerifyReport = {
    ...emptyReport(mode),
    ...(isDir ? { modelDir: model } : {}),
    manifest: manifestPath,
  };
  const m = await loadManifest(manifestPath, report);
  if (m === undefined) return { report, targets: [] };
  const targets = targetsOf(m, model, isDir, manifestPath);
  if (mode === 'sha256') return { report, targets, pinned: pinnedHashes(values) };
  const keyring = await loadKeys(values, m);
  const verified = verifyManifest(m, keyring, { origin: manifestPath, now: new Date() });
  if (!verified.ok) {
    report.problems.push(explainUnknownKey(verified.problem, values, keyring));
    return { report, targets: [] };
  }
  Object.assign(report, { name: verified.value.name, keyId: verified.value.keyId, algorithm: verified.value.algorithm });
  report.warnings.push(...(verified.value.warnings ?? []), ...keyIdWarnings(values, m));
  return { report, targets };
}

async function plan(values: Values, models: string[]): Promise<Plan> {
  const mode = pickMode(values);
  if (models.length === 0)
    throw new UsageError(
      'which model? usage: modelgate verify <model> (--key-file F | --keys-dir D | --sha256 HEX)',
    );
  if (mode === 'key' || values.manifest !== undefined) {
    if (models.length !== 1) throw new UsageError('with a manifest, pass one model file or directory');
    return planFromManifest(values, models[0] as string, mode);
  }
  const pins = pinnedHashes(values);
  if (pins.length !== models.length)
    throw new UsageError(
      `${models.length} file(s) but ${pins.length} --sha256 value(s): give one --sha256 per file, in order`,
    );
  const infos = models.map((m) => {
    const info = statSync(m, { throwIfNoEntry: false });
    if (info === undefined) throw new UsageError(`${m} does not exist: check the model path`);
    if (info.isDirectory()) throw new UsageError(`${m} is a directory: pass --manifest to check the files it lists`);
    return info;
  });
  return {
    report: emptyReport(mode),
    targets: models.map((path, i) => ({ path, sha256: pins[i] as string, direct: true, info: infos[i] })),
  };
}

/** Pinned values (from the pod spec) must be exactly the manifest's hashes: the manifest cannot be swapped. */
function checkPins(p: Plan): void {
  if (p.pinned === undefined) return;
  const listed = new Set(p.targets.map((t) => t.sha256));
  const pinned = new Set(p.pinned);
  const unpinned = [...listed].filter((h) => !pinned.has(h));
  const unlisted = [...pinned].filter((h) => !listed.has(h));
  if (unpinned.length === 0 && unlisted.length === 0) return;
  p.report.problems.push({
    code: 'pin-mismatch',
    path: p.report.manifest ?? '',
    message: `the manifest's hashes differ from the pinned --sha256 values (${unpinned.length} not pinned, ${unlisted.length} not in the manifest): the manifest is not the one that was admitted`,
  });
}

/**
 * Where to read `t` from (symlinks resolved) and its size, or why it cannot be hashed.
 * Synchronous on purpose: the CLI has nothing else to do meanwhile, and for a model of 10,000
 * small files the async round trips (stat, realpath) cost more than hashing them.
 */
function resolveTarget(t: Target, dirs: Map<string, string>): { real: string; size: number } | { why: string } {
  const info = t.info ?? statSync(t.path, { throwIfNoEntry: false });
  if (info === undefined) return { why: 'missing' };
  if (!info.isFile()) return { why: 'not a regular file' };
  const real = realpathCached(t.path, dirs);
  const size = info.size;
  if (t.direct === true && real !== resolve(t.path))
    return { why: `is reached through a symlink (to ${real}): pass the real path` };
  if (t.within === undefined) return { real, size };
  const dir = realDir(resolve(t.within), dirs);
  // A symlink may point elsewhere inside the model directory (HF caches do), never out of it.
  const inside = real !== dir && relative(dir, real).split(sep)[0] !== '..';
  // Hash the resolved path, so a link re-pointed after this check is not followed.
  return inside ? { real, size } : { why: 'resolves outside the model directory (symlink)' };
}

/**
 * realpath(path): when its last component is no symlink, the real path of its directory (asked
 * once per directory) joined with its name. For 10,000 files in one folder that is one lstat per
 * file instead of one per path component.
 */
function realpathCached(path: string, dirs: Map<string, string>): string {
  const abs = resolve(path);
  if (lstatSync(abs).isSymbolicLink()) return realpathSync.native(abs);
  return join(realDir(dirname(abs), dirs), basename(abs));
}

function realDir(dir: string, dirs: Map<string, string>): string {
  let real = dirs.get(dir);
  if (real === undefined) {
    real = realpathSync.native(dir);
    dirs.set(dir, real);
  }
  return real;
}

function existing(targets: Target[]): { present: (Target & { found: number })[]; missing: FileCheck[] } {
  const present: (Target & { found: number })[] = [];
  const missing: FileCheck[] = [];
  const dirs = new Map<string, string>();
  for (const t of targets) {
    const r = resolveTarget(t, dirs);
    if ('real' in r) present.push({ ...t, readFrom: r.real, found: r.size });
    else
      missing.push({
        path: t.path,
        expected: t.sha256,
        ok: false,
        code: r.why === 'missing' ? 'file-missing' : 'file-refused',
        problem: r.why,
      });
  }
  return { present, missing };
}

function compare(t: Target, actual: { sha256: string; size: number }, report: VerifyReport): FileCheck {
  if (actual.sha256 !== t.sha256)
    return {
      path: t.path,
      expected: t.sha256,
      actual: actual.sha256,
      ok: false,
      code: 'sha256-mismatch',
      problem: 'sha256 mismatch',
    };
  if (t.size !== undefined && t.size !== actual.size) {
    if (t.sizeSigned === true)
      return {
        path: t.path,
        expected: t.sha256,
        actual: actual.sha256,
        ok: false,
        code: 'size-mismatch',
        problem: `size ${actual.size} != ${t.size}`,
      };
    report.warnings.push({
      code: 'size-mismatch',
      path: t.path,
      message: `file_size says ${t.size} but the file has ${actual.size} bytes (unsigned in v1)`,
    });
  }
  return { path: t.path, expected: t.sha256, actual: actual.sha256, ok: true };
}

async function hashAndCompare(p: Plan, io: CliIO): Promise<void> {
  const { present, missing } = existing(p.targets);
  const progress = progressLine(io.stderr, 'verifying', { signals: process });
  try {
    const digests = await hashFiles(
      present.map((t) => t.readFrom ?? t.path),
      { onProgress: progress.onProgress, sizes: present.map((t) => t.found) },
    );
    p.report.files.push(
      ...missing,
      ...present.map((t, i) => compare(t, digests[i] as { sha256: string; size: number }, p.report)),
    );
  } catch (err) {
    if (err instanceof HashError)
      throw new UsageError(`${err.message}: check the model path and permissions`);
    throw err;
  } finally {
    progress.end();
  }
}

/** Every failed file is also a problem, so `--json` readers find all causes in one list. */
function fileProblems(r: VerifyReport): void {
  for (const f of r.files)
    if (!f.ok)
      r.problems.push({ code: f.code ?? 'file-refused', path: f.path, message: f.problem ?? 'invalid' });
}

/** Codes that mean the signature or key is the cause (not the manifest's text, not the bytes). */
const KEY_CODES = new Set([
  'bad-signature',
  'unknown-key',
  'untrusted-key',
  'revoked-key',
  'unsupported-algorithm',
  'algorithm-mismatch',
  'expired',
]);
const FILE_CODES = new Set<string>(['file-missing', 'file-refused', 'sha256-mismatch', 'size-mismatch']);

function manifestAdvice(r: VerifyReport, codes: Set<string>): string {
  if (codes.has('pin-mismatch'))
    return 'the init container was given a manifest that does not match the admitted pod spec';
  if ([...codes].some((c) => KEY_CODES.has(c)))
    return 'check that the key is the one the model was signed with (and has the id the manifest names), or sign the model again in CI';
  return `the manifest ${r.manifest ?? ''} is malformed (see above), not a wrong key: use the file modelgate sign wrote, or sign the model again`;
}

function fileAdvice(r: VerifyReport, codes: Set<string>): string {
  if (codes.has('file-missing'))
    return r.modelDir === undefined
      ? 'a file the manifest lists is missing: check the path'
      : `file(s) the manifest lists are missing from ${r.modelDir}: its paths are relative to the model directory, so pass the directory they are relative to (the one signed, or --base-dir of sign), or re-download the missing files`;
  if (codes.has('file-refused'))
    return 'a file could not be checked where it is (symlink or not a regular file): pass the real file';
  return r.mode === 'key'
    ? 'the model bytes changed after signing: re-download the model, or sign it again in CI if the change is intended'
    : 'the model on the volume is not the one that was admitted: re-download it or update the workload with a newly signed manifest';
}

function advice(r: VerifyReport): string {
  const codes = new Set(r.problems.map((p) => p.code));
  const manifestCodes = new Set([...codes].filter((c) => !FILE_CODES.has(c)));
  return manifestCodes.size > 0 ? manifestAdvice(r, manifestCodes) : fileAdvice(r, codes);
}

function renderText(r: VerifyReport): string {
  const lines = r.files.map((f) =>
    f.ok
      ? `ok    ${f.path}  sha256 ${f.actual ?? '-'}`
      : `FAIL  ${f.path}: ${f.problem ?? 'invalid'} (expected sha256 ${f.expected}, got ${f.actual ?? '-'})`,
  );
  // File problems are the FAIL lines above; print the others (manifest, key, pins).
  for (const p of r.problems.filter((q) => !FILE_CODES.has(q.code)))
    lines.push(`FAIL  ${p.path}: ${p.message} [${p.code}]`);
  for (const w of r.warnings) lines.push(`warning: ${w.message}`);
  const who = r.keyId === undefined ? '' : ` (signed with key "${r.keyId}", ${r.format ?? ''})`;
  const n = r.files.length;
  lines.push(r.valid ? `valid: ${n} file(s) match${who}` : `INVALID: ${advice(r)}`);
  return `${lines.join('\n')}\n`;
}

export const verify: Command = async (args, io) => {
  const { values, models } = parse(args);
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values['oms-bundle'] !== undefined || values['oms-payload-sha256'] !== undefined)
    return verifyOms(values, models, io);
  const p = await plan(values, models);
  checkPins(p);
  if (p.report.problems.length === 0) await hashAndCompare(p, io);
  const r = p.report;
  fileProblems(r);
  r.valid = r.problems.length === 0 && r.files.length > 0 && r.files.every((f) => f.ok);
  io.stdout.write(values.json ? `${JSON.stringify(r)}\n` : renderText(r));
  return r.valid ? 0 : 1;
};
