// The whole model's training gradient against PyTorch autograd: d loss / d every policy weight of the tiny parity model.
// Fixture: test/fixtures/model/parity/grad.safetensors, written by scripts/ref/model_grad.py (regenerate:
//   OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/model_grad.py).
import { beforeAll, describe, expect, it } from "vitest";
import { toF32, tree, valueAndGrad } from "../../src/tensor/index.ts";
import { paramTable, getPath } from "../../src/model/params.ts";
import { computeLoss, trainInputs } from "../../src/model/policy.ts";
import { type PolicyParams } from "../../src/model/types.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";
import { loadParityCase, type ParityCase } from "./parity-case.ts";

let pc: ParityCase;
let grads: Fixture;

beforeAll(async () => {
  pc = await loadParityCase();
  grads = await loadFixture("model/parity/grad.safetensors", { script: "scripts/ref/model_grad.py" });
});

describe("training gradient parity with PyTorch autograd", () => {
  it("matches d loss / d weight for every trainable tensor (the three experts, ViT, projections, foresight head)", async () => {
    const { cfg, params } = pc;
    const batch = { ...pc.observation(), actions: pc.tensor("actions"), ...trainInputs(pc.host, cfg) };
    const [loss, g] = valueAndGrad((p: PolicyParams) => computeLoss({ policy: p, cosmos: params.cosmos }, batch, cfg, pc.tensor("noise"), pc.tensor("time")).loss)(tree.ref(params.policy));
    const l = compareAllclose(await toF32(loss), pc.ref.f32("loss"), TOL.model, "loss");
    expect(l.ok, l.message).toBe(true);
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
