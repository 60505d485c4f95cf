// The tiny InternVLA-A1 under ONNX Runtime vs jax-js: loss parts, policy gradients, sampled actions, a few AdamW steps.
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine, type Tensor, toF32, tree, valueAndGrad } from "../../src/tensor/index.ts";
import { compileOrt, fromHost, type GraphStats, type HostTensor } from "../../src/tensor/compile/index.ts";
import { computeLoss, sampleActions } from "../../src/model/policy.ts";
import { type ModelParams, type PolicyParams } from "../../src/model/types.ts";
import { adamwInit, adamwUpdate, clipByGlobalNorm, INTERNVLA_ADAMW, type AdamWState } from "../../src/train/optim.ts";
import { tokenLayout } from "../../src/model/config.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { hostLeaves, hostTree } from "./harness.ts";
import { inferObservation, TINY, tinyParams, trainBatch } from "./tiny-vla.ts";

type HostDict = Record<string, HostTensor>;
const upload = (d: HostDict) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, fromHost(v)])) as never;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  const r = compareAllclose(actual, expected, TOL.engine, label);
  expect(r.ok, r.message).toBe(true);
}

/**
 * The regression guard against broadcast materialisation: the largest node output is the attention score matrix
 * [B, H, N, N], the images, or the parameters concatenated for the batched optimizer update; the broadcasts made
 * real are small (masks and tables concatenated); AdamW's chain (one sqrt per parameter) runs batched.
 */
function expectLeanGraph(stats: GraphStats, policy: HostTensor[]): void {
  const { total } = tokenLayout(TINY);
  const B = 2;
  const H = TINY.text_config.num_attention_heads;
  const S = TINY.vision_config.image_size;
  const nParams = policy.reduce((n, h) => n + h.data.length, 0);
  expect(stats.maxNodeOutput).toBeLessThanOrEqual(Math.max(B * H * total * total, B * TINY.n_views * 9 * S * S, nParams));
  // (Outputs must be real: a zero gradient of an unused parameter is an Expand of 0, whatever its size.)
  const inner = stats.materialized.filter((m) => m.reason !== "graph output is a broadcast");
  for (const m of inner) expect(m.elements, m.reason).toBeLessThanOrEqual(4096);
  expect(stats.ops.Sqrt ?? 0).toBeLessThan(policy.length / 2);
}

let params: ModelParams;

beforeAll(async () => {
  await initEngine();
  params = tinyParams(0);
});

describe("tiny InternVLA-A1 under ONNX Runtime", () => {
  it("computeLoss: loss, loss_action, loss_gen, v_t and the foresight prediction match jax-js", async () => {
    const { batch, noise, time } = trainBatch(2, 1);
    const f = (b: never, n: Tensor, t: Tensor) => {
      const o = computeLoss(params, b, TINY, n, t);
      return [o.loss, o.lossAction, o.lossGen, o.vT, o.genPred];
    };
    const compiled = compileOrt(f);
    const ort = hostLeaves(await compiled(batch as never, noise, time));
    const jax = f(upload(batch), fromHost(noise), fromHost(time));
    for (let i = 0; i < jax.length; i++) expectClose(ort[i].data, await toF32(jax[i]), `output ${i}`);
    await compiled.dispose();
  });

  it("sampleActions (batch 1, weights baked, 10 Euler steps unrolled) matches jax-js", async () => {
    const { obs, noise } = await inferObservation(1, 3);
    const f = (o: never, n: Tensor) => sampleActions(params, o, TINY, n);
    const compiled = compileOrt(f);
    const info = await compiled.compile(obs as never, noise);
    expect(info.program.feeds.length).toBe(Object.keys(obs).length + 1);
    const [ort] = hostLeaves(await compiled(obs as never, noise));
    expectClose(ort.data, await toF32(f(upload(obs), fromHost(noise))), "actions");
    await compiled.dispose();
  });

  it("train step: the gradients of every policy parameter, then 2 clipped AdamW steps with the state fed back, match jax-js", async () => {
    type State = { policy: PolicyParams; opt: AdamWState<PolicyParams> };
    const step = (s: State, b: never, n: Tensor, t: Tensor, lr: Tensor) => {
      const [loss, grads] = valueAndGrad((q: PolicyParams) => computeLoss({ policy: q, cosmos: params.cosmos }, b, TINY, n, t).loss)(s.policy);
      const clipped = clipByGlobalNorm(tree.ref(grads), 1.0);
      const next = adamwUpdate(s.policy, clipped.grads, s.opt, lr, INTERNVLA_ADAMW);
      return { loss, grads, gradNorm: clipped.norm, state: { policy: next.params, opt: next.state } };
    };
    const compiled = compileOrt(step);
    const lr: HostTensor = { dtype: "float32", shape: [], data: Float32Array.of(1e-3) };
    let hostState = await hostTree({ policy: tree.ref(params.policy), opt: adamwInit(params.policy) });
    const first = trainBatch(2, 10);
    const { stats } = (await compiled.compile(hostState as never, first.batch as never, first.noise, first.time, lr)).program;
    expectLeanGraph(stats, hostLeaves((hostState as { policy: unknown }).policy));
    // jax-js runs eagerly here: jitting this step costs ~20 s of compilation before the first result.
    let jaxState: State = { policy: tree.ref(params.policy), opt: adamwInit(params.policy) };
    for (let i = 0; i < 2; i++) {
      const { batch, noise, time } = trainBatch(2, 10 + i);
      const out = (await compiled(hostState as never, batch as never, noise, time, lr)) as unknown as { loss: HostTensor; grads: unknown; state: unknown };
      const ref = step(jaxState, upload(batch), fromHost(noise), fromHost(time), fromHost(lr));
      expectClose(out.loss.data, await toF32(ref.loss), `loss at step ${i}`);
      expectClose((out as unknown as { gradNorm: HostTensor }).gradNorm.data, await toF32(ref.gradNorm), `gradient norm at step ${i}`);
      const ortGrads = hostLeaves(out.grads);
      const jaxGrads = tree.leaves(ref.grads) as Tensor[];
      expect(ortGrads.length).toBe(jaxGrads.length);
      for (let k = 0; k < jaxGrads.length; k++) {
        const g = await toF32(jaxGrads[k]);
        if (i === 0) expectClose(ortGrads[k].data, g, `gradient leaf ${k}`);
      }
      hostState = out.state;
      jaxState = ref.state;
    }
    tree.dispose(jaxState);
    await compiled.dispose();
  });
});
