// safetensors reader/writer vs files written by scripts/ref/foundation_st_files.py (PyTorch tensors, format by hand) and corrupted copies.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine, toF32 } from "../../src/tensor/index.ts";
import { CheckpointError } from "../../src/tensor/errors.ts";
import { SafetensorsReader, withSafetensors, type SafetensorsDType } from "../../src/tensor/safetensors.ts";
import { SafetensorsWriter, saveSafetensors } from "../../src/tensor/safetensors-writer.ts";

const DIR = resolve(import.meta.dirname, "..", "fixtures", "nn", "safetensors");
const DTYPES_FILE = join(DIR, "dtypes.safetensors");
let tmp: string;

beforeAll(async () => {
  await initEngine();
  tmp = await mkdtemp(join(tmpdir(), "internvla-st-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every tensor of a file as raw bytes with its dtype and shape. */
async function rawTensors(path: string) {
  return withSafetensors(path, async (r) => {
    const out = [];
    for (const name of r.names()) out.push({ ...r.info(name), bytes: await r.readBytes(name) });
    return { out, metadata: r.metadata };
  });
}

describe("SafetensorsReader on a PyTorch-written file", () => {
  it("converts F16, BF16, I64, I32, U8 and BOOL to float32 exactly as torch's .float()", async () => {
    await withSafetensors(DTYPES_FILE, async (r) => {
      expect(r.metadata.format_version).toBe("1");
      for (const name of ["f16", "bf16", "i64", "i32", "u8", "bool", "special.as_f16", "special.as_bf16"]) {
        expect(await r.readF32(name), name).toEqual(await r.readF32(`${name}.f32`));
      }
      expect(r.info("bf16").dtype).toBe("BF16");
      expect(r.info("scalar").shape).toEqual([]);
      expect(await r.readF32("scalar")).toEqual(new Float32Array([2.5]));
      expect(await r.readF32("empty")).toEqual(new Float32Array(0));
    });
  });

  it("gives the same values with tiny read chunks (chunk boundaries inside tensors)", async () => {
    const a = await SafetensorsReader.open(DTYPES_FILE);
    const b = await SafetensorsReader.open(DTYPES_FILE, { chunkBytes: 8 });
    try {
      for (const name of a.names()) expect(await b.readF32(name), name).toEqual(await a.readF32(name));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("reads a tensor as an engine Tensor of its stored shape", async () => {
    const t = await withSafetensors(DTYPES_FILE, (r) => r.readTensor("f32"));
    expect(t.shape).toEqual([3, 4, 5]);
    const direct = await withSafetensors(DTYPES_FILE, (r) => r.readF32("f32"));
    expect(await toF32(t)).toEqual(direct);
  });

  it("names the file and lists tensors when a name is missing", async () => {
    await withSafetensors(DTYPES_FILE, async (r) => {
      expect(() => r.info("nope")).toThrow(/dtypes\.safetensors: no tensor "nope" \(\d+ tensors: f32, f16/);
    });
  });
});

describe("SafetensorsWriter", () => {
  it("rewrites the PyTorch file byte for byte (header, padding, metadata, every dtype)", async () => {
    const { out, metadata } = await rawTensors(DTYPES_FILE);
    const path = join(tmp, "copy.safetensors");
    const w = await SafetensorsWriter.create(path, out, metadata, { chunkElements: 3 });
    for (const t of [...out].reverse()) await w.write(t.name, raw(t.dtype, t.bytes));
    await w.close();
    expect(new Uint8Array(await readFile(path))).toEqual(new Uint8Array(await readFile(DTYPES_FILE)));
  });

  it("rounds float32 to F16 and BF16 exactly as torch's .to() (ties, subnormals, overflow, NaN)", async () => {
    const source = await withSafetensors(DTYPES_FILE, (r) => r.readF32("special.f32"));
    const path = join(tmp, "round.safetensors");
    const shape = [source.length];
    await saveSafetensors(path, [
      { name: "h", dtype: "F16", shape, data: source },
      { name: "b", dtype: "BF16", shape, data: source },
    ]);
    const ours = await withSafetensors(path, async (r) => [await r.readBytes("h"), await r.readBytes("b")]);
    const torch = await withSafetensors(DTYPES_FILE, async (r) => [await r.readBytes("special.as_f16"), await r.readBytes("special.as_bf16")]);
    expectSameHalfBits(ours[0], torch[0], 10);
    expectSameHalfBits(ours[1], torch[1], 7);
  });

  it("refuses undeclared, repeated, mis-sized and mis-typed writes, and leaves no file when incomplete", async () => {
    const path = join(tmp, "bad.safetensors");
    const w = await SafetensorsWriter.create(path, [
      { name: "x", dtype: "F32", shape: [2] },
      { name: "y", dtype: "I32", shape: [1] },
    ]);
    await expect(w.write("z", new Float32Array(2))).rejects.toThrow(/tensor "z" was not declared/);
    await expect(w.write("x", new Float32Array(3))).rejects.toThrow(/needs 2 elements, got 3/);
    await expect(w.write("y", new Float32Array(1))).rejects.toThrow(/cannot store a Float32Array as I32/);
    await w.write("x", new Float32Array(2));
    await expect(w.write("x", new Float32Array(2))).rejects.toThrow(/written twice/);
    await expect(w.close()).rejects.toThrow(/closed before writing 1 tensor\(s\): y/);
    await expect(stat(path)).rejects.toThrow();
    await expect(stat(`${path}.partial`)).rejects.toThrow();
  });
});

/**
 * Equal 16-bit patterns, except that a NaN only has to stay a NaN: torch's vectorised bf16 cast writes 0xffff
 * where its scalar cast (and ours) writes 0x7fc0. `mantBits` is 10 for F16, 7 for BF16.
 */
function expectSameHalfBits(ours: Uint8Array, torch: Uint8Array, mantBits: number): void {
  const a = new Uint16Array(ours.buffer, ours.byteOffset, ours.byteLength / 2);
  const b = new Uint16Array(torch.buffer, torch.byteOffset, torch.byteLength / 2);
  const expMask = (0x7fff >> mantBits) << mantBits;
  const isNaN16 = (h: number) => (h & expMask) === expMask && (h & ((1 << mantBits) - 1)) !== 0;
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (isNaN16(b[i])) expect(isNaN16(a[i]), `element ${i} must be NaN`).toBe(true);
    else expect(a[i], `element ${i}`).toBe(b[i]);
  }
}

/** Wraps raw little-endian bytes in the typed array the writer takes for `dtype`. */
function raw(dtype: SafetensorsDType, bytes: Uint8Array) {
  const b = bytes.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(b, bytes.byteOffset, bytes.byteLength / 4);
    case "F16":
    case "BF16":
      return new Uint16Array(b, bytes.byteOffset, bytes.byteLength / 2);
    case "I64":
      return new BigInt64Array(b, bytes.byteOffset, bytes.byteLength / 8);
    case "I32":
      return new Int32Array(b, bytes.byteOffset, bytes.byteLength / 4);
    default:
      return bytes;
  }
}

describe("broken files give errors naming the file and the tensor", () => {
  const cases: [string, RegExp][] = [
    ["truncated", /truncated\.safetensors: tensor "b" data_offsets \[24, 40\] run past the end of the data \(35 bytes\)/],
    ["out_of_range", /out_of_range\.safetensors: tensor "b" data_offsets \[1000, 1016\] run past the end/],
    ["overlap", /overlap\.safetensors: tensor "b" bytes \[16, 32\) overlap tensor "a" \(ends at 24\)/],
    ["size_mismatch", /size_mismatch\.safetensors: tensor "a": data_offsets \[0, 24\] span 24 bytes but F32 \[2, 2\] needs 16/],
    ["unknown_dtype", /unknown_dtype\.safetensors: tensor "b": unknown dtype "F8_E4M3"; expected one of F32, F16, BF16, I64, I32, U8, BOOL/],
    ["hole", /hole\.safetensors: tensor "b" starts at data byte 28, leaving a hole after byte 24/],
    ["header_too_large", /header_too_large\.safetensors: header length 1099511627776 exceeds the 100000000-byte limit/],
    ["bad_json", /bad_json\.safetensors: header is not valid JSON/],
    ["trailing", /trailing\.safetensors: 8 bytes after the last tensor are not described by the header/],
  ];
  for (const [name, message] of cases) {
    it(name, async () => {
      const err = await SafetensorsReader.open(join(DIR, `${name}.safetensors`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(message);
    });
  }
  it("a missing file", async () => {
    await expect(SafetensorsReader.open(join(tmp, "absent.safetensors"))).rejects.toThrow(/absent\.safetensors: cannot open \(ENOENT\)/);
  });
  it("a file shorter than the length prefix", async () => {
    const path = join(tmp, "tiny.safetensors");
    const w = await SafetensorsWriter.create(path, []);
    await w.close();
    const bytes = await readFile(path);
    expect(bytes.byteLength).toBe(16); // length prefix + "{}" padded to 8
    await writeFile(path, bytes.subarray(0, 5));
    await expect(SafetensorsReader.open(path)).rejects.toThrow(/tiny\.safetensors: truncated: 5 bytes, shorter than the 8-byte header length/);
  });
});
