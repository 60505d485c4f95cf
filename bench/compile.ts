// Compiler benchmark: train steps under ONNX Runtime vs jax-js vs PyTorch, sampleActions ORT vs jax-js (JSON).
//
// The small transformer is bench/engine.ts's model (BENCH_MODEL, initModel, loss; PyTorch mirror
// bench/ref/engine.py, spawned here); the tiny InternVLA-A1 is src/model's (PyTorch: bench/ref/compile_vla.py).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { initEngine, jit, keyFromSeed, np, random, splitKey, tree, valueAndGrad, type Tensor } from "../src/tensor/index.ts";
import { ropeCosSin } from "../src/nn/index.ts";
import { adamwInit, adamwUpdate, clipByGlobalNorm, INTERNVLA_ADAMW, type AdamWState } from "../src/train/optim.ts";
import { type CompileInfo, compileOrt, fromHost, type HostTensor, toHost } from "../src/tensor/compile/index.ts";
import { computeLoss, sampleActions } from "../src/model/policy.ts";
import { type ModelParams, type PolicyParams } from "../src/model/types.ts";
import { inferObservation, TINY, tinyParams, trainBatch } from "../test/compile/tiny-vla.ts";
import { BENCH_MODEL, initModel, loss, type Model } from "./engine.ts";

type SmallState = { params: Model; opt: AdamWState<Model> };
/** Per-step inputs: x, y [B, L, D], causal mask [1, 1, L, L], cos/sin [B, L, hd], lr []. */
type SmallBatch = { x: Tensor; y: Tensor; mask: Tensor; cos: Tensor; sin: Tensor; lr: Tensor };

function initSmall(): SmallState {
  const params = initModel(0);
  return { params, opt: adamwInit(params) };
}

/** Random x, y, the causal mask, RoPE tables and the learning rate (as bench/engine.ts's benchStep). */
function smallBatch(): SmallBatch {
  const { batch: b, seq: l, hidden: d, heads: h } = BENCH_MODEL;
  const [kx, ky] = splitKey(keyFromSeed(7), 2);
  const mask = np.where(np.tri(l, l, 0, { dtype: np.bool }), 0, -1e30).astype(np.float32).reshape([1, 1, l, l]);
  const pos = np.broadcastTo(np.arange(l).astype(np.float32).reshape([1, l]), [b, l]);
  const { cos, sin } = ropeCosSin(pos, d / h, BENCH_MODEL.theta);
  return { x: random.normal(kx, [b, l, d]), y: random.normal(ky, [b, l, d]), mask, cos, sin, lr: np.array(BENCH_MODEL.lr, { dtype: np.float32 }) };
}

/** bench/engine.ts's step: forward, backward, clip 1.0, AdamW. Consumes state and batch. */
function smallStep(s: SmallState, bt: SmallBatch) {
  const [value, grads] = valueAndGrad((p: Model) => loss(p, bt.x.ref, bt.y.ref, bt.mask.ref, bt.cos.ref, bt.sin.ref))(s.params);
  const clipped = clipByGlobalNorm(grads, 1.0);
  clipped.norm.dispose();
  const next = adamwUpdate(s.params, clipped.grads, s.opt, bt.lr.ref, INTERNVLA_ADAMW);
  tree.dispose(bt);
  return { loss: value, state: { params: next.params, opt: next.state } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const toHostTree = async <T>(t: T): Promise<unknown> => {
  const [leaves, def] = tree.flatten(t as never);
  return tree.unflatten(def, (await Promise.all((leaves as Tensor[]).map(toHost))) as never);
};

interface Timing {
  readonly ms: number;
  readonly runs_ms: number[];
  readonly first_step_ms: number;
  readonly loss: [number, number];
}

async function timeJax(steps: number): Promise<Timing> {
  const step = jit(smallStep);
  let state = initSmall();
  const batch = smallBatch();
  const runs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const out = step(state, tree.ref(batch));
    losses.push((await out.loss.data())[0]);
    await Promise.all(tree.leaves(out.state).map((t) => t.blockUntilReady()));
    state = out.state;
    runs.push(performance.now() - t0);
  }
  tree.dispose(state);
  tree.dispose(batch);
  step.dispose();
  return { ms: median(runs.slice(1)), runs_ms: runs.slice(1).map(Math.round), first_step_ms: Math.round(runs[0]), loss: [losses[0], losses[losses.length - 1]] };
}

async function timeOrt(steps: number, threads: number): Promise<Timing & Record<string, unknown>> {
  const rss0 = process.memoryUsage().rss;
  const step = compileOrt(smallStep, { threads });
  let state = (await toHostTree(initSmall())) as never;
  const batch = (await toHostTree(smallBatch())) as never;
  const info = await step.compile(state, batch);
  const runs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const out = (await step(state, batch)) as unknown as { loss: HostTensor; state: never };
    losses.push(out.loss.data[0]);
    state = out.state;
    runs.push(performance.now() - t0);
  }
  await step.dispose();
  return {
    ms: median(runs.slice(2)),
    runs_ms: runs.map(Math.round),
    first_step_ms: Math.round(runs[0]),
    loss: [losses[0], losses[losses.length - 1]],
    threads,
    ...compileFigures(info),
    ops: info.program.stats.ops,
    rss_growth_mb: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
  };
}

/** Runs a PyTorch script under Debian's python3-torch (PASSIVE OpenMP, SkylakeX kernels on AVX-512); null if absent. */
function runPython(script: string, args: readonly string[]): Record<string, unknown> | null {
  // Both cores for PyTorch too: its OpenMP pool defaults to 1 thread here (a cgroup CPU limit), while BLAS uses 2.
  const env: Record<string, string | undefined> = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: String(availableParallelism()) };
  if (/\bavx512f\b/.test(readFileSync("/proc/cpuinfo", "utf8"))) env.OPENBLAS_CORETYPE = "SkylakeX";
  else delete env.OPENBLAS_CORETYPE;
  for (const python of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(python, [script, ...args], { env, encoding: "utf8" });
    if (r.status === 0) return { ...(JSON.parse(r.stdout) as Record<string, unknown>), coretype: env.OPENBLAS_CORETYPE ?? "autodetect" };
    process.stderr.write(`bench:compile: ${python} ${script} failed: ${r.stderr.trim().split("\n").pop()}\n`);
  }
  return null;
}

/** bench/ref/engine.py (the PyTorch mirror of bench/engine.ts). */
function timeTorch(steps: number): Record<string, unknown> | null {
  const out = runPython(join(dirname(fileURLToPath(import.meta.url)), "ref", "engine.py"), ["--steps", String(steps), "--model", JSON.stringify(BENCH_MODEL)]);
  if (!out) return null;
  const { train_step, torch, threads, blas, coretype } = out as { train_step: Record<string, unknown> } & Record<string, unknown>;
  return { ...train_step, torch, threads, blas, coretype };
}

type VlaState = { policy: PolicyParams; opt: AdamWState<PolicyParams> };
type HostDict = Record<string, HostTensor>;
const upload = (d: HostDict) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, fromHost(v)])) as never;

/** The tiny policy's train step (Cosmos frozen and baked): loss -> grads -> clip 1.0 -> AdamW, as bench/ref/compile_vla.py. */
function vlaStep(params: ModelParams) {
  return (s: VlaState, b: never, noise: Tensor, time: Tensor, lr: Tensor) => {
    const loss = (q: PolicyParams) => computeLoss({ policy: q, cosmos: params.cosmos }, b, TINY, noise, time).loss;
    const [value, grads] = valueAndGrad(loss)(s.policy);
    const clipped = clipByGlobalNorm(grads, 1.0);
    clipped.norm.dispose();
    const next = adamwUpdate(s.policy, clipped.grads, s.opt, lr, INTERNVLA_ADAMW);
    return { loss: value, state: { policy: next.params, opt: next.state } };
  };
}

const LR: HostTensor = { dtype: "float32", shape: [], data: Float32Array.of(1e-4) };

/** `steps` ORT train steps of the tiny policy on batches trainBatch(2, 100 + i); the loss of each step. */
async function vlaOrtCurve(params: ModelParams, steps: number, threads: number): Promise<{ timing: Timing & Record<string, unknown>; losses: number[] }> {
  const rss0 = process.memoryUsage().rss;
  const step = compileOrt(vlaStep(params), { threads });
  let state = (await toHostTree({ policy: tree.ref(params.policy), opt: adamwInit(params.policy) })) as never;
  const first = trainBatch(2, 100);
  const info = await step.compile(state, first.batch as never, first.noise, first.time, LR);
  const runs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const { batch, noise, time } = trainBatch(2, 100 + i);
    const t0 = performance.now();
    const out = (await step(state, batch as never, noise, time, LR)) as unknown as { loss: HostTensor; state: never };
    runs.push(performance.now() - t0);
    losses.push(out.loss.data[0]);
    state = out.state;
  }
  await step.dispose();
  const timing = {
    ms: median(runs.slice(2)),
    runs_ms: runs.map(Math.round),
    first_step_ms: Math.round(runs[0]),
    loss: [losses[0], losses[losses.length - 1]] as [number, number],
    threads,
    ...compileFigures(info),
    rss_growth_mb: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
  };
  return { timing, losses };
}

/** The same steps under jax-js, eagerly or under jit. */
async function vlaJaxCurve(params: ModelParams, steps: number, mode: "eager" | "jit"): Promise<{ timing: Timing; losses: number[] }> {
  const raw = vlaStep(params);
  type Step = typeof raw;
  const jitted = mode === "jit" ? jit(raw as never) : undefined;
  const step = (jitted ?? raw) as unknown as Step;
  let state: VlaState = { policy: tree.ref(params.policy), opt: adamwInit(params.policy) };
  const runs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const { batch, noise, time } = trainBatch(2, 100 + i);
    const t0 = performance.now();
    const out = step(state, upload(batch), fromHost(noise), fromHost(time), fromHost(LR));
    losses.push((await out.loss.data())[0]);
    await Promise.all(tree.leaves(out.state).map((t) => t.blockUntilReady()));
    runs.push(performance.now() - t0);
    state = out.state;
  }
  tree.dispose(state);
  jitted?.dispose();
  return { timing: { ms: median(runs.slice(1)), runs_ms: runs.map(Math.round), first_step_ms: Math.round(runs[0]), loss: [losses[0], losses[losses.length - 1]] }, losses };
}

function compileFigures(info: CompileInfo): Record<string, unknown> {
  const { stats } = info.program;
  return {
    trace_ms: Math.round(info.traceMs),
    lower_ms: Math.round(info.lowerMs),
    load_ms: Math.round(info.loadMs),
    model_kb: Math.round(info.program.model.length / 1024),
    onnx_nodes: Object.values(stats.ops).reduce((a, b) => a + b, 0),
    materialized: stats.materialized,
  };
}

/** sampleActions (batch 1) under ORT with the weights baked, and under jax-js jit and eager. */
async function vlaSample(params: ModelParams, reps: number): Promise<Record<string, unknown>> {
  const { obs, noise } = await inferObservation(1, 5);
  const f = (o: never, n: Tensor) => sampleActions(params, o, TINY, n);
  const rss0 = process.memoryUsage().rss;
  const ort = compileOrt(f);
  const info = await ort.compile(obs as never, noise);
  const ortRuns: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t0 = performance.now();
    await ort(obs as never, noise);
    ortRuns.push(performance.now() - t0);
  }
  const rss = Math.round((process.memoryUsage().rss - rss0) / 2 ** 20);
  await ort.dispose();
  const jaxRuns = async (g: (o: never, n: Tensor) => Tensor, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await g(upload(obs), fromHost(noise)).data();
      out.push(performance.now() - t0);
    }
    return out;
  };
  const jitted = jit(f as never);
  const jitRuns = await jaxRuns(jitted as unknown as typeof f, 3);
  jitted.dispose();
  const eagerRuns = await jaxRuns(f, 2);
  const ortMs = median(ortRuns.slice(2));
  const jaxMs = Math.min(median(jitRuns.slice(1)), median(eagerRuns.slice(1)));
  return {
    ort: { ms: ortMs, hz: +(1000 / ortMs).toFixed(1), runs_ms: ortRuns.map(Math.round), ...compileFigures(info), rss_growth_mb: rss },
    jax_jit: { ms: median(jitRuns.slice(1)), runs_ms: jitRuns.map(Math.round) },
    jax_eager: { ms: median(eagerRuns.slice(1)), runs_ms: eagerRuns.map(Math.round) },
    speedup_vs_best_jax: +(jaxMs / ortMs).toFixed(1),
    target: "speedup >= 5 and ort hz >= 13",
  };
}

/** bench/ref/compile_vla.py: the PyTorch reference's train step and sampler for the tiny config; null without torch. */
function torchVla(steps: number): Record<string, unknown> | null {
  const script = join(dirname(fileURLToPath(import.meta.url)), "ref", "compile_vla.py");
  return runPython(script, ["--steps", String(steps), "--batch", "2", "--config", JSON.stringify(TINY)]);
}

/** Largest |a - b| / |b| over two loss curves. */
function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));
}

async function smallSection(steps: number): Promise<Record<string, unknown>> {
  const ort = await timeOrt(steps, availableParallelism());
  const ort1 = await timeOrt(steps, 1);
  const jax = await timeJax(Math.min(steps, 4));
  const torch = timeTorch(steps);
  const torchMs = torch ? (torch.ms as number) : null;
  return {
    model: BENCH_MODEL,
    ort,
    ort_1_thread: ort1,
    jax,
    torch,
    ort_over_torch: torchMs ? +(Math.min(ort.ms, ort1.ms) / torchMs).toFixed(2) : null,
    jax_over_ort: +(jax.ms / ort.ms).toFixed(2),
    target: "ort_over_torch <= 1.0",
  };
}

async function vlaSection(steps: number, curveSteps: number): Promise<Record<string, unknown>> {
  const params = tinyParams(0);
  const ortN = await vlaOrtCurve(params, curveSteps, availableParallelism());
  const ort1 = await vlaOrtCurve(params, steps, 1);
  const eager = await vlaJaxCurve(params, curveSteps, "eager");
  const jitted = await vlaJaxCurve(params, 3, "jit");
  const torch = torchVla(steps);
  const torchStep = torch?.train_step as { ms: number } | undefined;
  const best = Math.min(ortN.timing.ms, ort1.timing.ms);
  const sample = await vlaSample(params, steps);
  tree.dispose(params);
  return {
    train_step: {
      config: "tiny, batch 2, policy trained, Cosmos frozen; loss -> grads -> clip 1.0 -> AdamW",
      ort: ortN.timing,
      ort_1_thread: ort1.timing,
      jax_eager: eager.timing,
      jax_jit: jitted.timing,
      torch: torch ? { ...torchStep, torch: torch.torch, threads: torch.threads, coretype: torch.coretype } : null,
      ort_over_torch: torchStep ? +(best / torchStep.ms).toFixed(2) : null,
      best_jax_over_ort: +(Math.min(eager.timing.ms, jitted.timing.ms) / best).toFixed(1),
      loss_curve: { steps: curveSteps, ort: ortN.losses, jax_eager: eager.losses, max_rel_diff: maxRelDiff(ortN.losses, eager.losses) },
    },
    sample_actions: { ...sample, torch: torch?.sample_actions ?? null },
  };
}

async function main(): Promise<void> {
  await initEngine();
  // usage: npm run bench:compile -- [steps] [--only small|vla]
  const args = process.argv.slice(2);
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
  const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 8);
  const load = loadavg()[0];
  const result = {
    bench: "compile",
    conditions: {
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: availableParallelism(),
      ort_threads: availableParallelism(),
      loadavg_1m_at_start: +load.toFixed(2),
      note: load > 1 ? "measured under load: other processes were using the CPU" : "quiet machine",
    },
    small_transformer_train_step: only === "vla" ? null : await smallSection(steps),
    tiny_internvla: only === "small" ? null : await vlaSection(steps, 20),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
  // jax-js's worker pool keeps the event loop alive; end the process once the JSON is out.
  process.exit(0);
}
