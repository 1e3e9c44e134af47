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
    // `--` makes every later token a positional: parse such a list whole (still bounded above).
    if (args.includes('--')) return { ok: true, ...parseOnce(args) };
    let positionals: string[] = [];
    let values: VerifyValues = { json: false, help: false };
    for (const chunk of chunksOf(args)) {
      const part = parseOnce(chunk);
      positionals = positionals.concat(part.positionals);
      values = merge(values, part.values);
    }
    return { ok: true, values, positionals };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function parseOnce(args: readonly string[]): { values: VerifyValues; positionals: string[] } {
  return parseArgs({ args: [...args], options: VERIFY_OPTIONS, allowPositionals: true, strict: true });
}

/** Options whose value may be the next token (`--sha256 HEX`): a chunk never ends on one. */
const TAKES_NEXT = new Set(
  Object.entries(VERIFY_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => `--${name}`),
);

/** Tokens per parseArgs call: well below the size where its array shifts turn quadratic. */
const CHUNK = 4096;

/**
 * parseArgs, fed whole, takes quadratic time beyond ~16k tokens (a 10,000-file model's 30,001
 * tokens took 0.23 s of a 0.7 s verify). A token only depends on the one before it (an option
 * taking the next token as its value) or on an earlier `--` (handled by the caller), so cutting
 * the list anywhere but after such an option and parsing the pieces in order gives exactly the
 * same result and the same first error.
 */
function chunksOf(args: readonly string[]): (readonly string[])[] {
  const chunks: (readonly string[])[] = [];
  let start = 0;
  for (let end = CHUNK; end < args.length; end++) {
    if (end - start < CHUNK || TAKES_NEXT.has(args[end - 1] as string)) continue;
    chunks.push(args.slice(start, end));
    start = end;
  }
  chunks.push(args.slice(start));
  return chunks;
}

/** Later chunks win for single values (as a later flag does), add to lists, and set booleans. */
function merge(into: VerifyValues, part: VerifyValues): VerifyValues {
  const out: VerifyValues = { ...into };
  for (const [key, value] of Object.entries(part) as [keyof VerifyValues, unknown][]) {
    if (Array.isArray(value))
      (out as Record<string, unknown>)[key] = [...((into[key] as string[] | undefined) ?? []), ...(value as string[])];
    else if (value !== false && value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
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
