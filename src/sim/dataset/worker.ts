// Episode worker (a child process with one MuJoCo): runs scripted episodes, encodes the successful ones' videos and
// image statistics for the writer, and sends them back to the generator.
import { prepareEpisode } from "../../data/lerobot/writer.ts";
import { runEpisode } from "../episode.ts";
import { loadMujoco } from "../mujoco.ts";
import { getTask } from "../tasks/index.ts";
import { imageKey } from "./features.ts";
import { type EpisodeJob, type EpisodeResult, type WorkerReply } from "./protocol.ts";

if (!process.send) throw new Error("internal: sim/dataset/worker.ts must run in a child process started with an IPC channel (see pool.ts)");
const reply = (m: WorkerReply): void => {
  process.send!(m);
};
const mj = await loadMujoco();

function run(job: EpisodeJob): EpisodeResult {
  const { config } = job;
  const t0 = performance.now();
  const task = getTask(config.task);
  const instance = task.generate(job.seed, config.level, { robot: config.robot, split: config.split, controlHz: config.controlHz });
  const rec = runEpisode(mj, instance, { cameras: config.cameras, width: config.width, height: config.height });
  const t1 = performance.now();
  // Failed episodes are dropped, so only their outcome travels back.
  if (!rec.success) return { seed: rec.seed, success: false, seconds: { simulate: (t1 - t0) / 1000, encode: 0 } };
  const prepared = prepareEpisode(job.spec, {
    task: rec.instruction, length: rec.length,
    vectors: { "observation.state": rec.states, action: rec.actions },
    frames: Object.fromEntries(config.cameras.map((c) => [imageKey(c), rec.frames[c]])),
  });
  const seconds = { simulate: (t1 - t0) / 1000, encode: (performance.now() - t1) / 1000 };
  return { seed: rec.seed, success: true, prepared, frames: job.keepFrames ? rec.frames : undefined, seconds };
}

process.on("message", (job: EpisodeJob) => {
  try {
    reply({ type: "episode", candidate: job.candidate, result: run(job) });
  } catch (e) {
    reply({ type: "error", candidate: job.candidate, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  }
});
// The generator went away (crashed or was killed): nothing is left to do.
process.on("disconnect", () => process.exit(0));
reply({ type: "ready" });
