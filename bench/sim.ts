// Simulator benchmark (JSON): scripted episodes per hour with 3 cameras at 128 px including AV1 encoding, expert
// success rate per task and robot, physics and rendering speed.
//   npm run bench:sim -- [--episodes 8] [--seeds 20] [--workers 2] [--size 128] [--skip-rates]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { generateDataset } from "../src/sim/dataset/generate.ts";
import { runEpisode } from "../src/sim/episode.ts";
import { loadMujoco, type Mujoco } from "../src/sim/mujoco.ts";
import { getTask, TASKS } from "../src/sim/tasks/index.ts";
import { World } from "../src/sim/world.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Episodes per hour of `generate` for each two-arm task (3 cameras), measured from the first kept episode on. */
async function throughput(episodes: number, workers: number, size: number): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), "internvla-bench-sim-"));
  const perTask: Record<string, unknown> = {};
  let totalEpisodes = 0;
  let totalSeconds = 0;
  try {
    for (const task of TASKS.filter((t) => t.kind === "two_arm")) {
      const t0 = performance.now();
      let firstAt = 0;
      const summary = await generateDataset({
        out: join(root, task.name), task: task.name, episodes: episodes + 1, imageSize: size, workers, level: "randomised",
        onProgress: (p) => {
          if (p.written === 1 && firstAt === 0) firstAt = performance.now();
        },
      });
      const seconds = (performance.now() - firstAt) / 1000;
      // The first episode also pays for starting the workers (tsx + MuJoCo per thread): reported apart.
      const per = (x: number): number => +(x / summary.written).toFixed(3);
      perTask[task.name] = {
        episodes_per_hour: Math.round((episodes / seconds) * 3600), startup_s: +((firstAt - t0) / 1000).toFixed(2),
        expert_success_rate: +summary.expertSuccessRate.toFixed(3),
        // Where an episode's time goes: worker wall seconds simulating + rendering and encoding (videos + image
        // stats), main-thread seconds staging it, and the finalize pass spread over the episodes.
        seconds_per_episode: {
          simulate_render: per(summary.seconds.simulate), encode: per(summary.seconds.encode),
          write: per(summary.seconds.write), finalize: per(summary.seconds.finalize),
        },
      };
      totalEpisodes += episodes;
      totalSeconds += seconds;
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { cameras: 3, image_size: size, workers, codec: "av1", per_task: perTask, episodes_per_hour: Math.round((totalEpisodes / totalSeconds) * 3600), target: 3000 };
}

/** The expert's success rate on `seeds` seeds (levels alternating) for every task and robot, physics only. */
function successRates(mj: Mujoco, seeds: number): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const task of TASKS) {
    out[task.name] = {};
    for (const robot of task.robots) {
      let ok = 0;
      for (let seed = 0; seed < seeds; seed++) {
        if (runEpisode(mj, task.generate(seed, seed % 2 === 0 ? "clean" : "randomised", { robot })).success) ok++;
      }
      out[task.name][robot] = +(ok / seeds).toFixed(3);
    }
  }
  return out;
}

/** Physics steps per second and render time per frame on one core. */
function speeds(mj: Mujoco): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [task, robot] of [["conveyor_sort", "arm5"], ["handover", "dual_arm"]] as const) {
    const world = new World(mj, getTask(task).generate(0, "clean", { robot }).scene);
    try {
      const action = world.state();
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) world.step(action);
      const physics = Math.round((100 * world.substeps) / ((performance.now() - t0) / 1000));
      const render: Record<string, number> = {};
      for (const size of [64, 128, 224]) {
        for (let i = 0; i < 10; i++) world.render("top", size, size);
        const t1 = performance.now();
        for (let i = 0; i < 50; i++) world.render("top", size, size);
        render[`${size}px_ms`] = +((performance.now() - t1) / 50).toFixed(3);
      }
      out[`${task}/${robot}`] = { physics_steps_per_s: physics, top_camera: render };
    } finally {
      world.delete();
    }
  }
  return out;
}

const mj = await loadMujoco();
const result: Record<string, unknown> = {
  bench: "sim",
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, load_avg_1m: +loadavg()[0].toFixed(2) },
  speeds: speeds(mj),
  throughput: await throughput(arg("episodes", 8), arg("workers", 2), arg("size", 128)),
};
if (!process.argv.includes("--skip-rates")) result.expert_success_rate = successRates(mj, arg("seeds", 20));
result.load_avg_1m_end = +loadavg()[0].toFixed(2);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
