// Entry point of the `internvla` tool: picks the subcommand, parses its flags, reports errors cleanly.
import { closest, parseArgs } from "./args.ts";
import { type CliIO, type Command } from "./command.ts";
import { commands } from "./commands/index.ts";
import { InternvlaError } from "../tensor/errors.ts";

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    "internvla: the InternVLA-A1 robot policy in TypeScript (understanding, foresight and action experts).",
    "",
    "Usage: internvla <command> [options]      internvla <command> --help",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Config overrides: --section.key=value (typed by the field they replace; unknown keys are refused).",
    "",
  ].join("\n");
}

/** Runs one invocation; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    const guess = closest(name, commands.map((c) => c.name));
    io.err(`internvla: unknown command "${name}"${guess ? ` (did you mean ${guess}?)` : ""}; see internvla --help\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    const { formatHelp } = await import("./args.ts");
    io.out(formatHelp(command.usage, command.description, command.flags));
    return 0;
  }
  try {
    const args = parseArgs(rest, command.flags, `internvla ${command.name}`);
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof InternvlaError) {
      const where = `internvla ${command.name}`;
      io.err(`${e.message.startsWith(where) ? "" : `${where}: `}${e.message}\n`);
      return e.name === "ConfigError" ? 2 : 1;
    }
    throw e;
  }
}

/** The process-level wrapper used by bin/internvla.mjs. */
export async function runProcess(): Promise<void> {
  const io: CliIO = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interactive: Boolean(process.stderr.isTTY),
    env: process.env,
  };
  const code = await main(process.argv.slice(2), io);
  // jax-js's worker pool keeps message ports open after large kernels, so the process would not end by itself:
  // exit once stdout and stderr have drained.
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
  process.exit(code);
}
