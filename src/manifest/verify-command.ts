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
  /** The OMS form: the model_signing bundle the webhook admitted, pinned by its payload's sha256. */
  'oms-bundle': { type: 'string' },
  'oms-payload-sha256': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type VerifyValues = ReturnType<
  typeof parseArgs<{ options: typeof VERIFY_OPTIONS; allowPositionals: true; strict: true }>
>['values'];

export type ParsedVerifyArgs =
  { ok: true; values: VerifyValues; positionals: string[] } | { ok: false; message: string };

/** Parses the arguments after `verify`, strictly: an unknown flag or a missing value is an error. */
export function parseVerifyArgs(args: readonly string[]): ParsedVerifyArgs {
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
