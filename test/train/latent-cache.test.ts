// The latent cache against the frozen tiny Cosmos encoder itself: same latents, each distinct frame encoded once.
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../src/tensor/index.ts";
import { type HostTensor } from "../../src/tensor/compile/index.ts";
import { presetConfig } from "../../src/model/config.ts";
import { type FnRunner, fnRunner } from "../../src/train/engine.ts";
import { cachedEncoder } from "../../src/train/latent-cache.ts";
import { initialWeights } from "../../src/train/setup.ts";
import { encodeStep } from "../../src/train/step.ts";
import { type Tensor } from "../../src/tensor/index.ts";

const cfg = presetConfig("tiny");
const S = cfg.vision_config.image_size;
const frame = 3 * S * S;

/** n frames [n, 3, S, S]: distinct random ones, then `repeats` copies of frame 0 and one all-ones (missing camera) frame. */
function stack(distinct: number, repeats: number, seed: number): HostTensor {
  const n = distinct + repeats + 1;
  const data = new Float32Array(n * frame).fill(1);
  for (let i = 0; i < distinct; i++) for (let j = 0; j < frame; j++) data[i * frame + j] = ((i * 7919 + j * 104729 + seed) % 997) / 996;
  for (let r = 0; r < repeats; r++) data.copyWithin((distinct + r) * frame, 0, frame);
  return { dtype: "float32", shape: [n, 3, S, S], data };
}

describe("cachedEncoder", () => {
  let encoder: FnRunner<Tensor, Tensor>;
  beforeAll(async () => {
    await initEngine();
    encoder = fnRunner("ort", encodeStep(cfg), (await initialWeights(cfg, 3, {})).cosmos);
  }, 120_000);

  it("returns exactly the encoder's latents, encoding each distinct frame once, and none on a repeat", async () => {
    const frames = stack(5, 3, 1); // 9 frames, 6 distinct
    const direct = (await encoder.run(frames)) as HostTensor;
    const cache = cachedEncoder((f) => encoder.run(f) as Promise<HostTensor>, { chunk: 4, maxBytes: 2 ** 30 });
    const first = await cache.run(frames);
    expect(first.shape).toEqual(direct.shape);
    expect(Array.from(first.data as Float32Array)).toEqual(Array.from(direct.data as Float32Array));
    expect(cache.stats()).toMatchObject({ frames: 9, encoded: 6 });
    const again = await cache.run(frames);
    expect(Array.from(again.data as Float32Array)).toEqual(Array.from(direct.data as Float32Array));
    expect(cache.stats()).toMatchObject({ frames: 18, encoded: 6 });
  }, 120_000);

  it("keeps nothing beyond maxBytes but still returns every latent", async () => {
    const frames = stack(3, 0, 2);
    const direct = (await encoder.run(frames)) as HostTensor;
    const cache = cachedEncoder((f) => encoder.run(f) as Promise<HostTensor>, { chunk: 16, maxBytes: 0 });
    for (let i = 0; i < 2; i++) expect(Array.from((await cache.run(frames)).data as Float32Array)).toEqual(Array.from(direct.data as Float32Array));
    expect(cache.stats()).toEqual({ frames: 8, encoded: 8, bytes: 0 });
  }, 120_000);
});
