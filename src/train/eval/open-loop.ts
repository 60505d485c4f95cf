// Open-loop evaluation: the policy's chunks against the scripted expert's next actions along expert episodes.
import { getTask, getRobot, loadMujoco, runEpisode, type EpisodeRecord } from "../../sim/index.ts";
import { type Policy, actionAt } from "../../serve/policy.ts";
import { type TaskEvalConfig, validateTaskEvalConfig } from "./evaluate.ts";
import { type MeanInterval, meanInterval } from "./stats.ts";

export interface OpenLoopTask {
  readonly task: string;
  readonly seeds: readonly number[];
  /** Per episode: RMSE (rad) of the policy's joint targets against the expert's, and of holding the current state. */
  readonly episodes: readonly { readonly seed: number; readonly rmse: number; readonly holdRmse: number }[];
  /** Joint-target RMSE over episodes (radians; grippers excluded). */
  readonly rmse: MeanInterval;
  /** The same for "hold the current joint positions", the error of a policy that does not move. */
  readonly holdRmse: MeanInterval;
}

/**
 * One expert episode: at steps 0, n, 2n, ... the policy sees the recorded frames t and t-gap, state and
 * instruction; its first n joint targets are compared with the expert's next n. Returns the two RMSEs.
 */
async function episodeErrors(policy: Policy, rec: EpisodeRecord, joints: readonly number[], c: TaskEvalConfig, cameras: readonly string[]) {
  const dim = rec.actions.length / rec.length;
  let [err, hold, count] = [0, 0, 0];
  await policy.reset();
  for (let t = 0; t < rec.length; t += c.nActionSteps) {
    const frame = (k: number) => Object.fromEntries(cameras.map((cam) => [cam, { data: rec.frames[cam][Math.max(0, k)], height: c.imageSize, width: c.imageSize }]));
    const state = rec.states.subarray(t * dim, (t + 1) * dim);
    const { actions } = await policy.infer({ images: frame(t), pastImages: frame(t - c.frameGap), state, prompt: rec.instruction, step: t });
    for (let i = 0; i < Math.min(c.nActionSteps, actions.horizon) && t + i < rec.length; i++) {
      const row = actionAt(actions, i);
      for (const d of joints) {
        const target = rec.actions[(t + i) * dim + d];
        err += (row[d] - target) ** 2;
        hold += (state[d] - target) ** 2;
        count++;
      }
    }
  }
  return { rmse: Math.sqrt(err / count), holdRmse: Math.sqrt(hold / count) };
}

/**
 * Open-loop error of `policy` on expert episodes of the evaluation seeds (the first `episodes` seeds from
 * `seed` that the expert solves): the offline check that still separates policies when none of them completes
 * the task in closed loop.
 */
export async function openLoopTask(policy: Policy, c: TaskEvalConfig): Promise<OpenLoopTask> {
  validateTaskEvalConfig(c);
  const mj = await loadMujoco();
  const def = getTask(c.task);
  const robot = getRobot(c.robot ?? def.robots[0]);
  const joints = robot.stateNames.flatMap((n, i) => (n.endsWith("gripper") ? [] : [i]));
  const episodes: { seed: number; rmse: number; holdRmse: number }[] = [];
  for (let seed = c.seed; episodes.length < c.episodes && seed < c.seed + 3 * c.episodes + 10; seed++) {
    const rec = runEpisode(mj, def.generate(seed, c.level, { robot: robot.name, split: c.split }), { cameras: robot.cameras, width: c.imageSize, height: c.imageSize });
    if (!rec.success) continue;
    episodes.push({ seed, ...(await episodeErrors(policy, rec, joints, c, robot.cameras)) });
  }
  return {
    task: c.task, seeds: episodes.map((e) => e.seed), episodes,
    rmse: meanInterval(episodes.map((e) => e.rmse)), holdRmse: meanInterval(episodes.map((e) => e.holdRmse)),
  };
}
