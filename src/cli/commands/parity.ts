// `internvla parity`: runs a checkpoint in official names on official-convention inputs and writes the results.
import type { Command } from "../command.ts";
import { lazyProgressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";

export const parityCommand: Command = {
  name: "parity",
  summary: "run a checkpoint on fixed inputs and write losses, v_t, sampled actions and foresight (port check)",
  usage: "internvla parity --checkpoint DIR --inputs in.safetensors --out out.safetensors",
  description: `
Loads DIR/config.json (ours, or an official LeRobot qwena1 config laid over the a1-3b preset) and
DIR/model.safetensors (official parameter names; BF16/F16 are cast to float32), runs the official entry
points and writes the results, so a port can be checked against the Python original.

Inputs (safetensors, names exact; B batch, V cameras, L prefix tokens, chunk = chunk_size):
  images       [B, V, 3, 3, H, W] float in [0, 1]: frames t-15, t, t+15 per camera (H = W = image_size)
  image_masks  [B, V]            1 = camera present (a missing camera holds all-ones images)
  token_ids    [B, L] int64      per camera vision_start, the image_pad tokens, vision_end; then the task
                                 text right-padded (as the official transform builds them)
  token_mask   [B, L]            0 on text padding and on every token of a missing camera
  state        [B, 32]           normalised, zero-padded to max_state_dim
  actions      [B, chunk, 32]    normalised, zero-padded to max_action_dim
  noise        [B, chunk, 32]    the flow-matching noise
  time         [B]               the flow-matching time (t = 1 is pure noise)
The ViT sees frame t at the given size; Cosmos frames are resized bilinearly (align_corners false) to
cosmos_config.resolution and mapped to [-1, 1].

Outputs (float32):
  loss_action, loss_gen, loss   scalars (training path at the given noise and time; loss_action covers all 32
                                padded dims, loss_gen the valid views, loss = loss_action + lambda_gen loss_gen)
  v_t              [B, chunk, 32]  the predicted velocity (training path)
  actions_sampled  [B, chunk, 32]  10 Euler steps from the given noise (cached inference path; its positions
                                   differ from training when a camera is missing, as in the official code)
  gen_pred         [B, V, 16, h, w] the predicted Cosmos latent of frame t+15`,
  flags: [
    { name: "checkpoint", type: "string", help: "folder with config.json and model.safetensors", required: true, placeholder: "DIR" },
    { name: "inputs", type: "string", help: "input tensors (see above)", required: true, placeholder: "FILE" },
    { name: "out", type: "string", help: "where to write the results", required: true, placeholder: "FILE" },
  ],
  async run(args, io) {
    if (args.positionals.length > 0) throw new ConfigError(`internvla parity: unexpected argument "${args.positionals[0]}"`, "see internvla parity --help");
    const { initEngine } = await import("../../tensor/index.ts");
    const { withSafetensors } = await import("../../tensor/safetensors.ts");
    const { saveSafetensors } = await import("../../tensor/safetensors-writer.ts");
    const { loadCheckpoint } = await import("../../model/weights.ts");
    const { PARITY_OUTPUTS, runParity } = await import("../../model/parity.ts");
    await initEngine();
    const bar = lazyProgressBar(io, "load", "tensor");
    const { config, params, ignored } = await loadCheckpoint(String(args.flags.checkpoint), bar);
    bar.finish();
    if (ignored.length > 0) io.err(`parity: ignored config keys: ${ignored.join(", ")}\n`);
    const inputs = await withSafetensors(String(args.flags.inputs), async (r) => {
      const m = new Map<string, { data: Float32Array; shape: readonly number[] }>();
      for (const n of r.names()) m.set(n, { data: await r.readF32(n), shape: r.info(n).shape });
      return m;
    });
    const out = await runParity(params, inputs, config);
    const entries = PARITY_OUTPUTS.map((name) => ({ name, dtype: "F32" as const, shape: out.get(name)!.shape, data: out.get(name)!.data }));
    await saveSafetensors(String(args.flags.out), entries, { format: "pt", producer: "internvla parity" });
    const scalar = (n: string) => out.get(n)!.data[0].toPrecision(7);
    io.out(`loss ${scalar("loss")} loss_action ${scalar("loss_action")} loss_gen ${scalar("loss_gen")}; wrote ${String(args.flags.out)}\n`);
    return 0;
  },
};
