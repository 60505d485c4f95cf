// `internvla train`: pre-train or post-train the policy with the paper's recipe; atomic checkpoints, bit-exact resume.
import type { Command } from "../command.ts";
import { interruptSignal } from "../interrupt.ts";
import { progressBar } from "../progress.ts";
import type { FlagSpec, ParsedArgs } from "../args.ts";

/** Shorthand flags that are config overrides under another name. */
const SHORTHANDS: readonly (readonly [flag: string, key: string])[] = [
  ["steps", "train.steps"],
  ["batch-size", "train.batch_size"],
  ["seed", "train.seed"],
  ["engine", "train.engine"],
  ["save-every", "checkpoint.every"],
  ["workers", "data.workers"],
];

/** The overrides of a command line: shorthand flags first, then the explicit `--a.b=value` pairs. */
export function trainOverrides(args: ParsedArgs): ParsedArgs["overrides"] {
  const short = SHORTHANDS.filter(([f]) => args.flags[f] !== undefined).map(([f, k]) => [k, String(args.flags[f])] as const);
  return [...short, ...args.overrides];
}

/** Flags train and train-tokenizer share. */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: "config", type: "string", help: "preset name or train-config JSON file", default: "tiny", placeholder: "NAME|FILE" },
  { name: "data", type: "string", help: "dataset folder or mixture JSON file", required: true, placeholder: "PATH" },
  { name: "out", type: "string", help: "output folder", required: true, placeholder: "DIR" },
  { name: "steps", type: "number", help: "= --train.steps" },
  { name: "batch-size", type: "number", help: "= --train.batch_size" },
  { name: "seed", type: "number", help: "= --train.seed" },
  { name: "engine", type: "string", help: "= --train.engine: ort (ONNX Runtime, default) or jax (jax-js wasm)" },
  { name: "workers", type: "number", help: "= --data.workers (loader threads)" },
];

export const trainCommand: Command = {
  name: "train",
  summary: "train the policy (pre-train, or post-train with --init-from) with atomic checkpoints and bit-exact --resume",
  usage: "internvla train --config tiny --data <mixture.json | dataset dir> --out DIR [options] [--section.key=value ...]",
  description: `
Trains InternVLA-A1 with the paper's recipe: AdamW (0.9, 0.95, eps 1e-8, weight decay 0.01), gradient clip 1.0,
pi0 warmup + cosine schedule, loss = loss_action + lambda_gen * loss_gen (0.01), delta actions normalised with
per-robot stats computed from the data. --data is one LeRobot dataset or a mixture file (the data pyramid: groups
drawn by weight, datasets by frames^gamma; see configs/pretrain-mixture.json and docs/training.md).

--config is a preset (tiny, small, a1-3b, a1-2b) or a JSON file {"base": PRESET, ...fields}; any field can be
overridden with --section.key=value (sections: model, train, optim, schedule, data, checkpoint, log), typed by the
field, unknown keys refused with the closest one.

DIR/metrics.jsonl gets loss, loss_action, loss_gen, grad_norm, param_norm, lr and samples/s per step.
DIR/checkpoints/<step>/ holds model.safetensors (official names), config.json, robot.json, robots.json,
stats.json (per robot_type), the text tokenizer, train_config.json and training_state/ (optimizer, data position);
DIR/latest names the newest complete one. A killed run loses at most the steps since its last checkpoint:
--resume continues it bit-exactly with the checkpoint's config (--config is not read; only train.steps,
train.threads, data.workers/prefetch/frame_cache_mb/latent_cache_mb, checkpoint.* and log.* may be overridden).
Ctrl-C saves a checkpoint and stops. See docs/training.md.`,
  flags: [
    ...COMMON_FLAGS,
    { name: "resume", type: "boolean", help: "continue the run in --out from its latest checkpoint" },
    { name: "init-from", type: "string", help: "post-train: start from this checkpoint (or run folder)", placeholder: "CKPT" },
    { name: "tokenizer", type: "string", help: "frozen Cosmos image tokenizer: an internvla train-tokenizer folder", placeholder: "DIR" },
    { name: "text-tokenizer", type: "string", help: "Hugging Face tokenizer.json for the task text (a1-3b)", placeholder: "FILE" },
    { name: "save-every", type: "number", help: "= --checkpoint.every" },
  ],
  async run(args, io) {
    const f = args.flags;
    const { resolveTrainConfig } = await import("../../train/config.ts");
    const { train } = await import("../../train/loop.ts");
    const overrides = trainOverrides(args);
    const config = resolveTrainConfig(String(f.config), f.resume ? [] : overrides, "internvla train");
    const interrupt = interruptSignal(io, "saving a checkpoint after this step");
    let bar: ReturnType<typeof progressBar> | undefined;
    let start = 0;
    try {
      const summary = await train({
        config, overrides, data: String(f.data), out: String(f.out), resume: Boolean(f.resume),
        initFrom: f["init-from"] as string | undefined, tokenizer: f.tokenizer as string | undefined, textTokenizer: f["text-tokenizer"] as string | undefined,
        signal: interrupt.signal,
        onLog: (m) => io.err(`${m}\n`),
        onStart: (s) => {
          start = s.startStep;
          bar = progressBar(io, start > 0 ? `train (from step ${start})` : "train", s.steps - start, "step");
        },
        onProgress: (p) => {
          bar?.update(p.step - start, `loss ${p.loss.toFixed(4)} (act ${p.loss_action.toFixed(4)} gen ${p.loss_gen.toFixed(4)}) gnorm ${p.grad_norm.toFixed(3)} lr ${p.lr.toExponential(2)} ${p.samples_per_s.toFixed(1)} samples/s`);
        },
      });
      if (summary.interrupted) {
        io.err("\n");
        io.out(`stopped at step ${summary.step}/${summary.steps}; checkpoint ${summary.checkpoint}; continue with --resume\n`);
        return 1;
      }
      bar?.finish();
      io.out(`trained steps ${summary.startStep + 1}-${summary.step} in ${summary.seconds.toFixed(1)} s; checkpoint ${summary.checkpoint}\n`);
      return 0;
    } finally {
      interrupt.release();
    }
  },
};
