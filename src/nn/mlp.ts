// The SiLU-gated MLP of Qwen3 towers: down(silu(gate x) * up x), parameter names as in HF checkpoints.
import { type Tensor } from "../tensor/index.ts";
import { silu } from "./activation.ts";
import { linear, type LinearParams } from "./linear.ts";

/** Qwen3MLP parameters (no biases in Qwen3, but a bias is honoured when present). */
export type SwiGluParams = { gate_proj: LinearParams; up_proj: LinearParams; down_proj: LinearParams };

/** down(silu(gate x) * up x). Borrows `p`, consumes `x`. */
export function swiglu(p: SwiGluParams, x: Tensor /* [..., D] */): Tensor /* [..., D] */ {
  const gated = silu(linear(p.gate_proj, x.ref)).mul(linear(p.up_proj, x)); // [..., F]
  return linear(p.down_proj, gated);
}
