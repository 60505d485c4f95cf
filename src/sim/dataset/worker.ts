// Episode worker (one MuJoCo instance per thread): runs scripted episodes on request and sends the recordings back.
import { parentPort } from "node:worker_threads";
import { runEpisode } from "../episode.ts";
import { loadMujoco } from "../mujoco.ts";
import { getTask } from "../tasks/index.ts";
import { type EpisodeJob, type WorkerReply } from "./protocol.ts";

const port = parentPort;
if (!port) throw new Error("internal: sim/dataset/worker.ts must run in a worker thread");
const mj = await loadMujoco();

port.on("message", (job: EpisodeJob | { type: "stop" }) => {
  if (job.type === "stop") {
    port.close();
    return;
  }
  try {
    const task = getTask(job.config.task);
    const instance = task.generate(job.seed, job.config.level, { robot: job.config.robot, split: job.config.split, controlHz: job.config.controlHz });
    const record = runEpisode(mj, instance, { cameras: job.config.cameras, width: job.config.width, height: job.config.height });
    // Failed episodes are dropped, so only their outcome travels back.
    const frames = record.success ? record.frames : {};
    const reply: WorkerReply = { type: "episode", candidate: job.candidate, record: { ...record, frames } };
    const transfer = [record.states.buffer, record.actions.buffer, ...Object.values(frames).flatMap((fs) => fs.map((f) => f.buffer))];
    port.postMessage(reply, transfer as ArrayBuffer[]);
  } catch (e) {
    const reply: WorkerReply = { type: "error", candidate: job.candidate, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) };
    port.postMessage(reply);
  }
});
port.postMessage({ type: "ready" } satisfies WorkerReply);
