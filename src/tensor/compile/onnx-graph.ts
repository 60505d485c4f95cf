// An ONNX graph under construction: nodes, initializers and shape-tracked tensor names, encoded with onnx-proto.
import onnxProto, { type onnx as OnnxTypes } from "onnx-proto";
import { InternvlaError } from "../errors.ts";

const { onnx } = onnxProto;

/** Element types the compiler emits (jax-js's dtypes plus int64 for ONNX index and shape inputs). */
export type ElemType = "float32" | "float64" | "int32" | "uint32" | "bool" | "int64";

const ONNX_TYPE: Record<ElemType, number> = {
  float32: 1,
  bool: 9,
  int32: 6,
  int64: 7,
  float64: 11,
  uint32: 12,
};

/** Opset of the default domain; FusedMatMul comes from com.microsoft version 1. */
export const OPSET = 18;

export type AttrValue = number | readonly number[] | string | { readonly float: number };

/** Shape and type of a tensor in the graph (static, concrete). */
export interface TensorInfo {
  readonly shape: readonly number[];
  readonly dtype: ElemType;
}

export interface GraphStats {
  /** Nodes per op type. */
  readonly ops: Record<string, number>;
  /** Largest tensor produced by a node, in elements. */
  readonly maxNodeOutput: number;
  /** Broadcasts the lowering had to make real (Expand), with their sizes in elements. */
  readonly materialized: readonly { readonly reason: string; readonly elements: number }[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

interface NodeRec {
  readonly op: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Record<string, AttrValue>;
}

type Bytes = Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array | BigInt64Array;

/** Accumulates an ONNX graph; every tensor name carries its static shape and element type. */
export class GraphBuilder {
  readonly #nodes: NodeRec[] = [];
  readonly #initializers = new Map<string, OnnxTypes.ITensorProto>();
  readonly #inputs: OnnxTypes.IValueInfoProto[] = [];
  readonly #outputs: string[] = [];
  readonly #info = new Map<string, TensorInfo>();
  readonly #constCache = new Map<string, string>();
  readonly #materialized = new Map<string, string>();
  #counter = 0;

  /** Shape and type of a tensor name. */
  info(name: string): TensorInfo {
    const info = this.#info.get(name);
    if (!info) throw new InternvlaError(`internal: compile: unknown tensor ${name}`);
    return info;
  }

  #fresh(prefix: string): string {
    return `${prefix}${this.#counter++}`;
  }

  /** Declares a graph input. */
  input(name: string, info: TensorInfo): string {
    this.#info.set(name, info);
    this.#inputs.push(valueInfo(name, info));
    return name;
  }

  /** Declares a graph output under `name`, copying `from` through Identity. */
  output(name: string, from: string): void {
    this.#info.set(name, this.info(from));
    this.#nodes.push({ op: "Identity", domain: "", inputs: [from], outputs: [name], attrs: {} });
    this.#outputs.push(name);
  }

  /** Adds a node with one output of the given shape and type; returns the output name. */
  node(op: string, inputs: readonly string[], out: TensorInfo, attrs: Record<string, AttrValue> = {}, domain = ""): string {
    return this.nodeMulti(op, inputs, [out], attrs, domain)[0];
  }

  /** Adds a node with several outputs. */
  nodeMulti(op: string, inputs: readonly string[], outs: readonly TensorInfo[], attrs: Record<string, AttrValue> = {}, domain = ""): string[] {
    const names = outs.map(() => this.#fresh("t"));
    outs.forEach((info, i) => this.#info.set(names[i], info));
    this.#nodes.push({ op, domain, inputs: [...inputs], outputs: names, attrs });
    return names;
  }

  /** Records that tensor `name` is a broadcast made real, for the materialisation report. */
  noteMaterialized(name: string, reason: string): void {
    this.#materialized.set(name, reason);
  }

  /** A constant tensor as an initializer (deduplicated when `key` is given). */
  constant(info: TensorInfo, data: Bytes, key?: string): string {
    if (key !== undefined) {
      const hit = this.#constCache.get(key);
      if (hit) return hit;
    }
    const name = this.#fresh("c");
    this.#info.set(name, info);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#initializers.set(name, onnx.TensorProto.create({ name, dataType: ONNX_TYPE[info.dtype], dims: [...info.shape], rawData: raw }));
    if (key !== undefined) this.#constCache.set(key, name);
    return name;
  }

  /** A rank-0 constant of the given type. */
  scalar(dtype: ElemType, value: number): string {
    return this.constant({ shape: [], dtype }, typedOf(dtype, [value]), `s:${dtype}:${Object.is(value, -0) ? "-0" : value}`);
  }

  /** A 1-D int64 constant (shapes, axes, pads, starts...). */
  int64s(values: readonly number[]): string {
    return this.constant({ shape: [values.length], dtype: "int64" }, BigInt64Array.from(values.map(BigInt)), `i64:${values.join(",")}`);
  }

  /** Reshape unless the shape already matches. */
  reshape(x: string, shape: readonly number[]): string {
    const info = this.info(x);
    if (sameShape(info.shape, shape)) return x;
    return this.node("Reshape", [x, this.int64s(shape)], { shape, dtype: info.dtype });
  }

  /** Transpose unless the permutation is the identity. */
  transpose(x: string, perm: readonly number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    const info = this.info(x);
    return this.node("Transpose", [x], { shape: perm.map((p) => info.shape[p]), dtype: info.dtype }, { perm });
  }

  /** Cast unless the type already matches. */
  cast(x: string, dtype: ElemType): string {
    const info = this.info(x);
    if (info.dtype === dtype) return x;
    return this.node("Cast", [x], { shape: info.shape, dtype }, { to: ONNX_TYPE[dtype] });
  }

  /** The ONNX enum value of an element type (for Cast's `to`). */
  static onnxType(dtype: ElemType): number {
    return ONNX_TYPE[dtype];
  }

  /**
   * Transpose(MatMul(a, b)) that only swaps the last two axes -> FusedMatMul(b, a) with the flags swapped, when the
   * product has no other reader (the lowering cannot know, when it emits a dot, that its result is read transposed).
   */
  #fuseTransposedMatmuls(nodes: readonly NodeRec[]): NodeRec[] {
    const readers = new Map<string, number>();
    for (const n of nodes) for (const x of n.inputs) readers.set(x, (readers.get(x) ?? 0) + 1);
    const producer = new Map<string, NodeRec>();
    for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
    const out = nodes.map((n) => {
      const p = producer.get(n.inputs[0]);
      if (n.op !== "Transpose" || !p || (p.op !== "MatMul" && p.op !== "FusedMatMul") || readers.get(n.inputs[0]) !== 1) return n;
      const perm = n.attrs.perm as readonly number[];
      const r = perm.length;
      if (!perm.every((a, i) => (i < r - 2 ? a === i : a === 2 * r - 3 - i)) || this.#outputs.includes(n.inputs[0])) return n;
      const tA = p.op === "FusedMatMul" ? (p.attrs.transA as number) : 0;
      const tB = p.op === "FusedMatMul" ? (p.attrs.transB as number) : 0;
      const attrs = { transA: 1 - tB, transB: 1 - tA, alpha: { float: 1 } };
      return { op: "FusedMatMul", domain: "com.microsoft", inputs: [p.inputs[1], p.inputs[0]], outputs: n.outputs, attrs };
    });
    return out;
  }

  /** The nodes that feed some graph output (dead code is dropped), after peephole rewrites. */
  #live(): NodeRec[] {
    const nodes = this.#fuseTransposedMatmuls(this.#nodes);
    const need = new Set(this.#outputs);
    const live: NodeRec[] = [];
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (!n.outputs.some((o) => need.has(o))) continue;
      live.push(n);
      for (const x of n.inputs) need.add(x);
    }
    return live.reverse();
  }

  /** Op counts, the largest node output and the broadcasts made real, over the live graph. */
  stats(): GraphStats {
    const ops: Record<string, number> = {};
    let maxNodeOutput = 0;
    const materialized: { reason: string; elements: number }[] = [];
    for (const n of this.#live()) {
      if (n.op !== "Identity") ops[n.op] = (ops[n.op] ?? 0) + 1;
      for (const o of n.outputs) {
        const elements = numel(this.info(o).shape);
        maxNodeOutput = Math.max(maxNodeOutput, elements);
        const reason = this.#materialized.get(o);
        if (reason !== undefined) materialized.push({ reason, elements });
      }
    }
    return { ops, maxNodeOutput, materialized };
  }

  /** Serialises the live graph (IR 8, opset 18 + com.microsoft 1). */
  encode(name = "internvla"): Uint8Array {
    const live = this.#live();
    const used = new Set(live.flatMap((n) => n.inputs));
    const node = live.map((n) =>
      onnx.NodeProto.create({
        opType: n.op,
        domain: n.domain,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute_(k, v)),
      }),
    );
    const graph = onnx.GraphProto.create({
      name,
      node,
      initializer: [...this.#initializers].filter(([k]) => used.has(k)).map(([, t]) => t),
      input: this.#inputs,
      output: this.#outputs.map((o) => valueInfo(o, this.info(o))),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "internvla",
      opsetImport: [
        { domain: "", version: OPSET },
        { domain: "com.microsoft", version: 1 },
      ],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A typed array of the given element type holding `values`. */
export function typedOf(dtype: ElemType, values: readonly number[]): Bytes {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "uint32":
      return Uint32Array.from(values);
    case "bool":
      return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    case "int64":
      return BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v))));
  }
}

function valueInfo(name: string, info: TensorInfo): OnnxTypes.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: ONNX_TYPE[info.dtype], shape: { dim: info.shape.map((d) => ({ dimValue: d })) } } },
  });
}

function attribute_(name: string, v: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.INTS, ints: [...v] };
}
