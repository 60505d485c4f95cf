// `internvla export`: writes a checkpoint's sampler (cache pass + unrolled Euler steps, weights baked) as an ONNX model.
import type { Command } from "../command.ts";
import { lazyProgressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";
import type { ExportedModel, HostTensor } from "../../tensor/compile/index.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { ModelParams } from "../../model/types.ts";

/** Zero host arrays with the sampler's input shapes for `batch` (tracing reads only shapes and dtypes). */
async function samplerInputs(cfg: ModelConfig, batch: number): Promise<{ obs: Record<string, HostTensor>; noise: HostTensor }> {
  const { tokenLayout } = await import("../../model/config.ts");
  const { prefix, middle, suffix, total } = tokenLayout(cfg);
  const f32 = (...shape: number[]): HostTensor => ({ dtype: "float32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const [B, V, S] = [batch, cfg.n_views, cfg.vision_config.image_size];
  return {
    obs: {
      images: f32(B, V, 2, 3, S, S),
      imageMasks: f32(B, V),
      tokenIds: { dtype: "int32", shape: [B, prefix], data: new Int32Array(B * prefix) },
      tokenMask: f32(B, prefix),
      state: f32(B, cfg.max_state_dim),
      prefixPositions: f32(3, B, prefix),
      middlePositions: f32(3, B, middle),
      suffixPositions: f32(3, B, suffix),
      prefixMask: f32(B, 1, prefix, prefix),
      middleMask: f32(B, 1, middle, prefix + middle),
      suffixMask: f32(B, 1, suffix, total),
    },
    noise: f32(B, cfg.chunk_size, cfg.max_action_dim),
  };
}

/**
 * The sampler as an ONNX model: inputs obs.* (frames t-15 and t only) and noise, output "actions". Borrows
 * `params` (baked into the file).
 */
export async function exportPolicy(params: ModelParams, cfg: ModelConfig, batch: number): Promise<ExportedModel> {
  const { np } = await import("../../tensor/index.ts");
  const { exportOnnx } = await import("../../tensor/compile/index.ts");
  const { sampleActions } = await import("../../model/policy.ts");
  type Tensor = ReturnType<typeof np.zeros>;
  const sampler = (obs: Record<string, Tensor>, noise: Tensor) => {
    // sampleActions reads frames (t-15, t) and never the t+15 slot: a zero frame fills it.
    const frames = obs.images;
    const unused = np.zeros([...frames.shape.slice(0, 2), 1, ...frames.shape.slice(3)], { dtype: np.float32 });
    const images = np.concatenate([frames, unused], 2);
    return sampleActions(params, { ...obs, images } as never, cfg, noise);
  };
  const { obs, noise } = await samplerInputs(cfg, batch);
  return exportOnnx(sampler as never, [obs, noise], { argNames: ["obs", "noise"], outputNames: ["actions"] });
}

export const exportCommand: Command = {
  name: "export",
  summary: "write a checkpoint's action sampler as an ONNX model (weights baked) for any ONNX runtime",
  usage: "internvla export --checkpoint DIR --out policy.onnx [--batch 1]",
  description: `
Loads DIR/config.json and DIR/model.safetensors and writes the inference graph: the prefix and gen pass once,
then num_inference_steps Euler steps of the action expert (unrolled), as one ONNX model (opset 18 plus
com.microsoft.FusedMatMul, which ONNX Runtime provides) with the weights baked in. FILE.json lists the inputs.

Inputs (float32 unless noted; B = --batch, V cameras, S = image_size, Lp/Lm/Ls prefix/middle/suffix tokens):
  obs.images           [B, V, 2, 3, S, S] frames t-15 and t in [0, 1]
  obs.imageMasks       [B, V]           1 = camera present
  obs.tokenIds         [B, Lp] int32    per camera vision_start, image pads, vision_end; then the task text
  obs.tokenMask        [B, Lp]          0 on text padding and on a missing camera's tokens
  obs.state            [B, max_state_dim] normalised, zero-padded
  obs.*Positions, obs.*Mask             the layout src/model/policy.ts inferInputs() builds from the tokens
  noise                [B, chunk, max_action_dim] the initial noise (t = 1)
Output: actions [B, chunk, max_action_dim], normalised (unnormalise and add the state back on delta dims).`,
  flags: [
    { name: "checkpoint", type: "string", help: "folder with config.json and model.safetensors", required: true, placeholder: "DIR" },
    { name: "out", type: "string", help: "the ONNX file to write", required: true, placeholder: "FILE" },
    { name: "batch", type: "number", help: "batch size baked into the graph (shapes are static)", default: 1 },
  ],
  async run(args, io) {
    if (args.positionals.length > 0) throw new ConfigError(`unexpected argument "${args.positionals[0]}"`, "see internvla export --help");
    const batch = Number(args.flags.batch);
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`--batch must be a positive integer, got ${batch}`);
    const { writeFile } = await import("node:fs/promises");
    const { initEngine, tree } = await import("../../tensor/index.ts");
    const { loadCheckpoint } = await import("../../model/weights.ts");
    await initEngine();
    const bar = lazyProgressBar(io, "load", "tensor");
    const { config, params, ignored } = await loadCheckpoint(String(args.flags.checkpoint), bar);
    bar.finish();
    if (ignored.length > 0) io.err(`export: ignored config keys: ${ignored.join(", ")}\n`);
    try {
      const out = String(args.flags.out);
      const exported = await exportPolicy(params, config, batch);
      await writeFile(out, exported.model);
      await writeFile(`${out}.json`, `${JSON.stringify({ inputs: exported.inputs, outputs: exported.outputs, config }, null, 2)}\n`);
      const nodes = Object.values(exported.stats.ops).reduce((a, b) => a + b, 0);
      io.out(`wrote ${out} (${(exported.model.length / 2 ** 20).toFixed(1)} MB, ${nodes} nodes) and ${out}.json\n`);
      return 0;
    } finally {
      tree.dispose(params as never);
    }
  },
};
