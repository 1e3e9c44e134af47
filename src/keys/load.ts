/**
 * Loading keys from a mounted Secret (one file per key, file name = key id) or from one file.
 *
 * A mounted Secret looks like this (Kubernetes' AtomicWriter):
 *   keys/ci-2026      -> ..data/ci-2026
 *   keys/..data       -> ..2026_04_26_03_15_42.123456789
 *   keys/..2026_04_.../ci-2026
 * An update writes a new timestamped directory and swaps the `..data` symlink atomically. We read
 * the visible names (following their symlinks) and re-read when `..data` changed while we read,
 * so one keyring never mixes two versions of the Secret.
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MemoryKeyring, isValidKeyId } from './keyring.js';
import { KeyLoadError } from './material.js';
import { parseSigningKey, type SigningKey } from './signer.js';
import type { Keyring } from './types.js';
import { watchSource, type FollowOptions, type WatchedSource } from '../watch/source.js';

/** HMAC keys and PEM public keys are short; anything larger is a wrongly mounted file, not a key. */
export const MAX_KEY_BYTES = 64 * 1024;

const DATA_LINK = '..data';
const SNAPSHOT_RETRIES = 3;

export { KeyLoadError };

/** File content minus at most one trailing newline. */
export function keyBytesFromFile(content: Buffer): Buffer {
  return content.length > 0 && content[content.length - 1] === 0x0a ? content.subarray(0, -1) : content;
}

async function readKey(file: string, id: string): Promise<Buffer> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new KeyLoadError(`cannot read key "${id}" (${file}): ${err.code ?? 'error'}`);
  });
  if (!info.isFile()) throw new KeyLoadError(`key "${id}" (${file}) is not a regular file`);
  if (info.size > MAX_KEY_BYTES) throw new KeyLoadError(`key "${id}" is larger than ${MAX_KEY_BYTES} bytes: not a key file?`);
  const bytes = keyBytesFromFile(await readFile(file));
  if (bytes.length === 0) throw new KeyLoadError(`key "${id}" is empty: put the key bytes in the file (one trailing newline is ignored)`);
  return bytes;
}

/**
 * The key id a key file's name stands for, as a keys Secret would hold it (file name = key id),
 * or why the name cannot be trusted to be the id: not a valid id, or it has an extension
 * (`ci-2026.key` is usually the local copy of the Secret's key `ci-2026`; a manifest naming
 * `ci-2026.key` would be refused by the cluster as `unknown-key`).
 */
export function keyIdOfFileName(file: string): { id: string } | { why: string; suggest?: string } {
  const name = basename(file);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : undefined;
  if (stem !== undefined)
    return {
      why: `the key file name ${JSON.stringify(name)} has an extension, so it is not the key's id in the cluster's keys Secret`,
      ...(isValidKeyId(stem) ? { suggest: stem } : {}),
    };
  if (!isValidKeyId(name)) return { why: `the key file name ${JSON.stringify(name)} is not a valid key id ([A-Za-z0-9._-], 1-253 characters)` };
  return { id: name };
}

/** Load one key from a file; its id defaults to the file name. */
export async function loadKeyFile(file: string, id: string = basename(file)): Promise<Keyring> {
  if (!isValidKeyId(id)) throw new KeyLoadError(`invalid key id ${JSON.stringify(id)}: use [A-Za-z0-9._-], 1-253 characters (--key-id)`);
  return new MemoryKeyring([[id, await readKey(file, id)]]);
}

/** Load one signing key (`modelgate sign`): an HMAC key or a PEM private key, never a public key. */
export async function loadSigningKeyFile(file: string, id: string): Promise<SigningKey> {
  if (!isValidKeyId(id)) throw new KeyLoadError(`invalid key id ${JSON.stringify(id)}: use [A-Za-z0-9._-], 1-253 characters (--key-id)`);
  return parseSigningKey(id, await readKey(file, id));
}

async function dataTarget(dir: string): Promise<string | undefined> {
  try {
    return await readlink(join(dir, DATA_LINK));
  } catch {
    return undefined;
  }
}

/** Visible, non-dot entries that are (or link to) regular files. Sub-directories are not keys. */
async function keyNames(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  const kept: string[] = [];
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info === undefined || info.isFile()) kept.push(name); // a dangling link fails in readKey, by name
  }
  return kept;
}

async function readSnapshot(dir: string): Promise<Array<[string, Buffer]>> {
  const entries: Array<[string, Buffer]> = [];
  for (const name of await keyNames(dir)) {
    if (!isValidKeyId(name)) throw new KeyLoadError(`invalid key id ${JSON.stringify(name)} in ${dir}: file names must match [A-Za-z0-9._-]{1,253}`);
    entries.push([name, await readKey(join(dir, name), name)]);
  }
  return entries;
}

/** Load every key in a directory (a mounted Secret). Throws KeyLoadError when unusable or empty. */
export async function loadKeyDir(dir: string): Promise<Keyring> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new KeyLoadError(`keys directory ${dir} does not exist or is not a directory`);
  for (let attempt = 0; attempt < SNAPSHOT_RETRIES; attempt++) {
    const before = await dataTarget(dir);
    const entries = await readSnapshot(dir).catch(async (err: unknown) => {
      // A file vanishing mid-read is the Secret being swapped: retry if `..data` moved.
      if ((await dataTarget(dir)) !== before) return undefined;
      throw err;
    });
    if (entries === undefined || (await dataTarget(dir)) !== before) continue;
    if (entries.length === 0) throw new KeyLoadError(`no keys in ${dir}: each file is one key, its name the key id`);
    return new MemoryKeyring(entries);
  }
  throw new KeyLoadError(`keys in ${dir} kept changing while being read; will retry`);
}

/** Fingerprint of the key set, to tell a real change from a no-op reload. Never leaves this module. */
export function keyringFingerprint(keyring: Keyring): string {
  // An HMAC key is told apart by its HMAC of a fixed message (its contents stay unexposed); a
  // public key, which cannot sign, by the digest of its public bytes. The type is part of it.
  return keyring
    .ids()
    .map((id) => {
      const content = keyring.publicKeyDigest(id) ?? keyring.sign(id, 'modelgate-keyring-fingerprint') ?? '';
      return `${id}:${keyring.keyType(id) ?? ''}:${content}`;
    })
    .join(',');
}

/**
 * Load `dir` now, then follow it (a mounted Secret: see src/watch/source.ts). A failed reload
 * keeps the last good keyring and is told to `onError` listeners.
 */
export function watchKeyDir(dir: string, opts: FollowOptions = {}): Promise<WatchedSource<Keyring>> {
  return watchSource({
    name: 'keys',
    dirs: [dir],
    load: () => loadKeyDir(dir),
    same: (a, b) => keyringFingerprint(a) === keyringFingerprint(b),
    ...opts,
  });
}
