// AdamW + clip_grad_norm_ over 6 steps vs torch.optim.AdamW: scripts/ref/foundation_optim.py writes test/fixtures/nn/optim.safetensors.
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine, jit, np, toF32, tree, type Tensor } from "../../src/tensor/index.ts";
import { ConfigError, ShapeError } from "../../src/tensor/errors.ts";
import { adamwInit, adamwUpdate, clipByGlobalNorm, validateAdamWConfig, type AdamWConfig, type AdamWState } from "../../src/train/optim.ts";
import { TOL } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

type Params = { w1: Tensor; b1: Tensor; w2: Tensor };
const NAMES = ["w1", "b1", "w2"] as const;

let fx: Fixture;
let cfg: AdamWConfig & { maxNorm: number; lrs: number[]; steps: number };
beforeAll(async () => {
  await initEngine();
  fx = await loadFixture("nn/optim.safetensors");
  cfg = fx.json("adamw/opts");
});

const load = (prefix: string): Params => ({ w1: fx.tensor(`${prefix}w1`), b1: fx.tensor(`${prefix}b1`), w2: fx.tensor(`${prefix}w2`) });

async function expectTree(t: Params, prefix: string, label: string): Promise<void> {
  for (const n of NAMES) expect(await toF32(t[n]), `${label} ${n}`).toBeAllclose(fx.f32(`${prefix}${n}`), TOL.f32, `${label} ${n}`);
}

/** One training update: clip the gradients, then AdamW; lr is a Tensor so one compiled step serves all steps. */
function trainStep(params: Params, grads: Params, state: AdamWState<Params>, lr: Tensor) {
  const clipped = clipByGlobalNorm(grads, cfg.maxNorm);
  const next = adamwUpdate(params, clipped.grads, state, lr, cfg);
  return { params: next.params, state: next.state, norm: clipped.norm };
}

describe("AdamW with global-norm clipping", () => {
  it("follows torch.optim.AdamW + clip_grad_norm_ for 6 steps under one jit (lr as a Tensor input)", async () => {
    const step = jit(trainStep);
    let params = load("adamw/p0.");
    let state = adamwInit(params);
    for (let k = 0; k < cfg.steps; k++) {
      const out = step(params, load(`adamw/step${k}.grad.`), state, np.array(cfg.lrs[k], { dtype: np.float32 }));
      expect(await toF32(out.norm), `step ${k} norm`).toBeAllclose(fx.f32(`adamw/step${k}.norm`), TOL.f32);
      await expectTree(tree.ref(out.params), `adamw/step${k}.`, `step ${k}`);
      params = out.params;
      state = out.state;
    }
    expect(await toF32(state.count)).toEqual(new Float32Array([cfg.steps]));
    await expectTree(state.mu, "adamw/mu.", "exp_avg");
    await expectTree(state.nu, "adamw/nu.", "exp_avg_sq");
    tree.dispose(params);
    step.dispose();
  });

  it("gives the same result eagerly with a plain-number lr", async () => {
    const out = adamwUpdate(load("adamw/p0."), clipByGlobalNorm(load("adamw/step0.grad."), cfg.maxNorm).grads, adamwInit(load("adamw/p0.")), cfg.lrs[0], cfg);
    await expectTree(out.params, "adamw/step0.", "eager step 0");
    tree.dispose(out.state);
  });

  it("rejects gradients shaped unlike the parameters, and bad hyper-parameters", () => {
    const p = { a: np.zeros([2, 3]) };
    expect(() => adamwUpdate(p, { a: np.zeros([3, 2]) }, adamwInit(p), 0.1, cfg)).toThrow(ShapeError);
    expect(() => validateAdamWConfig({ ...cfg, b2: 1 })).toThrow(ConfigError);
  });
});
