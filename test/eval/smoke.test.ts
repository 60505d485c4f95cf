// The eval half of the CI smoke test: a tiny policy trained for 2 steps on a generated dataset is evaluated in closed
// loop through `internvla eval`, which writes results pinned to the checkpoint's bytes and a report with its curves.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../src/tensor/index.ts";
import { main } from "../../src/cli/main.ts";
import { type CliIO } from "../../src/cli/command.ts";
import { generateDataset } from "../../src/sim/dataset/generate.ts";
import { resolveTrainConfig } from "../../src/train/config.ts";
import { train } from "../../src/train/loop.ts";
import { readResults } from "../../src/train/eval/results.ts";

const root = mkdtempSync(join(tmpdir(), "internvla-eval-smoke-"));
const run = join(root, "run");
let checkpoint = "";

function io(): CliIO & { text: () => string } {
  let buf = "";
  return { out: (t) => (buf += t), err: (t) => (buf += t), interactive: false, env: {}, text: () => buf };
}

beforeAll(async () => {
  await initEngine();
  const ds = join(root, "ds");
  await generateDataset({ out: ds, task: "pick_place", robot: "arm5", episodes: 2, seed: 10, imageSize: 64, workers: 1 });
  const config = resolveTrainConfig("tiny", [["train.steps", "2"], ["train.batch_size", "2"], ["data.workers", "0"]]);
  checkpoint = (await train({ config, data: ds, out: run })).checkpoint;
}, 240_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("train 2 steps, then internvla eval", () => {
  it("evaluates the run's latest checkpoint in closed loop and pins it by content", async () => {
    const out = join(root, "eval");
    const cli = io();
    const code = await main(["eval", "--checkpoint", run, "--task", "pick_place", "--episodes", "1", "--seed", "100000", "--expert-check=false", "--foresight", "1", "--video-every", "4", "--out", out], cli);
    expect(code, cli.text()).toBe(0);
    expect(cli.text()).toMatch(/pick_place \(static, clean\): (0\.0|100\.0)% \[[\d.]+, [\d.]+\] \([01]\/1\)/);
    const r = readResults(join(out, "results.json"));
    expect(r.policy.kind).toBe("checkpoint");
    expect(r.policy.checkpoint!.dir).toBe(checkpoint);
    const weights = r.policy.checkpoint!.files.find((f) => f.path === "model.safetensors")!;
    // sha256sum (coreutils) is the independent reading of the same bytes.
    expect(weights.sha256).toBe(execFileSync("sha256sum", [join(checkpoint, "model.safetensors")], { encoding: "utf8" }).split(" ")[0]);
    expect(r.tasks[0].config).toMatchObject({ task: "pick_place", episodes: 1, seed: 100000, nActionSteps: 10, imageSize: 64, frameGap: 15 });
    const ep = r.tasks[0].episodes[0];
    expect(ep.success || ep.steps === 200).toBe(true);
    expect(ep.inferences).toBe(Math.ceil(ep.steps / 10));
    expect(r.latency.calls).toBe(ep.inferences);
  });

  it("writes the report with the run's training curves, the episode GIF and the imagined frames", () => {
    const html = readFileSync(join(root, "eval", "report.html"), "utf8");
    expect(html).toContain('aria-label="policy: loss"');
    expect(html).toContain("media/pick_place-s100000-episode.gif");
    expect(existsSync(join(root, "eval", "media", "pick_place-s100000-t20-top-imagined.png"))).toBe(true);
    expect(existsSync(join(root, "eval", "media", "pick_place-s100000-t20-top-real.png"))).toBe(true);
  });
});
