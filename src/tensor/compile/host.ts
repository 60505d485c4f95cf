// Host arrays (a typed array + shape in JS memory): what compiled functions take and return, and engine conversions.
import { InternvlaError } from "../errors.ts";
import { np, type Tensor } from "../index.ts";

export type HostDType = "float32" | "float64" | "int32" | "uint32" | "bool";
export type HostData = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** A dense row-major array in JS memory: what compiled functions take and return besides Tensors. */
export interface HostTensor {
  readonly dtype: HostDType;
  readonly shape: readonly number[];
  readonly data: HostData;
}

const CTOR = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Wraps a typed array (not copied) as a HostTensor; the dtype follows the array type unless given. */
export function hostTensor(data: HostData, shape: readonly number[], dtype?: HostDType): HostTensor {
  const dt = dtype ?? inferDtype(data);
  if (numelOf(shape) !== data.length) {
    throw new InternvlaError(`hostTensor: data has ${data.length} elements, shape [${shape.join(", ")}] needs ${numelOf(shape)}`);
  }
  if (!(data instanceof CTOR[dt])) throw new InternvlaError(`hostTensor: dtype ${dt} needs a ${CTOR[dt].name}, got ${data.constructor.name}`);
  return { dtype: dt, shape: [...shape], data };
}

function inferDtype(data: HostData): HostDType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint32Array) return "uint32";
  return "bool";
}

export function isHostTensor(x: unknown): x is HostTensor {
  return typeof x === "object" && x !== null && "data" in x && "shape" in x && "dtype" in x && ArrayBuffer.isView((x as HostTensor).data);
}

export function allocHost(dtype: HostDType, shape: readonly number[]): HostTensor {
  return { dtype, shape: [...shape], data: new CTOR[dtype](numelOf(shape)) };
}

/**
 * Reads an engine Tensor (consumed) into a HostTensor (bool becomes Uint8Array, as ONNX Runtime wants). Reads on
 * the main thread (dataSync): an intermittent hang was seen with many concurrent worker-pool reads under load.
 */
export async function toHost(x: Tensor): Promise<HostTensor> {
  const dtype = String(x.dtype) as HostDType;
  const shape = [...x.shape];
  if (!(dtype in CTOR)) throw new InternvlaError(`toHost: dtype ${dtype} is not supported; expected one of ${Object.keys(CTOR).join(", ")}`);
  const data = x.dataSync();
  if (dtype === "bool") return { dtype, shape, data: Uint8Array.from(data as Int32Array) };
  return { dtype, shape, data: data as HostData };
}

/** Uploads a HostTensor (copied) as an engine Tensor. */
export function fromHost(h: HostTensor): Tensor {
  const data = h.dtype === "bool" ? Int32Array.from(h.data) : h.data;
  return np.array(data as Float32Array, { dtype: h.dtype as Tensor["dtype"] }).reshape([...h.shape]);
}
