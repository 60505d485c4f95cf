// `internvla eval`: closed-loop evaluation of a checkpoint, a policy server or the random baseline in the simulator.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, type CliIO } from "../command.ts";
import { type FlagValue } from "../args.ts";
import { progressBar, type ProgressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";
import { type Policy } from "../../serve/policy.ts";
import { type EvalProgress, type TaskEvalConfig } from "../../train/eval/evaluate.ts";
import { type CodeVersion, type PolicySource } from "../../train/eval/results.ts";
import { type ForesightFn } from "../../train/eval/episode.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The code that runs: package version, and the git commit (with a dirty flag) when this is a checkout. */
export function codeVersion(): CodeVersion {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  const git = (args: string[]): string | null => {
    try {
      return execFileSync("git", args, { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const commit = existsSync(join(REPO, ".git")) ? git(["rev-parse", "HEAD"]) : null;
  const status = commit ? git(["status", "--porcelain", "--untracked-files=no"]) : null;
  return { package: pkg.version, commit, dirty: status === null ? null : status.length > 0 };
}

/** The resolved command line (every flag, defaults included), for the results record. */
export function commandLine(name: string, flags: Readonly<Record<string, FlagValue>>): string[] {
  return [name, ...Object.entries(flags).map(([k, v]) => `--${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)];
}

/** A progress bar per task and phase, driven by evaluateTask's callback. */
export function evalProgress(io: CliIO, label = "eval"): (p: EvalProgress) => void {
  let bar: ProgressBar | undefined;
  let key = "";
  return (p) => {
    const k = `${p.task}/${p.phase}`;
    if (k !== key) {
      key = k;
      bar = progressBar(io, `${label} ${p.task}${p.phase === "expert-check" ? " (expert check)" : ""}`, p.total, p.phase === "expert-check" ? "seed" : "ep");
    }
    const status = p.phase === "expert-check" ? `${p.checked} candidates tried` : `${p.successes} successes`;
    if (p.done >= p.total) bar!.finish(status);
    else bar!.update(p.done, status);
  };
}

export interface ResolvedPolicy {
  readonly policy: Policy;
  readonly source: Omit<PolicySource, "metadata">;
  /** Actions executed per reply when --n-action-steps is not given. */
  readonly defaultSteps: number;
  readonly imageSize?: number;
  readonly foresight?: ForesightFn;
  close(): Promise<void>;
}

function oneOf(value: FlagValue, allowed: readonly string[], flag: string): string {
  const v = String(value);
  if (!allowed.includes(v)) throw new ConfigError(`internvla eval: --${flag} must be one of ${allowed.join(", ")}; got "${v}"`);
  return v;
}

async function resolvePolicy(f: Readonly<Record<string, FlagValue>>, io: CliIO, robot: string): Promise<ResolvedPolicy> {
  const given = ["checkpoint", "server", "policy"].filter((k) => f[k] !== undefined);
  if (given.length !== 1) throw new ConfigError(`internvla eval: give exactly one of --checkpoint DIR, --server ws://HOST:PORT or --policy random; got ${given.length ? given.map((g) => `--${g}`).join(", ") : "none"}`);
  const steps = f["n-action-steps"] === undefined ? undefined : Number(f["n-action-steps"]);
  if (f.policy !== undefined) {
    oneOf(f.policy, ["random"], "policy");
    const { randomPolicy } = await import("../../train/eval/random-policy.ts");
    const horizon = steps ?? 30;
    return { policy: randomPolicy({ robot: robot as never, horizon, seed: Number(f.seed) }), source: { kind: "random" }, defaultSteps: horizon, close: async () => {} };
  }
  if (f.server !== undefined) {
    const { connectPolicy } = await import("../../serve/client.ts");
    const url = String(f.server);
    const remote = await connectPolicy(url, { apiKey: io.env.INTERNVLA_API_KEY, onWaiting: (n, why) => io.err(`waiting for ${url} (attempt ${n}: ${why})\n`) });
    const horizon = Number(remote.metadata.action_horizon);
    return { policy: remote, source: { kind: "server", server: url }, defaultSteps: Number.isInteger(horizon) && horizon > 0 ? horizon : 30, close: () => remote.close() };
  }
  const { loadCheckpointPolicy } = await import("../../train/eval/checkpoint.ts");
  const ck = await loadCheckpointPolicy(String(f.checkpoint), { nActionSteps: steps, seed: Number(f.seed), binarizeGrippers: Boolean(f["binarize-grippers"]) });
  return { policy: ck.policy, source: ck.source, defaultSteps: ck.nActionSteps, imageSize: ck.imageSize, foresight: ck.foresight, close: async () => ck.dispose() };
}

/** The training logs (metrics.jsonl) of named run folders that have one. */
export async function trainingLogs(dirs: readonly { name: string; dir: string }[]): Promise<{ name: string; rows: Record<string, number>[] }[]> {
  const { readMetrics } = await import("../../train/report/metrics.ts");
  return dirs.filter((d) => existsSync(join(d.dir, "metrics.jsonl"))).map((d) => ({ name: d.name, rows: readMetrics(join(d.dir, "metrics.jsonl")) }));
}

/** The run folder of a checkpoint: the folder itself when it holds metrics.jsonl, else up to two folders above. */
function runOf(checkpoint: string | undefined): { name: string; dir: string }[] {
  if (checkpoint === undefined) return [];
  let dir = resolve(checkpoint);
  for (let i = 0; i < 3 && !existsSync(join(dir, "metrics.jsonl")); i++) dir = dirname(dir);
  return [{ name: "policy", dir }];
}

export const evalCommand: Command = {
  name: "eval",
  summary: "evaluate a policy in closed loop in the simulator (success rate with a 95% interval, results JSON, HTML report)",
  usage: "internvla eval (--checkpoint DIR | --server ws://HOST:PORT | --policy random) --task TASK[,TASK] [options]",
  description: `
Runs --episodes episodes per task. Each episode resets the policy, then repeats: observe (frames t and t-15,
state, instruction), ask the policy for a chunk, execute its first --n-action-steps actions. The default is the
official RoboTwin evaluation's 30 of 50, scaled to the checkpoint's chunk (10 of 16 for tiny); a server's reply
is executed whole. Scene seeds start at --seed; with --expert-check (default) seeds the scripted expert cannot
solve are skipped, as RoboTwin does. Writes OUT/results.json (success per task and overall with Wilson 95%
intervals, seeds, level, n_action_steps, checkpoint sha256, git commit, the command) and OUT/report.html
(success table, training curves, a GIF per episode with failures first, imagined vs real frame t+15).
See docs/evaluation.md.`,
  flags: [
    { name: "checkpoint", type: "string", help: "a checkpoint folder written by internvla train", placeholder: "DIR" },
    { name: "server", type: "string", help: "evaluate a policy served over the openpi protocol", placeholder: "ws://HOST:PORT" },
    { name: "policy", type: "string", help: "a built-in policy: random (the random-action baseline)", placeholder: "random" },
    { name: "task", type: "list", help: "task(s), comma-separated", required: true, placeholder: "TASK[,TASK]" },
    { name: "episodes", type: "number", help: "episodes per task", default: 50 },
    { name: "seed", type: "number", help: "scene seed of the first episode (and the policy's noise seed)", default: 0 },
    { name: "level", type: "string", help: "clean or randomised", default: "clean" },
    { name: "split", type: "string", help: "train or heldout (unseen colours and paraphrases)", default: "train" },
    { name: "robot", type: "string", help: "robot_type (default: the task's first)" },
    { name: "n-action-steps", type: "number", help: "actions executed per chunk before replanning (default: 30 of 50, scaled)" },
    { name: "image-size", type: "number", help: "camera image side (default: the checkpoint's training data, else 128)" },
    { name: "expert-check", type: "boolean", help: "skip seeds the scripted expert cannot solve (--expert-check=false keeps all)", default: true },
    { name: "binarize-grippers", type: "boolean", help: "threshold checkpoint gripper actions at 0.5 (RoboTwin; --binarize-grippers=false keeps them)", default: true },
    { name: "open-loop", type: "boolean", help: "also measure the joint error against the expert along expert episodes of the same seeds", default: false },
    { name: "baseline", type: "boolean", help: "also evaluate the random-action baseline on the same seeds (a report column)", default: false },
    { name: "video-every", type: "number", help: "keep every k-th frame in the episode GIFs (0: no videos)", default: 2 },
    { name: "foresight", type: "number", help: "imagined frames per episode (checkpoints only)", default: 2 },
    { name: "out", type: "string", help: "output folder (default: CHECKPOINT/eval, else runs/eval)", placeholder: "DIR" },
  ],
  async run(args, io) {
    const f = args.flags;
    const { getTask } = await import("../../sim/index.ts");
    const taskNames = f.task as string[];
    const robot = (f.robot as string | undefined) ?? getTask(taskNames[0]).robots[0];
    const { runEvaluation, saveEvaluation } = await import("../../train/eval/run.ts");
    const rp = await resolvePolicy(f, io, robot);
    try {
      const tasks: TaskEvalConfig[] = taskNames.map((task) => ({
        task, robot: f.robot as never, level: oneOf(f.level, ["clean", "randomised"], "level") as never, split: oneOf(f.split, ["train", "heldout"], "split") as never,
        episodes: Number(f.episodes), seed: Number(f.seed), expertCheck: Boolean(f["expert-check"]),
        imageSize: f["image-size"] === undefined ? (rp.imageSize ?? 128) : Number(f["image-size"]),
        nActionSteps: f["n-action-steps"] === undefined ? rp.defaultSteps : Number(f["n-action-steps"]), frameGap: 15,
      }));
      const code = codeVersion();
      const command = commandLine("eval", f);
      const record = { videoEvery: Number(f["video-every"]), foresight: rp.foresight, foresightPerEpisode: Number(f.foresight) };
      const openLoop = Boolean(f["open-loop"]);
      const run = await runEvaluation(rp.policy, { tasks, record, source: rp.source, code, command, openLoop, onProgress: evalProgress(io) });
      const comparisons = [];
      if (f.baseline) {
        const { randomPolicy } = await import("../../train/eval/random-policy.ts");
        const random = randomPolicy({ robot: robot as never, horizon: tasks[0].nActionSteps, seed: Number(f.seed) });
        const base = await runEvaluation(random, { tasks, source: { kind: "random" }, code, command, openLoop, onProgress: evalProgress(io, "baseline") });
        comparisons.push({ name: "random actions", results: base.results });
      }
      const out = String(f.out ?? (f.checkpoint !== undefined ? join(String(f.checkpoint), "eval") : "runs/eval"));
      const saved = saveEvaluation(out, run, { title: `internvla eval: ${taskNames.join(", ")}`, comparisons, logs: await trainingLogs(runOf(f.checkpoint as string | undefined)) });
      const { formatRate } = await import("../../train/eval/stats.ts");
      for (const t of run.results.tasks) io.out(`${t.config.task} (${t.kind}, ${t.config.level}): ${formatRate(t.success)}\n`);
      for (const t of run.results.openLoop ?? []) io.out(`${t.task} open-loop joint RMSE ${t.rmse.mean.toFixed(3)} rad [${t.rmse.lo.toFixed(3)}, ${t.rmse.hi.toFixed(3)}] (holding still: ${t.holdRmse.mean.toFixed(3)})\n`);
      for (const c of comparisons) io.out(`${c.name}: ${formatRate(c.results.overall.all)}\n`);
      io.out(`overall: ${formatRate(run.results.overall.all)}\nresults: ${saved.results}\nreport: ${saved.report}\n`);
      return 0;
    } finally {
      await rp.close();
    }
  },
};
