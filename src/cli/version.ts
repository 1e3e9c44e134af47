import { readFile } from 'node:fs/promises';

/**
 * This CLI's version, from the package.json it ships with (src/cli and dist/cli are both two
 * levels below it: in a clone, the npm package and the image alike). Undefined when unreadable.
 */
export async function cliVersion(): Promise<string | undefined> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : undefined;
}
