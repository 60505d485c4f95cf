// Builds training samples from one dataset: windows, delta actions, normalisation, padding, letterboxed frames.
import { ConfigError } from "../tensor/errors.ts";
import type { FrameCache } from "./frame-cache.ts";
import { letterboxBox, letterboxToChw } from "./image.ts";
import type { LeRobotDataset } from "./lerobot/dataset.ts";
import type { DecodedFrame } from "./lerobot/video.ts";
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
    const bytes = views * frameOffsets.length * 3 * S * S;
    const out = rows.map(() => ({ images: new Uint8Array(bytes), imageMask: new Uint8Array(views) }));
    await this.writeImages(rows, out.map((o) => ({ images: o.images, imageMask: o.imageMask })));
    return out;
  }

  /**
   * Writes row i's letterboxed frames [V, F, 3, H, W] and camera mask [V] into `into[i]` (views of a batch or
   * sample buffers). Each distinct frame is decoded (or read from the cache) once, straight into its first place,
   * and copied to its other places.
   */
  async writeImages(rows: readonly number[], into: readonly ImagePlace[]): Promise<void> {
    const { views, frameOffsets, imageSize: S } = this.cfg.layout;
    const frameSize = 3 * S * S;
    const F = frameOffsets.length;
    const eps = rows.map((r) => this.ds.episodes[this.ds.episodeOf(r)]);
    const wins = rows.map((r, i) => windowRows(eps[i].start, eps[i].end, r, frameOffsets).rows);
    for (let v = 0; v < views; v++) {
      const cam = this.src.cameras[v];
      const users = cam ? rows.map((_, i) => i).filter((i) => this.ds.hasCamera(cam, eps[i].index)) : [];
      for (let i = 0; i < rows.length; i++) {
        into[i].imageMask[v] = users.includes(i) ? 1 : 0;
        if (!users.includes(i)) into[i].images.fill(255, v * F * frameSize, (v + 1) * F * frameSize);
      }
      if (!cam || users.length === 0) continue;
      // Where each distinct row's frame goes: its first place is written, the others copy from it.
      const places = new Map<number, { buf: Uint8Array; at: number }[]>();
      for (const i of users) wins[i].forEach((r, f) => places.set(r, [...(places.get(r) ?? []), { buf: into[i].images, at: (v * F + f) * frameSize }]));
      const id = (r: number) => this.idBase + v * this.ds.numFrames + r;
      const need = [...places.keys()].filter((r) => !this.cache.read(id(r), places.get(r)![0].buf, places.get(r)![0].at));
      if (need.length > 0) {
        const frames = await this.ds.frames(cam, need);
        need.forEach((r, k) => {
          const first = places.get(r)![0];
          const dst = first.buf.subarray(first.at, first.at + frameSize);
          toChw(frames[k], S, dst);
          this.cache.write(id(r), dst);
        });
      }
      for (const [, [first, ...rest]] of places) {
        for (const p of rest) p.buf.set(first.buf.subarray(first.at, first.at + frameSize), p.at);
      }
    }
  }

  /** Everything of a row's sample but its images: vectors (delta, normalised, padded), masks and ids. */
  rowSample(row: number): Omit<TrainingSample, "images" | "imageMask"> {
    const { layout } = this.cfg;
    const v = this.vectors(row);
    return {
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
  }

  /** Full samples for rows (frames fetched together). */
  async samples(rows: readonly number[]): Promise<TrainingSample[]> {
    const imgs = await this.images(rows);
    return rows.map((row, i) => ({ ...imgs[i], ...this.rowSample(row) }));
  }

  /** The full sample for one row. */
  async sample(row: number): Promise<TrainingSample> {
    return (await this.samples([row]))[0];
  }
}

/**
 * Letterboxes a frame into [3, S, S]. A channel-first frame that needs no resizing is copied into place row by
 * row; anything else goes through letterboxToChw (PIL-style bilinear resize of the packed RGB).
 */
export function toChw(frame: DecodedFrame, S: number, out: Uint8Array): void {
  const { width: w, height: h, chw } = frame;
  const box = letterboxBox(w, h, S, S);
  if (!chw || box.rw !== w || box.rh !== h) {
    letterboxToChw(frame, S, S, out);
    return;
  }
  if (w === S && h === S) {
    out.set(chw.subarray(0, 3 * S * S));
    return;
  }
  out.fill(0, 0, 3 * S * S);
  for (let c = 0; c < 3; c++) {
    for (let j = 0; j < h; j++) out.set(chw.subarray((c * h + j) * w, (c * h + j + 1) * w), (c * S + box.y0 + j) * S + box.x0);
  }
}

/** Where one row's images go: [V, F, 3, H, W] frames and the [V] camera mask (views into larger buffers). */
export interface ImagePlace {
  readonly images: Uint8Array;
  readonly imageMask: Uint8Array;
}

/** A batch of B samples with every array allocated (zeros) and the per-sample fields still empty. */
export function allocBatch(B: number, layout: SampleLayout): Batch {
  const { maxStateDim: DS, maxActionDim: DA, chunk: C, views: V, frameOffsets, imageSize: S } = layout;
  return {
    size: B, layout,
    images: new Uint8Array(B * V * frameOffsets.length * 3 * S * S), imageMask: new Uint8Array(B * V),
    state: new Float32Array(B * DS), stateMask: new Uint8Array(B * DS),
    actions: new Float32Array(B * C * DA), actionMask: new Uint8Array(B * DA), actionIsPad: new Uint8Array(B * C),
    stateDim: new Int32Array(B), actionDim: new Int32Array(B),
    tasks: new Array<string>(B).fill(""), robotTypes: new Array<string>(B).fill(""),
    datasetIndex: new Int32Array(B), episodeIndex: new Int32Array(B), frameIndex: new Int32Array(B),
  };
}

/** Sample b's images and camera mask inside a batch. */
export function batchImagePlace(batch: Batch, b: number): ImagePlace {
  const V = batch.layout.views;
  const bytes = batch.images.length / batch.size;
  return { images: batch.images.subarray(b * bytes, (b + 1) * bytes), imageMask: batch.imageMask.subarray(b * V, (b + 1) * V) };
}

/** Writes a sample's vectors, masks and ids at position b of a batch (its images are written separately). */
export function putRow(batch: Batch, b: number, s: Omit<TrainingSample, "images" | "imageMask">): void {
  const { maxStateDim: DS, maxActionDim: DA, chunk: C } = batch.layout;
  batch.state.set(s.state, b * DS);
  batch.stateMask.fill(1, b * DS, b * DS + s.stateDim);
  batch.actions.set(s.actions, b * C * DA);
  batch.actionMask.fill(1, b * DA, b * DA + s.actionDim);
  batch.actionIsPad.set(s.actionIsPad, b * C);
  batch.stateDim[b] = s.stateDim;
  batch.actionDim[b] = s.actionDim;
  (batch.tasks as string[])[b] = s.task;
  (batch.robotTypes as string[])[b] = s.robotType;
  batch.datasetIndex[b] = s.datasetIndex;
  batch.episodeIndex[b] = s.episodeIndex;
  batch.frameIndex[b] = s.frameIndex;
}

/** Stacks samples (of one layout) into a batch, with per-dim masks for the padded state and action. */
export function collate(samples: readonly TrainingSample[], layout: SampleLayout): Batch {
  const batch = allocBatch(samples.length, layout);
  samples.forEach((s, b) => {
    const place = batchImagePlace(batch, b);
    place.images.set(s.images);
    place.imageMask.set(s.imageMask);
    putRow(batch, b, s);
  });
  return batch;
}
