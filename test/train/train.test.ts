// Training end to end on a generated simulator dataset: tokenizer stage, a 2-step CLI run, bit-exact resume, post-training.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../src/tensor/index.ts";
import { ConfigError } from "../../src/tensor/errors.ts";
import { SafetensorsReader } from "../../src/tensor/safetensors.ts";
import { main } from "../../src/cli/main.ts";
import { type CliIO } from "../../src/cli/command.ts";
import { generateDataset } from "../../src/sim/dataset/generate.ts";
import { latestCheckpointDir } from "../../src/train/checkpoint.ts";
import { resolveTrainConfig } from "../../src/train/config.ts";
import { type StepLog, train } from "../../src/train/loop.ts";
import { checkpointFolder, initialWeights } from "../../src/train/setup.ts";
import { DataPipeline } from "../../src/data/pipeline.ts";
import { tokenLayout } from "../../src/model/config.ts";
import { builtinTokenizer } from "../../src/model/tokenizer.ts";
import { assembleBatch, sampleLayout } from "../../src/train/batch.ts";
import { loadCosmos } from "../../src/train/tokenizer-stage.ts";

const root = mkdtempSync(join(tmpdir(), "internvla-train-"));
const ds = join(root, "ds");
const tok = join(root, "tok");

function io(): CliIO & { text: () => string } {
  let buf = "";
  return { out: (t) => (buf += t), err: (t) => (buf += t), interactive: false, env: {}, text: () => buf };
}

beforeAll(async () => {
  await initEngine();
  await generateDataset({ out: ds, task: "pick_place", robot: "arm5", episodes: 2, seed: 10, imageSize: 64, workers: 1 });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const metrics = (run: string): StepLog[] => readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as StepLog);
/** The numbers a step computes (timings excluded). */
const numbers = (m: StepLog) => [m.step, m.loss, m.loss_action, m.loss_gen, m.grad_norm, m.param_norm, m.lr];
const bytes = (path: string) => readFileSync(path);

async function tensorBytes(path: string, prefix: string): Promise<Map<string, Buffer>> {
  const r = await SafetensorsReader.open(path);
  try {
    const out = new Map<string, Buffer>();
    for (const n of r.names().filter((x) => x.startsWith(prefix))) out.set(n, Buffer.from(await r.readBytes(n)));
    return out;
  } finally {
    await r.close();
  }
}

describe("batch assembly", () => {
  it("scales frames to [0, 1], builds each sample's prefix from its task and masks the missing camera", async () => {
    const cfg = resolveTrainConfig("tiny").model;
    const pipeline = await DataPipeline.open({ groups: [{ name: "ds", weight: 1, sources: [{ root: ds }] }], seed: 3, config: { layout: sampleLayout(cfg), actionMode: "abs", norm: "none" } });
    try {
      const raw = await pipeline.batch(3);
      const tokenizer = builtinTokenizer(cfg.text_config.vocab_size);
      const h = assembleBatch(raw, cfg, tokenizer);
      expect(h.images.shape).toEqual([3, 3, 3, 3, 64, 64]);
      expect(Array.from(h.images.data.subarray(0, 500))).toEqual(Array.from(raw.images.subarray(0, 500), (v) => Math.fround(v / 255)));
      expect(Array.from(h.imageMasks.data)).toEqual([1, 1, 0, 1, 1, 0, 1, 1, 0]); // arm5: top and wrist cameras only
      const { prefix, imageTokens } = tokenLayout(cfg);
      const perView = imageTokens + 2;
      for (let b = 0; b < 3; b++) {
        const ids = Array.from(h.tokenIds.data.subarray(b * prefix, (b + 1) * prefix));
        const mask = Array.from(h.tokenMask.data.subarray(b * prefix, (b + 1) * prefix));
        const text = ids.slice(3 * perView).filter((_, i) => mask[3 * perView + i] === 1);
        expect(tokenizer.decode(text)).toBe(raw.tasks[b]); // the simulator's instructions fit in 16 tokens
        expect(mask.slice(2 * perView, 3 * perView).every((x) => x === 0)).toBe(true);
        expect(mask.slice(0, 2 * perView).every((x) => x === 1)).toBe(true);
      }
      expect(() => assembleBatch({ ...raw, layout: { ...raw.layout, chunk: 50 } }, cfg, tokenizer)).toThrow(/chunk 50 \(model 16\)/);
    } finally {
      await pipeline.close();
    }
  });
});

describe("internvla train-tokenizer", () => {
  it("trains the Cosmos autoencoder, improves reconstruction PSNR and saves model.cosmos.* weights", async () => {
    const t = io();
    const code = await main(["train-tokenizer", "--data", ds, "--out", tok, "--steps", "3", "--batch-size", "2", "--workers", "0"], t);
    expect(code, t.text()).toBe(0);
    const s = JSON.parse(readFileSync(join(tok, "cosmos_tokenizer.json"), "utf8"));
    expect(s.psnr).toBeGreaterThan(s.psnr_init);
    expect(t.text()).toMatch(/reconstruction PSNR/);
    const cosmos = await loadCosmos(tok, resolveTrainConfig("tiny").model);
    expect(cosmos.encoder.conv_in.weight.shape).toEqual([32, 48, 3, 3]);
  });
});

describe("internvla train", () => {
  it("runs 2 steps of the tiny config and writes a complete checkpoint with the frozen tokenizer", async () => {
    const run = join(root, "smoke");
    const t = io();
    const code = await main(["train", "--config", "tiny", "--data", ds, "--out", run, "--tokenizer", tok, "--steps", "2", "--batch-size", "4"], t);
    expect(code, t.text()).toBe(0);
    const m = metrics(run);
    expect(m.map((x) => x.step)).toEqual([1, 2]);
    for (const x of m) for (const v of numbers(x)) expect(Number.isFinite(v)).toBe(true);
    const dir = latestCheckpointDir(run)!;
    for (const f of ["model.safetensors", "config.json", "robot.json", "robots.json", "stats.json", "vocabulary.json", "train_config.json", "training_state/optimizer.safetensors", "training_state/state.json"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    // The tokenizer is frozen: the checkpoint carries it unchanged.
    const [inCkpt, trained] = [await tensorBytes(join(dir, "model.safetensors"), "model.cosmos."), await tensorBytes(join(tok, "model.safetensors"), "model.cosmos.")];
    expect(trained.size).toBeGreaterThan(50);
    for (const [name, b] of trained) expect(inCkpt.get(name)?.equals(b), name).toBe(true);
  });

  it("refuses an unknown override with the closest key", async () => {
    const t = io();
    expect(await main(["train", "--data", ds, "--out", join(root, "bad"), "--optim.weight_decy=0.1"], t)).toBe(2);
    expect(t.text()).toMatch(/did you mean optim\.weight_decay/);
  });
});

describe("resume", () => {
  const cfg = resolveTrainConfig("tiny", [["train.steps", "4"], ["train.batch_size", "4"], ["checkpoint.every", "2"], ["data.workers", "0"]]);
  const base = { config: cfg, data: ds, tokenizer: tok };

  it("continues bit-exactly: train 4 steps = train 2, stop, resume to 4 (losses, weights, optimizer state)", async () => {
    const a = join(root, "a");
    const b = join(root, "b");
    await train({ ...base, out: a });
    const stop = new AbortController();
    const first = await train({ ...base, out: b, signal: stop.signal, onProgress: (p) => p.step === 2 && stop.abort() });
    expect(first).toMatchObject({ step: 2, interrupted: true });
    const second = await train({ ...base, out: b, resume: true });
    expect(second).toMatchObject({ startStep: 2, step: 4, interrupted: false });
    expect(metrics(b).map(numbers)).toEqual(metrics(a).map(numbers));
    const [ca, cb] = [latestCheckpointDir(a)!, latestCheckpointDir(b)!];
    expect(cb.endsWith("000004")).toBe(true);
    expect(bytes(join(cb, "model.safetensors")).equals(bytes(join(ca, "model.safetensors")))).toBe(true);
    expect(bytes(join(cb, "training_state", "optimizer.safetensors")).equals(bytes(join(ca, "training_state", "optimizer.safetensors")))).toBe(true);
  });

  it("refuses to change the numbers of a resumed run", async () => {
    await expect(train({ ...base, out: join(root, "b"), resume: true, overrides: [["schedule.peak_lr", "0.1"]] })).rejects.toThrow(/schedule\.peak_lr cannot change/);
  });
});

describe("post-training", () => {
  it("starts from the pre-trained checkpoint's weights (a run folder resolves to its latest checkpoint)", async () => {
    const cfg = resolveTrainConfig("tiny");
    const start = await initialWeights(cfg.model, 99, { initFrom: checkpointFolder(join(root, "a")) });
    const file = await tensorBytes(join(latestCheckpointDir(join(root, "a"))!, "model.safetensors"), "model.");
    const asBytes = (d: Float32Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    expect(asBytes(start.policy.action_out_proj.weight.data as Float32Array).equals(file.get("model.action_out_proj.weight")!)).toBe(true);
    expect(asBytes(start.cosmos.decoder.conv_out.weight.data as Float32Array).equals(file.get("model.cosmos._dec_model.decoder.conv_out.weight")!)).toBe(true);
  });

  it("refuses a checkpoint whose architecture differs", async () => {
    const other = resolveTrainConfig("tiny", [["model.chunk_size", "8"]]);
    await expect(initialWeights(other.model, 0, { initFrom: latestCheckpointDir(join(root, "a"))! })).rejects.toThrow(ConfigError);
  });
});
