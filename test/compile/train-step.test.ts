// A whole train step (forward, backward, clipping, AdamW) of a small transformer under ONNX Runtime vs jax-js.
import { describe, expect, it } from "vitest";
import { initEngine, jit, type Tensor, toF32, tree } from "../../src/tensor/index.ts";
import { compileOrt, type HostTensor } from "../../src/tensor/compile/index.ts";
import { initSmall, type SmallConfig, smallBatch, smallStep } from "../../bench/compile.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { hostLeaves, hostTree } from "./harness.ts";

// bench/engine.ts's model at toy size: 2 layers, hidden 32, 2 heads, SwiGLU 48, seq 8, batch 2.
const CFG: SmallConfig = { layers: 2, hidden: 32, heads: 2, mlp: 48, seq: 8, batch: 2, lr: 1e-2, eps: 1e-6, theta: 10000 };

describe("small transformer train step", () => {
  it("5 steps with state fed back: losses and final parameters match jax-js; no broadcast is made real", async () => {
    await initEngine();
    const step = compileOrt(smallStep(CFG));
    const batch = await hostTree(smallBatch(CFG, 7));
    let state = await hostTree(initSmall(CFG, 0));
    const info = await step.compile(state as never, batch as never);
    const { stats } = info.program;
    const inner = stats.materialized.filter((m) => m.reason !== "graph output is a broadcast");
    expect(inner).toEqual([]);
    // The largest real intermediates: an activation [B, L, mlp], attention scores [B, H, L, L], or all the
    // parameters concatenated (the optimizer update runs once over them, see batch.ts).
    const { batch: b, seq: l, mlp, heads } = CFG;
    const nParams = hostLeaves((state as { params: unknown }).params).reduce((n, h) => n + h.data.length, 0);
    expect(stats.maxNodeOutput).toBeLessThanOrEqual(Math.max(b * l * mlp, b * heads * l * l, nParams));
    // AdamW's per-parameter chain (one sqrt each) runs batched: far fewer Sqrt nodes than parameter tensors.
    const nLeaves = hostLeaves((state as { params: unknown }).params).length;
    expect(stats.ops.Sqrt ?? 0).toBeLessThan(nLeaves / 2);

    const jaxStep = jit(smallStep(CFG));
    let jaxState = initSmall(CFG, 0);
    for (let i = 0; i < 5; i++) {
      const out = (await step(state as never, batch as never)) as unknown as { loss: HostTensor; state: unknown };
      const ref = jaxStep(jaxState, smallBatch(CFG, 7));
      const r = compareAllclose(out.loss.data, await toF32(ref.loss), TOL.engine, `loss at step ${i}`);
      expect(r.ok, r.message).toBe(true);
      state = out.state;
      jaxState = ref.state;
    }
    const ortLeaves = hostLeaves(state);
    const jaxLeaves = tree.leaves(jaxState) as Tensor[];
    for (let i = 0; i < jaxLeaves.length; i++) {
      const r = compareAllclose(ortLeaves[i].data, await toF32(jaxLeaves[i]), TOL.engine, `state leaf ${i}`);
      expect(r.ok, r.message).toBe(true);
    }
    jaxStep.dispose();
    await step.dispose();
  });
});
