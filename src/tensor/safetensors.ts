// Streaming safetensors reader: parses and validates the header, then reads one tensor at a time with positioned reads.
import { open, type FileHandle } from "node:fs/promises";
import { CheckpointError, fmtShape } from "./errors.ts";
import { fromF32, type Tensor } from "./index.ts";
import {
  DTYPE_SIZE,
  SUPPORTED_DTYPES,
  assertLittleEndianHost,
  decodeToF32,
  isSupportedDType,
  type SafetensorsDType,
} from "./safetensors-dtype.ts";

export { DTYPE_SIZE, SUPPORTED_DTYPES, type SafetensorsDType, type TensorData } from "./safetensors-dtype.ts";

/** The largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Reads larger than this are split, so no single read or conversion buffer exceeds it (default). */
const CHUNK_BYTES = 64 << 20;

/** Where one tensor lives in the file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte position in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

/** A parsed header: tensors in file order and the free-form `__metadata__` strings. */
export interface SafetensorsHeader {
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** 8 + header length: where the data buffer starts. */
  readonly dataStart: number;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(file: string, name: string, raw: unknown, dataStart: number): TensorInfo {
  const where = `safetensors ${file}: tensor "${name}"`;
  if (typeof raw !== "object" || raw === null) throw new CheckpointError(`${where}: header entry must be an object, got ${JSON.stringify(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (!isSupportedDType(dtype)) {
    throw new CheckpointError(`${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${SUPPORTED_DTYPES.join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new CheckpointError(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
    throw new CheckpointError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_SIZE[dtype];
  if (end - begin !== expected) {
    throw new CheckpointError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${fmtShape(shape)} needs ${expected}`,
    );
  }
  return { name, dtype, shape, fileOffset: dataStart + begin, byteLength: end - begin };
}

/** Checks that the tensors tile the data buffer exactly: nothing past the end of the file, no overlap, no hole. */
function checkLayout(file: string, tensors: TensorInfo[], dataStart: number, fileSize: number): void {
  const rel = (x: number) => x - dataStart;
  for (const t of tensors) {
    if (t.fileOffset + t.byteLength > fileSize) {
      throw new CheckpointError(
        `safetensors ${file}: tensor "${t.name}" data_offsets [${rel(t.fileOffset)}, ${rel(t.fileOffset + t.byteLength)}] run past the end of the data (${fileSize - dataStart} bytes)`,
        "the file is truncated (interrupted copy or download) or its header is wrong; fetch or write it again",
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.fileOffset - b.fileOffset || a.byteLength - b.byteLength);
  let pos = dataStart;
  let prev: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.fileOffset < pos) {
      throw new CheckpointError(
        `safetensors ${file}: tensor "${t.name}" bytes [${rel(t.fileOffset)}, ${rel(t.fileOffset + t.byteLength)}) overlap tensor "${prev?.name}" (ends at ${rel(pos)})`,
      );
    }
    if (t.fileOffset > pos) {
      throw new CheckpointError(`safetensors ${file}: tensor "${t.name}" starts at data byte ${rel(t.fileOffset)}, leaving a hole after byte ${rel(pos)}`);
    }
    pos = t.fileOffset + t.byteLength;
    prev = t;
  }
  if (pos !== fileSize) {
    throw new CheckpointError(`safetensors ${file}: ${fileSize - pos} bytes after the last tensor are not described by the header`);
  }
}

/** Parses the JSON header text into tensors and metadata, validating every entry. */
export function parseHeader(file: string, text: string, dataStart: number, fileSize: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`safetensors ${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError(`safetensors ${file}: header must be a JSON object, got ${text.slice(0, 40)}`);
  }
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name !== "__metadata__") {
      tensors.push(parseEntry(file, name, raw, dataStart));
      continue;
    }
    if (typeof raw !== "object" || raw === null) throw new CheckpointError(`safetensors ${file}: __metadata__ must be an object of strings`);
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== "string") throw new CheckpointError(`safetensors ${file}: __metadata__["${k}"] must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v;
    }
  }
  checkLayout(file, tensors, dataStart, fileSize);
  tensors.sort((a, b) => a.fileOffset - b.fileOffset);
  return { tensors, metadata, dataStart };
}

/** Reads exactly `length` bytes at `position` into `into` (looping over short reads). */
async function readExactly(fh: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) throw new CheckpointError(`safetensors ${file}: truncated: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/**
 * An open safetensors file. Only the header is held in memory; each read fetches one tensor with positioned
 * reads in chunks (64 MiB by default). Close it (or use `withSafetensors`) when done.
 */
export class SafetensorsReader {
  readonly #fh: FileHandle;
  readonly #byName: Map<string, TensorInfo>;
  readonly #chunk: number;

  private constructor(readonly path: string, fh: FileHandle, readonly header: SafetensorsHeader, chunkBytes: number) {
    this.#fh = fh;
    this.#chunk = chunkBytes;
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens `path` and validates its header; errors name the file (and the tensor when one is at fault).
   * `chunkBytes` (default 64 MiB) bounds each read and conversion buffer.
   */
  static async open(path: string, opts: { chunkBytes?: number } = {}): Promise<SafetensorsReader> {
    assertLittleEndianHost();
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new CheckpointError(`safetensors ${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      return new SafetensorsReader(path, fh, await readHeader(fh, path), Math.max(8, opts.chunkBytes ?? CHUNK_BYTES));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The tensor's dtype, shape and location; throws naming the file when it is absent. */
  info(name: string): TensorInfo {
    const t = this.#byName.get(name);
    if (!t) {
      const some = this.names().slice(0, 8).join(", ");
      throw new CheckpointError(`safetensors ${this.path}: no tensor "${name}" (${this.#byName.size} tensors: ${some}${this.#byName.size > 8 ? ", ..." : ""})`);
    }
    return t;
  }

  /** The tensor's raw little-endian bytes, in a fresh 8-byte-aligned buffer. */
  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const out = new Uint8Array(t.byteLength);
    for (let off = 0; off < t.byteLength; off += this.#chunk) {
      const len = Math.min(this.#chunk, t.byteLength - off);
      await readExactly(this.#fh, out.subarray(off, off + len), t.fileOffset + off, `${this.path} (tensor "${name}")`);
    }
    return out;
  }

  /** The tensor as float32 (F16/BF16 widened exactly, integers and bools converted), chunk by chunk. */
  async readF32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    const size = DTYPE_SIZE[t.dtype];
    const out = new Float32Array(t.byteLength / size);
    if (t.dtype === "F32") {
      const bytes = new Uint8Array(out.buffer);
      for (let off = 0; off < t.byteLength; off += this.#chunk) {
        const len = Math.min(this.#chunk, t.byteLength - off);
        await readExactly(this.#fh, bytes.subarray(off, off + len), t.fileOffset + off, `${this.path} (tensor "${name}")`);
      }
      return out;
    }
    const chunkBytes = Math.max(size, Math.floor(this.#chunk / 4 / size) * size);
    const scratch = new Uint8Array(Math.min(chunkBytes, t.byteLength));
    for (let off = 0; off < t.byteLength; off += chunkBytes) {
      const len = Math.min(chunkBytes, t.byteLength - off);
      const part = scratch.subarray(0, len);
      await readExactly(this.#fh, part, t.fileOffset + off, `${this.path} (tensor "${name}")`);
      decodeToF32(t.dtype, part, out, off / size);
    }
    return out;
  }

  /** The tensor as a float32 Tensor of its stored shape (the caller owns it). */
  async readTensor(name: string): Promise<Tensor> {
    const data = await this.readF32(name);
    return fromF32(data, this.info(name).shape);
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

/** Reads and validates the 8-byte length prefix and the JSON header. */
async function readHeader(fh: FileHandle, path: string): Promise<SafetensorsHeader> {
  const { size } = await fh.stat();
  if (size < 8) {
    throw new CheckpointError(`safetensors ${path}: truncated: ${size} bytes, shorter than the 8-byte header length`);
  }
  const prefix = new Uint8Array(8);
  await readExactly(fh, prefix, 0, path);
  const n = new DataView(prefix.buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(
      `safetensors ${path}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`,
      "the file is probably not safetensors (or is corrupted at its first 8 bytes)",
    );
  }
  const headerLen = Number(n);
  if (8 + headerLen > size) {
    throw new CheckpointError(`safetensors ${path}: truncated: the header claims ${headerLen} bytes but the file has only ${size - 8} after the length`);
  }
  const text = new Uint8Array(headerLen);
  await readExactly(fh, text, 8, path);
  return parseHeader(path, new TextDecoder("utf-8", { fatal: false }).decode(text), 8 + headerLen, size);
}

/** Opens `path`, runs `fn`, and always closes the file. */
export async function withSafetensors<T>(path: string, fn: (r: SafetensorsReader) => Promise<T>): Promise<T> {
  const r = await SafetensorsReader.open(path);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}
