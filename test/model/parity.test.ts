// Parity of the whole InternVLA-A1 port against the PyTorch reference, tensor by tensor (llm.c style).
// Fixture: test/fixtures/model/parity/, written by scripts/ref/model.py (regenerate:
//   OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/model.py).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine, np, toF32, tree, type Tensor } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { cosmosDecode, encodeFrames } from "../../src/model/cosmos.ts";
import { embedMiddle, embedPrefix, embedSuffix, foresightHead } from "../../src/model/embed.ts";
import { interpolate } from "../../src/model/flow.ts";
import { inferLayout, trainPositionsAndMask, type HostMasks } from "../../src/model/layout.ts";
import { actionStep, cacheFromLatents, disposeCache, inferInputs } from "../../src/model/policy.ts";
import { runParity } from "../../src/model/parity.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { loadWeights } from "../../src/model/weights.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";
import { trainLayerOutputs } from "./parity-case.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");
const SCRIPT = "scripts/ref/model.py";

let cfg: ModelConfig;
let params: ModelParams;
let inp: Fixture;
let ref: Fixture;
let host: HostMasks;
const report: string[] = [];

/** Compares against the reference tensor `name` at TOL.model, recording the largest difference. Consumes `x`. */
async function check(name: string, x: Tensor | Float32Array): Promise<void> {
  const data = x instanceof Float32Array ? x : await toF32(x);
  const r = compareAllclose(data, ref.f32(name), TOL.model, name);
  report.push(`${name.padEnd(28)} max abs ${r.maxAbs.toExponential(2)}  max rel ${r.maxRel.toExponential(2)}`);
  expect(r.ok, r.message).toBe(true);
}

function tokenIds(): Tensor {
  const ids = inp.get("token_ids");
  return np.array(Int32Array.from(ids.data), { dtype: np.int32 }).reshape([...ids.shape]);
}

beforeAll(async () => {
  await initEngine();
  cfg = parseConfig(readFileSync(resolve(DIR, "config.json"), "utf8")).config;
  params = await loadWeights(resolve(DIR, "model.safetensors"), cfg);
  inp = await loadFixture("model/parity/in.safetensors", { script: SCRIPT });
  ref = await loadFixture("model/parity/ref.safetensors", { script: SCRIPT });
  host = { batch: 2, tokenIds: inp.f32("token_ids"), tokenMask: inp.f32("token_mask"), imageMasks: inp.f32("image_masks") };
});

afterAll(() => {
  tree.dispose(params as never);
  console.log(`largest difference per tensor (vs PyTorch, scripts/ref/model.py):\n${report.join("\n")}`);
});

describe("model parity with the PyTorch reference", () => {
  it("builds the training and inference positions and masks exactly (missing camera, text padding)", async () => {
    const train = trainPositionsAndMask(host, cfg);
    expect(Array.from(train.positions)).toEqual(Array.from(ref.f32("train.positions")));
    expect(Array.from(train.mask)).toEqual(Array.from(ref.f32("train.mask")));
    const infer = inferLayout(host, cfg);
    expect(Array.from(infer.prefixPositions)).toEqual(Array.from(ref.f32("infer.prefix_positions")));
    expect(Array.from(infer.middlePositions)).toEqual(Array.from(ref.f32("infer.middle_positions")));
    expect(Array.from(infer.suffixPositions)).toEqual(Array.from(ref.f32("infer.suffix_positions")));
  });

  it("matches the embeddings of the three segments and the Cosmos latents", async () => {
    const images = inp.tensor("images");
    await check("prefix_embs", embedPrefix(params.policy, images.ref, tokenIds(), cfg));
    const latents = encodeFrames(params.cosmos, images, cfg);
    await check("latents", latents.ref);
    await check("middle_embs", embedMiddle(params.policy, latents.slice([], [], [0, 2]), cfg));
    const { xT } = interpolate(inp.tensor("actions"), inp.tensor("noise"), inp.tensor("time"));
    await check("suffix.embs", embedSuffix(params.policy, inp.tensor("state"), xT, inp.tensor("time"), cfg));
  });

  it("matches every layer of every expert, the foresight prediction, v_t and the losses (training path)", async () => {
    const images = inp.tensor("images");
    const latents = encodeFrames(params.cosmos, images.ref, cfg);
    const { xT } = interpolate(inp.tensor("actions"), inp.tensor("noise"), inp.tensor("time"));
    const xs = [
      embedPrefix(params.policy, images, tokenIds(), cfg),
      embedMiddle(params.policy, latents.slice([], [], [0, 2]), cfg),
      embedSuffix(params.policy, inp.tensor("state"), xT, inp.tensor("time"), cfg),
    ];
    const { seen, gen } = trainLayerOutputs(params.policy, cfg, host, xs);
    for (const [name, t] of seen) await check(name, t);
    await check("gen_pred", foresightHead(params.policy, gen, cfg));
    const out = await runParity(params, new Map([...inp.arrays]), cfg);
    for (const name of ["loss", "loss_action", "loss_gen", "v_t", "gen_pred", "actions_sampled"]) await check(name, out.get(name)!.data);
  });

  it("matches the cached inference path: the first Euler step's v_t and the foresight decoder", async () => {
    const images = inp.tensor("images");
    const latents = encodeFrames(params.cosmos, images.ref.slice([], [], [0, 2]), cfg);
    const layout = inferInputs(host, cfg);
    const obs = { images, imageMasks: inp.tensor("image_masks"), tokenIds: tokenIds(), tokenMask: inp.tensor("token_mask"), state: inp.tensor("state"), ...layout };
    const cache = cacheFromLatents(params.policy, obs, latents, cfg);
    await check("infer.v_t0", actionStep(params.policy, cache, inp.tensor("noise"), np.full([2], 1, { dtype: np.float32 }), cfg));
    disposeCache(cache);
    for (const t of Object.values(obs)) t.dispose();
    const predicted = ref.tensor("gen_pred").slice(0, [0, 1]); // [1, z, h, w]
    await check("decode.image", cosmosDecode(params.cosmos, predicted, cfg));
  });
});

describe("model parity with Qwen2-style towers (the 2B blocks: qkv bias, no q/k norm, sqrt(D) embedding scale)", () => {
  it("matches the losses, v_t, the foresight prediction and the sampled actions", async () => {
    const dir = resolve(DIR, "..", "parity-qwen2");
    const c = parseConfig(readFileSync(resolve(dir, "config.json"), "utf8")).config;
    const p = await loadWeights(resolve(dir, "model.safetensors"), c);
    const inputs = await loadFixture("model/parity-qwen2/in.safetensors", { script: SCRIPT });
    const expected = await loadFixture("model/parity-qwen2/ref.safetensors", { script: SCRIPT });
    const out = await runParity(p, new Map([...inputs.arrays]), c);
    tree.dispose(p as never);
    for (const name of ["loss", "loss_action", "loss_gen", "v_t", "gen_pred", "actions_sampled"]) {
      const r = compareAllclose(out.get(name)!.data, expected.f32(name), TOL.model, `qwen2 ${name}`);
      report.push(`${`qwen2 ${name}`.padEnd(28)} max abs ${r.maxAbs.toExponential(2)}  max rel ${r.maxRel.toExponential(2)}`);
      expect(r.ok, r.message).toBe(true);
    }
  });
});
