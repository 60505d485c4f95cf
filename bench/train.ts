// Training benchmark (npm run bench:train): tiny-config training samples/s and ms/step under ONNX Runtime and jax-js,
// peak memory, and the closed-loop control rate (action chunks per second) of the tiny policy; prints JSON.
//   npm run bench:train -- [--steps 10] [--jax-steps 3] [--batch 16] [--calls 30]
// Each measurement runs in its own child process, so peak memory (max RSS) is per engine.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, jit, keyFromSeed, random, toF32, tree, type Tensor } from "../src/tensor/index.ts";
import { compileOrt, type HostTensor } from "../src/tensor/compile/index.ts";
import { generateDataset } from "../src/sim/dataset/generate.ts";
import { presetConfig, tokenLayout, type ModelConfig } from "../src/model/config.ts";
import { inferLayout } from "../src/model/layout.ts";
import { initModel } from "../src/model/params.ts";
import { sampleActions, type InferObservation } from "../src/model/policy.ts";
import { buildPrefix, builtinTokenizer } from "../src/model/tokenizer.ts";
import { type ModelParams } from "../src/model/types.ts";
import { type FlagSpec, parseArgs } from "../src/cli/args.ts";
import { resolveTrainConfig } from "../src/train/config.ts";
import { toTensors } from "../src/train/engine.ts";
import { type StepLog, train } from "../src/train/loop.ts";

const DATASET = join(tmpdir(), "internvla-bench-train-v1");
/** A measurement that takes longer than this is reported as an error (jax-js on a loaded machine can be very slow). */
const CHILD_TIMEOUT_MS = 20 * 60_000;

const FLAGS: FlagSpec[] = [
  { name: "steps", type: "number", help: "measured ORT training steps", default: 10 },
  { name: "jax-steps", type: "number", help: "measured jax training steps", default: 3 },
  { name: "batch", type: "number", help: "training batch", default: 16 },
  { name: "calls", type: "number", help: "measured sampling calls (jax: a third)", default: 30 },
  { name: "child", type: "boolean", help: "internal: run one measurement" },
];

/** The middle value (upper middle for an even count). */
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Child: trains `steps` measured steps (after 2 warm-up steps, the first of which compiles) on one engine. */
async function trainChild(engine: "ort" | "jax", steps: number, batch: number): Promise<unknown> {
  const out = mkdtempSync(join(tmpdir(), "internvla-bench-train-run-"));
  const logs: StepLog[] = [];
  try {
    const config = resolveTrainConfig("tiny", [["train.steps", String(steps + 2)], ["train.batch_size", String(batch)], ["train.engine", engine], ["checkpoint.every", "100000"]]);
    const t0 = performance.now();
    await train({ config, data: DATASET, out: join(out, "run"), onProgress: (p) => logs.push(p) });
    const measured = logs.slice(2);
    const ms = median(measured.map((l) => l.step_ms));
    return {
      engine, batch, measured_steps: measured.length, ms_per_step: +ms.toFixed(1), samples_per_s: +((batch * 1000) / ms).toFixed(2),
      first_step_ms: +logs[0].step_ms.toFixed(0), median_wait_ms: +median(measured.map((l) => l.wait_ms)).toFixed(1),
      total_s_including_setup_and_final_save: +((performance.now() - t0) / 1000).toFixed(1), peak_rss_mb: peakMb(),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** One control step's host work: frames (t-15, t) to [0, 1] (t repeated as the unused t+15), prefix, inference layout. */
function observation(cfg: ModelConfig, frames: Uint8Array, state: Float32Array, task: string): Record<string, HostTensor> {
  const V = cfg.n_views;
  const S = cfg.vision_config.image_size;
  const plane = 3 * S * S;
  const images = new Float32Array(V * 3 * plane);
  for (let v = 0; v < V; v++) for (let f = 0; f < 3; f++) for (let i = 0; i < plane; i++) images[(v * 3 + f) * plane + i] = frames[(v * 2 + Math.min(f, 1)) * plane + i] / 255;
  const mask = [1, 1, 0];
  const { ids, mask: tm } = buildPrefix(builtinTokenizer(cfg.text_config.vocab_size), task, mask, cfg);
  const imageMasks = Float32Array.from(mask);
  const l = inferLayout({ batch: 1, tokenIds: ids, tokenMask: tm, imageMasks }, cfg);
  const { prefix: lp, middle: lm, suffix: ls } = tokenLayout(cfg);
  const f32 = (data: Float32Array, shape: number[]): HostTensor => ({ dtype: "float32", shape, data });
  return {
    images: f32(images, [1, V, 3, 3, S, S]), imageMasks: f32(imageMasks, [1, V]), tokenIds: { dtype: "int32", shape: [1, lp], data: ids },
    tokenMask: f32(tm, [1, lp]), state: f32(state, [1, cfg.max_state_dim]),
    prefixPositions: f32(l.prefixPositions, [3, 1, lp]), middlePositions: f32(l.middlePositions, [3, 1, lm]), suffixPositions: f32(l.suffixPositions, [3, 1, ls]),
    prefixMask: f32(l.prefixMask, [1, 1, lp, lp]), middleMask: f32(l.middleMask, [1, 1, lm, lp + lm]), suffixMask: f32(l.suffixMask, [1, 1, ls, lp + lm + ls]),
  };
}

/** Child: action chunks per second of the tiny policy (batch 1, 10 Euler steps, host-side preparation included). */
async function controlChild(engine: "ort" | "jax", calls: number): Promise<unknown> {
  await initEngine();
  const cfg = presetConfig("tiny");
  const params = initModel(cfg, keyFromSeed(0));
  const S = cfg.vision_config.image_size;
  const frames = new Uint8Array(cfg.n_views * 2 * 3 * S * S).map((_, i) => (i * 37) & 255);
  const state = new Float32Array(cfg.max_state_dim).fill(0.1);
  const shape = [1, cfg.chunk_size, cfg.max_action_dim];
  let run: (seed: number) => Promise<unknown>;
  if (engine === "ort") {
    const f = compileOrt((obs: InferObservation, z: Tensor) => sampleActions(params, obs, cfg, z));
    // Host noise (any values time the same): a sum of three uniforms per entry from a seeded LCG.
    const hostNoise = (seed: number): HostTensor => {
      let x = seed + 1;
      const u = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      return { dtype: "float32", shape, data: Float32Array.from({ length: shape[1] * shape[2] }, () => u() + u() + u() - 1.5) };
    };
    run = (seed) => f(observation(cfg, frames, state, "pick up the red cube") as never, hostNoise(seed) as never);
  } else {
    const f = jit((p: ModelParams, obs: InferObservation, z: Tensor) => sampleActions(p, obs, cfg, z));
    run = (seed) => toF32(f(tree.ref(params), toTensors<InferObservation>(observation(cfg, frames, state, "pick up the red cube") as never), random.normal(keyFromSeed(seed), shape)));
  }
  const t0 = performance.now();
  await run(0);
  const firstMs = performance.now() - t0;
  for (let i = 1; i < 3; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await run(100 + i);
    times.push(performance.now() - t);
  }
  const ms = median(times);
  return { engine, calls, ms_per_chunk: +ms.toFixed(1), chunks_per_s: +(1000 / ms).toFixed(1), target_hz: 13, meets_target: 1000 / ms >= 13, first_call_ms: +firstMs.toFixed(0), peak_rss_mb: peakMb() };
}

function child(args: string[]): unknown {
  const r = spawnSync(process.execPath, ["bin/run-ts.mjs", "bench/train.ts", "--child", "--", ...args], { encoding: "utf8", maxBuffer: 1 << 26, timeout: CHILD_TIMEOUT_MS });
  if (r.error) return { error: `child ${args.join(" ")}: ${r.error.message} (limit ${CHILD_TIMEOUT_MS / 60000} min)` };
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { error: `child ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}` };
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS, "bench:train");
  const arg = (name: string) => Number(args.flags[name]);
  if (args.flags.child) {
    const [kind, engine, n, batch] = args.positionals;
    const out = kind === "train" ? await trainChild(engine as "ort", Number(n), Number(batch)) : await controlChild(engine as "ort", Number(n));
    finish(JSON.stringify(out));
    return;
  }
  if (!existsSync(join(DATASET, "meta", "info.json"))) {
    rmSync(DATASET, { recursive: true, force: true });
    await generateDataset({ out: DATASET, task: "pick_place", robot: "arm5", episodes: 6, seed: 0, imageSize: 64 });
  }
  const batch = String(arg("batch"));
  const load0 = loadavg()[0];
  const result = {
    bench: "train",
    conditions: "tiny config (64 px, 3 camera slots of which 2 present, chunk 16), pick_place arm5 dataset at 64 px; measured under whatever load the machine has (see load_avg)",
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, load_avg_1m_start: +load0.toFixed(2) },
    train: { ort: child(["train", "ort", String(arg("steps")), batch]), jax: child(["train", "jax", String(arg("jax-steps")), batch]) },
    control: { ort: child(["control", "ort", String(arg("calls"))]), jax: child(["control", "jax", String(Math.max(3, Math.round(arg("calls") / 3)))]) },
    load_avg_1m_end: +loadavg()[0].toFixed(2),
  };
  finish(JSON.stringify(result, null, 2));
}

/** Prints the result and exits once stdout drained (a process that used jax-js does not exit on its own). */
function finish(text: string): void {
  process.stdout.write(text + "\n", () => process.exit(0));
}

await main();
