// src/model's tiny InternVLA-A1 (random weights) behind the served policy: the token prefix passes the model's own
// layout check; the adapter's Euler loop over actionStep reproduces the model's sampleActions; RTC guidance pulls
// the frozen prefix onto the previous chunk; a saved checkpoint folder is served and answers in robot units.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, keyFromSeed, random, toF32, tree } from "../../src/tensor/index.ts";
import { writeNormStatsFile } from "../../src/data/norm-stats.ts";
import { saveWeights } from "../../src/model/weights.ts";
import { loadModelPolicy, parseRobotSpec } from "../../src/serve/checkpoint.ts";
import { presetConfig, tokenLayout } from "../../src/model/config.ts";
import { builtinTokenizer, DEFAULT_WORDS } from "../../src/model/tokenizer.ts";
import { initModel } from "../../src/model/params.ts";
import { sampleActions } from "../../src/model/policy.ts";
import { type ActionModel, type ModelInputs } from "../../src/serve/model-policy.ts";
import { modelActionModel, modelObservation } from "../../src/serve/model-adapter.ts";
import { DEFAULT_RTC } from "../../src/serve/rtc.ts";
import { connectPolicy } from "../../src/serve/client.ts";
import { type PolicyServer } from "../../src/serve/server.ts";
import { startServer } from "./helpers.ts";
import { TOL } from "../helpers/allclose.ts";

// Four Euler steps instead of ten keep this file fast; the sampler code path is the same.
const cfg = { ...presetConfig("tiny"), num_inference_steps: 4 };
const S = cfg.vision_config.image_size;
const [H, A] = [cfg.chunk_size, cfg.max_action_dim];
const tokenizer = builtinTokenizer(cfg.text_config.vocab_size);

let model: ActionModel;
let params: ReturnType<typeof initModel>;
const inputs: ModelInputs = {
  images: Uint8Array.from({ length: cfg.n_views * 2 * 3 * S * S }, (_, i) => (i * 37) & 255),
  imageMask: new Uint8Array([1, 1, 0]),
  state: Float32Array.from({ length: cfg.max_state_dim }, (_, i) => (i < 7 ? Math.sin(i) : 0)),
  prompt: "put the red cube in the bin",
};

beforeAll(async () => {
  await initEngine();
  params = initModel(cfg, keyFromSeed(3));
  model = modelActionModel(params, cfg, tokenizer);
});
afterAll(() => model.dispose());

describe("tiny model behind the adapter", () => {
  it("hands the model a prefix whose missing camera and text padding are masked", async () => {
    const obs = modelObservation(cfg, inputs, tokenizer);
    const mask = await toF32(obs.tokenMask.ref);
    tree.dispose(obs);
    const { imageTokens } = tokenLayout(cfg);
    const block = imageTokens + 2;
    expect([mask[0], mask[2 * block - 1], mask[2 * block], mask[3 * block - 1]]).toEqual([1, 1, 0, 0]); // camera 2 is missing
    const text = Array.from(mask.subarray(3 * block));
    const n = Math.min(cfg.n_text_tokens, tokenizer.encode(inputs.prompt).length);
    expect(text).toEqual(Array.from({ length: cfg.n_text_tokens }, (_, i) => (i < n ? 1 : 0)));
  });

  let plain: Float32Array;
  it("the adapter's Euler loop over actionStep reproduces sampleActions for the same noise", async () => {
    plain = await model.sample(inputs, 11);
    const noise = random.normal(keyFromSeed(11), [1, H, A]);
    const theirs = await toF32(sampleActions(params, modelObservation(cfg, inputs, tokenizer), cfg, noise));
    expect(plain).toBeAllclose(theirs, TOL.f32);
  });

  it("RTC guidance pulls the first actions of a new chunk onto the previous chunk's", async () => {
    // The previous chunk: a smooth ramp unrelated to what this noise would produce.
    const prev = Float32Array.from({ length: 8 * A }, (_, i) => 0.5 - 0.1 * Math.floor(i / A));
    const delay = 3;
    const rtc = { prev, prevCount: 8, inferenceDelay: delay, config: { ...DEFAULT_RTC, executionHorizon: 6 } };
    const guided = await model.sample(inputs, 11, rtc);
    const gap = (x: Float32Array): number => {
      let e = 0;
      for (let i = 0; i < delay * A; i++) e = Math.max(e, Math.abs(x[i] - prev[i]));
      return e;
    };
    expect(gap(guided)).toBeLessThan(0.25 * gap(plain));
  });
});

describe("a served tiny checkpoint", () => {
  let server: PolicyServer | undefined;
  let dir: string;
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads config.json, model.safetensors, vocabulary.json, stats.json and robot.json, warms up, and answers in robot units", async () => {
    dir = mkdtempSync(join(tmpdir(), "internvla-serve-ckpt-"));
    const saved = initModel(cfg, keyFromSeed(4));
    await saveWeights(join(dir, "model.safetensors"), saved, cfg);
    tree.dispose(saved);
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    const names = ["j1", "j2", "j3", "j4", "j5", "j6", "j7", "gripper"];
    writeFileSync(join(dir, "robot.json"), JSON.stringify({ robot_type: "arm7", state_dim: 8, action_dim: 8, action_names: names, cameras: ["top", "wrist", null], infer_horizon: 10, binarize_grippers: true }));
    const stats = { mean: new Array(8).fill(0.1), std: new Array(8).fill(0.5), min: new Array(8).fill(-1), max: new Array(8).fill(1), count: 10 };
    writeNormStatsFile(join(dir, "stats.json"), { arm7: { state: stats, action: stats } });
    await expect(loadModelPolicy(dir)).rejects.toThrow(/no tokenizer: expected tokenizer.json .* or vocabulary.json/);
    writeFileSync(join(dir, "vocabulary.json"), JSON.stringify(DEFAULT_WORDS));

    server = await startServer(await loadModelPolicy(dir), { warmupRuns: 1 });
    const policy = await connectPolicy(`ws://127.0.0.1:${server.port}`);
    expect(policy.metadata).toMatchObject({ policy: "internvla-a1", robot_type: "arm7", action_horizon: 10, action_dim: 8 });
    const frame = { data: new Uint8Array(48 * 64 * 3).fill(90), height: 48, width: 64 };
    const r = await policy.infer({ images: { top: frame, wrist: frame }, state: new Float32Array(8).fill(0.1), prompt: "stack the cubes", step: 0 });
    expect([r.actions.horizon, r.actions.dim]).toEqual([10, 8]);
    expect(r.actions.data.every(Number.isFinite)).toBe(true);
    // "gripper" in the action names makes the last dim absolute, and binarize_grippers thresholds it.
    expect(Array.from({ length: 10 }, (_, k) => r.actions.data[8 * k + 7]).every((g) => g === 0 || g === 1)).toBe(true);
    await policy.close();
  });

  it("names what is wrong in robot.json", () => {
    expect(() => parseRobotSpec({ robot_type: "x", state_dim: 0, action_dim: 2 }, 16, "robot.json")).toThrow(/robot.json: state_dim must be an integer >= 1, got 0/);
    expect(() => parseRobotSpec({ robot_type: "x", state_dim: 2, action_dim: 2, action_mode: "rel" }, 16, "robot.json")).toThrow(/action_mode must be "delta" or "abs"/);
  });
});
