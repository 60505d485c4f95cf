// The Mixture-of-Transformers layer: per-expert Qwen blocks sharing one joint masked attention (compute_layer_complete).
//
// Axis legend: B batch, L tokens of one expert, N tokens of the joint sequence [und | gen | act], K keys
// (cached + new), H query heads, G kv heads, hd head dim, D hidden of the expert at hand.
import { np, type Tensor } from "../tensor/index.ts";
import { applyRope, attention, linear, mropeCosSin, rmsNorm, swiglu } from "../nn/index.ts";
import { type ModelConfig, type TowerConfig } from "./config.ts";
import { type TowerLayerParams, type TowerParams } from "./types.ts";

/** One expert's share of a layer: its params, its tower config and its hidden state [B, L, D]. */
export interface ExpertInput {
  readonly layer: TowerLayerParams;
  readonly cfg: TowerConfig;
  readonly x: Tensor;
}

/** input_layernorm, q/k/v projections (+bias for Qwen2), per-head q/k RMSNorm (Qwen3). Heads-first outputs. */
function projectQkv(e: ExpertInput): { q: Tensor; k: Tensor; v: Tensor } {
  const { layer: p, cfg: c, x } = e;
  const [b, l] = x.shape;
  const h = rmsNorm(p.input_layernorm, x.ref, c.rms_norm_eps);
  const heads = (t: Tensor, n: number) => t.reshape([b, l, n, c.head_dim]);
  let q = heads(linear(p.self_attn.q_proj, h.ref), c.num_attention_heads); // [B, L, H, hd]
  let k = heads(linear(p.self_attn.k_proj, h.ref), c.num_key_value_heads);
  const v = heads(linear(p.self_attn.v_proj, h), c.num_key_value_heads);
  if (c.use_qk_norm) {
    q = rmsNorm(p.self_attn.q_norm!, q, c.rms_norm_eps);
    k = rmsNorm(p.self_attn.k_norm!, k, c.rms_norm_eps);
  }
  const first = (t: Tensor) => t.transpose([0, 2, 1, 3]);
  return { q: first(q), k: first(k), v: first(v) };
}

/** o_proj of this expert's slice of the attention output, residual, post_attention_layernorm, SwiGLU, residual. */
function finishExpert(e: ExpertInput, att: Tensor /* [B, L, H*hd] */): Tensor {
  const out = linear(e.layer.self_attn.o_proj, att).add(e.x);
  return swiglu(e.layer.mlp, rmsNorm(e.layer.post_attention_layernorm, out.ref, e.cfg.rms_norm_eps)).add(out);
}

/** Post-RoPE keys and values of one call, [B, G, L, hd] each: what the inference cache stores. */
export interface LayerKv {
  readonly k: Tensor;
  readonly v: Tensor;
}

/**
 * One MoT layer over the experts present (any of und/gen/act, in sequence order): q/k/v per expert, concatenated
 * along the sequence, RoPE with the shared cos/sin [B, N, hd], one attention under the additive `mask`
 * [B, 1, N, K] (with `past` K/V in front when given: the cached path), split back, per-expert o_proj and MLP.
 * Borrows params, cos, sin, mask and past; consumes each expert's `x`. Returns new states and this call's K/V.
 */
export function motLayer(
  experts: readonly ExpertInput[],
  cos: Tensor,
  sin: Tensor,
  mask: Tensor,
  past?: LayerKv,
): { outs: Tensor[]; kv: LayerKv } {
  const parts = experts.map(projectQkv);
  const cat = (ts: Tensor[]) => (ts.length === 1 ? ts[0] : np.concatenate(ts, 2));
  const q = applyRope(cat(parts.map((p) => p.q)), cos.ref, sin.ref); // [B, H, N, hd]
  const k = applyRope(cat(parts.map((p) => p.k)), cos.ref, sin.ref); // [B, G, N, hd]
  const v = cat(parts.map((p) => p.v));
  const keys = past ? np.concatenate([past.k.ref, k.ref], 2) : k.ref; // [B, G, K, hd]
  const values = past ? np.concatenate([past.v.ref, v.ref], 2) : v.ref;
  const hd = experts[0].cfg.head_dim;
  const [b, heads, n] = q.shape;
  const att = attention(q, keys, values, mask.ref, hd ** -0.5).transpose([0, 2, 1, 3]).reshape([b, n, heads * hd]);
  const outs: Tensor[] = [];
  let start = 0;
  experts.forEach((e) => {
    const len = e.x.shape[1];
    const slice = experts.length === 1 ? att : att.ref.slice([], [start, start + len], []);
    outs.push(finishExpert(e, slice));
    start += len;
  });
  if (experts.length > 1) att.dispose();
  return { outs, kv: { k, v } };
}

/** Shared RoPE tables [B, N, hd] from positions [3, B, N] (Qwen3-VL interleaved M-RoPE; 1-D when H/W sections are 0). Consumes `positions`. */
export function ropeTables(positions: Tensor, cfg: ModelConfig): { cos: Tensor; sin: Tensor } {
  const t = cfg.text_config;
  return mropeCosSin(positions, t.head_dim, t.rope_theta, t.mrope_section);
}

/** Which tower configs the experts use. */
export function towerCfg(cfg: ModelConfig, name: "und" | "gen" | "act"): TowerConfig {
  return name === "und" ? cfg.text_config : cfg.expert_config;
}

/**
 * Runs every layer of the experts given (jointly), then each expert's final norm. With `past` (per-layer K/V),
 * the cached path; `collect` keeps each layer's K/V (caller disposes). Borrows everything but `xs`.
 */
export function runLayers(
  towers: readonly { params: TowerParams; cfg: TowerConfig }[],
  xs: Tensor[],
  cos: Tensor,
  sin: Tensor,
  mask: Tensor,
  opts: { past?: readonly LayerKv[]; collect?: LayerKv[]; onLayer?: (layer: number, outs: readonly Tensor[]) => void } = {},
): Tensor[] {
  let hs = xs;
  const depth = towers[0].params.layers.length;
  for (let l = 0; l < depth; l++) {
    const experts = towers.map((t, i) => ({ layer: t.params.layers[l], cfg: t.cfg, x: hs[i] }));
    const { outs, kv } = motLayer(experts, cos, sin, mask, opts.past?.[l]);
    if (opts.collect) opts.collect.push(kv);
    else {
      kv.k.dispose();
      kv.v.dispose();
    }
    opts.onLayer?.(l, outs);
    hs = outs;
  }
  return hs.map((h, i) => rmsNorm(towers[i].params.norm, h, towers[i].cfg.rms_norm_eps));
}
