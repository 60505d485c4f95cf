// Checkpoint names and loading: the 3B table equals the official key list, save/load round trip, full error reports.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine, keyFromSeed, toF32, tree, type Tensor } from "../../src/tensor/index.ts";
import { CheckpointError } from "../../src/tensor/errors.ts";
import { saveSafetensors } from "../../src/tensor/safetensors-writer.ts";
import { parseConfig, presetConfig, type ModelConfig } from "../../src/model/config.ts";
import { countParams, getPath, initModel, paramTable } from "../../src/model/params.ts";
import { loadWeights, saveWeights } from "../../src/model/weights.ts";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model");
let cfg: ModelConfig;
let tmp: string;

beforeAll(async () => {
  await initEngine();
  cfg = parseConfig(readFileSync(join(FIXTURES, "parity", "config.json"), "utf8")).config;
  tmp = mkdtempSync(join(tmpdir(), "internvla-weights-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("parameter table", () => {
  it("equals the official a1-3b key list (weights-3b.tsv) in names, shapes and order", () => {
    // weights-3b.tsv: shared/reference, derived from the official module built at full size (weight-names.md).
    const rows = readFileSync(join(FIXTURES, "weights-3b.tsv"), "utf8").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t"));
    const official = rows.filter((r) => !/\.(wavelets|_arange)$/.test(r[0]));
    const table = paramTable(presetConfig("a1-3b"));
    expect(table.map((e) => e.name)).toEqual(official.map((r) => r[0]));
    expect(table.map((e) => JSON.stringify(e.shape))).toEqual(official.map((r) => r[1].replace(/ /g, "")));
    // 3,222,760,216 elements in the file = the table + 2 x (2 wavelets + 2 _arange).
    expect(countParams(table) + 8).toBe(3_222_760_216);
  });
});

describe("save and load", () => {
  it("round-trips every tensor under the official names", async () => {
    const params = initModel(cfg, keyFromSeed(11));
    const path = join(tmp, "roundtrip.safetensors");
    await saveWeights(path, params, cfg);
    const loaded = await loadWeights(path, cfg);
    for (const e of paramTable(cfg)) {
      const a = await toF32((getPath(params, e.path) as Tensor).ref);
      expect(Array.from(await toF32((getPath(loaded, e.path) as Tensor).ref)), e.name).toEqual(Array.from(a));
    }
    tree.dispose(params as never);
    tree.dispose(loaded as never);
  });

  it("reports every missing, unexpected and mis-shaped tensor of a broken checkpoint at once", async () => {
    const table = paramTable(cfg);
    const dropped = table[5].name;
    const reshaped = table[9];
    const entries = table
      .filter((e) => e.name !== dropped)
      .map((e) => {
        const shape = e === reshaped ? [...e.shape.slice(0, -1), e.shape[e.shape.length - 1] + 1] : [...e.shape];
        return { name: e.name, dtype: "F32" as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
      });
    entries.push({ name: "model.some_extra.weight", dtype: "F32", shape: [2], data: new Float32Array(2) });
    const path = join(tmp, "broken.safetensors");
    await saveSafetensors(path, entries);
    const err = await loadWeights(path, cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toContain("1 missing, 1 unexpected, 1 shape mismatches");
    expect(msg).toContain(`missing:    ${dropped}`);
    expect(msg).toContain("unexpected: model.some_extra.weight");
    expect(msg).toContain(`shape:      ${reshaped.name}: expected [${reshaped.shape.join(", ")}]`);
  });

  it("refuses a truncated file, naming the cut", async () => {
    const path = join(tmp, "truncated.safetensors");
    copyFileSync(join(FIXTURES, "parity", "model.safetensors"), path);
    truncateSync(path, statSync(path).size - 1000);
    await expect(loadWeights(path, cfg)).rejects.toThrow(/truncated/);
  });

  it("loads the official layout: embed_tokens absent (tied to lm_head), Cosmos buffers ignored", async () => {
    const params = await loadWeights(join(FIXTURES, "parity", "model.safetensors"), cfg);
    expect(params.policy.embed_tokens.shape).toEqual([cfg.text_config.vocab_size, cfg.text_config.hidden_size]);
    tree.dispose(params as never);
  });
});
