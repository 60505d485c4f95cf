// The model-backed policy's pre/post-processing around a stand-in network: frame history (t - gap, clamped to the
// episode start), camera slots and masks, state normalisation and padding, unnormalise + state on delta dims,
// horizon cut, gripper binarisation, RTC previous actions in model space. Expected values follow the documented
// rules of architecture.md §4 and §6 (x' = (x - mean) / (std + 1e-6); delta dims add the state back).
import { describe, expect, it } from "vitest";
import { type ActionModel, type ModelInputs, type ModelRtc, type RobotSpec, modelPolicy } from "../../src/serve/model-policy.ts";
import { type CameraImage, type PolicyObservation } from "../../src/serve/policy.ts";
import { ShapeError } from "../../src/tensor/errors.ts";

const S = 8;
const MAX = 8;
const CHUNK = 6;
const Z_ROW = [0.5, -1, 2, 9, 9, 9, 9, 9]; // the stand-in's normalised output for every row; dims 3.. are padding
const mean = [1, 2, 0.5];
const std = [0.5, 2, 0.25];
const stats = { state: { min: [], max: [], mean, std, count: 10 }, action: { min: [], max: [], mean, std, count: 10 } };
const spec: RobotSpec = {
  robotType: "test_arm",
  stateDim: 3,
  actionDim: 3,
  actionMode: "delta",
  deltaMask: [true, true, false],
  normMode: "mean_std",
  cameras: ["top", "wrist", null],
  inferHorizon: 4,
  binarizeGrippers: true,
  frameGap: 2,
};

function standIn(): ActionModel & { calls: { inputs: ModelInputs; seed: number; rtc?: ModelRtc }[] } {
  const calls: { inputs: ModelInputs; seed: number; rtc?: ModelRtc }[] = [];
  return {
    calls,
    views: 3,
    imageSize: S,
    chunk: CHUNK,
    maxStateDim: MAX,
    maxActionDim: MAX,
    async sample(inputs, seed, rtc) {
      calls.push({ inputs, seed, rtc });
      return Float32Array.from({ length: CHUNK * MAX }, (_, i) => Z_ROW[i % MAX]);
    },
    dispose() {},
  };
}

const frame = (fill: number, h = S, w = S): CameraImage => ({ data: new Uint8Array(h * w * 3).fill(fill), height: h, width: w });
const state = Float32Array.from([0.2, -0.4, 0.9]);
const obs = (fill: number, step?: number, extra: Partial<PolicyObservation> = {}): PolicyObservation => ({
  images: { top: frame(fill) },
  state,
  prompt: "pick",
  ...(step !== undefined ? { step } : {}),
  ...extra,
});
const plane = 3 * S * S;
/** The single value of slot v, frame f (0 = t - gap, 1 = t), or NaN when the plane is not uniform. */
function fillOf(images: Uint8Array, v: number, f: number): number {
  const p = images.subarray((v * 2 + f) * plane, (v * 2 + f + 1) * plane);
  return p.every((x) => x === p[0]) ? p[0] : NaN;
}

describe("model policy around a stand-in network", () => {
  it("normalises and pads the state, fills missing cameras with 255 and masks them", async () => {
    const model = standIn();
    const session = modelPolicy(model, spec, stats).session();
    await session.infer(obs(10, 0));
    const { inputs } = model.calls[0];
    const want = [0, 1, 2].map((j) => (state[j] - mean[j]) / (std[j] + 1e-6));
    expect(Array.from(inputs.state.subarray(0, 3))).toBeAllclose(want);
    expect(Array.from(inputs.state.subarray(3))).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(inputs.imageMask)).toEqual([1, 0, 0]);
    expect([fillOf(inputs.images, 1, 1), fillOf(inputs.images, 2, 0)]).toEqual([255, 255]);
    expect(inputs.prompt).toBe("pick");
  });

  it("returns inferHorizon rows: unnormalised, state added on delta dims, padding dropped, gripper binarised", async () => {
    const result = await modelPolicy(standIn(), spec, stats).session().infer(obs(10, 0));
    expect([result.actions.horizon, result.actions.dim]).toEqual([4, 3]);
    const row = [0, 1].map((j) => Z_ROW[j] * (std[j] + 1e-6) + mean[j] + state[j]);
    const gripper = Z_ROW[2] * (std[2] + 1e-6) + mean[2] > 0.5 ? 1 : 0;
    for (let k = 0; k < 4; k++) expect(Array.from(result.actions.data.subarray(3 * k, 3 * k + 3))).toBeAllclose([...row, gripper]);
  });

  it("feeds frame t - gap from the session's history, clamped to the first frame, per session", async () => {
    const model = standIn();
    const provider = modelPolicy(model, spec, stats);
    const a = provider.session();
    for (let s = 0; s < 5; s++) await a.infer(obs(10 + s, s));
    const pairs = model.calls.map((c) => [fillOf(c.inputs.images, 0, 0), fillOf(c.inputs.images, 0, 1)]);
    expect(pairs).toEqual([[10, 10], [10, 11], [10, 12], [11, 13], [12, 14]]);
    await provider.session().infer(obs(50, 7)); // a new client starts its own history
    expect(fillOf(model.calls[5].inputs.images, 0, 0)).toBe(50);
    await a.reset();
    await a.infer(obs(60, 0));
    expect(fillOf(model.calls[6].inputs.images, 0, 0)).toBe(60);
  });

  it("keeps the frame sparse requests still need (steps 0, 5, 12, 13: t - 2 at step 13 is the frame of step 5)", async () => {
    const model = standIn();
    const session = modelPolicy(model, spec, stats).session();
    for (const [fill, s] of [[30, 0], [35, 5], [42, 12], [43, 13]]) await session.infer(obs(fill, s));
    expect(model.calls.map((c) => fillOf(c.inputs.images, 0, 0))).toEqual([30, 30, 35, 35]);
  });

  it("without a step, assumes each reply was executed in full; past_images from the client win", async () => {
    const model = standIn();
    const session = modelPolicy(model, spec, stats).session();
    await session.infer(obs(20)); // step 0
    await session.infer(obs(21)); // step 4 -> past = step <= 2 -> step 0
    await session.infer(obs(22, undefined, { pastImages: { top: frame(99) } }));
    expect(model.calls.map((c) => fillOf(c.inputs.images, 0, 0))).toEqual([20, 20, 99]);
  });

  it("letterboxes a non-square frame into the model's square, centred with black bars", async () => {
    const model = standIn();
    await modelPolicy(model, spec, stats).session().infer({ ...obs(0, 0), images: { top: frame(200, 4, 8) } });
    const cur = model.calls[0].inputs.images.subarray(plane, plane + S * S); // slot 0, frame t, red channel
    const rows = Array.from({ length: S }, (_, y) => cur[y * S]);
    expect(rows).toEqual([0, 0, 200, 200, 200, 200, 0, 0]);
  });

  it("turns RTC previous actions (robot units) into model space: delta, normalised, padded", async () => {
    const model = standIn();
    const prevActions = Float32Array.from([1, 1, 1, 2, 2, 0]); // [2, 3]
    await modelPolicy(model, spec, stats).session().infer(obs(0, 0, { rtc: { prevActions, prevCount: 2, inferenceDelay: 1 } }));
    const rtc = model.calls[0].rtc!;
    expect([rtc.prevCount, rtc.inferenceDelay, rtc.prev.length]).toEqual([2, 1, 2 * MAX]);
    const want = [0, 1].flatMap((k) => [0, 1, 2].map((j) => (prevActions[3 * k + j] - (j < 2 ? state[j] : 0) - mean[j]) / (std[j] + 1e-6)));
    expect([...rtc.prev.subarray(0, 3), ...rtc.prev.subarray(MAX, MAX + 3)]).toBeAllclose(want);
  });

  it("gives each call of a session its own noise seed", async () => {
    const model = standIn();
    const session = modelPolicy(model, spec, stats, { seed: 5 }).session();
    await session.infer(obs(0, 0));
    await session.infer(obs(0, 1));
    expect(new Set(model.calls.map((c) => c.seed)).size).toBe(2);
  });

  it("refuses a wrong state size and a missing head camera, and inconsistent specs", async () => {
    const session = modelPolicy(standIn(), spec, stats).session();
    await expect(session.infer({ ...obs(0, 0), state: new Float32Array(5) })).rejects.toThrow(/state has 5 values; this robot's state has 3/);
    await expect(session.infer({ ...obs(0, 0), images: { wrist: frame(1) } })).rejects.toThrow(ShapeError);
    expect(() => modelPolicy(standIn(), { ...spec, cameras: ["top"] }, stats)).toThrow(/1 camera slots given, the model has 3/);
    expect(() => modelPolicy(standIn(), { ...spec, inferHorizon: 9 }, stats)).toThrow(/infer horizon must be in 1..6/);
  });
});
