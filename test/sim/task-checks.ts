// Shared checks for every task: determinism, success detection, and the expert's success rate on 20 seeds.
import { beforeAll, describe, expect, it } from "vitest";
import { runEpisode, type EpisodeRecord } from "../../src/sim/episode.ts";
import { loadMujoco, type Mujoco } from "../../src/sim/mujoco.ts";
import { type RobotType } from "../../src/sim/robots/index.ts";
import { type Level } from "../../src/sim/scene/colours.ts";
import { getTask } from "../../src/sim/tasks/index.ts";
import { World } from "../../src/sim/world.ts";

/** Seeds of the success-rate check; the level alternates so both are covered (physics only: no rendering). */
export const RATE_SEEDS = 20;
const levelOf = (seed: number): Level => (seed % 2 === 0 ? "clean" : "randomised");

/**
 * Registers the standard checks of one task on its primary robot (20 seeds) and a smaller expert check
 * (3 seeds) on each other robot it supports.
 */
export function describeTask(name: string): void {
  const task = getTask(name);
  const [primary, ...others] = task.robots;
  describe(`task ${name}`, () => {
    let mj: Mujoco;
    const runs = new Map<number, EpisodeRecord>();
    beforeAll(async () => {
      mj = await loadMujoco();
    });
    const run = (seed: number, robot: RobotType = primary): EpisodeRecord =>
      runEpisode(mj, task.generate(seed, levelOf(seed), { robot }));

    it(`expert succeeds on >= 90% of ${RATE_SEEDS} seeds on ${primary}`, () => {
      for (let seed = 0; seed < RATE_SEEDS; seed++) runs.set(seed, run(seed));
      const failed = [...runs.values()].filter((r) => !r.success).map((r) => r.seed);
      const rate = 1 - failed.length / RATE_SEEDS;
      expect(rate, `${name}: expert failed on seeds ${failed.join(", ")}`).toBeGreaterThanOrEqual(0.9);
    });

    it("is deterministic: the same seed replays bit-identically, another seed differs", () => {
      const first = runs.get(0) ?? run(0);
      const again = run(0);
      expect(again.hash).toBe(first.hash);
      expect(Array.from(again.actions)).toEqual(Array.from(first.actions));
      expect((runs.get(1) ?? run(1)).hash).not.toBe(first.hash);
    });

    it("detects success: false at the start and after a scripted mistake, true after the expert", () => {
      const seed = [...runs.keys()].find((s) => runs.get(s)!.success) ?? 0;
      const instance = task.generate(seed, levelOf(seed), { robot: primary });
      const world = new World(mj, instance.scene);
      try {
        expect(instance.success(world)).toBe(false);
      } finally {
        world.delete();
      }
      expect((runs.get(seed) ?? run(seed)).success).toBe(true);
      expect(runEpisode(mj, instance, { policy: "mistake" }).success).toBe(false);
    });

    for (const robot of others) {
      it(`expert also works on ${robot} (3 seeds)`, () => {
        const ok = [0, 1, 2].filter((seed) => run(seed, robot).success).length;
        expect(ok).toBeGreaterThanOrEqual(2);
      });
    }
  });
}
