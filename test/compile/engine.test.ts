// The engine switch: compileWith("ort" | "jax") gives the same outputs through the same calling convention.
import { describe, expect, it } from "vitest";
import { initEngine, np, type Tensor, toF32, valueAndGrad } from "../../src/tensor/index.ts";
import { compileWith, ENGINES, fromHost, type HostTensor, parseEngine } from "../../src/tensor/compile/index.ts";
import { ConfigError } from "../../src/tensor/errors.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { hostLeaves, rand } from "./harness.ts";

describe("compileWith", () => {
  it("ort and jax agree on host and Tensor arguments, returning host arrays or Tensors", async () => {
    await initEngine();
    const f = valueAndGrad((p: { w: Tensor; b: Tensor }, x: Tensor) => np.square(np.matmul(x, p.w.ref).add(p.b.ref)).mean());
    const params = { w: rand([6, 3], 1), b: rand([3], 2) };
    const x = rand([4, 6], 3);
    const outs: HostTensor[][] = [];
    for (const engine of ENGINES) {
      const step = compileWith(engine, f);
      outs.push(hostLeaves(await step(params as never, fromHost(x))));
      const [loss] = (await step.tensors(params as never, x)) as unknown as [Tensor];
      const r = compareAllclose(await toF32(loss), outs[outs.length - 1][0].data, TOL.engine, `${engine} tensors()`);
      expect(r.ok, r.message).toBe(true);
      await step.dispose();
    }
    outs[0].forEach((o, i) => {
      const r = compareAllclose(o.data, outs[1][i].data, TOL.engine, `leaf ${i}`);
      expect(r.ok, r.message).toBe(true);
    });
  });

  it("parseEngine accepts ort and jax and names them otherwise", () => {
    expect(parseEngine("jax")).toBe("jax");
    expect(() => parseEngine("onnx")).toThrow(ConfigError);
    expect(() => parseEngine("onnx")).toThrow(/expected one of ort, jax/);
  });
});
