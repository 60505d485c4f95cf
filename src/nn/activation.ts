// Elementwise activations written as plain primitives (no nested jit) so traces stay flat for the ONNX lowering.
import { lax, np, type Tensor } from "../tensor/index.ts";

/** SiLU / swish: x * sigmoid(x), with sigmoid = 1 / (1 + exp(-x)). Consumes `x`. */
export function silu(x: Tensor): Tensor {
  const sig = np.reciprocal(np.exp(x.ref.neg()).add(1));
  return x.mul(sig);
}

/** Exact GELU, torch.nn.functional.gelu(x): 0.5 x (1 + erf(x / sqrt 2)). Consumes `x`. */
export function geluExact(x: Tensor): Tensor {
  const e = lax.erf(x.ref.mul(Math.SQRT1_2));
  return x.mul(0.5).mul(e.add(1));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Tanh GELU, gelu(x, approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Consumes `x`. */
export function geluTanh(x: Tensor): Tensor {
  const cube = x.ref.mul(x.ref).mul(x.ref);
  const inner = x.ref.add(cube.mul(0.044715)).mul(SQRT_2_OVER_PI);
  return x.mul(0.5).mul(np.tanh(inner).add(1));
}
