/** The policy file, followed: reloaded when it changes, the last good policy kept when it breaks. */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { watchSource, type FollowOptions, type WatchedSource } from '../watch/source.js';
import { formatPolicyError, parsePolicy, type PolicyError } from './load.js';
import type { Policy } from './types.js';

/** The policy file parses but is not a valid policy; `lines` say where, one error a line. */
export class PolicyFileError extends Error {
  override name = 'PolicyFileError';
  readonly lines: string[];

  constructor(file: string, errors: PolicyError[]) {
    const lines = errors.map((e) => formatPolicyError(file, e));
    super(`invalid policy:\n${lines.join('\n')}`);
    this.lines = lines;
  }
}

/** Read and parse; an unreadable file throws the fs error, an invalid one PolicyFileError. */
export async function readPolicyFile(file: string): Promise<Policy> {
  const result = parsePolicy(await readFile(file, 'utf8'), file);
  if (!result.ok) throw new PolicyFileError(file, result.errors);
  return result.policy;
}

/**
 * Load the policy now (throwing when it is unreadable or invalid), then follow its folder: a
 * ConfigMap mount changes by symlink swap. A change that leaves the policy as it was (a comment)
 * is no change.
 */
export function watchPolicyFile(file: string, opts: FollowOptions = {}): Promise<WatchedSource<Policy>> {
  return watchSource({
    name: 'policy',
    dirs: [dirname(file)],
    load: () => readPolicyFile(file),
    same: isDeepStrictEqual,
    ...opts,
  });
}
