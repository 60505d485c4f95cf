// The key prologue: random-key equations evaluated in JS and fed to the ONNX graph as inputs.
//
// ONNX has no threefry and no bitcast, so a compiled function that draws random numbers from a key input runs the
// key arithmetic here, bit-exact with jax-js (same threefry2x32), and hands the resulting bits/uniforms to the graph
// as inputs. Only integer equations that depend on uint32 inputs (plus the bitcast that turns bits into floats)
// run here; everything float stays in ONNX Runtime.
import { allocHost, type HostDType, type HostTensor, numelOf } from "./host.ts";
import { type JaxprEqn, type JVar, isLit, unsupported } from "./rule.ts";

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
const ROT = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
];

/** Threefry-2x32 with 20 rounds, exactly as jax-js's backend computes it. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 466688986) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let i = 0; i < 5; i++) {
    for (const r of ROT[i % 2]) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, r) ^ x0;
    }
    x0 = (x0 + ks[(i + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(i + 2) % 3] + i + 1) >>> 0;
  }
  return [x0, x1 >>> 0];
}

/** Row-major strides. */
function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** out[idx] = x[map(idx)] where `src(idx)` gives the flat source offset of each output multi-index. */
function gatherBy(x: HostTensor, shape: readonly number[], src: (idx: number[]) => number): HostTensor {
  const out = allocHost(x.dtype, shape);
  const idx = shape.map(() => 0);
  for (let i = 0; i < out.data.length; i++) {
    out.data[i] = x.data[src(idx)];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function broadcastTo(x: HostTensor, shape: readonly number[]): HostTensor {
  const xs = strides(x.shape);
  const off = shape.length - x.shape.length;
  return gatherBy(x, shape, (idx) => x.shape.reduce((o, d, i) => o + (d === 1 ? 0 : idx[i + off] * xs[i]), 0));
}

function binary(eqn: JaxprEqn, a: HostTensor, b: HostTensor, f: (x: number, y: number) => number): HostTensor {
  const shape = eqn.outBinders[0].aval.shape;
  const A = broadcastTo(a, shape);
  const B = broadcastTo(b, shape);
  const out = allocHost(eqn.outBinders[0].aval.dtype as HostDType, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(A.data[i], B.data[i]);
  return out;
}

function randomBits(k0: HostTensor, k1: HostTensor, shape: readonly number[], mode: "xor" | 0 | 1): HostTensor {
  const out = allocHost("uint32", shape);
  const per = numelOf(shape.slice(k0.shape.length));
  for (let i = 0; i < out.data.length; i++) {
    const key = Math.floor(i / per);
    const [x0, x1] = threefry2x32(k0.data[key], k1.data[key], 0, i % per);
    out.data[i] = mode === "xor" ? (x0 ^ x1) >>> 0 : mode === 0 ? x0 : x1;
  }
  return out;
}

const INT_OPS: Record<string, (x: number, y: number, dtype: string) => number> = {
  add: (x, y, d) => (d === "uint32" ? (x + y) >>> 0 : (x + y) | 0),
  mul: (x, y, d) => (d === "uint32" ? Math.imul(x, y) >>> 0 : Math.imul(x, y)),
  idiv: (x, y) => Math.trunc(x / y),
  mod: (x, y) => x % y,
  max: (x, y) => Math.max(x, y),
  min: (x, y) => Math.min(x, y),
};

/** Primitives the key prologue can run; anything else stays in the graph. */
export const HOST_PRIMITIVES = new Set([
  "random_bits", "split", "reshape", "concatenate", "shrink", "broadcast", "transpose", "stop_gradient", "bitcast", "cast",
  ...Object.keys(INT_OPS),
]);

/** Evaluates one prologue equation. */
export function evalHostEqn(eqn: JaxprEqn, read: (i: number) => HostTensor): HostTensor[] {
  const p = eqn.params;
  const outs = eqn.outBinders.map((v) => v.aval);
  switch (eqn.primitive) {
    case "random_bits":
      return [randomBits(read(0), read(1), p.shape, p.mode)];
    case "reshape":
    case "stop_gradient":
      return [{ ...read(0), shape: outs[0].shape }];
    case "broadcast": {
      const x = read(0);
      let j = 0;
      const withOnes = outs[0].shape.map((_: number, i: number) => (p.axis.includes(i) ? 1 : x.shape[j++]));
      return [broadcastTo({ ...x, shape: withOnes }, outs[0].shape)];
    }
    case "transpose": {
      const x = read(0);
      const xs = strides(x.shape);
      return [gatherBy(x, outs[0].shape, (idx) => idx.reduce((o, v, i) => o + v * xs[p.perm[i]], 0))];
    }
    case "shrink": {
      const x = read(0);
      const xs = strides(x.shape);
      return [gatherBy(x, outs[0].shape, (idx) => idx.reduce((o, v, i) => o + (v + p.slice[i][0]) * xs[i], 0))];
    }
    case "split":
      return splitHost(read(0), p.axis, p.sizes);
    case "concatenate":
      return [concatHost(eqn.inputs.map((_, i) => read(i)), p.axis, outs[0].shape)];
    case "bitcast": {
      const x = read(0);
      const out = allocHost(p.dtype, x.shape);
      new Uint8Array(out.data.buffer).set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
      return [out];
    }
    case "cast": {
      const x = read(0);
      const out = allocHost(p.dtype, x.shape);
      for (let i = 0; i < x.data.length; i++) out.data[i] = p.dtype === "bool" ? Number(x.data[i] !== 0) : x.data[i];
      return [out];
    }
    default: {
      const f = INT_OPS[eqn.primitive] ?? unsupported(eqn, "not a key-prologue primitive");
      const dtype = outs[0].dtype;
      return [binary(eqn, read(0), read(1), (x, y) => f(x, y, dtype))];
    }
  }
}

function splitHost(x: HostTensor, axis: number, sizes: readonly number[]): HostTensor[] {
  const xs = strides(x.shape);
  let start = 0;
  return sizes.map((s) => {
    const shape = x.shape.map((d, i) => (i === axis ? s : d));
    const from = start;
    start += s;
    return gatherBy(x, shape, (idx) => idx.reduce((o, v, i) => o + (i === axis ? v + from : v) * xs[i], 0));
  });
}

function concatHost(xs: readonly HostTensor[], axis: number, shape: readonly number[]): HostTensor {
  const out = allocHost(xs[0].dtype, shape);
  const outer = numelOf(shape.slice(0, axis));
  let pos = 0;
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const chunk = numelOf(x.shape.slice(axis));
      out.data.set(x.data.subarray(o * chunk, (o + 1) * chunk), pos);
      pos += chunk;
    }
  }
  return out;
}

/** Splits equations into the key prologue (run here) and the rest (lowered to ONNX). */
export function partitionHost(inBinders: readonly JVar[], eqns: readonly JaxprEqn[]): { host: JaxprEqn[]; device: JaxprEqn[] } {
  const onHost = new Set<JVar>(inBinders.filter((v) => v.aval.dtype === "uint32"));
  const host: JaxprEqn[] = [];
  const device: JaxprEqn[] = [];
  for (const eqn of eqns) {
    const vars = eqn.inputs.filter((a) => !isLit(a)) as JVar[];
    const intOut = eqn.outBinders.every((v) => ["uint32", "int32", "bool"].includes(v.aval.dtype)) || eqn.primitive === "bitcast";
    if (HOST_PRIMITIVES.has(eqn.primitive) && vars.length > 0 && vars.every((v) => onHost.has(v)) && intOut) {
      host.push(eqn);
      for (const v of eqn.outBinders) onHost.add(v);
    } else device.push(eqn);
  }
  return { host, device };
}
