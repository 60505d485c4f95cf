// `internvla export`: the written ONNX file, run by plain onnxruntime-node, samples the same actions as jax-js.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { initEngine, toF32, tree } from "../../src/tensor/index.ts";
import { fromHost, type HostTensor } from "../../src/tensor/compile/index.ts";
import { exportCommand } from "../../src/cli/commands/export.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { sampleActions } from "../../src/model/policy.ts";
import { saveWeights } from "../../src/model/weights.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { inferObservation, TINY, tinyParams } from "./tiny-vla.ts";

/** Frames t-15 and t of [B, V, 3, 3, S, S] images (the exported sampler takes no t+15 slot). */
function firstTwoFrames(images: HostTensor): HostTensor {
  const [B, V, , C, H, W] = images.shape;
  const frame = C * H * W;
  const data = new Float32Array(B * V * 2 * frame);
  for (let bv = 0; bv < B * V; bv++) data.set(images.data.subarray(bv * 3 * frame, (bv * 3 + 2) * frame) as Float32Array, bv * 2 * frame);
  return { dtype: "float32", shape: [B, V, 2, C, H, W], data };
}

describe("internvla export", () => {
  it("writes a sampler that plain onnxruntime-node runs to jax-js's actions", async () => {
    await initEngine();
    const dir = await mkdtemp(join(tmpdir(), "internvla-export-"));
    try {
      const params = tinyParams(4);
      await saveWeights(join(dir, "model.safetensors"), params, TINY);
      await writeFile(join(dir, "config.json"), JSON.stringify(TINY));
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: () => {}, interactive: false, env: {} };
      const file = join(dir, "policy.onnx");
      const args = parseArgs(["--checkpoint", dir, "--out", file], exportCommand.flags, "export");
      expect(await exportCommand.run(args, io)).toBe(0);
      expect(out.join("")).toMatch(/wrote .*policy\.onnx/);
      const sidecar = JSON.parse(await readFile(`${file}.json`, "utf8")) as { inputs: { name: string }[]; outputs: string[] };
      expect(sidecar.outputs).toEqual(["actions"]);

      const { obs, noise } = await inferObservation(1, 8);
      const feeds: Record<string, ort.Tensor> = {};
      const host: Record<string, HostTensor> = { ...Object.fromEntries(Object.entries(obs).map(([k, v]) => [`obs.${k}`, v])), noise };
      host["obs.images"] = firstTwoFrames(obs.images);
      for (const { name } of sidecar.inputs) feeds[name] = new ort.Tensor(host[name].dtype, host[name].data, [...host[name].shape]);
      const session = await ort.InferenceSession.create(file);
      const result = await session.run(feeds);
      await session.release();
      const upload = Object.fromEntries(Object.entries(obs).map(([k, v]) => [k, fromHost(v)]));
      const expected = await toF32(sampleActions(params, upload as never, TINY, fromHost(noise)));
      const r = compareAllclose(result.actions.data as Float32Array, expected, TOL.engine, "exported actions");
      expect(r.ok, r.message).toBe(true);
      tree.dispose(params);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
