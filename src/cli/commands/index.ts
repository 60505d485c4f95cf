// The registry of subcommands, in the order `internvla --help` lists them.
import { type Command } from "../command.ts";
import { benchCommand } from "./bench.ts";
import { convertCommand } from "./convert.ts";
import { demoCommand } from "./demo.ts";
import { evalCommand } from "./eval.ts";
import { experimentCommand } from "./experiment.ts";
import { exportCommand } from "./export.ts";
import { generateCommand } from "./generate.ts";
import { inspectCommand } from "./inspect.ts";
import { parityCommand } from "./parity.ts";
import { renderCommand } from "./render.ts";
import { serveCommand } from "./serve.ts";
import { statsCommand } from "./stats.ts";
import { trainCommand } from "./train.ts";
import { trainTokenizerCommand } from "./train-tokenizer.ts";

export const commands: readonly Command[] = [serveCommand, inspectCommand, statsCommand, convertCommand, generateCommand, renderCommand, parityCommand, trainTokenizerCommand, trainCommand, evalCommand, exportCommand, experimentCommand, demoCommand, benchCommand];
