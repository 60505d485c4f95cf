// Parity of the 2B model (`interna1`: InternViT + projector, 1-D cumsum positions, Qwen2 towers) with the PyTorch
// reference, tensor by tensor. Fixture: test/fixtures/model/parity-interna1/, written by scripts/ref/model_2b.py
// (regenerate: OMP_NUM_THREADS=2 /usr/bin/python3 scripts/ref/model_2b.py).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyFromSeed, np, toF32, tree, type Tensor } from "../../src/tensor/index.ts";
import { main } from "../../src/cli/main.ts";
import { presetConfig, tokenLayout } from "../../src/model/config.ts";
import { encodeFrames } from "../../src/model/cosmos.ts";
import { embedMiddle, embedPrefix, embedSuffix, foresightHead } from "../../src/model/embed.ts";
import { interpolate } from "../../src/model/flow.ts";
import { internVisionTower, internVitEncoder, pixelShuffle } from "../../src/model/internvit.ts";
import { inferLayout, trainPositionsAndMask } from "../../src/model/layout.ts";
import { countParams, getPath, initModel, paramTable } from "../../src/model/params.ts";
import { actionStep, cacheFromLatents, disposeCache, inferInputs } from "../../src/model/policy.ts";
import { runParity } from "../../src/model/parity.ts";
import { type InternVisionParams } from "../../src/model/types.ts";
import { loadWeights, saveWeights } from "../../src/model/weights.ts";
import { withSafetensors } from "../../src/tensor/safetensors.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadParityCase, trainLayerOutputs, type ParityCase } from "./parity-case.ts";

const FOLDER = "parity-interna1";
const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", FOLDER);
let pc: ParityCase;
const report: string[] = [];

/** Compares against the reference tensor `name` at TOL.model, recording the largest difference. Consumes `x`. */
async function check(name: string, x: Tensor | Float32Array): Promise<void> {
  const data = x instanceof Float32Array ? x : await toF32(x);
  const r = compareAllclose(data, pc.ref.f32(name), TOL.model, name);
  report.push(`${name.padEnd(28)} max abs ${r.maxAbs.toExponential(2)}  max rel ${r.maxRel.toExponential(2)}`);
  expect(r.ok, r.message).toBe(true);
}

/** Camera `v`'s frame t of the fixture images, [B, 3, H, W]. */
function frameT(v: number): Tensor {
  const images = pc.tensor("images");
  const [B, , , , H, W] = images.shape;
  return images.slice([], v, 1).reshape([B, 3, H, W]);
}

beforeAll(async () => {
  pc = await loadParityCase(FOLDER, "scripts/ref/model_2b.py");
});

afterAll(() => {
  tree.dispose(pc.params as never);
  console.log(`largest difference per tensor (vs PyTorch, scripts/ref/model_2b.py):\n${report.join("\n")}`);
});

describe("a1-2b preset (InternVL3-1B + Qwen2 experts)", () => {
  it("lays out 256 InternViT tokens per camera with no vision_start / vision_end, and names every tensor officially", () => {
    const cfg = presetConfig("a1-2b");
    const l = tokenLayout(cfg);
    expect([l.imageTokens, l.prefix, l.middle, l.suffix]).toEqual([256, 3 * 256 + 48, 96, 51]);
    const names = paramTable(cfg).map((e) => e.name);
    const I = "model.internvl_with_expert.und_expert.model.";
    for (const n of [
      `${I}vision_tower.embeddings.patch_embeddings.projection.weight`, `${I}vision_tower.encoder.layer.23.attention.q_proj.weight`,
      `${I}vision_tower.encoder.layer.0.lambda_1`, `${I}multi_modal_projector.linear_1.weight`, `${I}language_model.embed_tokens.weight`,
      "model.internvl_with_expert.und_expert.lm_head.weight", "model.internvl_with_expert.gen_expert.model.layers.23.self_attn.q_proj.bias",
      "model.gen_in_proj.weight", "model.cosmos_tokenizer._enc_model.encoder.conv_in.weight",
    ]) {
      expect(names, n).toContain(n);
    }
    // No q/k/v bias in the ViT: the official config leaves HF's attention_bias default (false).
    expect(names).not.toContain(`${I}vision_tower.encoder.layer.0.attention.q_proj.bias`);
    // InternViT-300M: 24 layers x 12.6M + embeddings (1025 x 1024 positions, patch conv, class token) = 303.9M, the published ~0.3B.
    const vit = paramTable(cfg).filter((e) => e.name.includes("vision_tower."));
    expect(countParams(vit)).toBe(24 * (4 * 1024 * 1024 + 1024 + 2 * 1024 * 4096 + 4096 + 1024 + 6 * 1024) + 1025 * 1024 + 1024 * 3 * 14 * 14 + 1024 + 1024);
  });
});

describe("interna1 parity with the PyTorch reference", () => {
  it("builds 1-D positions cumsum(pad) - 1 (all rows equal) and the masks exactly, in training and inference", () => {
    const train = trainPositionsAndMask(pc.host, pc.cfg);
    const refPos = Array.from(pc.ref.f32("train.positions")); // [B, N]
    for (let r = 0; r < 3; r++) expect(Array.from(train.positions.subarray(r * refPos.length, (r + 1) * refPos.length))).toEqual(refPos);
    expect(Array.from(train.mask)).toEqual(Array.from(pc.ref.f32("train.mask")));
    for (const mode of ["official", "as_trained"] as const) {
      const infer = inferLayout(pc.host, { ...pc.cfg, inference_positions: mode });
      const row0 = (a: Float32Array) => Array.from(a.subarray(0, a.length / 3));
      expect(row0(infer.prefixPositions), mode).toEqual(Array.from(pc.ref.f32("infer.prefix_positions")));
      expect(row0(infer.middlePositions), mode).toEqual(Array.from(pc.ref.f32("infer.middle_positions")));
      expect(row0(infer.suffixPositions), mode).toEqual(Array.from(pc.ref.f32("infer.suffix_positions")));
    }
  });

  it("matches InternViT per camera: the encoder output, the pixel shuffle (HF axis order) and the projected features", async () => {
    const vp = pc.params.policy.vision as InternVisionParams;
    for (let v = 0; v < pc.cfg.n_views; v++) await check(`vit.cam${v}.features`, internVisionTower(vp, frameT(v), pc.cfg));
    const hidden = internVitEncoder(vp, frameT(0), pc.cfg);
    await check("vit.cam0.last_hidden_state", hidden.ref);
    const s = hidden.shape[1];
    await check("vit.cam0.shuffled", pixelShuffle(hidden.slice([], [1, s], []), 2));
  });

  it("resizes the position table bicubically (HF interpolate_pos_encoding) at a grid other than the native one", async () => {
    const vp = pc.params.policy.vision as InternVisionParams;
    await check("vit_interp.features", internVisionTower(vp, pc.ref.tensor("vit_interp.input"), pc.cfg));
  });

  it("matches the prefix, middle and suffix embeddings", async () => {
    const { images, tokenIds } = pc.observation();
    await check("prefix_embs", embedPrefix(pc.params.policy, images.ref, tokenIds, pc.cfg));
    const latents = encodeFrames(pc.params.cosmos, images, pc.cfg);
    await check("latents", latents.ref);
    await check("middle_embs", embedMiddle(pc.params.policy, latents.slice([], [], [0, 2]), pc.cfg));
    const { xT } = interpolate(pc.tensor("actions"), pc.tensor("noise"), pc.tensor("time"));
    await check("suffix.embs", embedSuffix(pc.params.policy, pc.tensor("state"), xT, pc.tensor("time"), pc.cfg));
  });

  it("matches every layer of every expert, the foresight prediction, v_t, the losses and the sampled actions", async () => {
    const { cfg, params } = pc;
    const { images, tokenIds } = pc.observation();
    const latents = encodeFrames(params.cosmos, images.ref, cfg);
    const { xT } = interpolate(pc.tensor("actions"), pc.tensor("noise"), pc.tensor("time"));
    const xs = [
      embedPrefix(params.policy, images, tokenIds, cfg),
      embedMiddle(params.policy, latents.slice([], [], [0, 2]), cfg),
      embedSuffix(params.policy, pc.tensor("state"), xT, pc.tensor("time"), cfg),
    ];
    const { seen, gen } = trainLayerOutputs(params.policy, cfg, pc.host, xs);
    for (const [name, t] of seen) await check(name, t);
    await check("gen_pred", foresightHead(params.policy, gen, cfg));
    const out = await runParity(params, new Map([...pc.inp.arrays]), cfg);
    for (const name of ["loss", "loss_action", "loss_gen", "v_t", "gen_pred", "actions_sampled"]) await check(name, out.get(name)!.data);
  });

  it("matches the cached inference path's first Euler step", async () => {
    const obs = { ...pc.observation(), ...inferInputs(pc.host, pc.cfg) };
    const latents = encodeFrames(pc.params.cosmos, obs.images.ref.slice([], [], [0, 2]), pc.cfg);
    const cache = cacheFromLatents(pc.params.policy, obs, latents, pc.cfg);
    await check("infer.v_t0", actionStep(pc.params.policy, cache, pc.tensor("noise"), np.full([2], 1, { dtype: np.float32 }), pc.cfg));
    disposeCache(cache);
    for (const t of Object.values(obs)) t.dispose();
  });
});

describe("interna1 checkpoints and the parity command", () => {
  it("round-trips every tensor (untied lm_head, layer scales, ImageNet buffers) under the official 2B names", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "internvla-2b-"));
    try {
      const params = initModel(pc.cfg, keyFromSeed(5));
      const lambda = await toF32((params.policy.vision as InternVisionParams).encoder.layer[0].lambda_1.ref);
      expect(Array.from(lambda).every((x) => Math.abs(x - 0.1) < 1e-7)).toBe(true); // layer_scale_init_value
      const path = join(tmp, "m.safetensors");
      await saveWeights(path, params, pc.cfg);
      await withSafetensors(path, async (r) => expect(r.names()).toContain("model.imagenet_std"));
      const loaded = await loadWeights(path, pc.cfg);
      for (const e of paramTable(pc.cfg)) {
        const a = await toF32((getPath(params, e.path) as Tensor).ref);
        expect(Array.from(await toF32((getPath(loaded, e.path) as Tensor).ref)), e.name).toEqual(Array.from(a));
      }
      tree.dispose(params as never);
      tree.dispose(loaded as never);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("`internvla parity` on the fixture folder writes outputs matching the reference", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "internvla-2b-parity-"));
    const outPath = join(tmp, "out.safetensors");
    let err = "";
    const io = { out: () => undefined, err: (t: string) => (err += t), interactive: false, env: {} };
    try {
      const code = await main(["parity", "--checkpoint", DIR, "--inputs", join(DIR, "in.safetensors"), "--out", outPath], io);
      expect(code, err).toBe(0);
      await withSafetensors(outPath, async (r) => {
        for (const name of r.names()) {
          const c = compareAllclose(await r.readF32(name), pc.ref.f32(name), TOL.model, `cli ${name}`);
          expect(c.ok, c.message).toBe(true);
        }
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
