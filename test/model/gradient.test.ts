// The whole model's training gradient against PyTorch autograd: d loss / d every policy weight of the tiny parity model.
// Fixture: test/fixtures/model/parity/grad.safetensors, written by scripts/ref/model_grad.py (regenerate:
//   OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/model_grad.py).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { fromF32, initEngine, np, toF32, tree, valueAndGrad } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { paramTable, getPath } from "../../src/model/params.ts";
import { computeLoss, trainInputs } from "../../src/model/policy.ts";
import { type ModelParams, type PolicyParams } from "../../src/model/types.ts";
import { loadWeights } from "../../src/model/weights.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");

let cfg: ModelConfig;
let params: ModelParams;
let inp: Fixture;
let grads: Fixture;

beforeAll(async () => {
  await initEngine();
  cfg = parseConfig(readFileSync(resolve(DIR, "config.json"), "utf8")).config;
  params = await loadWeights(resolve(DIR, "model.safetensors"), cfg);
  inp = await loadFixture("model/parity/in.safetensors", { script: "scripts/ref/model.py" });
  grads = await loadFixture("model/parity/grad.safetensors", { script: "scripts/ref/model_grad.py" });
});

describe("training gradient parity with PyTorch autograd", () => {
  it("matches d loss / d weight for every trainable tensor (the three experts, ViT, projections, foresight head)", async () => {
    const t = (name: string) => fromF32(inp.f32(name), inp.arrays.get(name)!.shape);
    const ids = inp.f32("token_ids");
    const B = inp.arrays.get("images")!.shape[0];
    const host = { batch: B, tokenIds: ids, tokenMask: inp.f32("token_mask"), imageMasks: inp.f32("image_masks") };
    const batch = {
      images: t("images"), imageMasks: t("image_masks"), tokenMask: t("token_mask"), state: t("state"), actions: t("actions"),
      tokenIds: np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([B, ids.length / B]),
      ...trainInputs(host, cfg),
    };
    const [loss, g] = valueAndGrad((p: PolicyParams) => computeLoss({ policy: p, cosmos: params.cosmos }, batch, cfg, t("noise"), t("time")).loss)(tree.ref(params.policy));
    expect((await toF32(loss))[0]).toBeCloseTo(3.025569, 4);
    const entries = paramTable(cfg).filter((e) => e.path[0] === "policy");
    expect(entries.length).toBe(grads.arrays.size);
    const worst: string[] = [];
    for (const e of entries) {
      const r = compareAllclose(await toF32(getPath({ policy: g }, e.path)!.ref), grads.f32(e.name), TOL.grad, e.name);
      if (!r.ok) worst.push(r.message);
    }
    tree.dispose(g);
    expect(worst, worst.join("\n")).toEqual([]);
  });
});
