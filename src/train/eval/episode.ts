// One closed-loop episode: ask the policy for a chunk, execute its first n actions, replan; record video and foresight.
import { ShapeError } from "../../tensor/errors.ts";
import { type Environment, type Observation } from "../../sim/index.ts";
import { encodeGif, montage } from "../../sim/render/image.ts";
import { type CameraImage, type Policy, type PolicyObservation, actionAt } from "../../serve/policy.ts";

/**
 * The model's imagined future for an observation (frames t-gap and t given): frame t+gap per camera, decoded
 * from the foresight latent by the tokenizer decoder. Cameras the model cannot imagine are left out.
 */
export type ForesightFn = (obs: PolicyObservation) => Promise<Readonly<Record<string, CameraImage>>>;

/** One imagined frame next to what the camera really saw `gap` steps later (absent if the episode ended first). */
export interface ForesightPair {
  readonly step: number;
  readonly camera: string;
  readonly now: CameraImage;
  readonly imagined: CameraImage;
  readonly real?: CameraImage;
}

export interface EpisodeOptions {
  /** Actions executed from each chunk before replanning (RoboTwin: 30 of 50). */
  readonly nActionSteps: number;
  /** Frame t-gap goes with frame t (official: 15 control steps). */
  readonly frameGap: number;
  /** Keep every k-th frame for the episode's GIF (0 = no video). */
  readonly videoEvery: number;
  readonly foresight?: ForesightFn;
  /** Imagined frames per episode, at the first inferences from step `frameGap` on. */
  readonly foresightPerEpisode: number;
}

export interface EpisodeResult {
  readonly seed: number;
  readonly instruction: string;
  readonly success: boolean;
  /** Control steps executed. */
  readonly steps: number;
  /** Milliseconds of each policy call (round trip for a remote policy). */
  readonly inferMs: readonly number[];
  /** Animated GIF of all cameras side by side (when videoEvery > 0). */
  readonly video?: Uint8Array;
  readonly foresight: readonly ForesightPair[];
}

/** Camera frames of the last `gap + 1` steps, to hand the policy frame t-gap (the first frame before that). */
function frameRing(gap: number) {
  const frames: { step: number; images: Record<string, Uint8Array> }[] = [];
  return {
    add(step: number, images: Record<string, Uint8Array>): void {
      frames.push({ step, images });
      while (frames.length > 1 && frames[1].step <= step - gap) frames.shift();
    },
    /** The newest frame at or before step - gap, else the episode's first (LeRobot clamps at the start). */
    past(step: number): Record<string, Uint8Array> {
      let pick = frames[0];
      for (const f of frames) if (f.step <= step - gap) pick = f;
      return pick.images;
    },
  };
}

function toCameras(images: Record<string, Uint8Array>, env: Environment): Record<string, CameraImage> {
  return Object.fromEntries(Object.entries(images).map(([cam, data]) => [cam, { data, height: env.height, width: env.width }]));
}

/** What the policy gets at `step`: frames t and t-gap, state, instruction and the step index. */
function policyObservation(env: Environment, obs: Observation, step: number, past: Record<string, Uint8Array>): PolicyObservation {
  return { images: toCameras(obs.images, env), pastImages: toCameras(past, env), state: obs.state, prompt: obs.instruction, step };
}

/** Collects the GIF frames and the t+gap frames the foresight pairs are waiting for. */
function recorder(env: Environment, opts: EpisodeOptions) {
  const gif: Uint8Array[] = [];
  const pending: { step: number; camera: string; now: CameraImage; imagined: CameraImage; real?: CameraImage }[] = [];
  return {
    pending,
    frame(step: number, obs: Observation): void {
      if (opts.videoEvery > 0 && step % opts.videoEvery === 0) {
        gif.push(montage(env.cameras.map((c) => ({ rgb: obs.images[c], width: env.width, height: env.height }))).rgb);
      }
      for (const p of pending) if (p.real === undefined && p.step + opts.frameGap === step) p.real = toCameras({ [p.camera]: obs.images[p.camera] }, env)[p.camera];
    },
    video(): Uint8Array | undefined {
      if (gif.length === 0) return undefined;
      const width = env.cameras.length * env.width + 2 * (env.cameras.length - 1);
      return encodeGif(gif, width, env.height, env.instance.scene.controlHz / opts.videoEvery);
    },
  };
}

/**
 * Runs one episode of `env` from scene `seed` with `policy` (reset first): each reply's first
 * min(nActionSteps, horizon) actions are executed, then the policy sees the new observation.
 */
export async function runPolicyEpisode(env: Environment, policy: Policy, seed: number, opts: EpisodeOptions): Promise<EpisodeResult> {
  await policy.reset();
  let obs = env.reset(seed);
  const ring = frameRing(opts.frameGap);
  const rec = recorder(env, opts);
  const inferMs: number[] = [];
  const dim = env.actionNames.length;
  let step = 0;
  let imagined = 0;
  ring.add(0, obs.images);
  rec.frame(0, obs);
  for (;;) {
    const pobs = policyObservation(env, obs, step, ring.past(step));
    const t0 = performance.now();
    const { actions } = await policy.infer(pobs);
    inferMs.push(performance.now() - t0);
    if (actions.dim !== dim || actions.horizon < 1) {
      throw new ShapeError(`eval ${env.config.task}: the policy returned actions [${actions.horizon}, ${actions.dim}]; the ${env.robot.name} robot needs [>= 1, ${dim}] (${env.actionNames.join(", ")})`);
    }
    if (opts.foresight && step >= opts.frameGap && imagined++ < opts.foresightPerEpisode) {
      for (const [camera, image] of Object.entries(await opts.foresight(pobs))) rec.pending.push({ step, camera, now: pobs.images[camera], imagined: image });
    }
    const n = Math.min(opts.nActionSteps, actions.horizon);
    for (let i = 0; i < n; i++) {
      const r = env.step(actionAt(actions, i));
      step++;
      obs = r.observation;
      ring.add(step, obs.images);
      rec.frame(step, obs);
      if (r.done) {
        return { seed, instruction: obs.instruction, success: r.success, steps: step, inferMs, video: rec.video(), foresight: rec.pending };
      }
    }
  }
}
