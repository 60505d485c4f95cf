// The HTML report opened in headless Chromium: it loads without console errors, its plots are drawn, every GIF and
// PNG decodes (GIF frame counts checked with Chromium's own ImageDecoder), and failures come first.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { getTask, loadMujoco, runEpisode } from "../../src/sim/index.ts";
import { replayPolicy } from "../../src/serve/replay.ts";
import { type CameraImage } from "../../src/serve/policy.ts";
import { evaluateTask, type TaskEval, type TaskEvalConfig } from "../../src/train/eval/evaluate.ts";
import { openLoopTask } from "../../src/train/eval/open-loop.ts";
import { randomPolicy } from "../../src/train/eval/random-policy.ts";
import { buildResults, readResults } from "../../src/train/eval/results.ts";
import { readMetrics } from "../../src/train/report/metrics.ts";
import { writeReport } from "../../src/train/report/html.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report test skipped: Debian chromium is not installed at ${CHROMIUM} (apt-get install chromium)`);

const CFG: TaskEvalConfig = {
  task: "pick_place", level: "clean", split: "train", episodes: 2, seed: 3, expertCheck: false, imageSize: 64, nActionSteps: 10, frameGap: 15,
};
const CODE = { package: "test", commit: null, dirty: null };

/** A stand-in for the model's imagination (this test checks the page, not the model): the frame, inverted. */
async function invertedTop(obs: { images: Readonly<Record<string, CameraImage>> }): Promise<Record<string, CameraImage>> {
  const top = obs.images.top;
  return { top: { ...top, data: top.data.map((v) => 255 - v) } };
}

let dir: string;
let task: TaskEval;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "internvla-report-"));
  // Seed 3's expert replayed on seeds 3 and 4: one success and one failure, whatever the scenes are.
  const expert = runEpisode(await loadMujoco(), getTask("pick_place").generate(3, "clean"));
  const replay = replayPolicy([{ actions: expert.actions, length: expert.length, task: expert.instruction }], { horizon: 16 }).session();
  task = await evaluateTask(replay, CFG, { videoEvery: 4, foresight: invertedTop, foresightPerEpisode: 2 });
  const baseline = await evaluateTask(randomPolicy({ robot: "arm5", horizon: 16, seed: 0 }), { ...CFG, episodes: 1 });
  const openLoop = [await openLoopTask(replay, { ...CFG, episodes: 1 })];
  const run = (kind: "other" | "random") => ({ code: CODE, command: ["eval", "--test"], policy: { kind, metadata: {} }, wallSeconds: 1, openLoop });
  const metrics = join(dir, "metrics.jsonl");
  const rows = Array.from({ length: 20 }, (_, i) => JSON.stringify({ step: i + 1, loss: 2 / (i + 1), loss_action: 1.9 / (i + 1), loss_gen: 8 / (i + 2), grad_norm: 1 + 1 / (i + 1), lr: 1e-4 * Math.min(1, (i + 1) / 5) }));
  writeFileSync(metrics, rows.join("\n") + '\n{"step": 21, "lo'); // a run killed mid-write leaves a torn last line
  writeReport(dir, {
    title: "internvla evaluation (test)",
    results: buildResults([task], run("other")),
    tasks: [task],
    comparisons: [{ name: "random actions", results: buildResults([baseline], run("random")) }],
    logs: [{ name: "policy", rows: readMetrics(metrics) }],
    notes: ["A <test> report & nothing more."],
  });
  if (!hasChromium) return;
  context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
    executablePath: CHROMIUM, headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await context.newPage();
  page.on("console", (m) => void (m.type() === "error" && problems.push(`console: ${m.text()}`)));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(join(dir, "report.html")).href, { waitUntil: "load" });
});

afterAll(async () => {
  await context?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("report files", () => {
  it("writes results.json next to the report, readable back", () => {
    const r = readResults(join(dir, "results.json"));
    expect(r.tasks[0].success.trials).toBe(2);
    expect(r.tasks[0].episodes.map((e) => e.seed)).toEqual([3, 4]);
  });

  it("escapes text from the outside world", () => {
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toContain("A &lt;test&gt; report &amp; nothing more.");
  });
});

describe.skipIf(!hasChromium)("report in headless Chromium", () => {
  it("loads with no console errors, page errors or failed requests", async () => {
    expect(await page.title()).toBe("internvla evaluation (test)");
    expect(problems).toEqual([]);
  });

  it("draws the loss curves and the other logged fields as SVG plots with data", async () => {
    const plots = await page.$$eval("svg.plot", (svgs) => svgs.map((s) => ({
      label: s.getAttribute("aria-label"), series: [...s.querySelectorAll("path.series")].map((p) => p.getAttribute("data-name")),
      points: [...s.querySelectorAll("path.series")].map((p) => (p.getAttribute("d") ?? "").split("L").length),
    })));
    expect(plots.map((p) => p.label)).toEqual(["policy: loss", "policy: grad_norm", "policy: lr"]);
    expect(plots[0].series).toEqual(["loss", "loss_action", "loss_gen"]);
    expect(plots.flatMap((p) => p.points)).toEqual([20, 20, 20, 20, 20]);
  });

  it("shows the success table with the baseline column and the Wilson interval", async () => {
    const cells = await page.$$eval("table.success tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(cells[0]).toEqual(["task", "kind", "robot", "level", "n_action_steps", "policy", "random actions", "mean steps"]);
    const s = task.success;
    expect(cells[1][5]).toContain(`(${s.successes}/2)`);
    expect(cells[1][6]).toContain("/1)");
  });

  it("shows the open-loop table: the replayed expert of seed 3 has zero error on seed 3", async () => {
    const cells = await page.$$eval("table.open-loop tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(cells[0]).toEqual(["task", "policy", "random actions", "holding still"]);
    expect(cells[1][1]).toBe("0.000 (1, no interval)");
  });

  it("decodes every image, one animated GIF per episode with its recorded frame count, failures first", async () => {
    const images = await page.$$eval("img", (imgs) => imgs.map((i) => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0 })));
    expect(images.length).toBeGreaterThan(0);
    expect(images.filter((i) => !i.ok)).toEqual([]);
    const order = await page.$$eval("figure.episode", (fs) => fs.map((f) => f.getAttribute("data-success")));
    const flags = task.episodes.map((e) => String(e.success)).sort((a, b) => (a === b ? 0 : a === "false" ? -1 : 1));
    expect(new Set(flags).size, "one success and one failure").toBe(2);
    expect(order).toEqual(flags);
    for (const e of task.episodes) {
      const bytes = readFileSync(join(dir, `media/pick_place-s${e.seed}-episode.gif`)).toString("base64");
      const frames = await page.evaluate(async (b64) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dec = new ImageDecoder({ data, type: "image/gif" });
        await dec.tracks.ready;
        return dec.tracks.selectedTrack!.frameCount;
      }, bytes);
      expect(frames, `seed ${e.seed}`).toBe(Math.floor(e.steps / 4) + 1);
    }
  });

  it("puts each imagined frame beside the frame at t and the real frame t+15", async () => {
    const strips = await page.$$eval(".foresight", (ds) => ds.map((d) => [...d.querySelectorAll("img")].map((i) => i.className)));
    const pairs = task.episodes.flatMap((e) => e.foresight);
    expect(strips.length).toBe(pairs.length);
    for (const [i, p] of pairs.entries()) {
      expect(strips[i]).toEqual(p.real ? ["foresight-now", "foresight-imagined", "foresight-real"] : ["foresight-now", "foresight-imagined"]);
    }
  });
});
