// The parity run behind `internvla parity`: official-convention inputs in, the model's losses, v_t, samples and foresight out.
import { fromF32, np, toF32, type Tensor } from "../tensor/index.ts";
import { ShapeError, assertShape } from "../tensor/errors.ts";
import { tokenLayout, type ModelConfig } from "./config.ts";
import { checkTokenLayout, type HostMasks } from "./layout.ts";
import { computeLoss, inferInputs, sampleActions, trainInputs } from "./policy.ts";
import { type ModelParams } from "./types.ts";

/** A named host array (float32 data, any stored dtype converted) and its shape. */
export interface HostArray {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** The input names, in the order `--help` documents them. */
export const PARITY_INPUTS = ["images", "image_masks", "token_ids", "token_mask", "state", "actions", "noise", "time"] as const;
/** The output names. */
export const PARITY_OUTPUTS = ["loss_action", "loss_gen", "loss", "v_t", "actions_sampled", "gen_pred"] as const;

function need(inputs: ReadonlyMap<string, HostArray>, name: string): HostArray {
  const a = inputs.get(name);
  if (!a) throw new ShapeError(`parity inputs: missing tensor "${name}"; expected ${PARITY_INPUTS.join(", ")}`);
  return a;
}

/** Checks every input's shape against the config; returns the batch size. */
export function checkParityInputs(inputs: ReadonlyMap<string, HostArray>, cfg: ModelConfig): number {
  const { prefix } = tokenLayout(cfg);
  const v = cfg.vision_config;
  const dims = assertShape(need(inputs, "images").shape, ["B", cfg.n_views, 3, 3, "H", "W"], "parity inputs: images [B, V, 3 frames, 3, H, W]");
  if (dims.H !== v.image_size || dims.W !== v.image_size) {
    throw new ShapeError(`parity inputs: images must be ${v.image_size} x ${v.image_size} (vision_config.image_size), got ${dims.H} x ${dims.W}`);
  }
  assertShape(need(inputs, "image_masks").shape, ["B", cfg.n_views], "parity inputs: image_masks", dims);
  assertShape(need(inputs, "token_ids").shape, ["B", prefix], "parity inputs: token_ids", dims);
  assertShape(need(inputs, "token_mask").shape, ["B", prefix], "parity inputs: token_mask", dims);
  assertShape(need(inputs, "state").shape, ["B", cfg.max_state_dim], "parity inputs: state", dims);
  for (const n of ["actions", "noise"]) assertShape(need(inputs, n).shape, ["B", cfg.chunk_size, cfg.max_action_dim], `parity inputs: ${n}`, dims);
  assertShape(need(inputs, "time").shape, ["B"], "parity inputs: time", dims);
  return dims.B;
}

/**
 * Runs the official entry points on the inputs: `loss_*`, `v_t` and `gen_pred` from the training path at the
 * given noise and time, `actions_sampled` from the cached 10-step sampler starting at the given noise.
 * Borrows `params`.
 */
export async function runParity(params: ModelParams, inputs: ReadonlyMap<string, HostArray>, cfg: ModelConfig): Promise<Map<string, HostArray>> {
  const batch = checkParityInputs(inputs, cfg);
  const tensor = (name: string) => fromF32(need(inputs, name).data, need(inputs, name).shape);
  const ids = need(inputs, "token_ids").data;
  const host: HostMasks = { batch, tokenIds: ids, tokenMask: need(inputs, "token_mask").data, imageMasks: need(inputs, "image_masks").data };
  checkTokenLayout(host, cfg);
  const base = {
    images: tensor("images"),
    imageMasks: tensor("image_masks"),
    tokenIds: np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([batch, ids.length / batch]),
    tokenMask: tensor("token_mask"),
    state: tensor("state"),
    actions: tensor("actions"),
  };
  const out = new Map<string, HostArray>();
  const put = async (name: string, t: Tensor) => out.set(name, { shape: t.shape, data: await toF32(t) });
  const train = { ...base, ...trainInputs(host, cfg) };
  const res = computeLoss(params, train, cfg, tensor("noise"), tensor("time"));
  await put("loss_action", res.lossAction);
  await put("loss_gen", res.lossGen);
  await put("loss", res.loss);
  await put("v_t", res.vT);
  await put("gen_pred", res.genPred);
  train.positions.dispose();
  train.mask.dispose();
  const layout = inferInputs(host, cfg);
  await put("actions_sampled", sampleActions(params, { ...base, ...layout }, cfg, tensor("noise")));
  for (const t of [...Object.values(base), ...Object.values(layout)]) t.dispose();
  return out;
}
