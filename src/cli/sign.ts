/** `modelgate sign`: hash model file(s) and write a signed manifest beside them. */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import type { SignatureAlgorithm } from '../keys/algorithms.js';
import { KeyLoadError, keyIdOfFileName, loadSigningKeyFile } from '../keys/load.js';
import { manifestSigner, type SigningKey } from '../keys/signer.js';
import type { Keyring } from '../keys/types.js';
import { manifestPathFor, withSuffix } from '../manifest/files.js';
import { HashError, hashFiles, type PathDigest } from '../manifest/hash.js';
import { progressLine } from '../manifest/progress.js';
import type { Claims, ManifestV1, ManifestV2 } from '../manifest/types.js';
import { formatV1, signV1 } from '../manifest/v1.js';
import { filePathError, formatV2, signV2With, V2_API_VERSION, V2_KIND } from '../manifest/v2.js';
import { parseCommandLine } from './args.js';
import { DEFAULT_MODEL_VOLUME, defaultVerifyImage, k8sSnippet } from './k8s-snippet.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { parseDuration as parsePolicyDuration } from '../policy/duration.js';

const HELP = `usage: modelgate sign <model> --key-file F [--key-id ID] [--format v1|v2] [--out M]
       modelgate sign <file>... --format v2 --key-file F --version V --source S --name N
                      [--claim k=v]... [--expires-in DUR] [--base-dir D] [--out M]

Hashes the model and writes a signed manifest (default: model.onnx → model.manifest.json).
  --format v1   the seed's format (default): signs only the sha256; no key id inside.
                HMAC keys only.
  --format v2   binds name, version, source, every file (sharded models), claims and time.
  --key-file F  the signing key: an HMAC key (signature.algorithm HMAC-SHA256), or a PEM
                private key from \`modelgate keygen\` (v2 only; the algorithm follows the key:
                ECDSA-P256-SHA256, ECDSA-P384-SHA384, ECDSA-P521-SHA512 or Ed25519). The
                cluster's keys Secret then holds only the public key: it cannot sign.
  --key-id ID   the key's id: its file name in the cluster's keys Secret; v2 records it.
                Default: the key file's name, which must then have no extension
                (ci-2026.key: pass --key-id ci-2026; ci-2026.private.pem: --key-id ci-2026).
  --claim k=v   a signed fact, repeatable: scan=passed, approvers=alice,bob,
                dataClassification=internal, customerFacing=true, explainabilityReport=URL
  --expires-in  how long the v2 manifest is valid: 90d, 12h, 1w2d, 30m
  --name N      the model's name (v2); required for several files (default for one: its stem)
  --base-dir D  v2 file paths are relative to D (default: the directory holding the files,
                wherever --out puts the manifest): verify <D> --manifest M checks them
  --json        print the result as JSON
  --print k8s   print what to paste into the workload (the manifest annotation and the verify
                init container with every file and --sha256, as the webhook counts it) on
                stdout; the "wrote" line goes to stderr
  --verify-image I   its image (default ghcr.io/modelgate/modelgate:<this CLI's version>)
  --model-volume V   the model volume's name, mounted read-only at /models (default models)
`;

const OPTIONS = {
  'key-file': { type: 'string' },
  'key-id': { type: 'string' },
  format: { type: 'string', default: 'v1' },
  out: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  source: { type: 'string' },
  claim: { type: 'string', multiple: true },
  'expires-in': { type: 'string' },
  'base-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  print: { type: 'string' },
  'verify-image': { type: 'string' },
  'model-volume': { type: 'string', default: DEFAULT_MODEL_VOLUME },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Claim names that would pollute prototypes downstream; refused like the strict JSON parser does. */
const FORBIDDEN_CLAIMS = new Set(['__proto__', 'constructor', 'prototype']);

/** "90d", "1w2d", "12h30m" → milliseconds, in the policy file's duration grammar. */
export function parseDuration(text: string): number {
  const seconds = parsePolicyDuration(text);
  if (seconds === undefined)
    throw new UsageError(`--expires-in ${JSON.stringify(text)}: use a duration like 90d, 12h, 1w2d or 30m`);
  if (seconds <= 0) throw new UsageError('--expires-in must be longer than zero');
  return seconds * 1000;
}

function claimValue(name: string, value: string): unknown {
  if (name === 'approvers')
    return value
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
  if (name !== 'customerFacing') return value;
  if (value !== 'true' && value !== 'false')
    throw new UsageError('--claim customerFacing=… must be true or false');
  return value === 'true';
}

/** Repeated `--claim k=v` → a claims object. */
export function parseClaims(items: readonly string[]): Claims {
  const claims: Claims = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq) : '';
    if (name === '' || FORBIDDEN_CLAIMS.has(name))
      throw new UsageError(`--claim ${JSON.stringify(item)}: use name=value`);
    if (name in claims) throw new UsageError(`--claim ${name} given twice`);
    claims[name] = claimValue(name, item.slice(eq + 1));
  }
  return claims;
}

/**
 * The id v2 records. Without --key-id it is the key file's name, which must then be exactly the
 * id the cluster's keys Secret holds the key under: no extension, a valid id. v1 records no id.
 */
function signingKeyId(values: Values, file: string): string | undefined {
  const given = values['key-id'];
  if (given !== undefined || values.format !== 'v2') return given;
  const derived = keyIdOfFileName(file);
  if ('id' in derived) return derived.id;
  const keygenStem = /^(.+)\.private\.pem$/.exec(basename(file))?.[1];
  const suggest = keygenStem ?? derived.suggest;
  const hint = suggest === undefined ? '' : ` (--key-id ${suggest} if the Secret holds it as ${suggest})`;
  throw new UsageError(`${derived.why}: pass --key-id, the key's file name in the keys Secret${hint}`);
}

async function loadSigningKey(values: Values): Promise<SigningKey> {
  const file = values['key-file'];
  if (file === undefined) throw new UsageError('--key-file is required: the file holding the signing key');
  const id = signingKeyId(values, file) ?? basename(file);
  const key = await loadSigningKeyFile(file, id).catch((err: unknown) => {
    if (err instanceof KeyLoadError) throw new UsageError(err.message);
    throw err;
  });
  if (key.kind === 'private' && values.format !== 'v2')
    throw new UsageError(`--format ${values.format} is the seed's HMAC format; a private key signs --format v2 only (it records the algorithm and key id)`);
  return key;
}

async function hashModels(paths: string[], io: CliIO): Promise<PathDigest[]> {
  const progress = progressLine(io.stderr, 'hashing', { signals: process });
  try {
    return await hashFiles(paths, { onProgress: progress.onProgress });
  } catch (err) {
    if (err instanceof HashError) throw new UsageError(`${err.message}: check the model path`);
    throw err;
  } finally {
    progress.end();
  }
}

function buildV1(models: string[], digests: PathDigest[], keyring: Keyring, keyId: string): ManifestV1 {
  const d = digests[0] as PathDigest;
  // model_path is the path as given, exactly as the seed writes it.
  return signV1(
    { modelPath: models[0] as string, sha256: d.sha256, size: d.size, signedAt: new Date() },
    keyring,
    keyId,
  ) as ManifestV1;
}

function v2Out(models: string[], values: Values, name: string): string {
  if (values.out !== undefined) return values.out;
  const first = models[0] as string;
  return models.length === 1 ? manifestPathFor(first) : join(dirname(first), `${name}.manifest.json`);
}

function v2Path(file: string, baseDir: string): string {
  const rel = relative(baseDir, file).split(sep).join('/');
  const why = filePathError(rel);
  if (why !== undefined)
    throw new UsageError(
      `${file} is not inside ${baseDir} (path ${JSON.stringify(rel)} ${why}): pass --base-dir`,
    );
  return rel;
}

/**
 * The deepest directory holding every file: what `verify <dir>` will be given. Not the
 * manifest's directory: `--out` may put the manifest anywhere, the paths must not change.
 */
export function commonDir(files: readonly string[]): string {
  const dirs = files.map((f) => resolve(dirname(f)).split(sep));
  const first = dirs[0] ?? [];
  let n = first.length;
  for (const d of dirs) {
    let i = 0;
    while (i < n && i < d.length && d[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

function requireString(values: Values, key: 'version' | 'source', what: string): string {
  const v = values[key];
  if (v === undefined || v === '') throw new UsageError(`--format v2 needs --${key}: ${what}`);
  return v;
}

/** What v2 signs besides the files, read from the flags once: typed, or a UsageError. */
interface V2Inputs {
  version: string;
  source: string;
  claims: Claims;
  expiresInMs: number | undefined;
}

function v2Inputs(values: Values, fileCount: number): V2Inputs {
  // The first shard's name would become the model's name: a sharded model must be named.
  if (fileCount > 1 && (values.name ?? '') === '')
    throw new UsageError(`${fileCount} files given: pass --name, the model's name (the shards are one model)`);
  return {
    version: requireString(values, 'version', 'the model version'),
    source: requireString(values, 'source', 'where the model came from (repo@commit, registry URL)'),
    claims: parseClaims(values.claim ?? []),
    expiresInMs: values['expires-in'] === undefined ? undefined : parseDuration(values['expires-in']),
  };
}

function buildV2(
  models: string[],
  digests: PathDigest[],
  values: Values,
  signing: { key: SigningKey; inputs: V2Inputs },
): { out: string; body: ManifestV2 } {
  const { key, inputs } = signing;
  const name = values.name ?? basename(withSuffix(models[0] as string, ''));
  const out = v2Out(models, values, name);
  const baseDir = values['base-dir'] ?? commonDir(models);
  const now = new Date();
  const expiresAt =
    inputs.expiresInMs === undefined
      ? {}
      : { expiresAt: new Date(now.getTime() + inputs.expiresInMs).toISOString() };
  const body = signV2With(
    {
      apiVersion: V2_API_VERSION,
      kind: V2_KIND,
      model: { name, version: inputs.version, source: inputs.source },
      files: digests.map((d) => ({ path: v2Path(d.path, baseDir), sha256: d.sha256, size: d.size })),
      claims: inputs.claims,
      signedAt: now.toISOString(),
      ...expiresAt,
    },
    manifestSigner(key),
  );
  return { out, body };
}

function parse(args: string[]): { values: Values; models: string[] } {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  return { values, models: positionals };
}

/** Flag combinations that cannot work, refused before a key is read or a byte hashed. */
function checkFlags(values: Values, models: string[]): void {
  if (models.length === 0) throw new UsageError('which model? usage: modelgate sign <model> --key-file F');
  if (values.format !== 'v1' && values.format !== 'v2')
    throw new UsageError(`--format ${values.format}: use v1 or v2`);
  if (values.format === 'v1' && models.length !== 1)
    throw new UsageError('--format v1 signs exactly one model file; use --format v2 for sharded models');
  if (values.print !== undefined && values.print !== 'k8s')
    throw new UsageError(`--print ${values.print}: use --print k8s`);
  if (values.print !== undefined && values.json) throw new UsageError('--print and --json: choose one');
}

export const sign: Command = async (args, io) => {
  const { values, models } = parse(args);
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  checkFlags(values, models);
  const key = await loadSigningKey(values);
  const inputs = values.format === 'v2' ? v2Inputs(values, models.length) : undefined; // before hashing gigabytes
  const digests = await hashModels(models, io);
  const { out, text, summary } =
    inputs === undefined
      ? v1Result(models, digests, values, key)
      : v2Result(models, digests, values, { key, inputs });
  await writeFile(out, text);
  const wrote = `wrote ${out} (${summary.format}, key "${summary.keyId}", ${summary.algorithm}, ${summary.files.length} file(s))\n`;
  if (values.print === undefined) {
    io.stdout.write(values.json ? `${JSON.stringify({ manifest: out, ...summary })}\n` : wrote);
    return 0;
  }
  io.stderr.write(wrote);
  io.stdout.write(await snippetOf(text, summary, values));
  return 0;
};

/** v1 names the file as given; in the volume it is its base name. v2 paths are already relative. */
async function snippetOf(text: string, summary: Summary, values: Values): Promise<string> {
  return k8sSnippet({
    manifestText: text,
    files: summary.files.map((f) => ({
      path: summary.format === 'v1' ? basename(f.path) : f.path,
      sha256: f.sha256,
    })),
    image: values['verify-image'] ?? (await defaultVerifyImage()),
    volume: values['model-volume'],
  });
}

interface Summary {
  format: 'v1' | 'v2';
  keyId: string;
  algorithm: SignatureAlgorithm;
  files: Array<{ path: string; sha256: string; size: number }>;
}

function v1Result(
  models: string[],
  digests: PathDigest[],
  values: Values,
  key: SigningKey,
): { out: string; text: string; summary: Summary } {
  if (key.kind !== 'hmac') throw new UsageError('--format v1 signs with an HMAC key only');
  const body = buildV1(models, digests, key.keyring, key.keyId);
  const out = values.out ?? manifestPathFor(models[0] as string);
  return {
    out,
    text: formatV1(body),
    summary: {
      format: 'v1',
      keyId: key.keyId,
      algorithm: 'HMAC-SHA256',
      files: [{ path: body.model_path, sha256: body.file_hash, size: body.file_size }],
    },
  };
}

function v2Result(
  models: string[],
  digests: PathDigest[],
  values: Values,
  signing: { key: SigningKey; inputs: V2Inputs },
): { out: string; text: string; summary: Summary } {
  const { out, body } = buildV2(models, digests, values, signing);
  return {
    out,
    text: formatV2(body),
    summary: { format: 'v2', keyId: signing.key.keyId, algorithm: body.signature.algorithm, files: body.files },
  };
}
