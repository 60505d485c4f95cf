// Builds training samples from one dataset: windows, delta actions, normalisation, padding, letterboxed frames.
import { ConfigError } from "../tensor/errors.ts";
import type { FrameCache } from "./frame-cache.ts";
import { letterboxToChw } from "./image.ts";
import type { LeRobotDataset } from "./lerobot/dataset.ts";
import type { NormStats } from "./norm-stats.ts";
import { type ResolvedSource, concatFeatures } from "./source.ts";
import { type Normalizer, makeNormalizer, normalize, padRows, toDelta } from "./transforms.ts";
import type { ActionMode, Batch, NormMode, SampleLayout, TrainingSample } from "./types.ts";
import { chunkOffsets, windowRows } from "./window.ts";

export interface PipelineConfig {
  readonly layout: SampleLayout;
  readonly actionMode: ActionMode;
  readonly norm: NormMode;
  /** Bytes of the decoded-frame cache shared by all datasets and loader workers (default 512 MiB; 0 disables). */
  readonly frameCacheBytes?: number;
}

/** Turns rows of one dataset into TrainingSamples. Borrows the dataset (the caller closes it). */
export class SampleBuilder {
  /** The state and action normalisers (the policy server needs their inverses). */
  readonly stateNorm: Normalizer;
  readonly actionNorm: Normalizer;

  /**
   * `cache` holds letterboxed frames under ids idBase + slot * numFrames + row, so several builders (and
   * workers) can share one cache.
   */
  constructor(
    readonly ds: LeRobotDataset, readonly src: ResolvedSource, readonly cfg: PipelineConfig, stats: NormStats | undefined,
    private readonly cache: FrameCache, private readonly idBase = 0, readonly datasetIndex = 0,
  ) {
    const { layout } = cfg;
    if (src.stateDim > layout.maxStateDim || src.actionDim > layout.maxActionDim) {
      throw new ConfigError(`${src.name}: state ${src.stateDim} / action ${src.actionDim} dims exceed the model's ${layout.maxStateDim} / ${layout.maxActionDim}`, "select dims with stateKeys / actionKeys, e.g. \"observation.state[0:14]\" or a modality part \"state.left_arm\"");
    }
    if (cfg.norm !== "none" && !stats) {
      throw new ConfigError(`${src.name}: normalisation "${cfg.norm}" needs stats for robot_type "${src.robotType}"`, `compute them: internvla stats ${ds.root} --action-mode ${cfg.actionMode}`);
    }
    const empty = { min: [], max: [], mean: [], std: [], count: 0 };
    this.stateNorm = makeNormalizer(stats?.state ?? empty, cfg.norm, src.stateDim, `${src.name} state stats`);
    this.actionNorm = makeNormalizer(stats?.action ?? empty, cfg.norm, src.actionDim, `${src.name} ${cfg.actionMode} action stats`);
  }

  /** The state [stateDim] and action chunk [chunk * actionDim] after delta and normalisation, unpadded. */
  vectors(row: number): { state: Float32Array; actions: Float32Array; actionIsPad: Uint8Array } {
    const ep = this.ds.episodes[this.ds.episodeOf(row)];
    const win = windowRows(ep.start, ep.end, row, chunkOffsets(this.cfg.layout.chunk));
    const state = concatFeatures(this.ds, this.src.state, [row]);
    let actions = concatFeatures(this.ds, this.src.action, win.rows);
    if (this.cfg.actionMode === "delta") actions = toDelta(actions, this.src.actionDim, state, this.src.deltaMask);
    return { state: normalize(state, this.stateNorm), actions: normalize(actions, this.actionNorm), actionIsPad: win.isPad };
  }

  /**
   * Letterboxed frames [V, F, 3, H, W] (missing cameras all 255) and the camera mask [V] for several rows. All
   * frames a camera needs are decoded in one sorted pass per video file, which is what makes batches fast.
   */
  async images(rows: readonly number[]): Promise<{ images: Uint8Array; imageMask: Uint8Array }[]> {
    const { views, frameOffsets, imageSize: S } = this.cfg.layout;
    const frameSize = 3 * S * S;
    const eps = rows.map((r) => this.ds.episodes[this.ds.episodeOf(r)]);
    const wins = rows.map((r, i) => windowRows(eps[i].start, eps[i].end, r, frameOffsets).rows);
    const out = rows.map(() => ({ images: new Uint8Array(views * frameOffsets.length * frameSize).fill(255), imageMask: new Uint8Array(views) }));
    for (let v = 0; v < views; v++) {
      const cam = this.src.cameras[v];
      if (!cam) continue;
      const users = rows.map((_, i) => i).filter((i) => this.ds.hasCamera(cam, eps[i].index));
      const id = (r: number) => this.idBase + v * this.ds.numFrames + r;
      const local = new Map<number, Uint8Array>();
      const need: number[] = [];
      for (const r of new Set(users.flatMap((i) => Array.from(wins[i])))) {
        const buf = new Uint8Array(frameSize);
        if (this.cache.read(id(r), buf, 0)) local.set(r, buf);
        else need.push(r);
      }
      if (need.length > 0) {
        const frames = await this.ds.frames(cam, need);
        need.forEach((r, k) => {
          const chw = new Uint8Array(frameSize);
          letterboxToChw(frames[k], S, S, chw);
          local.set(r, chw);
          this.cache.write(id(r), chw);
        });
      }
      for (const i of users) {
        out[i].imageMask[v] = 1;
        wins[i].forEach((r, f) => out[i].images.set(local.get(r)!, (v * frameOffsets.length + f) * frameSize));
      }
    }
    return out;
  }

  /** Full samples for rows (frames fetched together). */
  async samples(rows: readonly number[]): Promise<TrainingSample[]> {
    const { layout } = this.cfg;
    const imgs = await this.images(rows);
    return rows.map((row, i) => {
      const v = this.vectors(row);
      return {
        ...imgs[i],
        state: padRows(v.state, this.src.stateDim, layout.maxStateDim, `${this.src.name} state`),
        actions: padRows(v.actions, this.src.actionDim, layout.maxActionDim, `${this.src.name} action`),
        stateDim: this.src.stateDim,
        actionDim: this.src.actionDim,
        actionIsPad: v.actionIsPad,
        task: this.ds.taskOf(row),
        robotType: this.src.robotType,
        datasetIndex: this.datasetIndex,
        episodeIndex: this.ds.episodes[this.ds.episodeOf(row)].index,
        frameIndex: this.ds.frameIndexOf(row),
      };
    });
  }

  /** The full sample for one row. */
  async sample(row: number): Promise<TrainingSample> {
    return (await this.samples([row]))[0];
  }
}

/** Stacks samples (of one layout) into a batch, with per-dim masks for the padded state and action. */
export function collate(samples: readonly TrainingSample[], layout: SampleLayout): Batch {
  const B = samples.length;
  const { maxStateDim: DS, maxActionDim: DA, chunk: C, views: V } = layout;
  const imgSize = samples[0]?.images.length ?? 0;
  const batch: Batch = {
    size: B, layout,
    images: new Uint8Array(B * imgSize), imageMask: new Uint8Array(B * V),
    state: new Float32Array(B * DS), stateMask: new Uint8Array(B * DS),
    actions: new Float32Array(B * C * DA), actionMask: new Uint8Array(B * DA), actionIsPad: new Uint8Array(B * C),
    stateDim: new Int32Array(B), actionDim: new Int32Array(B),
    tasks: samples.map((s) => s.task), robotTypes: samples.map((s) => s.robotType),
    datasetIndex: new Int32Array(B), episodeIndex: new Int32Array(B), frameIndex: new Int32Array(B),
  };
  samples.forEach((s, b) => {
    batch.images.set(s.images, b * imgSize);
    batch.imageMask.set(s.imageMask, b * V);
    batch.state.set(s.state, b * DS);
    batch.stateMask.fill(1, b * DS, b * DS + s.stateDim);
    batch.actions.set(s.actions, b * C * DA);
    batch.actionMask.fill(1, b * DA, b * DA + s.actionDim);
    batch.actionIsPad.set(s.actionIsPad, b * C);
    batch.stateDim[b] = s.stateDim;
    batch.actionDim[b] = s.actionDim;
    batch.datasetIndex[b] = s.datasetIndex;
    batch.episodeIndex[b] = s.episodeIndex;
    batch.frameIndex[b] = s.frameIndex;
  });
  return batch;
}
