// The evaluation report: success table, training curves, a GIF per episode (failures first), imagined vs real t+15.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePng } from "../../sim/render/image.ts";
import { type CameraImage } from "../../serve/policy.ts";
import { type EpisodeResult } from "../eval/episode.ts";
import { type TaskEval } from "../eval/evaluate.ts";
import { type EvalResults, writeResults } from "../eval/results.ts";
import { type MeanInterval, type RateInterval, formatRate } from "../eval/stats.ts";
import { type TrainingLog, metricPlots } from "./metrics.ts";
import { escapeXml } from "./svg.ts";

/** Another evaluated policy shown as extra columns of the success table (e.g. the random-action baseline). */
export interface Comparison {
  readonly name: string;
  readonly results: EvalResults;
}

export interface ReportInput {
  readonly title: string;
  /** The evaluated policy: its results record and the task evaluations that carry the episode media. */
  readonly results: EvalResults;
  readonly tasks: readonly TaskEval[];
  readonly comparisons?: readonly Comparison[];
  readonly logs?: readonly TrainingLog[];
  /** Paragraphs shown under the title (plain text). */
  readonly notes?: readonly string[];
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f4f4f4}.ok{color:#1a7f37}.fail{color:#c62828}.plots{display:flex;flex-wrap:wrap;gap:12px}
.plot text{font:11px system-ui,sans-serif}.plot .title{font-weight:600}.episodes{display:flex;flex-wrap:wrap;gap:14px}
figure.episode{margin:0;border:1px solid #ddd;padding:6px;border-radius:4px;max-width:420px}figure img{image-rendering:pixelated}.episode-video{height:160px;width:auto}
.foresight{display:flex;gap:4px;margin-top:4px}.foresight figure{margin:0;text-align:center;font-size:11px}
.foresight img{width:96px;height:96px}code{background:#f4f4f4;padding:0 3px}`;

/** Where an episode's media go inside the report folder. */
function mediaName(task: string, seed: number, what: string): string {
  return `media/${task}-s${seed}-${what}`;
}

function rateCell(r: RateInterval | undefined): string {
  return r ? escapeXml(formatRate(r)) : "&ndash;";
}

function successTable(input: ReportInput): string {
  const cmp = input.comparisons ?? [];
  const head = ["task", "kind", "robot", "level", "n_action_steps", input.results.policy.kind === "random" ? "random policy" : "policy", ...cmp.map((c) => c.name), "mean steps"];
  const rows = input.results.tasks.map((t) => {
    const others = cmp.map((c) => rateCell(c.results.tasks.find((u) => u.config.task === t.config.task && u.config.level === t.config.level)?.success));
    const meanSteps = t.episodes.reduce((n, e) => n + e.steps, 0) / Math.max(t.episodes.length, 1);
    return [escapeXml(t.config.task), t.kind, t.robot, t.config.level, String(t.config.nActionSteps), rateCell(t.success), ...others, meanSteps.toFixed(0)];
  });
  const kinds = Object.entries(input.results.overall.byKind).map(([kind, r]) => [
    `<b>all ${escapeXml(kind)}</b>`, "", "", "", "", rateCell(r), ...cmp.map((c) => rateCell(c.results.overall.byKind[kind])), "",
  ]);
  const all = ["<b>overall</b>", "", "", "", "", rateCell(input.results.overall.all), ...cmp.map((c) => rateCell(c.results.overall.all)), ""];
  const tr = (cells: string[], tag = "td") => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join("")}</tr>`;
  return `<table class="success">${tr(head.map(escapeXml), "th")}${[...rows, ...kinds, all].map((r) => tr(r)).join("")}</table>
<p>Success rate with its 95% Wilson interval (successes/episodes).</p>`;
}

function meanCell(m: MeanInterval | undefined): string {
  if (!m) return "&ndash;";
  return Number.isFinite(m.lo) ? `${m.mean.toFixed(3)} [${m.lo.toFixed(3)}, ${m.hi.toFixed(3)}] (${m.n})` : `${m.mean.toFixed(3)} (${m.n}, no interval)`;
}

/** Open-loop joint error per task (when measured), with the comparisons' and a non-moving policy's. */
function openLoopTable(input: ReportInput): string {
  const ol = input.results.openLoop;
  if (!ol || ol.length === 0) return "";
  const cmp = (input.comparisons ?? []).filter((c) => c.results.openLoop);
  const head = ["task", "policy", ...cmp.map((c) => c.name), "holding still"].map((h) => `<th>${escapeXml(h)}</th>`).join("");
  const rows = ol.map((t) => {
    const others = cmp.map((c) => meanCell(c.results.openLoop!.find((u) => u.task === t.task)?.rmse));
    return `<tr>${[escapeXml(t.task), meanCell(t.rmse), ...others, meanCell(t.holdRmse)].map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<h3>Open-loop joint error</h3><table class="open-loop"><tr>${head}</tr>${rows.join("")}</table>
<p>RMSE (radians) of the policy's joint targets against the scripted expert's next actions along expert episodes of the
same seeds (each chunk's first n_action_steps, from the recorded observations): mean over episodes [95% interval]
(episodes). "Holding still" repeats the current joint positions.</p>`;
}

function runFacts(r: EvalResults): string {
  const p = r.policy;
  const source = p.kind === "checkpoint" && p.checkpoint
    ? `checkpoint <code>${escapeXml(p.checkpoint.dir)}</code> (sha256 <code>${p.checkpoint.sha256.slice(0, 16)}</code>)`
    : p.kind === "server" ? `policy server <code>${escapeXml(p.server ?? "")}</code>` : escapeXml(p.kind);
  const code = r.code.commit ? `git <code>${r.code.commit.slice(0, 12)}</code>${r.code.dirty ? " (uncommitted changes)" : ""}` : "no git checkout";
  const lat = r.latency;
  return `<ul><li>Policy: ${source}</li><li>Code: internvla ${escapeXml(r.code.package)}, ${code}</li>
<li>Command: <code>internvla ${escapeXml(r.command.join(" "))}</code></li>
<li>Inference: ${lat.calls} calls, mean ${lat.meanMs.toFixed(1)} ms (p50 ${lat.p50Ms.toFixed(1)}, p95 ${lat.p95Ms.toFixed(1)}), ${lat.chunkHz.toFixed(1)} chunks/s</li>
<li>Evaluated ${escapeXml(r.createdAt)} in ${r.wallSeconds.toFixed(0)} s</li></ul>`;
}

function image(src: string, alt: string, cls = ""): string {
  return `<img src="${src}" alt="${escapeXml(alt)}"${cls ? ` class="${cls}"` : ""}>`;
}

function foresightStrip(task: string, e: EpisodeResult, gap: number): string {
  return e.foresight.map((p) => {
    const base = mediaName(task, e.seed, `t${p.step}-${p.camera}`);
    const cell = (what: string, label: string) => `<figure>${image(`${base}-${what}.png`, `${label}, ${p.camera}`, `foresight-${what}`)}<figcaption>${label}</figcaption></figure>`;
    const real = p.real ? cell("real", `real t+${gap}`) : `<figure><div class="missing">episode ended</div></figure>`;
    return `<div class="foresight" data-step="${p.step}">${cell("now", `frame t=${p.step} (${escapeXml(p.camera)})`)}${cell("imagined", `imagined t+${gap}`)}${real}</div>`;
  }).join("");
}

function episodeFigure(task: string, e: EpisodeResult, gap: number): string {
  const status = e.success ? `<span class="ok">success</span>` : `<span class="fail">failure</span>`;
  const video = e.video ? image(`${mediaName(task, e.seed, "episode.gif")}`, `episode seed ${e.seed}`, "episode-video") : "";
  return `<figure class="episode" data-success="${e.success}">${video}<figcaption>seed ${e.seed}: ${status} after ${e.steps} steps<br><small>${escapeXml(e.instruction)}</small></figcaption>${foresightStrip(task, e, gap)}</figure>`;
}

/** Episodes of every task, failures first (then by seed). */
function episodeSections(tasks: readonly TaskEval[]): string {
  return tasks.map((t) => {
    const eps = [...t.episodes].sort((a, b) => Number(a.success) - Number(b.success) || a.seed - b.seed);
    return `<h3>${escapeXml(t.config.task)} (${t.kind}, ${t.config.level})</h3><div class="episodes">${eps.map((e) => episodeFigure(t.config.task, e, t.config.frameGap)).join("")}</div>`;
  }).join("");
}

/** The report page (media are referenced as files under media/, written by `writeReport`). */
export function renderReport(input: ReportInput): string {
  const logs = (input.logs ?? []).filter((l) => l.rows.length > 0);
  const curves = logs.length > 0
    ? `<div class="plots">${logs.flatMap(metricPlots).join("")}</div>`
    : "<p>No training log was given (evaluated without a run folder).</p>";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(input.title)}</title><style>${STYLE}</style></head><body>
<h1>${escapeXml(input.title)}</h1>${(input.notes ?? []).map((n) => `<p>${escapeXml(n)}</p>`).join("")}
<h2>Success</h2>${successTable(input)}${openLoopTable(input)}${runFacts(input.results)}
<h2>Training curves</h2>${curves}
<h2>Episodes</h2><p>Failures first. Under each episode: the frame at step t, the future the model imagined (its foresight
latent decoded by the tokenizer decoder) and the frame the camera really saw that many steps later.</p>${episodeSections(input.tasks)}
</body></html>
`;
}

function pngOf(im: CameraImage): Uint8Array {
  return encodePng(im.data, im.width, im.height);
}

/** Writes report.html, results.json and media/ into `dir`; returns the report's path. */
export function writeReport(dir: string, input: ReportInput): string {
  mkdirSync(join(dir, "media"), { recursive: true });
  for (const t of input.tasks) {
    for (const e of t.episodes) {
      if (e.video) writeFileSync(join(dir, mediaName(t.config.task, e.seed, "episode.gif")), e.video);
      for (const p of e.foresight) {
        const base = join(dir, mediaName(t.config.task, e.seed, `t${p.step}-${p.camera}`));
        writeFileSync(`${base}-now.png`, pngOf(p.now));
        writeFileSync(`${base}-imagined.png`, pngOf(p.imagined));
        if (p.real) writeFileSync(`${base}-real.png`, pngOf(p.real));
      }
    }
  }
  writeResults(join(dir, "results.json"), input.results);
  const path = join(dir, "report.html");
  writeFileSync(`${path}.tmp`, renderReport(input));
  renameSync(`${path}.tmp`, path);
  return path;
}
