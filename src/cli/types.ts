/** What a subcommand gets: its arguments and the process streams (tests pass their own). */
export interface CliIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** A subcommand: resolves to the process exit code. Bad input → 2, with a message on stderr. */
export type Command = (args: string[], io: CliIO) => Promise<number>;

/** Thrown for bad command-line input; main prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
