// A checkpoint as an evaluated policy: the served model pipeline with a compiled sampler, plus the imagined future.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, keyFromSeed, random, tree } from "../../tensor/index.ts";
import { compileOrt } from "../../tensor/compile/index.ts";
import { CheckpointError } from "../../tensor/errors.ts";
import { readNormStatsFile } from "../../data/norm-stats.ts";
import { type ModelConfig, parseConfig } from "../../model/config.ts";
import { cosmosDecode } from "../../model/cosmos.ts";
import { foresightHead } from "../../model/embed.ts";
import { disposeCache, embedPrefixAndCache, eulerFromCache, type InferObservation } from "../../model/policy.ts";
import { type TextTokenizer } from "../../model/tokenizer.ts";
import { type ModelParams } from "../../model/types.ts";
import { loadWeights } from "../../model/weights.ts";
import { loadTokenizer, parseRobotSpec } from "../../serve/checkpoint.ts";
import { modelObservation } from "../../serve/model-adapter.ts";
import { type ActionModel, type RobotSpec, modelPolicy } from "../../serve/model-policy.ts";
import { type CameraImage, type Policy } from "../../serve/policy.ts";
import { type ForesightFn } from "./episode.ts";
import { defaultActionSteps } from "./evaluate.ts";
import { type PolicySource, pinCheckpoint } from "./results.ts";
import { checkpointFolder } from "../setup.ts";

export interface CheckpointPolicy {
  readonly policy: Policy;
  /** The imagined frame t+15 per camera, decoded from the last inference's foresight latent (absent without the gen expert). */
  readonly foresight?: ForesightFn;
  readonly source: Omit<PolicySource, "metadata">;
  readonly config: ModelConfig;
  readonly nActionSteps: number;
  /** Camera image side of the training data, when the checkpoint records it. */
  readonly imageSize?: number;
  dispose(): void;
}

/**
 * The official sampler (`sampleActions`: cache once, Euler steps from t = 1), also returning the final-normed
 * gen outputs for the foresight head; traced once by compileOrt. Borrows `p` and `obs`, consumes `noise`.
 */
function sampleWithGen(p: ModelParams, obs: InferObservation, noise: Tensor, cfg: ModelConfig): { actions: Tensor; genOut: Tensor } {
  const cache = embedPrefixAndCache(p, obs, cfg);
  const actions = eulerFromCache(p.policy, cache, noise, cfg);
  const genOut = cache.genOut.ref;
  disposeCache(cache);
  return { actions, genOut };
}

/** Foresight head + Cosmos decoder: gen outputs [1, Lm, De] -> images [V, 3, R, R] in about [-1, 1]. */
function imagine(p: ModelParams, genOut: Tensor, cfg: ModelConfig): Tensor {
  const z = foresightHead(p.policy, genOut, cfg); // [1, V, zc, h, w]
  const [, V, zc, h, w] = z.shape;
  return cosmosDecode(p.cosmos, z.reshape([V, zc, h, w]), cfg);
}

/** [V, 3, R, R] in [-1, 1] -> uint8 RGB [R, R, 3] per model slot. */
function toRgb(data: Float32Array, views: number, res: number): Uint8Array[] {
  const plane = res * res;
  return Array.from({ length: views }, (_, v) => {
    const out = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((data[(v * 3 + c) * plane + i] + 1) * 127.5)));
    }
    return out;
  });
}

/** The sampler (actions + gen outputs) and the imagination (gen outputs -> images), compiled to ONNX Runtime with the weights baked in. */
function ortPrograms(params: ModelParams, cfg: ModelConfig) {
  const sampler = compileOrt((obs: InferObservation, noise: Tensor) => sampleWithGen(params, obs, noise, cfg));
  const imaginer = compileOrt((g: Tensor) => imagine(params, g, cfg));
  return {
    async sample(obs: InferObservation, noise: Tensor) {
      const out = await sampler(obs as never, noise);
      return { actions: out.actions.data as Float32Array, genOut: out.genOut.data as Float32Array, genShape: out.genOut.shape };
    },
    async imagine(genOut: Float32Array, genShape: readonly number[]) {
      return (await imaginer({ dtype: "float32", shape: genShape, data: genOut })).data as Float32Array;
    },
    dispose: async () => void (await Promise.all([sampler.dispose(), imaginer.dispose()])),
  };
}

/** The compiled model behind the served pipeline; remembers the last gen outputs for `imagined`. */
function compiledModel(params: ModelParams, cfg: ModelConfig, tok: TextTokenizer, spec: RobotSpec) {
  const [H, A] = [cfg.chunk_size, cfg.max_action_dim];
  const programs = ortPrograms(params, cfg);
  let last: { genOut: Float32Array; genShape: readonly number[] } | undefined;
  const model: ActionModel = {
    views: cfg.n_views, imageSize: cfg.vision_config.image_size, chunk: H, maxStateDim: cfg.max_state_dim, maxActionDim: A,
    async sample(inputs, seed) {
      const out = await programs.sample(modelObservation(cfg, inputs, tok), random.normal(keyFromSeed(seed), [1, H, A]));
      last = out;
      return out.actions;
    },
    dispose() {
      void programs.dispose();
      tree.dispose(params);
    },
  };
  const res = cfg.cosmos_config.resolution;
  const imagined: ForesightFn = async () => {
    if (!last) throw new CheckpointError("foresight: call the policy first; the imagined frame comes from its last inference");
    const rgb = toRgb(await programs.imagine(last.genOut, last.genShape), cfg.n_views, res);
    const out: Record<string, CameraImage> = {};
    spec.cameras.forEach((cam, v) => {
      if (cam !== null) out[cam] = { data: rgb[v], height: res, width: res };
    });
    return out;
  };
  return { model, imagined };
}

function readJson(path: string, what: string): Record<string, unknown> {
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing (${what})`);
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/**
 * Loads a checkpoint folder, or a run folder's latest checkpoint (config.json, model.safetensors, robot.json, stats.json, tokenizer; see
 * src/serve/checkpoint.ts) as the policy the evaluator calls. The policy returns `nActionSteps` actions per
 * chunk (default: 30 of 50, scaled to the chunk), un-normalised, with gripper dimensions binarised at 0.5 as the
 * RoboTwin evaluation does (default; `binarizeGrippers: false` keeps them continuous).
 * Unlike the server's eager pipeline, the sampler here is compiled once to ONNX Runtime with the weights baked
 * in (about 50x faster than eager jax-js for the tiny config).
 */
export async function loadCheckpointPolicy(path: string, opts: { nActionSteps?: number; seed?: number; binarizeGrippers?: boolean } = {}): Promise<CheckpointPolicy> {
  const dir = checkpointFolder(path);
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new CheckpointError(`${cfgPath}: missing (the model config)`, "pass a checkpoint folder written by internvla train");
  const { config } = parseConfig(readFileSync(cfgPath, "utf8"), cfgPath);
  const robot = readJson(join(dir, "robot.json"), "the robot spec");
  const spec0 = parseRobotSpec(robot, config.chunk_size, join(dir, "robot.json"));
  const stats = readNormStatsFile(join(dir, "stats.json"))[spec0.robotType];
  if (!stats?.state || !stats?.action) throw new CheckpointError(`${join(dir, "stats.json")}: no state/action stats for robot_type "${spec0.robotType}"`);
  const nActionSteps = opts.nActionSteps ?? defaultActionSteps(config.chunk_size);
  const binarizeGrippers = opts.binarizeGrippers ?? true;
  const spec = { ...spec0, inferHorizon: Math.min(nActionSteps, config.chunk_size), binarizeGrippers };
  const pin = await pinCheckpoint(dir);
  const { model, imagined } = compiledModel(await loadWeights(join(dir, "model.safetensors"), config), config, loadTokenizer(dir, config), spec);
  const provider = modelPolicy(model, spec, { state: stats.state, action: stats.action }, { seed: opts.seed ?? 0 });
  const imageSize = typeof robot.image_size === "number" ? robot.image_size : undefined;
  return {
    policy: provider.session(), foresight: config.use_gen_expert ? imagined : undefined, config, nActionSteps, imageSize,
    source: { kind: "checkpoint", checkpoint: pin, modelConfig: config, binarizeGrippers },
    dispose: () => provider.dispose(),
  };
}
