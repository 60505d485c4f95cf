// Analytic checks of the host-side layout: pi0's documented mask examples, the architecture.md position example, configs.
import { describe, expect, it } from "vitest";
import { PRESETS, parseConfig, presetConfig, tokenLayout, validateConfig, type ModelConfig } from "../../src/model/config.ts";
import { att2dMask, checkTokenLayout, imageTokenOffsets, inferLayout, ropeIndexRow, trainPositionsAndMask } from "../../src/model/layout.ts";
import { ConfigError, ShapeError } from "../../src/tensor/errors.ts";

const rows = (m: Uint8Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(m.slice(i * n, (i + 1) * n)).join(""));

/** A prefix of `cfg` with every camera present and `text` then padding. */
function prefixIds(cfg: ModelConfig, text: number[]): { ids: number[]; mask: number[] } {
  const { imageTokens } = tokenLayout(cfg);
  const ids: number[] = [];
  for (let v = 0; v < cfg.n_views; v++) ids.push(cfg.vision_start_token_id, ...Array(imageTokens).fill(cfg.image_token_id), cfg.vision_end_token_id);
  const mask = Array(ids.length).fill(1);
  ids.push(...text, ...Array(cfg.n_text_tokens - text.length).fill(cfg.pad_token_id));
  mask.push(...text.map(() => 1), ...Array(cfg.n_text_tokens - text.length).fill(0));
  return { ids, mask };
}

describe("make_att_2d_masks (the examples of its docstring)", () => {
  const all = (n: number) => Array(n).fill(1);
  it("[1 1 1 1 1 1] is pure causal attention", () => {
    expect(rows(att2dMask(all(6), [1, 1, 1, 1, 1, 1]), 6)).toEqual(["100000", "110000", "111000", "111100", "111110", "111111"]);
  });
  it("[0 0 0 1 1 1] is prefix-lm attention", () => {
    expect(rows(att2dMask(all(6), [0, 0, 0, 1, 1, 1]), 6)).toEqual(["111000", "111000", "111000", "111100", "111110", "111111"]);
  });
  it("[1 0 1 0 1 0 0 1 0 0] is causal attention between 4 blocks", () => {
    const m = rows(att2dMask(all(10), [1, 0, 1, 0, 1, 0, 0, 1, 0, 0]), 10);
    expect(m).toEqual(["1100000000", "1100000000", "1111000000", "1111000000", "1111111000", "1111111000", "1111111000", "1111111111", "1111111111", "1111111111"]);
  });
  it("padding removes both the row and the column", () => {
    expect(rows(att2dMask([1, 0, 1], [0, 0, 0]), 3)).toEqual(["101", "000", "101"]);
  });
});

describe("InternVLA-A1 segments", () => {
  it("give prefix bidirectional, gen sees prefix and itself, state sees all before it, actions see everything", () => {
    const cfg = presetConfig("tiny");
    const { prefix: lp, middle: lm, total: n } = tokenLayout(cfg);
    const { ids, mask } = prefixIds(cfg, [5, 6, 7]);
    const { mask: add } = trainPositionsAndMask({ batch: 1, tokenIds: ids, tokenMask: mask, imageMasks: [1, 1, 1] }, cfg);
    const sees = (i: number, j: number) => add[i * n + j] === 0;
    const state = lp + lm;
    expect(sees(0, lp - 1 - (cfg.n_text_tokens - 3))).toBe(true); // image sees the last text token
    expect(sees(0, lp)).toBe(false); // the prefix does not see gen
    expect(sees(lp, 0) && sees(lp, lp + lm - 1) && !sees(lp, state)).toBe(true);
    expect(sees(state, state) && !sees(state, state + 1) && sees(state, lp + 1)).toBe(true);
    expect(sees(state + 1, n - 1) && sees(n - 1, state + 1) && sees(n - 1, state)).toBe(true);
    expect(add[0 * n + lp - 1]).toBe(Math.fround(-2.3819763e38)); // a padded text column: the official finite constant (float32)
  });
});

describe("M-RoPE positions (HF get_rope_index)", () => {
  it("reproduce the worked example of architecture.md §1.3 (3 cameras, 8x8 merged grid)", () => {
    const cfg = presetConfig("a1-3b");
    const { ids, mask } = prefixIds(cfg, [100, 101, 102]);
    const [t, h, w] = ropeIndexRow(ids, mask, cfg);
    const offs = imageTokenOffsets(cfg);
    expect([t[0], t[offs[0]], h[offs[0] + 63], w[offs[0] + 63], t[offs[0] + 64]]).toEqual([0, 1, 8, 8, 9]);
    expect([t[offs[1] - 1], t[offs[1]], t[offs[1] + 64]]).toEqual([10, 11, 19]);
    expect([t[offs[2] - 1], t[offs[2]], t[offs[2] + 64], t[offs[2] + 65]]).toEqual([20, 21, 29, 30]);
    expect(t[ids.length - 1]).toBe(1); // padding: position 1
  });

  it("skip a missing camera in training; the official sampler counts it, the default sampler uses the training positions", () => {
    const tiny = presetConfig("tiny");
    const cfg = { ...tiny, inference_positions: "official" as const };
    const { prefix: lp, middle: lm, imageTokens } = tokenLayout(cfg);
    const { ids, mask } = prefixIds(cfg, [5, 6]);
    for (let i = imageTokens + 2; i < 2 * (imageTokens + 2); i++) mask[i] = 0; // camera 1 missing
    const host = { batch: 1, tokenIds: ids, tokenMask: mask, imageMasks: [1, 0, 1] };
    const train = trainPositionsAndMask(host, cfg).positions;
    const infer = inferLayout(host, cfg);
    const n = train.length / 3;
    // Training skips the missing view's lm/3 gen tokens; the official sampler counts them.
    expect(train[n - 1]).toBe(infer.suffixPositions[infer.suffixPositions.length / 3 - 1] - lm / 3);
    expect(train[lp + lm / 3]).toBe(1); // a masked gen token of camera 1: position 1
    expect(infer.middlePositions[0]).toBe(Math.max(...Array.from(infer.prefixPositions.slice(0, lp))) + 1);
    const asTrained = inferLayout(host, tiny);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(train.slice(r * n, (r + 1) * n));
      const pick = (a: Float32Array, len: number) => Array.from(a.slice(r * len, (r + 1) * len));
      expect([...pick(asTrained.prefixPositions, lp), ...pick(asTrained.middlePositions, lm), ...pick(asTrained.suffixPositions, n - lp - lm)]).toEqual(row);
    }
  });

  it("refuse a prefix that breaks the static layout", () => {
    const cfg = presetConfig("tiny");
    const { ids, mask } = prefixIds(cfg, [5]);
    ids[3] = 7;
    expect(() => checkTokenLayout({ batch: 1, tokenIds: ids, tokenMask: mask, imageMasks: [1, 1, 1] }, cfg)).toThrow(ShapeError);
  });
});

describe("configs", () => {
  it("validate every preset and derive the 3B token layout (246 + 96 + 51)", () => {
    for (const name of Object.keys(PRESETS)) validateConfig(presetConfig(name), name);
    const l = tokenLayout(presetConfig("a1-3b"));
    expect([l.imageTokens, l.prefix, l.middle, l.suffix]).toEqual([64, 246, 96, 51]);
  });

  it("name the field, the value and the rule", () => {
    const bad = { ...presetConfig("tiny"), expert_config: { ...presetConfig("tiny").expert_config, num_attention_heads: 8 } };
    expect(() => validateConfig(bad)).toThrow(/expert_config.num_attention_heads = 8; must equal text_config.num_attention_heads \(4\)/);
    expect(() => presetConfig("a1_3b")).toThrow(/did you mean a1-3b/);
  });

  it("read an official LeRobot qwena1 config.json over the a1-3b preset", () => {
    const text = JSON.stringify({ type: "qwena1", chunk_size: 30, qwen3_vl_variant: "qwen3_vl_28l", action_expert_variant: "qwen3_28l", optimizer_lr: 5e-5 });
    const { config, ignored } = parseConfig(text);
    expect(config.chunk_size).toBe(30);
    expect(config.text_config.num_hidden_layers).toBe(28);
    expect(ignored).toEqual(["optimizer_lr"]);
    expect(() => parseConfig(JSON.stringify({ type: "pi0" }))).toThrow(ConfigError);
  });
});
