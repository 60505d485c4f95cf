// `internvla train-tokenizer`: trains the Cosmos-architecture image autoencoder on dataset frames; reports PSNR.
import type { Command } from "../command.ts";
import { progressBar } from "../progress.ts";
import { COMMON_FLAGS, trainOverrides } from "./train.ts";

export const trainTokenizerCommand: Command = {
  name: "train-tokenizer",
  summary: "train the Cosmos image tokenizer (autoencoder) of a config on dataset frames; reports reconstruction PSNR",
  usage: "internvla train-tokenizer --config tiny --data <mixture.json | dataset dir> --out DIR [options] [--section.key=value ...]",
  description: `
Configs without NVIDIA's released Cosmos CI8x8 weights (tiny, small) get their image tokenizer here: the
Cosmos-architecture autoencoder of the config (Haar patching, residual encoder/decoder, 16 latent channels) is
trained on the frames of every present camera with a reconstruction loss (MSE on [-1, 1] images; AdamW 0.9/0.95,
clip 1.0, warmup + cosine). DIR gets model.safetensors (model.cosmos._enc_model.* / _dec_model.*, official names),
config.json, metrics.jsonl and cosmos_tokenizer.json with the reconstruction PSNR (dB, images in [0, 1]) of
held-out draws before and after training. Pass DIR to internvla train --tokenizer: the policy uses it frozen.
Defaults: 500 steps, 8 samples per step, peak LR 1e-3; override with --steps or --section.key=value.`,
  flags: COMMON_FLAGS,
  async run(args, io) {
    const f = args.flags;
    const { resolveTrainConfig, tokenizerPreset } = await import("../../train/config.ts");
    const { trainTokenizer } = await import("../../train/tokenizer-stage.ts");
    const config = resolveTrainConfig(String(f.config), trainOverrides(args), "internvla train-tokenizer", tokenizerPreset);
    const bar = progressBar(io, "tokenizer", config.train.steps, "step");
    const s = await trainTokenizer({
      config, data: String(f.data), out: String(f.out),
      onProgress: (step, _total, loss) => bar.update(step, `loss ${loss.toFixed(5)}`),
    });
    bar.finish(`loss ${s.final_loss.toFixed(5)}`);
    io.out(`reconstruction PSNR ${s.psnr.toFixed(2)} dB (random init ${s.psnr_init.toFixed(2)} dB) on ${s.eval_frames} held-out frames; wrote ${String(f.out)}\n`);
    return 0;
  },
};
