// The shape of a subcommand: declared flags, help text and an async run returning an exit code.
import { type FlagSpec, type ParsedArgs } from "./args.ts";

/** Where a command writes; the CLI passes the process streams, tests may pass buffers. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (live progress bars redraw in place). */
  readonly interactive: boolean;
  /** Environment variables, read only here in src/cli. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  readonly name: string;
  /** One line for `internvla --help`. */
  readonly summary: string;
  /** e.g. "internvla stats DIR [options]". */
  readonly usage: string;
  /** Paragraphs shown by `internvla <name> --help`. */
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
