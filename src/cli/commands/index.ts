// The registry of subcommands, in the order `internvla --help` lists them.
import { type Command } from "../command.ts";

export const commands: readonly Command[] = [];
