// Engine benchmark: matmul GFLOP/s and one jitted forward+backward+AdamW step of a small transformer, vs PyTorch (JSON).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { initEngine, jit, keyFromSeed, np, random, splitKey, toNumber, tree, valueAndGrad, type Tensor } from "../src/tensor/index.ts";
import { applyRope, attention, initLinear, linear, rmsNorm, ropeCosSin, swiglu, type LinearParams, type SwiGluParams } from "../src/nn/index.ts";
import { adamwInit, adamwUpdate, clipByGlobalNorm, INTERNVLA_ADAMW, type AdamWState } from "../src/train/optim.ts";

/** The benchmark transformer; bench/ref/engine.py defines the same model. */
export const BENCH_MODEL = { layers: 4, hidden: 256, heads: 4, mlp: 768, seq: 128, batch: 8, lr: 1e-3, eps: 1e-6, theta: 10000 } as const;
const MATMULS: [number, number, number][] = [[512, 512, 512], [1024, 1024, 1024], [256, 896, 4864]];

export type BenchLayer = { input_layernorm: Tensor; q_proj: LinearParams; k_proj: LinearParams; v_proj: LinearParams; o_proj: LinearParams; post_attention_layernorm: Tensor; mlp: SwiGluParams };
export type Model = { layers: BenchLayer[]; norm: Tensor; head: LinearParams };

/** The benchmark model's parameters (HF-style names, N(0, 0.02) weights, unit norms). */
export function initModel(seed: number): Model {
  const { layers, hidden, mlp } = BENCH_MODEL;
  const keys = splitKey(keyFromSeed(seed), layers * 7 + 1);
  const lin = (i: number, o: number) => initLinear(keys.pop()!, i, o, { bias: false });
  const ones = () => np.ones([hidden], { dtype: np.float32 });
  return {
    layers: Array.from({ length: layers }, () => ({
      input_layernorm: ones(),
      q_proj: lin(hidden, hidden),
      k_proj: lin(hidden, hidden),
      v_proj: lin(hidden, hidden),
      o_proj: lin(hidden, hidden),
      post_attention_layernorm: ones(),
      mlp: { gate_proj: lin(hidden, mlp), up_proj: lin(hidden, mlp), down_proj: lin(mlp, hidden) },
    })),
    norm: ones(),
    head: lin(hidden, hidden),
  };
}

/** Pre-norm blocks with RoPE and a causal mask, final RMSNorm, linear head, MSE to the target. Consumes x, y, mask, cos, sin. */
export function loss(m: Model, x: Tensor, y: Tensor, mask: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const { batch: b, seq: l, hidden: d, heads: h, eps } = BENCH_MODEL;
  const hd = d / h;
  const heads = (t: Tensor) => t.reshape([b, l, h, hd]).transpose([0, 2, 1, 3]); // [B, H, L, hd]
  let hs = x; // [B, L, D]
  for (const p of m.layers) {
    const n = rmsNorm(p.input_layernorm, hs.ref, eps);
    const q = applyRope(heads(linear(p.q_proj, n.ref)), cos.ref, sin.ref);
    const k = applyRope(heads(linear(p.k_proj, n.ref)), cos.ref, sin.ref);
    const a = attention(q, k, heads(linear(p.v_proj, n)), mask.ref, 1 / Math.sqrt(hd)); // [B, H, L, hd]
    hs = hs.add(linear(p.o_proj, a.transpose([0, 2, 1, 3]).reshape([b, l, d])));
    hs = hs.add(swiglu(p.mlp, rmsNorm(p.post_attention_layernorm, hs.ref, eps)));
  }
  for (const t of [mask, cos, sin]) t.dispose();
  const out = linear(m.head, rmsNorm(m.norm, hs, eps));
  return np.mean(np.square(out.sub(y)));
}

type StepIn = { params: Model; opt: AdamWState<Model> };

function makeStep() {
  return jit((s: StepIn, x: Tensor, y: Tensor, mask: Tensor, cos: Tensor, sin: Tensor, lr: Tensor) => {
    const [value, grads] = valueAndGrad((p: Model) => loss(p, x, y, mask, cos, sin))(s.params);
    const clipped = clipByGlobalNorm(grads, 1.0);
    clipped.norm.dispose();
    const next = adamwUpdate(s.params, clipped.grads, s.opt, lr, INTERNVLA_ADAMW);
    return { loss: value, state: { params: next.params, opt: next.state } };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function benchMatmul(m: number, k: number, n: number, reps: number): Promise<number> {
  const [ka, kb] = splitKey(keyFromSeed(m + k + n), 2);
  const a = random.normal(ka, [m, k]);
  const b = random.normal(kb, [k, n]);
  const times: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t0 = performance.now();
    (await np.matmul(a.ref, b.ref).blockUntilReady()).dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  a.dispose();
  b.dispose();
  return (2 * m * k * n) / (median(times) * 1e6);
}

async function benchStep(steps: number): Promise<{ ms: number; runs: number[]; firstLoss: number; lastLoss: number; compileMs: number }> {
  const { batch: b, seq: l, hidden: d, heads: h } = BENCH_MODEL;
  const [kx, ky] = splitKey(keyFromSeed(7), 2);
  const x = random.normal(kx, [b, l, d]);
  const y = random.normal(ky, [b, l, d]);
  const causal = np.where(np.tri(l, l, 0, { dtype: np.bool }), 0, -1e30).astype(np.float32).reshape([1, 1, l, l]);
  const pos = np.broadcastTo(np.arange(l).astype(np.float32).reshape([1, l]), [b, l]);
  const { cos, sin } = ropeCosSin(pos, d / h, BENCH_MODEL.theta);
  const params = initModel(0);
  let state: StepIn = { params, opt: adamwInit(params) };
  const step = makeStep();
  const runs: number[] = [];
  let firstLoss = NaN;
  let lastLoss = NaN;
  let compileMs = 0;
  for (let i = 0; i < steps + 1; i++) {
    const t0 = performance.now();
    const out = step(state, x.ref, y.ref, causal.ref, cos.ref, sin.ref, np.array(BENCH_MODEL.lr, { dtype: np.float32 }));
    const value = await toNumber(out.loss);
    // One at a time: a Promise.all over ~120 blockUntilReady calls measured up to 10x slower on many small kernels.
    for (const t of tree.leaves(out.state)) await t.blockUntilReady();
    state = out.state;
    const ms = performance.now() - t0;
    if (i === 0) {
      compileMs = ms;
      firstLoss = value;
    } else runs.push(ms);
    lastLoss = value;
    process.stderr.write(`bench:engine step ${i}: ${ms.toFixed(0)} ms, loss ${value.toFixed(4)}\n`);
  }
  tree.dispose(state);
  for (const t of [x, y, causal, cos, sin]) t.dispose();
  step.dispose();
  return { ms: median(runs), runs: runs.map((r) => Math.round(r)), firstLoss, lastLoss, compileMs: Math.round(compileMs) };
}

/** True when the CPU has AVX-512 (OpenBLAS's SkylakeX kernels need it; forcing them elsewhere is an illegal instruction). */
function hasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

/**
 * Runs bench/ref/engine.py under PyTorch when python3 with torch is available; null otherwise. `blasDir` is put
 * first on LD_LIBRARY_PATH so torch can be pointed at another libblas.so.3 (e.g. OpenBLAS) than the system's.
 */
function torchReference(steps: number, blasDir: string | undefined): Record<string, unknown> | null {
  const script = join(dirname(fileURLToPath(import.meta.url)), "ref", "engine.py");
  // Both cores for PyTorch too: its OpenMP pool defaults to 1 thread here (a cgroup CPU limit), while BLAS uses 2.
  const env: Record<string, string | undefined> = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: String(availableParallelism()) };
  if (hasAvx512()) env.OPENBLAS_CORETYPE = "SkylakeX";
  else delete env.OPENBLAS_CORETYPE;
  if (blasDir) env.LD_LIBRARY_PATH = [blasDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  for (const python of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(python, [script, "--steps", String(steps), "--model", JSON.stringify(BENCH_MODEL)], { env, encoding: "utf8" });
    if (r.status === 0) return { ...(JSON.parse(r.stdout) as Record<string, unknown>), coretype: env.OPENBLAS_CORETYPE ?? "autodetect" };
    process.stderr.write(`bench:engine: ${python} ${script} failed (${r.error?.message ?? r.stderr.trim().split("\n").pop()})\n`);
  }
  return null;
}

async function main(): Promise<void> {
  await initEngine();
  // usage: npm run bench:engine -- [steps] [--torch-blas-dir DIR]
  const args = process.argv.slice(2);
  const dirFlag = args.indexOf("--torch-blas-dir");
  const blasDir = dirFlag >= 0 ? args.splice(dirFlag, 2)[1] : undefined;
  const steps = Number(args[0] ?? 8);
  const load = loadavg()[0];
  const matmul = [];
  for (const [m, k, n] of MATMULS) matmul.push({ shape: `${m}x${k}x${n}`, ours_gflops: +(await benchMatmul(m, k, n, 8)).toFixed(1) });
  const ours = await benchStep(steps);
  const torch = torchReference(steps, blasDir);
  const torchMatmul = (torch?.matmul ?? {}) as Record<string, number>;
  const torchStep = torch?.train_step as { ms: number } | undefined;
  const result = {
    bench: "engine",
    conditions: {
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: availableParallelism(),
      engine_workers: availableParallelism(),
      loadavg_1m_at_start: +load.toFixed(2),
      note: load > 1 ? "measured under load: other processes were using the CPU" : "quiet machine",
      torch: torch ? `${torch.torch}, ${torch.threads} threads, BLAS ${torch.blas}, OPENBLAS_CORETYPE ${torch.coretype}, OMP_WAIT_POLICY=PASSIVE` : "not available",
    },
    matmul: matmul.map((r) => ({ ...r, torch_gflops: torchMatmul[r.shape] ?? null, torch_over_ours: torchMatmul[r.shape] ? +(torchMatmul[r.shape] / r.ours_gflops).toFixed(2) : null })),
    train_step: {
      model: { ...BENCH_MODEL, loss: "mse", optimizer: "adamw + clip 1.0", note: "pre-norm RMSNorm, RoPE, causal softmax attention, SwiGLU" },
      ours_ms: Math.round(ours.ms),
      ours_runs_ms: ours.runs,
      ours_first_step_ms: ours.compileMs,
      ours_loss: [+ours.firstLoss.toFixed(5), +ours.lastLoss.toFixed(5)],
      torch_ms: torchStep ? Math.round(torchStep.ms) : null,
      torch: torchStep ?? null,
      ours_over_torch: torchStep ? +(ours.ms / torchStep.ms).toFixed(2) : null,
      target: "ours_over_torch <= 5",
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

// Runs only as a script (npm run bench:engine), so other benchmarks can import the model above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  // jax-js's worker pool keeps the event loop alive; end the process once the JSON is out.
  process.exit(0);
}
