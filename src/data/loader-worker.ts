// Data-loader worker: opens the pipeline's datasets once, then builds the batches the main thread asks for.
import { parentPort } from "node:worker_threads";
import type { FrameCacheHandle } from "./frame-cache.ts";
import { DataPipeline, type PipelineSpec } from "./pipeline.ts";
import type { Batch } from "./types.ts";

export type WorkerRequest =
  | { readonly type: "init"; readonly spec: PipelineSpec; readonly cache: FrameCacheHandle }
  | { readonly type: "batch"; readonly id: number; readonly draws: readonly { dataset: number; frame: number }[] }
  | { readonly type: "close" };

export type WorkerReply =
  | { readonly type: "ready"; readonly frames: number[]; readonly names: string[]; readonly warnings: string[] }
  | { readonly type: "batch"; readonly id: number; readonly batch: Batch }
  | { readonly type: "error"; readonly id: number; readonly name: string; readonly message: string };

/** The typed arrays of a batch, moved (not copied) to the main thread. */
function transferables(b: Batch): ArrayBuffer[] {
  return [b.images, b.imageMask, b.state, b.stateMask, b.actions, b.actionMask, b.actionIsPad, b.stateDim, b.actionDim, b.datasetIndex, b.episodeIndex, b.frameIndex]
    .map((a) => a.buffer as ArrayBuffer);
}

const port = parentPort!;
let pipeline: DataPipeline | undefined;
/** Requests run one at a time, in arrival order (video decoders are not shared between concurrent reads). */
let queue: Promise<void> = Promise.resolve();
port.on("message", (msg: WorkerRequest) => {
  queue = queue.then(() => handle(msg));
});

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    if (msg.type === "init") {
      const warnings: string[] = [];
      pipeline = await DataPipeline.open(msg.spec, (w) => warnings.push(w.message), msg.cache);
      const reply: WorkerReply = { type: "ready", frames: pipeline.datasets.map((d) => d.numFrames), names: pipeline.builders.map((b) => b.src.name), warnings };
      port.postMessage(reply);
    } else if (msg.type === "batch") {
      const batch = await pipeline!.batchOf(msg.draws);
      const reply: WorkerReply = { type: "batch", id: msg.id, batch };
      port.postMessage(reply, transferables(batch));
    } else {
      await pipeline?.close();
      port.close();
    }
  } catch (e) {
    const err = e as Error;
    const reply: WorkerReply = { type: "error", id: msg.type === "batch" ? msg.id : -1, name: err.name, message: err.message };
    port.postMessage(reply);
  }
}
