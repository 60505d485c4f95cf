// Episode worker (one MuJoCo instance per thread): runs scripted episodes, encodes the successful ones' videos and
// image statistics for the writer, and sends them back.
import { parentPort, workerData } from "node:worker_threads";
import { EncoderLock } from "../../data/lerobot/video.ts";
import { prepareEpisode, transferables } from "../../data/lerobot/writer.ts";
import { runEpisode } from "../episode.ts";
import { loadMujoco } from "../mujoco.ts";
import { getTask } from "../tasks/index.ts";
import { imageKey } from "./features.ts";
import { type EpisodeJob, type EpisodeResult, type WorkerReply } from "./protocol.ts";

const port = parentPort;
if (!port) throw new Error("internal: sim/dataset/worker.ts must run in a worker thread");
const mj = await loadMujoco();
/** Shared by the run's workers: one video encoder at a time in the process (see EncoderLock). */
const encodeLock = new EncoderLock((workerData as { encodeLock: SharedArrayBuffer }).encodeLock);

function run(job: EpisodeJob): { result: EpisodeResult; transfer: ArrayBuffer[] } {
  const { config } = job;
  const t0 = performance.now();
  const task = getTask(config.task);
  const instance = task.generate(job.seed, config.level, { robot: config.robot, split: config.split, controlHz: config.controlHz });
  const rec = runEpisode(mj, instance, { cameras: config.cameras, width: config.width, height: config.height });
  const t1 = performance.now();
  // Failed episodes are dropped, so only their outcome travels back.
  if (!rec.success) return { result: { seed: rec.seed, success: false, seconds: { simulate: (t1 - t0) / 1000, encode: 0 } }, transfer: [] };
  const prepared = prepareEpisode(job.spec, {
    task: rec.instruction, length: rec.length,
    vectors: { "observation.state": rec.states, action: rec.actions },
    frames: Object.fromEntries(config.cameras.map((c) => [imageKey(c), rec.frames[c]])),
  }, encodeLock);
  const seconds = { simulate: (t1 - t0) / 1000, encode: (performance.now() - t1) / 1000 };
  const frames = job.keepFrames ? rec.frames : undefined;
  const transfer = new Set([...transferables(prepared), ...Object.values(frames ?? {}).flatMap((fs) => fs.map((f) => f.buffer as ArrayBuffer))]);
  return { result: { seed: rec.seed, success: true, prepared, frames, seconds }, transfer: [...transfer] };
}

/** Jobs run one at a time, in arrival order. */
let queue: Promise<void> = Promise.resolve();
port.on("message", (job: EpisodeJob | { type: "stop" }) => {
  if (job.type === "stop") {
    port.close();
    return;
  }
  queue = queue.then(() => {
    try {
      const { result, transfer } = run(job);
      port.postMessage({ type: "episode", candidate: job.candidate, result } satisfies WorkerReply, transfer);
    } catch (e) {
      const reply: WorkerReply = { type: "error", candidate: job.candidate, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) };
      port.postMessage(reply);
    }
  });
});
port.postMessage({ type: "ready" } satisfies WorkerReply);
