// `internvla serve`: an openpi-compatible websocket policy server for a checkpoint or a recorded dataset.
import { type Command } from "../command.ts";
import { ConfigError } from "../../tensor/errors.ts";
import { INPUT_FORMATS, type InputFormat } from "../../serve/protocol.ts";
import { type PolicyProvider } from "../../serve/policy.ts";
import { type PrefixSchedule } from "../../serve/rtc.ts";
import { PolicyServer } from "../../serve/server.ts";

async function provider(flags: Record<string, unknown>, log: (l: string) => void): Promise<PolicyProvider> {
  const checkpoint = flags.checkpoint as string | undefined;
  const replay = flags.replay as string | undefined;
  if ((checkpoint === undefined) === (replay === undefined)) {
    throw new ConfigError("internvla serve: give exactly one of --checkpoint DIR or --replay DATASET");
  }
  // Heavy modules (the dataset reader, the compute engine) load only when needed, keeping `--help` fast.
  if (replay !== undefined) {
    const { replayFromDataset } = await import("../../serve/replay.ts");
    return replayFromDataset(replay, {
      episode: flags.episode as number | undefined,
      horizon: flags.horizon as number,
      stride: flags.stride as number | undefined,
      warn: (w) => log(`dataset: ${w.message}`),
    });
  }
  const { loadModelPolicy } = await import("../../serve/checkpoint.ts");
  const rtc = {
    executionHorizon: flags["rtc-horizon"] as number,
    maxGuidanceWeight: flags["rtc-max-guidance"] as number,
    schedule: flags["rtc-schedule"] as PrefixSchedule,
  };
  return loadModelPolicy(checkpoint!, { inferHorizon: flags.horizon as number | undefined, seed: flags.seed as number, rtc });
}

export const serveCommand: Command = {
  name: "serve",
  summary: "serve a policy over openpi's websocket protocol (checkpoint or dataset replay)",
  usage: "internvla serve (--checkpoint DIR | --replay DATASET) [--port 8000] [options]",
  description: `
Starts a websocket policy server that speaks openpi's protocol: a metadata frame on connect, then one msgpack
observation in and one msgpack reply out per request (numpy arrays as openpi msgpack_numpy maps), replies with
"actions" [horizon, action_dim] in robot units plus policy_timing / server_timing (ms). GET /healthz answers 200.
Errors are sent as a text frame followed by close code 1011; the server keeps serving other clients.
Observation keys: LIBERO (observation/image, observation/wrist_image, observation/state, prompt), DROID,
LeRobot (observation.images.<cam>, observation.state, task) or ours (images/<cam>, state, prompt); see
docs/serving.md. The API key may also come from the INTERNVLA_API_KEY environment variable.
Runs until interrupted (Ctrl-C / SIGTERM).`,
  flags: [
    { name: "checkpoint", type: "string", help: "checkpoint folder (config.json, model.safetensors, stats.json, robot.json)", placeholder: "DIR" },
    { name: "replay", type: "string", help: "serve the recorded actions of a LeRobot dataset instead of a model", placeholder: "DATASET" },
    { name: "episode", type: "number", help: "replay: the dataset episode_index to replay (default: the first)" },
    { name: "horizon", type: "number", help: "actions per reply (replay default 50; checkpoint default: infer_horizon)" },
    { name: "stride", type: "number", help: "replay: steps the cursor advances per request without a `step` key (default: horizon)" },
    { name: "seed", type: "number", help: "checkpoint: seed of the flow-matching noise", default: 0 },
    { name: "rtc-horizon", type: "number", help: "checkpoint: RTC execution horizon, for requests that carry rtc/*", default: 10 },
    { name: "rtc-max-guidance", type: "number", help: "checkpoint: RTC maximum guidance weight", default: 10 },
    { name: "rtc-schedule", type: "string", help: "checkpoint: RTC prefix weights: zeros, ones, linear or exp", default: "linear" },
    { name: "host", type: "string", help: "interface to bind", default: "0.0.0.0" },
    { name: "port", type: "number", help: "TCP port (0 picks a free one)", default: 8000 },
    { name: "api-key", type: "string", help: "require `Authorization: Api-Key <key>` (or INTERNVLA_API_KEY)", placeholder: "KEY" },
    { name: "input", type: "string", help: `observation keys: auto or one of ${INPUT_FORMATS.join(", ")}`, default: "auto" },
    { name: "prompt", type: "string", help: "instruction used when an observation carries none", placeholder: "TEXT" },
    { name: "max-frame-mb", type: "number", help: "largest accepted frame in MiB", default: 64 },
    { name: "max-clients", type: "number", help: "connections served at once (more get HTTP 503)", default: 64 },
    { name: "warmup", type: "number", help: "inferences on a synthetic observation before listening", default: 2 },
  ],
  async run(args, io) {
    const f = args.flags;
    const input = f.input as string;
    if (input !== "auto" && !INPUT_FORMATS.includes(input as InputFormat)) {
      throw new ConfigError(`internvla serve: --input must be auto or one of ${INPUT_FORMATS.join(", ")}, got "${input}"`);
    }
    const log = (line: string): void => io.err(`internvla serve: ${line}\n`);
    const server = await PolicyServer.start(await provider(f, log), {
      host: f.host as string,
      port: f.port as number,
      apiKey: (f["api-key"] as string | undefined) ?? io.env.INTERNVLA_API_KEY,
      inputFormat: input as InputFormat | "auto",
      defaultPrompt: f.prompt as string | undefined,
      maxFrameBytes: Math.round((f["max-frame-mb"] as number) * 1024 * 1024),
      maxClients: f["max-clients"] as number,
      warmupRuns: f.warmup as number,
      log,
    });
    io.out(`listening on ws://${f.host as string}:${server.port}\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
    log(`stopped after ${server.stats.requests} requests (${server.stats.errors} errors, ${server.stats.totalConnections} connections)`);
    return 0;
  },
};
