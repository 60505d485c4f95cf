// The random-action baseline: each chunk moves from the current state towards a uniformly random pose.
import { ConfigError } from "../../tensor/errors.ts";
import { getRobot, type RobotType } from "../../sim/index.ts";
import { makeRng, type Rng } from "../../sim/rng.ts";
import { type Policy, type PolicyObservation, type PolicyResult, actionChunk } from "../../serve/policy.ts";

export interface RandomPolicyOptions {
  readonly robot: RobotType;
  /** Actions per chunk. */
  readonly horizon: number;
  readonly seed: number;
}

/** A random joint target within each joint's range and a random gripper command (open 1 or closed 0) per arm. */
function randomPose(rng: Rng, robot: RobotType): Float32Array {
  const values: number[] = [];
  for (const arm of getRobot(robot).arms) {
    for (const [lo, hi] of arm.ranges) values.push(rng.uniform(lo, hi));
    values.push(rng.chance(0.5) ? 1 : 0);
  }
  return Float32Array.from(values);
}

/**
 * A seeded random-action policy (the baseline a trained policy must beat): every reply interpolates linearly
 * from the observed state to a fresh uniformly random pose over `horizon` steps, grippers switching at the
 * first step. Episode k after construction draws from its own stream (seed, k), so runs are reproducible.
 */
export function randomPolicy(opts: RandomPolicyOptions): Policy {
  if (!(Number.isInteger(opts.horizon) && opts.horizon >= 1)) throw new ConfigError(`randomPolicy: horizon must be an integer >= 1, got ${opts.horizon}`);
  const robot = getRobot(opts.robot);
  const dim = robot.stateNames.length;
  const gripper = robot.stateNames.map((n) => n.endsWith("gripper"));
  let episode = 0;
  let rng = makeRng(opts.seed, "random-policy/0");
  return {
    metadata: { policy: "random", robot_type: opts.robot, action_horizon: opts.horizon, action_dim: dim, seed: opts.seed },
    async reset() {
      episode++;
      rng = makeRng(opts.seed, `random-policy/${episode}`);
    },
    async infer(obs: PolicyObservation): Promise<PolicyResult> {
      if (obs.state.length !== dim) throw new ConfigError(`randomPolicy: state has ${obs.state.length} values; ${opts.robot} has ${dim}`);
      const target = randomPose(rng, opts.robot);
      const H = opts.horizon;
      const data = new Float32Array(H * dim);
      for (let i = 0; i < H; i++) {
        const a = (i + 1) / H;
        for (let d = 0; d < dim; d++) data[i * dim + d] = gripper[d] ? target[d] : (1 - a) * obs.state[d] + a * target[d];
      }
      return { actions: actionChunk(data, H, dim, "randomPolicy"), policyTiming: { infer_ms: 0 } };
    },
  };
}
