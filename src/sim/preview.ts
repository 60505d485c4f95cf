// Previews for people: one episode as an animated GIF of all cameras, PNG stills, depth and segmentation views.
import { runEpisode, type ScriptedPolicy } from "./episode.ts";
import { resolveImageSize, type EnvConfig } from "./env.ts";
import { loadMujoco } from "./mujoco.ts";
import { type Frame } from "./render/raster.ts";
import { encodeGif, encodePng, montage } from "./render/image.ts";
import { type RobotType } from "./robots/index.ts";
import { type Level, type Split } from "./scene/colours.ts";
import { getTask } from "./tasks/index.ts";

export interface RenderRequest {
  readonly task: string;
  readonly robot?: RobotType;
  readonly seed: number;
  readonly level?: Level;
  readonly split?: Split;
  readonly imageSize?: EnvConfig["imageSize"];
  readonly policy?: ScriptedPolicy;
  /** A PNG still every `every` steps (0 = none). */
  readonly every?: number;
  /** Add the top camera's depth and segmentation to each still. */
  readonly debugViews?: boolean;
}

export interface RenderResult {
  readonly instruction: string;
  readonly success: boolean;
  readonly steps: number;
  readonly gif: Uint8Array;
  readonly stills: readonly { step: number; png: Uint8Array }[];
}

/** Depth as grey (near = white), sky black; range taken from the finite values of the view. */
export function depthImage(frame: Frame): Uint8Array {
  const d = frame.depth!;
  let lo = Infinity;
  let hi = 0;
  for (const v of d) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const out = new Uint8Array(d.length * 3);
  d.forEach((v, i) => out.fill(Number.isFinite(v) ? Math.round(255 * (1 - (v - lo) / Math.max(hi - lo, 1e-6))) : 0, 3 * i, 3 * i + 3));
  return out;
}

/** Segmentation with a stable pseudo-colour per geom id, sky black. */
export function segmentationImage(frame: Frame): Uint8Array {
  const s = frame.segmentation!;
  const out = new Uint8Array(s.length * 3);
  s.forEach((id, i) => {
    if (id < 0) return;
    const h = Math.imul(id + 1, 0x9e3779b1) >>> 0;
    out.set([64 + (h & 0xbf), 64 + ((h >>> 8) & 0xbf), 64 + ((h >>> 16) & 0xbf)], 3 * i);
  });
  return out;
}

/** Runs one episode with every camera and returns the preview files' bytes. */
export async function renderEpisode(req: RenderRequest): Promise<RenderResult> {
  const mj = await loadMujoco();
  const { width, height } = resolveImageSize(req.imageSize, "render");
  const instance = getTask(req.task).generate(req.seed, req.level ?? "clean", { robot: req.robot, split: req.split });
  const cameras = instance.scene.robot.cameras;
  const every = req.every ?? 0;
  const extras = new Map<number, { rgb: Uint8Array; width: number; height: number }[]>();
  const record = runEpisode(mj, instance, {
    cameras, width, height, policy: req.policy,
    onStep: (world, t) => {
      if (!req.debugViews || every <= 0 || t % every !== 0) return;
      const f = world.render("top", width, height, { depth: true, segmentation: true });
      extras.set(t, [{ rgb: depthImage(f), width, height }, { rgb: segmentationImage(f), width, height }]);
    },
  });
  const views = (t: number) => montage([...cameras.map((c) => ({ rgb: record.frames[c][t], width, height })), ...(extras.get(t) ?? [])]);
  const frames = Array.from({ length: record.length }, (_, t) => montage(cameras.map((c) => ({ rgb: record.frames[c][t], width, height }))));
  const stills = every > 0
    ? Array.from({ length: Math.ceil(record.length / every) }, (_, k) => {
      const v = views(k * every);
      return { step: k * every, png: encodePng(v.rgb, v.width, v.height) };
    })
    : [];
  return {
    instruction: record.instruction, success: record.success, steps: record.length,
    gif: encodeGif(frames.map((f) => f.rgb), frames[0].width, frames[0].height, instance.scene.controlHz), stills,
  };
}
