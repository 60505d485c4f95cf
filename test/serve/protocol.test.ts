// Wire dicts -> PolicyObservation for each documented input format, and the errors bad observations get.
import { describe, expect, it } from "vitest";
import { type WireMap, ProtocolError, decodeMsgpackNumpy, encodeMsgpackNumpy, ndarray } from "../../src/serve/msgpack-numpy.ts";
import {
  detectFormat, observationToWire, parseObservation, resultToWire, wireToResult,
} from "../../src/serve/protocol.ts";
import { actionChunk, greyImage } from "../../src/serve/policy.ts";

const img = (h: number, w: number, fill = 7) => ndarray(new Uint8Array(h * w * 3).fill(fill), [h, w, 3]);
const auto = { format: "auto" as const };

describe("input formats", () => {
  it("libero: observation/image -> top, observation/wrist_image -> wrist, float64 state -> float32", () => {
    const obs = parseObservation(
      {
        "observation/image": img(4, 5),
        "observation/wrist_image": img(4, 5, 9),
        "observation/state": ndarray(new Float64Array([0.1, -2, 3]), [3]),
        prompt: "open the drawer",
        unused_key: 3,
      },
      auto,
    );
    expect(Object.keys(obs.images).sort()).toEqual(["top", "wrist"]);
    expect(obs.images.wrist).toMatchObject({ height: 4, width: 5 });
    expect(obs.images.wrist.data[0]).toBe(9);
    expect(Array.from(obs.state)).toEqual([0.1, -2, 3].map(Math.fround));
    expect(obs.prompt).toBe("open the drawer");
  });

  it("droid: joint and gripper positions are concatenated into the state", () => {
    const obs = parseObservation(
      {
        "observation/exterior_image_1_left": img(2, 2),
        "observation/joint_position": ndarray(new Float32Array([1, 2, 3, 4, 5, 6, 7]), [7]),
        "observation/gripper_position": ndarray(new Float32Array([0.5]), [1]),
        prompt: "p",
      },
      auto,
    );
    expect(Array.from(obs.state)).toEqual([1, 2, 3, 4, 5, 6, 7, 0.5]);
    expect(Object.keys(obs.images)).toEqual(["top"]);
  });

  it("lerobot keys, with `task` as the prompt", () => {
    const obs = parseObservation(
      { "observation.images.top": img(2, 3), "observation.images.wrist": img(2, 3), "observation.state": [1, 2], task: "t" },
      auto,
    );
    expect(Object.keys(obs.images).sort()).toEqual(["top", "wrist"]);
    expect(obs.prompt).toBe("t");
  });

  it("internvla nested dicts with ALOHA aliases and channel-first images transposed to HWC", () => {
    const chw = new Uint8Array(3 * 2 * 4).map((_, i) => i); // [3, 2, 4]: channel c holds c*8 .. c*8+7
    const obs = parseObservation(
      { images: { cam_high: ndarray(chw, [3, 2, 4]), cam_left_wrist: img(2, 4) }, state: ndarray(new Float32Array(14), [14]), prompt: "fold", step: 4 },
      auto,
    );
    expect(Object.keys(obs.images).sort()).toEqual(["left_wrist", "top"]);
    expect(obs.images.top).toMatchObject({ height: 2, width: 4 });
    expect(Array.from(obs.images.top.data.subarray(0, 6))).toEqual([0, 8, 16, 1, 9, 17]); // pixel (0,0) then (0,1)
    expect(obs.step).toBe(4);
  });

  it("RemotePolicy's own encoding (observationToWire) parses back to the same observation", () => {
    const obs = {
      images: { top: greyImage(3, 4), wrist: greyImage(3, 4) },
      pastImages: { top: greyImage(3, 4) },
      state: new Float32Array([1, 2, 3]),
      prompt: "stack",
      step: 9,
      rtc: { prevActions: new Float32Array([1, 2, 3, 4]), prevCount: 2, inferenceDelay: 1 },
    };
    const back = parseObservation(decodeMsgpackNumpy(encodeMsgpackNumpy(observationToWire(obs))), auto);
    expect(back).toEqual(obs);
  });

  it("replies: actions [horizon, dim] with openpi timing keys, read back by wireToResult", () => {
    const r = { actions: actionChunk(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3), policyTiming: { infer_ms: 3 }, serverTiming: { infer_ms: 4, prev_total_ms: 9 } };
    const wire = decodeMsgpackNumpy(encodeMsgpackNumpy(resultToWire(r))) as WireMap;
    expect(wire.actions).toMatchObject({ dtype: "float32", shape: [2, 3] });
    expect(wireToResult(wire)).toEqual(r);
  });
});

describe("bad observations", () => {
  const good: WireMap = { "observation/image": img(4, 4), "observation/state": [1, 2], prompt: "p" };
  const cases: [string, WireMap | null, RegExp][] = [
    ["not a map", null, /expected a map of named inputs, got nil/],
    ["unknown keys", { foo: 1, bar: img(2, 2) }, /cannot tell the input format.*libero \(observation\/image/],
    ["missing state", { "observation/image": img(2, 2), prompt: "p" }, /missing "observation\/state".*got keys \[observation\/image, prompt\]/],
    ["float image", { ...good, "observation/image": ndarray(new Float32Array(12), [2, 2, 3]) }, /expected dtype uint8.*got float32/],
    ["image shape", { ...good, "observation/image": ndarray(new Uint8Array(8), [2, 4]) }, /expected shape \[H, W, 3\] or \[3, H, W\], got \[2, 4\]/],
    ["NaN state", { ...good, "observation/state": ndarray(new Float32Array([0, NaN]), [2]) }, /element 1 is NaN/],
    ["Inf state", { ...good, "observation/state": [1, Infinity] }, /element 1 is Infinity/],
    ["2-D state", { ...good, "observation/state": ndarray(new Float32Array(4), [2, 2]) }, /expected a 1-D array, got shape \[2, 2\]/],
    ["string state", { ...good, "observation/state": "1,2" }, /expected a 1-D numeric array, got string/],
    ["prompt not text", { ...good, prompt: 5 }, /prompt \(libero\): expected the instruction as a string, got number/],
    ["negative step", { ...good, step: -1 }, /step: expected a non-negative integer/],
    ["rtc delay too big", { images: { top: img(2, 2) }, state: [1], prompt: "p", rtc: { prev_actions: ndarray(new Float32Array(4), [2, 2]), inference_delay: 3 } }, /inference_delay: expected an integer in \[0, 2\]/],
  ];
  for (const [name, wire, re] of cases) {
    it(name, () => {
      expect(() => parseObservation(wire, auto)).toThrow(ProtocolError);
      expect(() => parseObservation(wire, auto)).toThrow(re);
    });
  }
  it("a forced format reports its own keys", () => {
    expect(() => parseObservation({ state: [1], images: { top: img(2, 2) }, prompt: "p" }, { format: "lerobot" })).toThrow(
      /observation \(lerobot\): missing "observation.state"/,
    );
  });
  it("a default prompt fills a missing one", () => {
    expect(parseObservation({ "observation/image": img(2, 2), "observation/state": [1] }, { format: "auto", defaultPrompt: "d" }).prompt).toBe("d");
  });
  it("detectFormat recognises each layout", () => {
    expect(detectFormat(["observation/image"])).toBe("libero");
    expect(detectFormat(["observation/exterior_image_1_left"])).toBe("droid");
    expect(detectFormat(["observation.state"])).toBe("lerobot");
    expect(detectFormat(["images/top", "state"])).toBe("internvla");
  });
});
