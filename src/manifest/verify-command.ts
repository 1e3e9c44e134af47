/**
 * The grammar of `modelgate verify`, in one place: the CLI parses its argv with it, and the
 * webhook parses a verify init container's args with it, so what the webhook counts is exactly
 * what will run at pod start.
 */
import { parseArgs } from 'node:util';

export const VERIFY_OPTIONS = {
  manifest: { type: 'string' },
  'key-file': { type: 'string' },
  'key-id': { type: 'string' },
  'keys-dir': { type: 'string' },
  sha256: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type VerifyValues = ReturnType<
  typeof parseArgs<{ options: typeof VERIFY_OPTIONS; allowPositionals: true; strict: true }>
>['values'];

export type ParsedVerifyArgs =
  { ok: true; values: VerifyValues; positionals: string[] } | { ok: false; message: string };

/**
 * Most arguments after `verify`: 10,922 files with one `--sha256 HEX` each. Node's parseArgs
 * takes quadratic time beyond ~16k arguments (it shifts its copy of a large array one by one):
 * measured 0.4 s for 30k, 4 s for 120k. The pod spec is hostile input and a pod can carry
 * ~240k strings (decode's value bound), so an unbounded list would stall the webhook for
 * seconds per request; at this bound a parse costs about 35 ms (a 10,000-file model fits).
 */
export const MAX_VERIFY_ARGS = 32_768;

/** Parses the arguments after `verify`, strictly: an unknown flag or a missing value is an error. */
export function parseVerifyArgs(args: readonly string[]): ParsedVerifyArgs {
  if (args.length > MAX_VERIFY_ARGS)
    return { ok: false, message: `${args.length} arguments, more than ${MAX_VERIFY_ARGS}` };
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: VERIFY_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    return { ok: true, values, positionals };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The image's entrypoint (Dockerfile ENTRYPOINT). A verify init container may leave `command`
 * out or state exactly this; anything else decides what runs instead of the image.
 */
export const VERIFY_ENTRYPOINT: readonly string[] = [
  'node',
  '--max-semi-space-size=2',
  '/app/dist/cli/bin.js',
];
