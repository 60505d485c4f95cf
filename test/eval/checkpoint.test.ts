// The evaluator's checkpoint policy (jitted sampler) against the server's eager pipeline on the same tiny checkpoint,
// and its imagined frames against the foresight head + Cosmos decoder run eagerly.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine, keyFromSeed, toF32, tree } from "../../src/tensor/index.ts";
import { writeNormStatsFile } from "../../src/data/norm-stats.ts";
import { presetConfig } from "../../src/model/config.ts";
import { cosmosDecode } from "../../src/model/cosmos.ts";
import { foresightHead } from "../../src/model/embed.ts";
import { initModel } from "../../src/model/params.ts";
import { embedPrefixAndCache, disposeCache } from "../../src/model/policy.ts";
import { DEFAULT_WORDS, builtinTokenizer } from "../../src/model/tokenizer.ts";
import { loadWeights, saveWeights } from "../../src/model/weights.ts";
import { loadModelPolicy } from "../../src/serve/checkpoint.ts";
import { modelObservation } from "../../src/serve/model-adapter.ts";
import { type PolicyObservation } from "../../src/serve/policy.ts";
import { loadCheckpointPolicy, type CheckpointPolicy } from "../../src/train/eval/checkpoint.ts";
import { TOL } from "../helpers/allclose.ts";

const cfg = presetConfig("tiny");
let dir: string;
let ck: CheckpointPolicy;

/** A frame with some structure (so the letterbox and the ViT see more than a constant). */
function frame(h: number, w: number, seed: number) {
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101) % 251;
  return { data, height: h, width: w };
}

const obs = (step: number): PolicyObservation => ({
  images: { top: frame(64, 64, step), wrist: frame(64, 64, step + 1) }, pastImages: { top: frame(64, 64, step + 2), wrist: frame(64, 64, step + 3) },
  state: Float32Array.from([0.1, -0.2, 0.3, 0.05, -0.1, 0.7]), prompt: "put the red cube on the blue pad", step,
});

beforeAll(async () => {
  await initEngine();
  dir = mkdtempSync(join(tmpdir(), "internvla-eval-ckpt-"));
  const params = initModel(cfg, keyFromSeed(7));
  await saveWeights(join(dir, "model.safetensors"), params, cfg);
  tree.dispose(params);
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  const names = ["j1", "j2", "j3", "j4", "j5", "gripper"];
  writeFileSync(join(dir, "robot.json"), JSON.stringify({ robot_type: "arm5", state_dim: 6, action_dim: 6, action_names: names, cameras: ["top", "wrist", null], binarize_grippers: true, image_size: 64 }));
  const stats = { mean: [0, 0.1, 0, 0, 0, 0.5], std: [0.5, 0.4, 0.3, 0.5, 0.6, 0.5], min: new Array(6).fill(-2), max: new Array(6).fill(2), count: 10 };
  writeNormStatsFile(join(dir, "stats.json"), { arm5: { state: stats, action: stats } });
  writeFileSync(join(dir, "vocabulary.json"), JSON.stringify(DEFAULT_WORDS));
  ck = await loadCheckpointPolicy(dir, { seed: 3 });
});

afterAll(() => {
  ck?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("loadCheckpointPolicy", () => {
  it("returns the served policy's actions (eager jax-js pipeline, same seed) under ONNX Runtime, cut to 30 of 50 scaled", async () => {
    expect(ck.nActionSteps).toBe(10);
    expect(ck.imageSize).toBe(64);
    expect(ck.source.checkpoint?.files.map((f) => f.path).sort()).toEqual(["config.json", "model.safetensors", "robot.json", "stats.json", "vocabulary.json"]);
    const served = (await loadModelPolicy(dir, { seed: 3, inferHorizon: 10 })).session();
    for (const step of [0, 10]) {
      const mine = await ck.policy.infer(obs(step));
      const theirs = await served.infer(obs(step));
      expect([mine.actions.horizon, mine.actions.dim]).toEqual([10, 6]);
      // Grippers are thresholded at 0.5: compare the joints closely and the gripper decisions exactly.
      const joints = (d: Float32Array) => Array.from(d).filter((_, i) => i % 6 !== 5);
      expect(joints(mine.actions.data)).toBeAllclose(joints(theirs.actions.data), TOL.engine, `actions at step ${step}`);
      const grippers = Array.from(mine.actions.data).filter((_, i) => i % 6 === 5);
      expect(grippers).toEqual(Array.from(theirs.actions.data).filter((_, i) => i % 6 === 5));
      expect(grippers.every((g) => g === 0 || g === 1)).toBe(true);
    }
  });

  it("serves a model without the gen expert (no foresight) under ONNX Runtime", async () => {
    const noGen = join(dir, "no-gen");
    mkdirSync(noGen);
    for (const f of ["model.safetensors", "robot.json", "stats.json", "vocabulary.json"]) copyFileSync(join(dir, f), join(noGen, f));
    writeFileSync(join(noGen, "config.json"), JSON.stringify({ ...cfg, use_gen_expert: false }));
    const p = await loadCheckpointPolicy(noGen, { seed: 3 });
    try {
      expect(p.foresight).toBeUndefined();
      const r = await p.policy.infer(obs(0));
      expect([r.actions.horizon, r.actions.dim]).toEqual([10, 6]);
      expect(r.actions.data.every(Number.isFinite)).toBe(true);
    } finally {
      p.dispose();
    }
  });

  it("imagines frame t+15 per present camera: the foresight head and Cosmos decoder on the inference's gen outputs", async () => {
    await ck.policy.reset();
    await ck.policy.infer(obs(20));
    const imagined = await ck.foresight!(obs(20));
    const res = cfg.cosmos_config.resolution;
    expect(Object.keys(imagined)).toEqual(["top", "wrist"]);
    expect([imagined.top.height, imagined.top.width, imagined.top.data.length]).toEqual([res, res, res * res * 3]);
    // Eager reference from the same letterboxed inputs: rebuild them the way the served pipeline does.
    const params = await loadWeights(join(dir, "model.safetensors"), cfg);
    const tok = builtinTokenizer(cfg.text_config.vocab_size, DEFAULT_WORDS);
    const captured: { inputs?: Parameters<typeof modelObservation>[1] } = {};
    const probe = (await import("../../src/serve/model-policy.ts")).modelPolicy({
      views: 3, imageSize: 64, chunk: 16, maxStateDim: 32, maxActionDim: 32, dispose: () => {},
      sample: async (inputs) => {
        captured.inputs = inputs;
        return new Float32Array(16 * 32);
      },
    }, { robotType: "arm5", stateDim: 6, actionDim: 6, actionMode: "delta", deltaMask: [true, true, true, true, true, false], normMode: "mean_std", cameras: ["top", "wrist", null], inferHorizon: 10, binarizeGrippers: true, frameGap: 15 },
    { state: { mean: [0, 0.1, 0, 0, 0, 0.5], std: [0.5, 0.4, 0.3, 0.5, 0.6, 0.5] } as never, action: { mean: [0, 0.1, 0, 0, 0, 0.5], std: [0.5, 0.4, 0.3, 0.5, 0.6, 0.5] } as never });
    await probe.session().infer(obs(20));
    const cache = embedPrefixAndCache(params, modelObservation(cfg, captured.inputs!, tok), cfg);
    const z = foresightHead(params.policy, cache.genOut.ref, cfg);
    disposeCache(cache);
    const [, V, zc, h, w] = z.shape;
    const img = await toF32(cosmosDecode(params.cosmos, z.reshape([V, zc, h, w]), cfg));
    tree.dispose(params);
    const plane = res * res;
    const expected = (v: number) => Array.from({ length: plane * 3 }, (_, k) => Math.max(0, Math.min(255, Math.round((img[(v * 3 + (k % 3)) * plane + Math.floor(k / 3)] + 1) * 127.5))));
    // uint8 rounding of values that agree to ~1e-5 may still differ by one level at a .5 boundary.
    const maxDiff = (a: Uint8Array, e: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - e[i])), 0);
    expect(maxDiff(imagined.top.data, expected(0))).toBeLessThanOrEqual(1);
    expect(maxDiff(imagined.wrist.data, expected(1))).toBeLessThanOrEqual(1);
  });
});
