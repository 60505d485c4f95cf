// Closeness checks with named tolerances and a report of the worst elements (llm.c style).

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** Named tolerances; a test that needs another must write down why next to it. */
export const TOL = {
  /** float32 forward values against PyTorch float32. */
  f32: { rtol: 1e-5, atol: 1e-6 },
  /** gradients against PyTorch (sums of many products in another order). */
  grad: { rtol: 1e-4, atol: 1e-5 },
  /** whole-model results after many layers (issue: forward 1e-4 relative on losses and v_t). */
  model: { rtol: 1e-4, atol: 1e-5 },
  /** ONNX Runtime against jax-js wasm (wasm sums differ slightly; see ort-lowering.md). */
  engine: { rtol: 1e-4, atol: 1e-5 },
} as const satisfies Record<string, Tolerance>;

export type Numeric = ArrayLike<number>;

export interface CloseReport {
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly message: string;
}

/** Compares elementwise: |a - e| <= atol + rtol * |e|; NaN matches only NaN. */
export function compareAllclose(actual: Numeric, expected: Numeric, tol: Tolerance, label = "tensor"): CloseReport {
  if (actual.length !== expected.length) {
    return { ok: false, maxAbs: Infinity, maxRel: Infinity, message: `${label}: length ${actual.length} != expected ${expected.length}` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) && Number.isNaN(e)) continue;
      nBad++;
      if (bad.length < 5) bad.push(`  [${i}] got ${a}, expected ${e}`);
      maxAbs = Infinity;
      continue;
    }
    const d = Math.abs(a - e);
    maxAbs = Math.max(maxAbs, d);
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
    if (d > tol.atol + tol.rtol * Math.abs(e)) {
      nBad++;
      if (bad.length < 5) bad.push(`  [${i}] got ${a}, expected ${e} (diff ${d.toExponential(2)})`);
    }
  }
  const head = `${label}: max abs diff ${maxAbs.toExponential(2)}, max rel diff ${maxRel.toExponential(2)} (rtol ${tol.rtol}, atol ${tol.atol})`;
  const message = nBad === 0 ? head : `${head}; ${nBad}/${actual.length} elements out of tolerance:\n${bad.join("\n")}`;
  return { ok: nBad === 0, maxAbs, maxRel, message };
}
