/**
 * The pod-start re-check of an OMS model (`modelgate verify <model> --oms-bundle B
 * --oms-payload-sha256 H`): the files on the volume must be exactly what the admitted, signed
 * statement lists. Every regular file must be signed (no unsigned extra file, none under the
 * signed ignore_paths either: the volume holds only signed bytes), every signed file present, no
 * symlink anywhere, the model path's own components included (the model is read through links in
 * each container's own filesystem), a single-file model alone in the directory given (the
 * volume's mountPath), each file's (or shard's) SHA-256 equal to the signed one, and a sharded
 * file's shards cover it exactly (appended bytes would be unsigned).
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { hashFiles, type Progress } from '../manifest/hash.js';
import type { Problem } from '../manifest/types.js';
import type { OmsResource, OmsStatement } from './types.js';

/** Directory entries walked at most: a model has thousands of files, not millions. */
export const MAX_WALK_ENTRIES = 100_000;

export interface OmsFileCheck {
  /** Relative to the model ("." for a single-file model; shards as path:start:end). */
  path: string;
  ok: boolean;
  expected?: string;
  actual?: string;
  code?: string;
  problem?: string;
}

interface Found {
  /** Relative path → absolute path, for regular files. */
  files: Map<string, string>;
  problems: Problem[];
}

function isIgnored(rel: string, ignore: readonly string[]): boolean {
  return ignore.some((p) => rel === p || rel.startsWith(`${p}/`));
}

function refuse(found: Found, code: string, path: string, message: string): void {
  found.problems.push({ code, path, message });
}

type Entry = { kind: 'file' | 'dir' } | { kind: 'refused'; code: string; message: string };

/** What one directory entry is to the check: a file to hash, a directory to walk, or refused. */
function entryKind(e: Dirent<Buffer>, child: string, ignore: readonly string[]): Entry {
  if (!Buffer.from(e.name.toString('utf8'), 'utf8').equals(e.name))
    return { kind: 'refused', code: 'file-refused', message: 'its name is not UTF-8, so no signed name is it' };
  if (isIgnored(child, ignore))
    return { kind: 'refused', code: 'file-unsigned', message: 'lies under a signed ignore path: the bundle does not sign it, and a server could load it from the model volume: leave it out of the volume' };
  if (e.isDirectory()) return { kind: 'dir' };
  if (e.isFile()) return { kind: 'file' };
  if (e.isSymbolicLink()) return { kind: 'refused', code: 'symlink', message: 'is a symlink: the model is read through it in each container\'s own filesystem, so it is refused' };
  return { kind: 'refused', code: 'file-refused', message: 'is not a regular file' };
}

/**
 * Every regular file under dir (relative, '/'-separated); no links followed. What the signature
 * ignores (its ignore_paths) is unsigned, so it may not be in the checked volume at all.
 */
async function walk(dir: string, ignore: readonly string[]): Promise<Found> {
  const found: Found = { files: new Map(), problems: [] };
  const queue: string[] = [''];
  let seen = 0;
  for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
    // Names as bytes: a name that is not UTF-8 would decode lossily and name another path.
    const entries = await readdir(join(dir, rel), { withFileTypes: true, encoding: 'buffer' }).catch((err: NodeJS.ErrnoException) => {
      refuse(found, 'file-refused', rel === '' ? dir : rel, `cannot be listed (${err.code ?? 'error'}), so what it holds is unchecked`);
      return [];
    });
    seen += entries.length;
    if (seen > MAX_WALK_ENTRIES) {
      refuse(found, 'too-many-files', dir, `holds more than ${MAX_WALK_ENTRIES} entries`);
      return found;
    }
    for (const e of entries) {
      const name = e.name.toString('utf8');
      const child = rel === '' ? name : `${rel}/${name}`;
      const kind = entryKind(e, child, ignore);
      if (kind.kind === 'refused') refuse(found, kind.code, child, kind.message);
      else if (kind.kind === 'dir') queue.push(child);
      else found.files.set(child, join(dir, child));
    }
  }
  return found;
}

/**
 * A single-file model checked as a directory (the init container passes the model volume's
 * mountPath): the directory must hold that one regular file and nothing else.
 */
async function singleIn(dir: string, statement: OmsStatement): Promise<Found> {
  const found = await walk(dir, statement.serialization.ignorePaths);
  const [first, ...more] = [...found.files];
  for (const [rel] of more) refuse(found, 'file-unsigned', rel, 'the bundle signs a single file, and this directory holds more than one: remove the others');
  found.files = new Map(first !== undefined && more.length === 0 ? [['.', first[1]]] : []);
  return found;
}

/** Why `model` is not its own real path (a symlink on the way), or undefined. */
async function reachedThroughLink(model: string): Promise<string | undefined> {
  const real = await realpath(model).catch(() => undefined);
  return real === undefined || real === resolve(model) ? undefined : real;
}

/** The files on disk, for a single-file model (resource ".") or a directory. */
async function filesOf(model: string, statement: OmsStatement): Promise<Found> {
  const single = statement.resources.every((r) => r.file === '.');
  const info = await lstat(model).catch(() => undefined);
  const found: Found = { files: new Map(), problems: [] };
  // Each container resolves links in its own filesystem: the step must read the path itself.
  const real = info === undefined ? undefined : await reachedThroughLink(model);
  if (info === undefined) refuse(found, 'file-missing', model, 'does not exist');
  else if (info.isSymbolicLink() || real !== undefined) refuse(found, 'symlink', model, `is reached through a symlink${real === undefined ? '' : ` (to ${real})`}: pass the real path`);
  else if (info.isDirectory()) return single ? singleIn(model, statement) : walk(model, statement.serialization.ignorePaths);
  else if (!single) refuse(found, 'file-refused', model, 'the bundle signs a directory, and this is not one');
  else if (info.isFile()) found.files.set('.', model);
  else refuse(found, 'file-refused', model, 'the bundle signs a single file, and this is not a regular file');
  return found;
}

async function sha256Range(path: string, start: number, end: number): Promise<string> {
  const hash = createHash('sha256');
  if (end > start) for await (const chunk of createReadStream(path, { start, end: end - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function check(r: OmsResource, actual: string): OmsFileCheck {
  return actual === r.digest
    ? { path: r.name, ok: true, expected: r.digest, actual }
    : { path: r.name, ok: false, expected: r.digest, actual, code: 'sha256-mismatch', problem: 'sha256 mismatch' };
}

/** A sharded file's shards, in order, must cover [0, size) exactly. */
function coverageProblem(shards: OmsResource[], size: number): string | undefined {
  let at = 0;
  for (const s of shards) {
    if (s.start !== at) return `its shards do not cover bytes ${at} onwards contiguously`;
    at = s.end ?? at;
  }
  return at === size ? undefined : `it has ${size} bytes, its shards cover ${at}`;
}

async function checkShards(file: string, abs: string, shards: OmsResource[]): Promise<OmsFileCheck[]> {
  const sorted = [...shards].sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
  const size = (await lstat(abs)).size;
  const why = coverageProblem(sorted, size);
  if (why !== undefined) return [{ path: file, ok: false, code: 'size-mismatch', problem: why }];
  const out: OmsFileCheck[] = [];
  for (const s of sorted) out.push(check(s, await sha256Range(abs, s.start ?? 0, s.end ?? 0)));
  return out;
}

/** The files on disk must be exactly the signed ones. */
function setProblems(found: Found, byFile: Map<string, OmsResource[]>): Problem[] {
  const problems = [...found.problems];
  for (const rel of found.files.keys())
    if (!byFile.has(rel))
      problems.push({ code: 'file-unsigned', path: rel, message: 'is not in the signed statement (an unsigned extra file): remove it or sign the model again' });
  const reported = new Set(problems.map((p) => p.path));
  for (const rel of byFile.keys())
    if (!found.files.has(rel) && !reported.has(rel)) problems.push({ code: 'file-missing', path: rel, message: 'is signed but missing' });
  return problems;
}

export interface OmsModelCheck {
  files: OmsFileCheck[];
  problems: Problem[];
}

/** Check the model at `model` against a signed statement (already pinned by its payload hash). */
export async function checkOmsModel(model: string, statement: OmsStatement, onProgress?: Progress): Promise<OmsModelCheck> {
  const found = await filesOf(model, statement);
  const byFile = new Map<string, OmsResource[]>();
  for (const r of statement.resources) {
    const list = byFile.get(r.file);
    if (list) list.push(r);
    else byFile.set(r.file, [r]);
  }
  // Nothing readable (the path refused, or a single file among others): those problems say why.
  const problems = found.files.size === 0 && found.problems.length > 0 ? found.problems : setProblems(found, byFile);
  if (problems.length > 0) return { files: [], problems };
  const paths = [...byFile.keys()];
  if (statement.serialization.method === 'files') {
    const digests = await hashFiles(paths.map((p) => found.files.get(p) ?? ''), onProgress ? { onProgress } : {});
    return { files: paths.map((p, i) => check(byFile.get(p)?.[0] as OmsResource, digests[i]?.sha256 ?? '')), problems };
  }
  const files: OmsFileCheck[] = [];
  for (const p of paths) files.push(...(await checkShards(p, found.files.get(p) ?? '', byFile.get(p) ?? [])));
  return { files, problems };
}
