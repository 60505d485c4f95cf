// `internvla parity` on the fixture folder: the written file matches the PyTorch reference (scripts/ref/model.py).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { withSafetensors } from "../../src/tensor/safetensors.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadFixture } from "../helpers/fixtures.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");

describe("internvla parity", () => {
  it("writes losses, v_t, sampled actions and gen_pred matching the reference", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "internvla-parity-"));
    const outPath = join(tmp, "out.safetensors");
    let out = "";
    let err = "";
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), interactive: false, env: {} };
    try {
      const code = await main(["parity", "--checkpoint", DIR, "--inputs", join(DIR, "in.safetensors"), "--out", outPath], io);
      expect(code, err).toBe(0);
      expect(out).toMatch(/^loss 3\.0255\d+ loss_action/);
      const ref = await loadFixture("model/parity/ref.safetensors", { script: "scripts/ref/model.py" });
      await withSafetensors(outPath, async (r) => {
        expect(r.names().sort()).toEqual(["actions_sampled", "gen_pred", "loss", "loss_action", "loss_gen", "v_t"]);
        for (const name of r.names()) {
          expect(r.info(name).shape.reduce((a, b) => a * b, 1)).toBe(ref.f32(name).length);
          const c = compareAllclose(await r.readF32(name), ref.f32(name), TOL.model, name);
          expect(c.ok, c.message).toBe(true);
        }
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("documents every input and output tensor in --help", async () => {
    let out = "";
    const io = { out: (t: string) => (out += t), err: () => undefined, interactive: false, env: {} };
    expect(await main(["parity", "--help"], io)).toBe(0);
    for (const name of ["images", "image_masks", "token_ids", "token_mask", "state", "actions", "noise", "time", "loss_action", "v_t", "actions_sampled", "gen_pred"]) {
      expect(out).toContain(name);
    }
  });
});
