// `internvla bench NAME [-- args]`: runs a benchmark of bench/ (JSON on stdout), the same script as `npm run bench:NAME`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.ts";
import { ConfigError } from "../../tensor/errors.ts";
import { closest } from "../args.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The benchmarks and what each measures (one line each for --help). */
export const BENCHES: Readonly<Record<string, string>> = {
  engine: "matmul GFLOP/s and a small transformer's train step, jax-js vs PyTorch",
  compile: "train steps and sampling under ONNX Runtime vs jax-js vs PyTorch",
  model: "tiny sampleActions and train step; a1-3b parameter count (--load-3b: load time and memory)",
  sim: "scripted episodes per hour with AV1 encoding, expert success per task, physics and render speed",
  data: "training samples/s from an AV1 dataset and statistics over 100k frames",
  train: "tiny-config samples/s, ms/step, peak memory and the closed-loop control rate",
  serve: "websocket round trip, overhead over in-process inference, requests/s, memory over 10k requests",
};

export const benchCommand: Command = {
  name: "bench",
  summary: "run a benchmark (engine, compile, model, sim, data, train, serve) and print its JSON",
  usage: "internvla bench NAME [-- benchmark options]",
  description: `
Runs bench/NAME.ts (the same as npm run bench:NAME) and prints its JSON figures on stdout; progress goes to
stderr. Figures are only meaningful on a quiet machine: each benchmark records the load average it ran under.
Where python3-torch is installed (Debian), engine and compile measure PyTorch on the same machine in the same
run. Options after -- go to the benchmark (e.g. internvla bench train -- --steps 20).

${Object.entries(BENCHES).map(([k, v]) => `  ${k.padEnd(8)} ${v}`).join("\n")}`,
  flags: [],
  async run(args, io) {
    const [name, ...rest] = args.positionals;
    if (!name) throw new ConfigError("internvla bench: name a benchmark", `one of ${Object.keys(BENCHES).join(", ")}`);
    if (!(name in BENCHES)) {
      const near = closest(name, Object.keys(BENCHES));
      throw new ConfigError(`internvla bench: no benchmark "${name}"`, near ? `did you mean "${near}"?` : `one of ${Object.keys(BENCHES).join(", ")}`);
    }
    const file = join(REPO, "bench", `${name}.ts`);
    if (!existsSync(file)) throw new ConfigError(`internvla bench: ${file} is missing`, "benchmarks run from a checkout of the repository");
    const child = spawn(process.execPath, [join(REPO, "bin", "run-ts.mjs"), file, ...rest], { stdio: ["ignore", "pipe", "inherit"], env: io.env as NodeJS.ProcessEnv });
    child.stdout.on("data", (b: Buffer) => io.out(b.toString()));
    return new Promise((ok, fail) => {
      child.on("error", fail);
      child.on("exit", (code, signal) => ok(code ?? (signal ? 1 : 0)));
    });
  },
};
