/**
 * The benches time the build (dist/), the compiled code the image runs, not the TypeScript
 * sources: one loader for its modules, with the same message when the build is missing.
 */
import { existsSync } from 'node:fs';

/** Import `dist/<path>` (e.g. "decision/decide.js"); throws when it was not built. */
export async function dist<T>(path: string): Promise<T> {
  const url = new URL(`../dist/${path}`, import.meta.url);
  if (!existsSync(url)) throw new Error(`dist/${path} is missing: run \`make build\` first`);
  return (await import(url.href)) as T;
}
