// Batches from worker threads with prefetch: the main thread draws from the mixture, workers build batches.
import { Worker } from "node:worker_threads";
import { ConfigError } from "../tensor/errors.ts";
import { DatasetError } from "./errors.ts";
import { FrameCache, type FrameCacheHandle } from "./frame-cache.ts";
import { DEFAULT_CACHE_BYTES, DataPipeline, type PipelineSpec } from "./pipeline.ts";
import { type MixReport, MixtureSampler } from "./sampler.ts";
import type { Batch } from "./types.ts";
import type { WorkerReply, WorkerRequest } from "./loader-worker.ts";

export interface LoaderOptions {
  readonly batchSize: number;
  /** Worker threads; 0 builds batches on the calling thread. */
  readonly workers: number;
  /** Batches requested ahead of the one being consumed. */
  readonly prefetch: number;
  /** Draws to skip before the first batch: the position of a resumed run (default 0). */
  readonly skip?: number;
}

interface Pending {
  resolve(b: Batch): void;
  reject(e: Error): void;
}

/** Serves batches in a deterministic order for a seed. A resource: call close(). */
export class Loader {
  private readonly inflight: Promise<Batch>[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** In-thread mode: the batch being built; the next one starts after it (the decoders are not reentrant). */
  private localTail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly opts: LoaderOptions,
    private readonly sampler: MixtureSampler,
    private readonly workers: readonly Worker[],
    private readonly local: DataPipeline | undefined,
    /** Warnings the datasets raised while opening. */
    readonly warnings: readonly string[],
  ) {}

  static async create(spec: PipelineSpec, opts: LoaderOptions): Promise<Loader> {
    if (!(opts.batchSize >= 1) || !(opts.workers >= 0) || !(opts.prefetch >= 0)) {
      throw new ConfigError(`loader: batchSize >= 1, workers >= 0 and prefetch >= 0 are required; got ${JSON.stringify(opts)}`);
    }
    if (opts.workers === 0) {
      const warnings: string[] = [];
      const local = await DataPipeline.open(spec, (w) => warnings.push(w.message));
      skipDraws(local.sampler, opts.skip);
      return new Loader(opts, local.sampler, [], local, warnings).fill();
    }
    const workers = Array.from({ length: opts.workers }, () => new Worker(new URL("./loader-worker.mjs", import.meta.url)));
    try {
      const { imageSize } = spec.config.layout;
      const cache = FrameCache.create(spec.config.frameCacheBytes ?? DEFAULT_CACHE_BYTES, 3 * imageSize * imageSize).handle;
      const ready = await Promise.all(workers.map((w) => initWorker(w, spec, cache)));
      const { frames, names, warnings } = ready[0];
      let k = 0;
      const sampler = new MixtureSampler({
        seed: spec.seed,
        groups: spec.groups.map((g) => ({ name: g.name, weight: g.weight, gamma: g.gamma, datasets: g.sources.map(() => ({ name: names[k], frames: frames[k++] })) })),
      });
      skipDraws(sampler, opts.skip);
      const loader = new Loader(opts, sampler, workers, undefined, warnings);
      workers.forEach((w) => w.on("message", (m: WorkerReply) => loader.onReply(m)));
      return loader.fill();
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  private onReply(m: WorkerReply): void {
    if (m.type === "ready") return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === "batch") p.resolve(m.batch);
    else p.reject(new DatasetError(`loader worker: ${m.name}: ${m.message}`));
  }

  private request(): Promise<Batch> {
    const draws = Array.from({ length: this.opts.batchSize }, () => this.sampler.next());
    const local = this.local;
    if (local) {
      const batch = this.localTail.then(() => local.batchOf(draws));
      this.localTail = batch.catch(() => undefined);
      return batch;
    }
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length];
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { type: "batch", id, draws };
      worker.postMessage(msg);
    });
  }

  /** Keeps `prefetch` batches (at least one per worker) requested ahead. */
  private fill(): this {
    if (this.local) return this;
    const want = Math.max(this.opts.prefetch, this.workers.length);
    while (this.inflight.length < want) this.inflight.push(this.request());
    return this;
  }

  /** The next batch (in draw order). */
  async next(): Promise<Batch> {
    if (this.closed) throw new DatasetError("loader: next() after close()");
    if (this.local) return this.request();
    const b = this.inflight.shift()!;
    this.fill();
    return b;
  }

  /** The realised mixture over everything drawn so far (including prefetched batches). */
  report(): MixReport {
    return this.sampler.report();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.inflight);
    await this.local?.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function skipDraws(sampler: MixtureSampler, n = 0): void {
  for (let i = 0; i < n; i++) sampler.next();
}

function initWorker(w: Worker, spec: PipelineSpec, cache: FrameCacheHandle): Promise<{ frames: number[]; names: string[]; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerReply) => {
      w.off("message", onMessage);
      w.off("error", reject);
      if (m.type === "ready") resolve(m);
      else if (m.type === "error") reject(new DatasetError(`loader worker: ${m.name}: ${m.message}`));
    };
    w.on("message", onMessage);
    w.on("error", reject);
    const msg: WorkerRequest = { type: "init", spec, cache };
    w.postMessage(msg);
  });
}
