// Streaming safetensors writer: the header is fixed up front, then tensors are written one by one at their offsets.
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { CheckpointError, fmtShape } from "./errors.ts";
import { toF32, type Tensor } from "./index.ts";
import { DTYPE_SIZE, SUPPORTED_DTYPES, assertLittleEndianHost, encodeRange, isSupportedDType, type SafetensorsDType, type TensorData } from "./safetensors-dtype.ts";

/** One tensor to be written: its name, stored dtype and shape. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

/** Elements converted per write, bounding the conversion buffer (8 MiB of float32). */
const CHUNK_ELEMENTS = 1 << 21;

/** Builds the header bytes (length prefix + JSON padded with spaces to a multiple of 8) and each tensor's data offset. */
function buildHeader(path: string, specs: readonly TensorSpec[], metadata: Readonly<Record<string, string>>) {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const offsets = new Map<string, { begin: number; spec: TensorSpec }>();
  let pos = 0;
  for (const spec of specs) {
    if (spec.name === "__metadata__" || offsets.has(spec.name)) {
      throw new CheckpointError(`safetensors writer ${path}: tensor name "${spec.name}" is reserved or repeated`);
    }
    if (!isSupportedDType(spec.dtype)) {
      throw new CheckpointError(`safetensors writer ${path}: tensor "${spec.name}": unknown dtype ${JSON.stringify(spec.dtype)}; expected one of ${SUPPORTED_DTYPES.join(", ")}`);
    }
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[spec.dtype];
    header[spec.name] = { dtype: spec.dtype, shape: [...spec.shape], data_offsets: [pos, pos + bytes] };
    offsets.set(spec.name, { begin: pos, spec });
    pos += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const text = new Uint8Array(json.byteLength + ((8 - (json.byteLength % 8)) % 8)).fill(0x20); // space padding
  text.set(json);
  const prefix = new Uint8Array(8 + text.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  prefix.set(text, 8);
  return { prefix, offsets, dataBytes: pos };
}

/**
 * Writes a safetensors file with bounded memory: `create` fixes every name, dtype and shape, then `write` each
 * tensor once (any order), then `close`. Bytes go to `<path>.partial`, renamed to `path` only by a complete
 * `close`, so an interrupted write never leaves a truncated file under the final name.
 */
export class SafetensorsWriter {
  readonly #fh: FileHandle;
  readonly #offsets: Map<string, { begin: number; spec: TensorSpec }>;
  readonly #written = new Set<string>();
  readonly #dataStart: number;
  readonly #chunk: number;

  private constructor(
    readonly path: string,
    fh: FileHandle,
    offsets: Map<string, { begin: number; spec: TensorSpec }>,
    dataStart: number,
    chunkElements: number,
  ) {
    this.#fh = fh;
    this.#chunk = chunkElements;
    this.#offsets = offsets;
    this.#dataStart = dataStart;
  }

  /** Starts `<path>.partial` with the final header; `chunkElements` (default 2^21) bounds each conversion buffer. */
  static async create(
    path: string,
    specs: readonly TensorSpec[],
    metadata: Readonly<Record<string, string>> = {},
    opts: { chunkElements?: number } = {},
  ): Promise<SafetensorsWriter> {
    assertLittleEndianHost();
    const { prefix, offsets, dataBytes } = buildHeader(path, specs, metadata);
    const fh = await open(`${path}.partial`, "w");
    try {
      await fh.write(prefix, 0, prefix.byteLength, 0);
      await fh.truncate(prefix.byteLength + dataBytes);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new SafetensorsWriter(path, fh, offsets, prefix.byteLength, Math.max(1, opts.chunkElements ?? CHUNK_ELEMENTS));
  }

  /**
   * Writes one tensor. Float32Array feeds F32/F16/BF16 (rounded to nearest even), Uint16Array gives raw
   * F16/BF16 bits, Int32Array feeds I32/I64, BigInt64Array I64, Uint8Array U8/BOOL.
   */
  async write(name: string, data: TensorData): Promise<void> {
    const entry = this.#offsets.get(name);
    if (!entry) throw new CheckpointError(`safetensors writer ${this.path}: tensor "${name}" was not declared in create()`);
    if (this.#written.has(name)) throw new CheckpointError(`safetensors writer ${this.path}: tensor "${name}" written twice`);
    const { spec, begin } = entry;
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new CheckpointError(`safetensors writer ${this.path}: tensor "${name}" ${fmtShape(spec.shape)} needs ${count} elements, got ${data.length}`);
    }
    const size = DTYPE_SIZE[spec.dtype];
    for (let start = 0; start < count; start += this.#chunk) {
      const end = Math.min(count, start + this.#chunk);
      const bytes = encodeRange(spec.dtype, data, start, end);
      if (!bytes) {
        throw new CheckpointError(`safetensors writer ${this.path}: tensor "${name}": cannot store a ${data.constructor.name} as ${spec.dtype}`);
      }
      await this.#writeAll(bytes, this.#dataStart + begin + start * size);
    }
    this.#written.add(name);
  }

  /** Writes a Tensor (consumed) after reading it back as float32. */
  async writeTensor(name: string, t: Tensor): Promise<void> {
    await this.write(name, await toF32(t));
  }

  async #writeAll(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.#fh.write(bytes, done, bytes.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  /** Flushes, checks that every declared tensor was written, and renames the file into place. */
  async close(): Promise<void> {
    const missing = [...this.#offsets.keys()].filter((n) => !this.#written.has(n));
    if (missing.length > 0) {
      await this.abort();
      throw new CheckpointError(`safetensors writer ${this.path}: closed before writing ${missing.length} tensor(s): ${missing.slice(0, 5).join(", ")}`);
    }
    await this.#fh.sync();
    await this.#fh.close();
    await rename(`${this.path}.partial`, this.path);
  }

  /** Gives up: closes and deletes the partial file. */
  async abort(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }
}

/** Writes a whole set of small tensors in one call (each array is streamed in chunks all the same). */
export async function saveSafetensors(
  path: string,
  entries: readonly (TensorSpec & { readonly data: TensorData })[],
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const w = await SafetensorsWriter.create(path, entries, metadata);
  try {
    for (const e of entries) await w.write(e.name, e.data);
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
