// Training configs and data arguments: presets, typed overrides, config files, resume rules, mixture files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/tensor/errors.ts";
import { DatasetError } from "../../src/data/errors.ts";
import { resolveTrainConfig, resumeConfig, savedTrainConfig, tokenizerPreset, trainPreset, validateTrainConfig } from "../../src/train/config.ts";
import { parseMixture, readDataArgument } from "../../src/train/data.ts";
import { stepKey } from "../../src/train/loop.ts";

const root = mkdtempSync(join(tmpdir(), "internvla-train-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("training config", () => {
  it("carries the paper's recipe: AdamW (0.9, 0.95, 1e-8, wd 0.01), clip 1.0, lambda_gen 0.01, delta actions", () => {
    for (const name of ["tiny", "small", "a1-3b"]) {
      const c = trainPreset(name);
      expect(c.optim).toEqual({ b1: 0.9, b2: 0.95, eps: 1e-8, weight_decay: 0.01, clip_norm: 1.0 });
      expect(c.model.lambda_gen).toBe(0.01);
      expect(c.data).toMatchObject({ action_mode: "delta", norm: "mean_std" });
    }
    // The official fine-tuning schedule (launch/internvla_a1_3b_finetune.sh).
    expect(trainPreset("a1-3b").schedule).toEqual({ peak_lr: 5e-5, warmup_steps: 2000, decay_steps: 60000, decay_lr: 5e-6 });
  });

  it("types overrides by the field they replace and suggests the closest unknown key", () => {
    const c = resolveTrainConfig("tiny", [["train.steps", "7"], ["model.lambda_gen", "0"], ["data.action_mode", "abs"]]);
    expect(c.train.steps).toBe(7);
    expect(c.model.lambda_gen).toBe(0);
    expect(c.data.action_mode).toBe("abs");
    expect(() => resolveTrainConfig("tiny", [["train.step", "7"]])).toThrow(/did you mean train\.steps/);
    expect(() => resolveTrainConfig("tiny", [["train.steps", "many"]])).toThrow(/expects a number/);
    expect(() => resolveTrainConfig("tiyn")).toThrow(/did you mean tiny/);
  });

  it("reads a train_config.json saved before latent_cache_mb existed: the new loader field takes its default", () => {
    const cfg = resolveTrainConfig("tiny", [["data.frame_cache_mb", "64"]]);
    const { latent_cache_mb: _, ...olderData } = cfg.data;
    const older = JSON.parse(JSON.stringify({ ...cfg, data: olderData }));
    expect(() => validateTrainConfig(older)).toThrow(/data\.latent_cache_mb/);
    const upgraded = savedTrainConfig(older);
    expect(upgraded.data).toEqual({ ...cfg.data, latent_cache_mb: trainPreset("tiny").data.latent_cache_mb });
    expect(upgraded.data.frame_cache_mb).toBe(64);
    validateTrainConfig(upgraded);
  });

  it("decays over the whole run: a new step count carries decay_steps along unless decay_steps is set too", () => {
    expect(resolveTrainConfig("tiny", [["train.steps", "3000"]]).schedule.decay_steps).toBe(3000);
    expect(resolveTrainConfig("tiny", [["train.steps", "500"]]).schedule.decay_steps).toBe(500);
    expect(resolveTrainConfig("tiny", [["train.steps", "3000"], ["schedule.decay_steps", "2000"]]).schedule.decay_steps).toBe(2000);
    expect(resolveTrainConfig("a1-3b", [["train.steps", "30000"]]).schedule.decay_steps).toBe(30000);
  });

  it("validates every field with the rule it breaks", () => {
    expect(() => resolveTrainConfig("tiny", [["optim.b2", "1"]])).toThrow(/optim\.b2 = 1; must be in \[0, 1\)/);
    expect(() => resolveTrainConfig("tiny", [["train.engine", "cuda"]])).toThrow(/train\.engine = "cuda"; must be "ort" or "jax"/);
    expect(() => resolveTrainConfig("tiny", [["schedule.decay_lr", "1"]])).toThrow(/schedule\.decay_lr/);
    expect(() => resolveTrainConfig("tiny", [["model.expert_config.num_hidden_layers", "3"]])).toThrow(ConfigError);
  });

  it("reads a JSON file laid over its base preset, refusing unknown keys", () => {
    const file = join(root, "exp.json");
    writeFileSync(file, JSON.stringify({ base: "tiny", train: { batch_size: 4 }, schedule: { peak_lr: 1e-4 } }));
    const c = resolveTrainConfig(file, [["train.steps", "3"]]);
    expect(c).toMatchObject({ preset: file, train: { batch_size: 4, steps: 3 }, schedule: { peak_lr: 1e-4, warmup_steps: 100 } });
    writeFileSync(file, JSON.stringify({ base: "tiny", optim: { wd: 0.1 } }));
    expect(() => resolveTrainConfig(file)).toThrow(/unknown config key optim\.wd/);
  });

  it("on resume accepts only overrides that leave the steps already defined unchanged", () => {
    const saved = trainPreset("tiny");
    expect(resumeConfig(saved, [["train.steps", "5000"], ["data.workers", "2"]], "resume").train.steps).toBe(5000);
    expect(() => resumeConfig(saved, [["train.batch_size", "3"]], "resume")).toThrow(/train\.batch_size cannot change/);
  });

  it("gives the tokenizer stage its own schedule on the same optimizer", () => {
    const t = tokenizerPreset("tiny");
    expect(t.optim).toEqual(trainPreset("tiny").optim);
    expect(t.schedule.peak_lr).toBe(1e-3);
    expect(t.train.steps).toBe(500);
  });

  it("derives every step's key from (seed, step) alone", () => {
    expect(Array.from(stepKey(42, 7).data)).toEqual([42, 7]);
  });
});

describe("--data", () => {
  const dataset = (name: string, complete = true) => {
    const dir = join(root, name);
    mkdirSync(join(dir, "meta"), { recursive: true });
    writeFileSync(join(dir, "meta", complete ? "info.json" : "PARTIAL"), "{}");
    return dir;
  };

  it("takes a dataset folder as one group and a mixture file with roots relative to the file", () => {
    const a = dataset("a");
    expect(readDataArgument(a, "t")).toEqual([{ name: "a", weight: 1, sources: [{ root: a }] }]);
    dataset("b");
    const groups = parseMixture(JSON.stringify({ groups: [{ name: "g", weight: 2, gamma: 0.5, sources: [{ root: "a" }, { root: "b", robotType: "x" }] }] }), join(root, "mix.json"));
    expect(groups).toEqual([{ name: "g", weight: 2, gamma: 0.5, sources: [{ root: join(root, "a") }, { root: join(root, "b"), robotType: "x" }] }]);
  });

  it("reports every missing or partial dataset at once, with the command that makes each", () => {
    dataset("partial", false);
    const text = JSON.stringify({
      groups: [{ name: "g", weight: 1, sources: [
        { root: "missing", generate: { task: "stack", robot: "arm5", episodes: 3, level: "clean", seed: 4 } },
        { root: "partial", generate: { task: "pick_place", robot: "arm7", episodes: 5 } },
      ] }],
    });
    let err: unknown;
    try {
      parseMixture(text, join(root, "mix.json"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/2 dataset\(s\) missing or incomplete/);
    expect(msg).toContain(`internvla generate --task stack --robot arm5 --episodes 3 --level clean --seed 4 --out ${join(root, "missing")}`);
    expect(msg).toContain(`internvla generate --task pick_place --robot arm7 --episodes 5 --out ${join(root, "partial")} --resume`);
  });

  it("refuses a mixture without groups and a group without sources", () => {
    expect(() => parseMixture(JSON.stringify({ groups: [] }), "m.json")).toThrow(/at least one group/);
    expect(() => parseMixture(JSON.stringify({ groups: [{ name: "g", weight: 1, sources: [] }] }), "m.json")).toThrow(/non-empty "sources"/);
  });
});
