// The registry of subcommands, in the order `internvla --help` lists them.
import { type Command } from "../command.ts";
import { serveCommand } from "./serve.ts";

export const commands: readonly Command[] = [serveCommand];
