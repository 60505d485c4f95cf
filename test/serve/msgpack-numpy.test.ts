// The openpi msgpack-numpy codec: frames written by Python's msgpack + numpy decode to the same values, and ours
// round-trip with binary marker keys. Fixtures: `/usr/bin/python3 scripts/ref/openpi_client.py frames --out test/fixtures/serve/frames`.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decode } from "@msgpack/msgpack";
import {
  type NdArray, type WireMap, type WireValue, ProtocolError, decodeMsgpackNumpy, encodeMsgpackNumpy, isNdArray,
  ndarray, toFloat32Array,
} from "../../src/serve/msgpack-numpy.ts";

const DIR = new URL("../fixtures/serve/frames/", import.meta.url);
const FORMAT_VERSION = 1;
const expected = JSON.parse(readFileSync(new URL("expected.json", DIR), "utf8")) as {
  format_version: number;
  cases: Record<string, Record<string, unknown>>;
};

type Expect = { dtype: string; shape: number[]; values: number[] } | { bytes: number[] } | unknown;

function compare(got: WireValue, want: Expect, path: string): void {
  if (want !== null && typeof want === "object" && "dtype" in (want as object)) {
    const w = want as { dtype: string; shape: number[]; values: number[] };
    expect(isNdArray(got), path).toBe(true);
    const a = got as NdArray;
    expect(a.dtype, path).toBe(w.dtype);
    expect(a.shape, path).toEqual(w.shape);
    expect(Array.from(toFloat32Array(a)), path).toEqual(w.values.map(Math.fround));
  } else if (want !== null && typeof want === "object" && "bytes" in (want as object)) {
    expect(Array.from(got as Uint8Array), path).toEqual((want as { bytes: number[] }).bytes);
  } else if (Array.isArray(want)) {
    want.forEach((x, i) => compare((got as WireValue[])[i], x, `${path}[${i}]`));
  } else if (want !== null && typeof want === "object") {
    expect(Object.keys(got as object).sort(), path).toEqual(Object.keys(want).sort());
    for (const [k, x] of Object.entries(want)) compare((got as WireMap)[k], x, `${path}.${k}`);
  } else expect(got, path).toEqual(want);
}

describe("frames written by Python (openpi msgpack_numpy)", () => {
  it("has the fixture format this test expects", () => {
    expect(expected.format_version, "regenerate: /usr/bin/python3 scripts/ref/openpi_client.py frames --out test/fixtures/serve/frames").toBe(FORMAT_VERSION);
  });
  for (const name of Object.keys(expected.cases)) {
    it(`decodes ${name}`, () => {
      const bytes = readFileSync(new URL(`${name}.msgpack`, DIR));
      compare(decodeMsgpackNumpy(bytes), expected.cases[name], name);
    });
  }
});

describe("our encoder", () => {
  it("writes the marker keys as msgpack bin (Python sees bytes keys), the dtype as str", () => {
    const bytes = encodeMsgpackNumpy({ a: ndarray(new Float32Array([1, 2]), [2]) });
    // A plain msgpack decoder without numpy support shows the raw structure: a bin key fails its str/number rule.
    expect(() => decode(bytes)).toThrow(/key must be string or number/);
    const raw = decode(bytes, { mapKeyConverter: (k) => (k instanceof Uint8Array ? `bin:${Buffer.from(k).toString()}` : (k as string)) }) as Record<string, Record<string, unknown>>;
    expect(Object.keys(raw.a)).toEqual(["bin:__ndarray__", "bin:data", "bin:dtype", "bin:shape"]);
    expect(raw.a["bin:dtype"]).toBe("<f4");
    expect(raw.a["bin:shape"]).toEqual([2]);
  });

  it("round-trips every dtype, nested maps, lists, numbers, strings and bytes", () => {
    const value: WireMap = {
      f32: ndarray(new Float32Array([1.5, -2, 3e-8]), [3]),
      f64: ndarray(new Float64Array([Math.PI, -1e300]), [2, 1]),
      u8: ndarray(new Uint8Array([0, 255, 7, 9]), [2, 2]),
      i64: ndarray(new BigInt64Array([-5n, 7n]), [2]),
      b: ndarray(new Uint8Array([1, 0]), [2], "bool"),
      nested: { deeper: { x: ndarray(new Int16Array([-3]), [1, 1, 1]) } },
      list: [1, -1, 2 ** 31, -(2 ** 31), 0.25, 2 ** 53, "ünïcode", null, true, false, new Uint8Array([1, 2])],
      long: "x".repeat(70000),
    };
    const back = decodeMsgpackNumpy(encodeMsgpackNumpy(value)) as WireMap;
    for (const k of ["f32", "f64", "u8", "i64", "b"]) {
      const a = value[k] as NdArray;
      const b = back[k] as NdArray;
      expect([b.dtype, b.shape], k).toEqual([a.dtype, a.shape]);
      expect(Array.from(b.data as ArrayLike<number | bigint>), k).toEqual(Array.from(a.data as ArrayLike<number | bigint>));
    }
    expect(((back.nested as WireMap).deeper as WireMap).x).toMatchObject({ dtype: "int16", shape: [1, 1, 1] });
    expect(back.list).toEqual(value.list);
    expect(back.long).toBe(value.long);
  });

  it("encodes a large array in one copy and decodes it without loss", () => {
    const img = new Uint8Array(224 * 224 * 3).map((_, i) => (i * 31) & 255);
    const back = decodeMsgpackNumpy(encodeMsgpackNumpy({ img: ndarray(img, [224, 224, 3]) })) as WireMap;
    expect(Buffer.compare(Buffer.from((back.img as NdArray).data as Uint8Array), Buffer.from(img))).toBe(0);
  });
});

describe("bad frames are ProtocolErrors that say what is wrong", () => {
  const nd = (over: Record<string, unknown>): Uint8Array => {
    const m = new Map<unknown, unknown>([["__ndarray__", true], ["data", new Uint8Array(8)], ["dtype", "<f4"], ["shape", [2]]]);
    for (const [k, v] of Object.entries(over)) m.set(k, v);
    return encodeMsgpackNumpy({ x: Object.fromEntries(m) as WireValue });
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated", encodeMsgpackNumpy({ a: "hello" }).subarray(0, 5), /malformed msgpack/],
    ["trailing bytes", new Uint8Array([0x80, 0x01]), /malformed msgpack/],
    ["unknown dtype", nd({ dtype: "<c8" }), /unsupported dtype "<c8"/],
    ["object dtype", nd({ dtype: "|O" }), /unsupported dtype/],
    ["size mismatch", nd({ shape: [3] }), /needs 12 bytes, data has 8/],
    ["negative shape", nd({ shape: [-2] }), /shape: expected a list/],
    ["data not bytes", nd({ data: "abc" }), /data: expected bytes/],
    ["extension type", new Uint8Array([0xd4, 0x05, 0x00]), /malformed msgpack|extension/],
    ["nil map key", new Uint8Array([0x81, 0xc0, 0x01]), /map keys must be/],
    ["list as map key", new Uint8Array([0x81, 0x90, 0x01]), /map keys must be str, bin or int; got a map or list/],
    // Declared lengths are bounded by the bytes left before anything is allocated (no 16M-slot arrays).
    ["nested length bombs", new Uint8Array(Array.from({ length: 8 }, () => [0xdd, 0x01, 0, 0, 0]).flat()), /declares 16777216 entries but only 35 bytes are left/],
    ["map length bomb", new Uint8Array([0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x61]), /a map declares 2147483647 entries/],
    ["string longer than the frame", new Uint8Array([0xdb, 0x00, 0x10, 0x00, 0x00, 0x61]), /a string of 1048576 bytes at byte 5 runs past the end/],
    ["invalid UTF-8 string", new Uint8Array([0xa2, 0xc3, 0x28]), /not valid UTF-8/],
    ["uint64 beyond 2^53", new Uint8Array([0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0]), /out of the 53-bit range/],
    ["empty frame", new Uint8Array(0), /the frame is empty/],
  ];
  for (const [name, bytes, re] of cases) {
    it(name, () => {
      expect(() => decodeMsgpackNumpy(bytes)).toThrow(ProtocolError);
      expect(() => decodeMsgpackNumpy(bytes)).toThrow(re);
    });
  }
  it("refuses nesting deeper than the limit and frames over the size limit", () => {
    let deep: WireValue = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => decodeMsgpackNumpy(encodeMsgpackNumpy(deep))).toThrow(/nesting deeper than 32/);
    expect(() => decodeMsgpackNumpy(new Uint8Array(100), { maxBytes: 10, maxDepth: 4, maxItems: 10 })).toThrow(/exceeds the limit of 10 bytes/);
    const manyKeys = encodeMsgpackNumpy(Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, 0])));
    expect(() => decodeMsgpackNumpy(manyKeys)).toThrow(/more than 262144 map and list entries in one frame/);
  });
});
