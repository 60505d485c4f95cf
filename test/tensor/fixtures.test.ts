// loadFixture (test/helpers/fixtures.ts): version check and regeneration hints, on the committed nn fixtures.
import { describe, expect, it } from "vitest";
import { initEngine, toF32 } from "../../src/tensor/index.ts";
import { loadFixture } from "../helpers/fixtures.ts";

describe("loadFixture", () => {
  it("returns float32 arrays with shapes, metadata and JSON options", async () => {
    await initEngine();
    const fx = await loadFixture("nn/linear.safetensors");
    expect(fx.metadata.script).toBe("scripts/ref/nn.py");
    expect(fx.get("bias/p.weight").shape).toEqual([6, 8]);
    expect(fx.get("embedding/in.ids").data).toEqual(new Float32Array([3, 1, 3, 0, 9, 9, 2, 5]));
    expect(await toF32(fx.tensor("bias/p.bias"))).toEqual(fx.f32("bias/p.bias"));
    expect(fx.json("bias/opts")).toEqual({});
  });
  it("refuses another format_version and names the script that regenerates the file", async () => {
    await expect(loadFixture("nn/optim.safetensors", { version: 99 })).rejects.toThrow(
      /format_version "1" but the test expects "99"\n  hint: regenerate it: .*scripts\/ref\/foundation_optim\.py/,
    );
  });
  it("names the script for a missing file and lists the arrays for a missing name", async () => {
    await expect(loadFixture("nn/absent.safetensors", { script: "scripts/ref/nn.py" })).rejects.toThrow(/missing[\s\S]*scripts\/ref\/nn\.py/);
    const fx = await loadFixture("nn/mlp.safetensors");
    expect(() => fx.get("nope")).toThrow(/no array "nope" \(has swiglu\/in\.x/);
  });
});
