// A tiny-config checkpoint (random weights, fresh AdamW state, one robot) whose step is written into its tensors.
import { type HostTensor } from "../../src/tensor/compile/index.ts";
import { paramTable, setPath } from "../../src/model/params.ts";
import { type Checkpoint } from "../../src/train/checkpoint.ts";
import { trainPreset } from "../../src/train/config.ts";
import { type RobotJson } from "../../src/train/data.ts";
import { type Host } from "../../src/train/engine.ts";
import { type ModelParams, type PolicyParams } from "../../src/model/types.ts";
import { type AdamWState } from "../../src/train/optim.ts";

const stats = (dim: number, m: number) => ({ min: new Array(dim).fill(-m), max: new Array(dim).fill(m), mean: new Array(dim).fill(0.1 * m), std: new Array(dim).fill(m / 2), count: 100 });

const ROBOT: RobotJson = {
  robot_type: "arm5", state_dim: 6, action_dim: 6, action_mode: "delta", norm_mode: "mean_std", delta_mask: [true, true, true, true, true, false],
  cameras: ["top", "wrist", null], image_size: 64, frame_gap: 15, state_keys: ["observation.state"], action_keys: ["action"],
};

/** Host arrays for every tensor of the tiny preset (a seeded LCG; built without the engine, so children start fast). */
function hostParams(fill: (i: number) => number): { params: Host<ModelParams>; moments: () => Host<PolicyParams> } {
  const table = paramTable(trainPreset("tiny").model);
  const params: Record<string, unknown> = {};
  let k = 0;
  for (const e of table) setPath(params, e.path, { dtype: "float32", shape: [...e.shape], data: Float32Array.from({ length: e.shape.reduce((a, b) => a * b, 1) }, () => fill(k++)) });
  const moments = () => {
    const m: Record<string, unknown> = {};
    for (const e of table.filter((x) => x.path[0] === "policy")) setPath(m, e.path.slice(1), { dtype: "float32", shape: [...e.shape], data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)) });
    return m as Host<PolicyParams>;
  };
  return { params: params as Host<ModelParams>, moments };
}

/** A complete checkpoint of the tiny preset at step 0. */
export async function checkpointFixture(): Promise<Checkpoint> {
  const config = trainPreset("tiny");
  let state = 3;
  const { params, moments } = hostParams(() => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.04);
  const opt: Host<AdamWState<PolicyParams>> = { count: { dtype: "float32", shape: [], data: new Float32Array(1) }, mu: moments(), nu: moments() };
  return {
    step: 0, config, params, opt, robot: "arm5", draws: 0, metrics: {},
    data: {
      featureStats: { arm5: { "observation.state": stats(6, 1), action: stats(6, 2) } },
      normStats: { arm5: { state: stats(6, 1), action: stats(6, 2) } },
      robots: { arm5: ROBOT }, tasks: ["pick the cube"], robotFrames: { arm5: 100 },
    },
    tokenizerFiles: { "vocabulary.json": JSON.stringify(["pick", "the", "cube"]) },
  };
}

const withFirst = (h: HostTensor, v: number): HostTensor => {
  const data = Float32Array.from(h.data as Float32Array);
  data[0] = v;
  return { ...h, data };
};

/** The checkpoint at `step`: the step is the AdamW count, the first action_out_proj bias and the first mu entry. */
export function markStep(c: Checkpoint, step: number): Checkpoint {
  const p = c.params.policy;
  const policy = { ...p, action_out_proj: { ...p.action_out_proj, bias: withFirst(p.action_out_proj.bias!, step) } };
  const mu = { ...c.opt.mu, action_out_proj: { ...c.opt.mu.action_out_proj, bias: withFirst(c.opt.mu.action_out_proj.bias!, -step) } };
  return { ...c, step, draws: step * 16, params: { ...c.params, policy }, opt: { ...c.opt, count: withFirst(c.opt.count, step), mu } };
}
