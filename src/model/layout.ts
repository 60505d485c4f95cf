// Host-side token layout, M-RoPE positions (HF get_rope_index) and pi0 block masks, computed from ids and masks.
import { ShapeError } from "../tensor/errors.ts";
import { qwenVision, tokenLayout, type ModelConfig } from "./config.ts";

/** The official finite mask value (OPENPI_ATTENTION_MASK_VALUE); fully masked rows get a uniform softmax. */
export const MASK_VALUE = -2.3819763e38;
/** Filler id of gen/act tokens in the training position pass (official `get_position_ids`). */
export const PSEUDO_TOKEN_ID = 777;

/**
 * Where each camera's image-pad run starts in the prefix: [vision_start, n x image_pad, vision_end] per camera at
 * 3B, the bare run [n x image_pad] at 2B.
 */
export function imageTokenOffsets(cfg: ModelConfig): number[] {
  const { imageTokens, markers } = tokenLayout(cfg);
  return Array.from({ length: cfg.n_views }, (_, v) => v * (imageTokens + 2 * markers) + markers);
}

/**
 * The 2B positions (official InternA1.forward): position_ids = cumsum(pad) - 1 over the joint sequence, the same
 * value on all three rows, so the shared M-RoPE tables reduce to Qwen2's 1-D RoPE whatever mrope_section says.
 * Masked tokens repeat the previous valid position. The official sampler's offsets (sum of the earlier
 * segments' pads + cumsum(own pad) - 1) give exactly these values, missing cameras included.
 */
export function cumsumRows(pad: ArrayLike<number>): [Int32Array, Int32Array, Int32Array] {
  const row = new Int32Array(pad.length);
  let s = 0;
  for (let i = 0; i < pad.length; i++) row[i] = (s += pad[i] ? 1 : 0) - 1;
  return [row, row.slice(), row.slice()];
}

/**
 * HF Qwen3-VL `get_rope_index` for one sample with images only: positions [3][L]. Masked tokens are dropped
 * before counting and get position 1; text advances all rows together; an image block after a text run
 * ending at p gets T = p+1, H = p+1+row, W = p+1+col; the next text starts at the block's max + 1.
 */
export function ropeIndexRow(ids: ArrayLike<number>, mask: ArrayLike<number>, cfg: ModelConfig): [Int32Array, Int32Array, Int32Array] {
  const L = ids.length;
  const rows: [Int32Array, Int32Array, Int32Array] = [new Int32Array(L).fill(1), new Int32Array(L).fill(1), new Int32Array(L).fill(1)];
  const keep: number[] = [];
  for (let i = 0; i < L; i++) if (mask[i] !== 0) keep.push(i);
  const toks = keep.map((i) => ids[i]);
  const { grid } = tokenLayout(cfg);
  const g = grid / qwenVision(cfg).spatial_merge_size;
  let nImages = 0;
  for (let i = 0; i + 1 < toks.length; i++) if (toks[i] === cfg.vision_start_token_id && toks[i + 1] === cfg.image_token_id) nImages++;
  const out: [number[], number[], number[]] = [[], [], []];
  let next = 0; // st_idx: max position so far + 1
  let st = 0;
  const pushText = (n: number) => {
    for (let j = 0; j < n; j++) for (const r of out) r.push(next + j);
    if (n > 0) next += n;
  };
  for (let img = 0; img < nImages; img++) {
    const ed = toks.indexOf(cfg.image_token_id, st);
    pushText(ed - st);
    for (let r = 0; r < g; r++) {
      for (let c = 0; c < g; c++) {
        out[0].push(next);
        out[1].push(next + r);
        out[2].push(next + c);
      }
    }
    next += g; // max of the block (p + g - 1) + 1
    st = ed + g * g;
  }
  pushText(toks.length - st);
  keep.forEach((i, j) => {
    for (let r = 0; r < 3; r++) rows[r][i] = out[r][j];
  });
  return rows;
}

/** pi0 make_att_2d_masks: allowed[i][j] = cumsum(ar)[j] <= cumsum(ar)[i] && pad[i] && pad[j]. Returns 0/1 [N*N]. */
export function att2dMask(pad: ArrayLike<number>, ar: ArrayLike<number>): Uint8Array {
  const n = pad.length;
  const cum = new Int32Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) cum[i] = s += ar[i];
  const out = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    if (!pad[i]) continue;
    for (let j = 0; j < n; j++) out[i * n + j] = pad[j] && cum[j] <= cum[i] ? 1 : 0;
  }
  return out;
}

/** Block-start flags of the three segments: prefix all 0; gen [1, 0...]; act [1 (state), 1 (first action), 0...]. */
export function segmentAr(cfg: ModelConfig): { prefix: Uint8Array; middle: Uint8Array; suffix: Uint8Array } {
  const { prefix, middle, suffix } = tokenLayout(cfg);
  const mid = new Uint8Array(middle);
  mid[0] = 1;
  const suf = new Uint8Array(suffix);
  suf[0] = 1;
  suf[1] = 1;
  return { prefix: new Uint8Array(prefix), middle: mid, suffix: suf };
}

/** Gen-token pad flags of one sample: each view's flag over its T x h x w tokens (view-major layout). */
export function middlePad(imageMask: ArrayLike<number>, cfg: ModelConfig): Uint8Array {
  const { middle } = tokenLayout(cfg);
  const per = middle / cfg.n_views;
  const out = new Uint8Array(middle);
  for (let v = 0; v < cfg.n_views; v++) out.fill(imageMask[v] ? 1 : 0, v * per, (v + 1) * per);
  return out;
}

/** Host inputs of one batch: ids [B*Lp] and masks [B*Lp], [B*V], as plain arrays. */
export interface HostMasks {
  readonly batch: number;
  readonly tokenIds: ArrayLike<number>;
  readonly tokenMask: ArrayLike<number>;
  readonly imageMasks: ArrayLike<number>;
}

function checkHost(h: HostMasks, cfg: ModelConfig, where: string): void {
  const { prefix } = tokenLayout(cfg);
  if (h.tokenIds.length !== h.batch * prefix || h.tokenMask.length !== h.batch * prefix || h.imageMasks.length !== h.batch * cfg.n_views) {
    throw new ShapeError(
      `${where}: expected token_ids/token_mask of ${h.batch} x ${prefix} and image_masks of ${h.batch} x ${cfg.n_views}, got ${h.tokenIds.length}, ${h.tokenMask.length}, ${h.imageMasks.length} values`,
      "the prefix holds, per camera, vision_start + image_pad tokens + vision_end, then the padded task text",
    );
  }
}

const slice = (a: ArrayLike<number>, start: number, n: number) => Array.from({ length: n }, (_, i) => a[start + i]);

/** Joint pad flags of sample b over [prefix | middle | suffix]. */
function jointPad(h: HostMasks, b: number, cfg: ModelConfig): Uint8Array {
  const { prefix, middle, total } = tokenLayout(cfg);
  const pad = new Uint8Array(total).fill(1);
  for (let i = 0; i < prefix; i++) pad[i] = h.tokenMask[b * prefix + i] ? 1 : 0;
  pad.set(middlePad(slice(h.imageMasks, b * cfg.n_views, cfg.n_views), cfg), prefix);
  return pad;
}

/**
 * Pad flags and the three position rows of sample b (training rule): 3B get_rope_index over the pseudo sequence
 * [prefix ids | 777...], 2B cumsum(pad) - 1.
 */
function jointRows(h: HostMasks, b: number, cfg: ModelConfig): { pad: Uint8Array; rows: [Int32Array, Int32Array, Int32Array] } {
  const { prefix, total } = tokenLayout(cfg);
  const pad = jointPad(h, b, cfg);
  if (cfg.model_type === "interna1") return { pad, rows: cumsumRows(pad) };
  const ids = new Int32Array(total).fill(PSEUDO_TOKEN_ID);
  for (let i = 0; i < prefix; i++) ids[i] = h.tokenIds[b * prefix + i];
  return { pad, rows: ropeIndexRow(ids, pad, cfg) };
}

/**
 * Training inputs: positions f32 [3, B, N] from the pseudo sequence [prefix ids | 777...] with the joint pad
 * mask (masked gen tokens are skipped, as the official training code does), and the additive mask [B, 1, N, N].
 */
export function trainPositionsAndMask(h: HostMasks, cfg: ModelConfig): { positions: Float32Array; mask: Float32Array } {
  checkHost(h, cfg, "trainPositionsAndMask");
  const { prefix, total: n } = tokenLayout(cfg);
  const ar = segmentAr(cfg);
  const arAll = new Uint8Array(n);
  arAll.set(ar.middle, prefix);
  arAll.set(ar.suffix, n - ar.suffix.length);
  const positions = new Float32Array(3 * h.batch * n);
  const mask = new Float32Array(h.batch * n * n);
  for (let b = 0; b < h.batch; b++) {
    const { pad, rows } = jointRows(h, b, cfg);
    for (let r = 0; r < 3; r++) positions.set(rows[r], (r * h.batch + b) * n);
    const allowed = att2dMask(pad, arAll);
    for (let k = 0; k < n * n; k++) mask[b * n * n + k] = allowed[k] ? 0 : MASK_VALUE;
  }
  return { positions, mask };
}

/** Inference positions [3, B, len] and additive masks [B, 1, len, keys] for the prefix, middle and suffix passes. */
export interface InferLayout {
  readonly prefixPositions: Float32Array;
  readonly middlePositions: Float32Array;
  readonly suffixPositions: Float32Array;
  readonly prefixMask: Float32Array;
  readonly middleMask: Float32Array;
  readonly suffixMask: Float32Array;
}

/** Rows [pad-row broadcast over `keys` | own 2-D block mask] as an additive mask for one sample. */
function cachedMask(pastPad: ArrayLike<number>, ownPad: ArrayLike<number>, ownAr: ArrayLike<number>, out: Float32Array, offset: number): void {
  const lp = pastPad.length;
  const lo = ownPad.length;
  const own = att2dMask(ownPad, ownAr);
  const keys = lp + lo;
  for (let i = 0; i < lo; i++) {
    for (let j = 0; j < lp; j++) out[offset + i * keys + j] = pastPad[j] ? 0 : MASK_VALUE;
    for (let j = 0; j < lo; j++) out[offset + i * keys + lp + j] = own[i * lo + j] ? 0 : MASK_VALUE;
  }
}

/**
 * The official `sample_actions` positions over [prefix | middle | suffix]: get_rope_index on the prefix alone, gen
 * tokens at max_prefix + 1..Lm and the suffix at max_gen + 1..Ls, per position row, masked gen tokens NOT skipped
 * (so they differ from training when a camera is missing, as in the official code).
 */
function officialRows(ids: readonly number[], pPad: readonly number[], cfg: ModelConfig): [Int32Array, Int32Array, Int32Array] {
  const { prefix: lp, total } = tokenLayout(cfg);
  const pre = ropeIndexRow(ids, pPad, cfg);
  return pre.map((row) => {
    const full = new Int32Array(total);
    full.set(row);
    const maxPre = row.reduce((a, x) => Math.max(a, x), -Infinity);
    for (let i = lp; i < total; i++) full[i] = maxPre + 1 + i - lp;
    return full;
  }) as [Int32Array, Int32Array, Int32Array];
}

/**
 * The cached inference passes' positions and masks: prefix alone, then the gen tokens attending to the prefix, then
 * the suffix attending to both. Positions follow `cfg.inference_positions`: the training layout ("as_trained"), or
 * the official sampler's ("official"; see ModelConfig).
 */
export function inferLayout(h: HostMasks, cfg: ModelConfig): InferLayout {
  checkHost(h, cfg, "inferLayout");
  const { prefix: lp, middle: lm, suffix: ls } = tokenLayout(cfg);
  const B = h.batch;
  const ar = segmentAr(cfg);
  const out = {
    prefixPositions: new Float32Array(3 * B * lp), middlePositions: new Float32Array(3 * B * lm), suffixPositions: new Float32Array(3 * B * ls),
    prefixMask: new Float32Array(B * lp * lp), middleMask: new Float32Array(B * lm * (lp + lm)), suffixMask: new Float32Array(B * ls * (lp + lm + ls)),
  };
  for (let b = 0; b < B; b++) {
    const ids = slice(h.tokenIds, b * lp, lp);
    const pPad = slice(h.tokenMask, b * lp, lp).map((x) => (x ? 1 : 0));
    // At 2B the official sampler's positions are the training ones (see cumsumRows).
    const official = cfg.inference_positions === "official" && cfg.model_type === "qwena1";
    const rows = official ? officialRows(ids, pPad, cfg) : jointRows(h, b, cfg).rows;
    for (let r = 0; r < 3; r++) {
      const at = r * B + b;
      out.prefixPositions.set(rows[r].subarray(0, lp), at * lp);
      out.middlePositions.set(rows[r].subarray(lp, lp + lm), at * lm);
      out.suffixPositions.set(rows[r].subarray(lp + lm), at * ls);
    }
    const pre2d = att2dMask(pPad, ar.prefix);
    for (let k = 0; k < lp * lp; k++) out.prefixMask[b * lp * lp + k] = pre2d[k] ? 0 : MASK_VALUE;
    const mPad = middlePad(slice(h.imageMasks, b * cfg.n_views, cfg.n_views), cfg);
    cachedMask(pPad, mPad, ar.middle, out.middleMask, b * lm * (lp + lm));
    cachedMask([...pPad, ...mPad], new Uint8Array(ls).fill(1), ar.suffix, out.suffixMask, b * ls * (lp + lm + ls));
  }
  return out;
}

/**
 * Checks the prefix ids follow the static layout the model relies on (per camera: vision_start, the image-pad
 * run, vision_end at 3B; the bare image-pad run at 2B; then text), so the image-pad replacement by position
 * equals the official replacement by id (3B) / concatenation (2B).
 */
export function checkTokenLayout(h: HostMasks, cfg: ModelConfig): void {
  checkHost(h, cfg, "checkTokenLayout");
  const { prefix, imageTokens, markers } = tokenLayout(cfg);
  const expected = markers
    ? `vision_start ${cfg.vision_start_token_id}, ${imageTokens} x image_pad ${cfg.image_token_id}, vision_end ${cfg.vision_end_token_id}`
    : `${imageTokens} x image_pad ${cfg.image_token_id}`;
  for (let b = 0; b < h.batch; b++) {
    const ids = slice(h.tokenIds, b * prefix, prefix);
    imageTokenOffsets(cfg).forEach((off, v) => {
      const run = ids.slice(off, off + imageTokens);
      const framed = !markers || (ids[off - 1] === cfg.vision_start_token_id && ids[off + imageTokens] === cfg.vision_end_token_id);
      if (!framed || !run.every((t) => t === cfg.image_token_id)) {
        throw new ShapeError(
          `token_ids: sample ${b}, camera ${v}: expected ${expected} at positions ${off - markers}..${off + imageTokens - 1 + markers}, got [${ids.slice(off - markers, off + imageTokens + markers).join(", ")}]`,
          "build the prefix with tokenizer.ts `buildPrefix` (per camera the image block, then the padded task text)",
        );
      }
    });
    const text = ids.slice(prefix - cfg.n_text_tokens);
    if (text.some((t) => t === cfg.image_token_id)) throw new ShapeError(`token_ids: sample ${b}: the text part holds an image_pad id ${cfg.image_token_id}`);
  }
}
