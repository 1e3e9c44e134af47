import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './types.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/** Strict flags plus positionals; a bad flag is a UsageError (exit 2), not a crash. */
export function parseCommandLine<O extends Options>(
  args: string[],
  options: O,
): { values: Parsed<O>['values']; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Flags only (audit, review, serve): an argument that is not a flag is a UsageError too. */
export function parseFlags<O extends Options>(args: string[], options: O): Parsed<O>['values'] {
  const { values, positionals } = parseCommandLine(args, options);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values;
}
