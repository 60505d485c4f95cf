// The training data pipeline: datasets of a mixture, each with its sample builder, stats and the sampler.
import { ConfigError } from "../tensor/errors.ts";
import type { WarnFn } from "./errors.ts";
import { FrameCache, type FrameCacheHandle } from "./frame-cache.ts";
import { LeRobotDataset } from "./lerobot/dataset.ts";
import type { StatsMap } from "./lerobot/stats-json.ts";
import { type NormStats, normStatsFrom } from "./norm-stats.ts";
import { type MixtureConfig, type MixtureGroup, MixtureSampler } from "./sampler.ts";
import { type PipelineConfig, SampleBuilder, allocBatch, batchImagePlace, putRow } from "./sample.ts";
import { type FeatureSlice, type SourceConfig, resolveSource } from "./source.ts";
import type { Batch, TrainingSample } from "./types.ts";

/** The default decoded-frame cache: 512 MiB (about 3,500 letterboxed 224 px frames). */
export const DEFAULT_CACHE_BYTES = 512 * 2 ** 20;

/** A group of the data pyramid: the mixture group's weight and gamma, with dataset sources instead of sizes. */
export interface PipelineGroup extends Omit<MixtureGroup, "datasets"> {
  readonly sources: readonly SourceConfig[];
}

/** Everything needed to rebuild the pipeline anywhere (it is sent to loader workers as JSON). */
export interface PipelineSpec {
  readonly groups: readonly PipelineGroup[];
  readonly seed: number;
  readonly config: PipelineConfig;
  /** Per robot_type, per-feature stats (absolute or delta to match config.actionMode). */
  readonly stats?: Readonly<Record<string, StatsMap>>;
  readonly toleranceS?: number;
}

/** Opens every dataset of a spec and serves samples and batches. A resource: call close(). */
export class DataPipeline {
  private constructor(
    readonly spec: PipelineSpec,
    readonly datasets: readonly LeRobotDataset[],
    readonly builders: readonly SampleBuilder[],
    readonly sampler: MixtureSampler,
  ) {}

  /** Opens every dataset; `cache` lets loader workers share one decoded-frame cache (else a private one). */
  static async open(spec: PipelineSpec, warn?: WarnFn, cache?: FrameCacheHandle): Promise<DataPipeline> {
    const sources = spec.groups.flatMap((g) => g.sources);
    if (sources.length === 0) throw new ConfigError("data pipeline: no datasets; add sources to a group");
    const datasets: LeRobotDataset[] = [];
    try {
      for (const s of sources) datasets.push(await LeRobotDataset.open(s.root, { warn, toleranceS: spec.toleranceS }));
      const { views, imageSize } = spec.config.layout;
      const frames = cache ? FrameCache.attach(cache) : FrameCache.create(spec.config.frameCacheBytes ?? DEFAULT_CACHE_BYTES, 3 * imageSize * imageSize);
      let idBase = 0;
      const builders = sources.map((s, i) => {
        const src = resolveSource(s, datasets[i], views);
        const b = new SampleBuilder(datasets[i], src, spec.config, statsFor(spec, src.robotType, src.state, src.action), frames, idBase, i);
        idBase += views * datasets[i].numFrames;
        return b;
      });
      let k = 0;
      const mixture: MixtureConfig = {
        seed: spec.seed,
        groups: spec.groups.map((g) => ({
          name: g.name, weight: g.weight, gamma: g.gamma,
          datasets: g.sources.map(() => ({ name: builders[k].src.name, frames: datasets[k++].numFrames })),
        })),
      };
      return new DataPipeline(spec, datasets, builders, new MixtureSampler(mixture));
    } catch (e) {
      for (const d of datasets) await d.close();
      throw e;
    }
  }

  /** One sample of dataset `dataset` at its frame (row) `frame`. */
  sample(dataset: number, frame: number): Promise<TrainingSample> {
    return this.builders[dataset].sample(frame);
  }

  /**
   * Builds a batch for given draws (in order); each dataset's frames are fetched together and written straight
   * into the batch.
   */
  async batchOf(draws: readonly { dataset: number; frame: number }[]): Promise<Batch> {
    const batch = allocBatch(draws.length, this.spec.config.layout);
    for (let d = 0; d < this.builders.length; d++) {
      const idx = draws.map((x, i) => (x.dataset === d ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) continue;
      const rows = idx.map((i) => draws[i].frame);
      await this.builders[d].writeImages(rows, idx.map((i) => batchImagePlace(batch, i)));
      idx.forEach((i, k) => putRow(batch, i, this.builders[d].rowSample(rows[k])));
    }
    return batch;
  }

  /** Draws `size` samples from the mixture and batches them (single-threaded; see Loader for workers). */
  batch(size: number): Promise<Batch> {
    return this.batchOf(Array.from({ length: size }, () => this.sampler.next()));
  }

  async close(): Promise<void> {
    for (const d of this.datasets) await d.close();
  }
}

function statsFor(spec: PipelineSpec, robot: string, state: readonly FeatureSlice[], action: readonly FeatureSlice[]): NormStats | undefined {
  if (spec.config.norm === "none") return undefined;
  const s = spec.stats?.[robot];
  if (!s) return undefined;
  return normStatsFrom(s, state, action, `stats for robot_type "${robot}"`);
}
