// Parquet I/O through parquet-wasm + apache-arrow: typed column builders for writing, typed column readers.
import { existsSync, readFileSync } from "node:fs";
import * as arrow from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, readParquet, writeParquet } from "parquet-wasm";
import { DatasetError } from "../errors.ts";
import { writeFileAtomic } from "../fs.ts";

export type ArrowTable = arrow.Table;
export type ArrowVector = arrow.Vector;

/** A float32 FixedSizeList column from row-major data [rows * dim] (what HF datasets writes for LeRobot). */
export function fixedListF32(data: Float32Array, dim: number): arrow.Vector {
  const rows = data.length / dim;
  const child = arrow.makeData({ type: new arrow.Float32(), length: data.length, data });
  const type = new arrow.FixedSizeList(dim, new arrow.Field("item", new arrow.Float32(), true));
  return arrow.makeVector(arrow.makeData({ type, length: rows, nullCount: 0, child }));
}

export function f32Column(data: Float32Array): arrow.Vector {
  return arrow.makeVector(arrow.makeData({ type: new arrow.Float32(), length: data.length, data }));
}

export function f64Column(data: Float64Array): arrow.Vector {
  return arrow.makeVector(arrow.makeData({ type: new arrow.Float64(), length: data.length, data }));
}

/** An int64 column from small non-negative integers. */
export function i64Column(values: ArrayLike<number>): arrow.Vector {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return arrow.makeVector(arrow.makeData({ type: new arrow.Int64(), length: data.length, data }));
}

export function boolColumn(values: ArrayLike<number>): arrow.Vector {
  return arrow.vectorFromArray(Array.from(values, (v) => v !== 0), new arrow.Bool());
}

export function stringColumn(values: readonly string[]): arrow.Vector {
  return arrow.vectorFromArray(values as string[], new arrow.Utf8());
}

/** A List<Utf8> column (e.g. the `tasks` of each episode). */
export function stringListColumn(values: readonly (readonly string[])[]): arrow.Vector {
  return arrow.vectorFromArray(values as string[][], new arrow.List(new arrow.Field("element", new arrow.Utf8(), true)));
}

/** Nested List<...List<Float64 | Int64>> of the given depth, as pyarrow writes numpy stats arrays. */
export function nestedListColumn(values: readonly unknown[], depth: number, int = false): arrow.Vector {
  let type: arrow.DataType = int ? new arrow.Int64() : new arrow.Float64();
  for (let i = 0; i < depth; i++) type = new arrow.List(new arrow.Field("element", type, true));
  const conv = (v: unknown): unknown => (Array.isArray(v) ? v.map(conv) : int ? BigInt(Math.round(v as number)) : v);
  return arrow.vectorFromArray(values.map(conv), type);
}

/** Writes columns (in the given order) as a snappy parquet file, atomically; `meta` goes to the footer. */
export function writeParquetFile(path: string, columns: Record<string, arrow.Vector>, meta?: Record<string, string>): void {
  writeParquetTable(path, new arrow.Table(columns), meta);
}

/** Writes an Arrow table as a snappy parquet file, atomically; `meta` replaces the footer's key-value metadata. */
export function writeParquetTable(path: string, table: arrow.Table, meta?: Record<string, string>): void {
  if (meta) table = new arrow.Table(new arrow.Schema(table.schema.fields, new Map(Object.entries(meta))), table.batches);
  const wasmTable = WasmTable.fromIPCStream(arrow.tableToIPC(table, "stream"));
  const props = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).build();
  writeFileAtomic(path, writeParquet(wasmTable, props));
}

/** Reads a whole parquet file into an Arrow table; errors name the file. */
export function readParquetFile(path: string): arrow.Table {
  if (!existsSync(path)) throw new DatasetError(`${path}: parquet file not found`);
  try {
    const wasmTable = readParquet(readFileSync(path));
    return arrow.tableFromIPC(wasmTable.intoIPCStream());
  } catch (e) {
    throw new DatasetError(`${path}: cannot read parquet (${String((e as Error).message ?? e)})`, "the file may be truncated; re-export it");
  }
}

function column(table: arrow.Table, name: string, file: string): arrow.Vector {
  const col = table.getChild(name);
  if (!col) {
    const have = table.schema.fields.map((f) => f.name).join(", ");
    throw new DatasetError(`${file}: column "${name}" not found; columns are: ${have}`);
  }
  return col;
}

export function hasColumn(table: arrow.Table, name: string): boolean {
  return table.getChild(name) !== null;
}

/** A scalar numeric column (float, int, bool) as float64; int64 values beyond 2^53 are not expected here. */
export function readScalarColumn(table: arrow.Table, name: string, file: string): Float64Array {
  const col = column(table, name, file);
  const out = new Float64Array(col.length);
  let row = 0;
  for (const data of col.data) {
    const t = data.type;
    if (arrow.DataType.isFloat(t) || arrow.DataType.isInt(t)) {
      const vals = data.values as ArrayLike<number | bigint>;
      for (let i = 0; i < data.length; i++) out[row++] = Number(vals[data.offset + i]);
    } else if (arrow.DataType.isBool(t)) {
      const v = arrow.makeVector(data);
      for (let i = 0; i < data.length; i++) out[row++] = v.get(i) ? 1 : 0;
    } else {
      throw new DatasetError(`${file}: column "${name}" has type ${String(t)}; expected a number, int or bool`);
    }
  }
  return out;
}

/**
 * A vector column (List or FixedSizeList of float32/float64, or a scalar column as dim 1) as row-major
 * float32 [rows * dim]. Every row must have the same length.
 */
export function readVectorColumn(table: arrow.Table, name: string, file: string): { data: Float32Array; dim: number } {
  const col = column(table, name, file);
  const first = col.data[0]?.type;
  if (first && (arrow.DataType.isFloat(first) || arrow.DataType.isInt(first) || arrow.DataType.isBool(first))) {
    return { data: Float32Array.from(readScalarColumn(table, name, file)), dim: 1 };
  }
  let dim = -1;
  let out = new Float32Array(0);
  let row = 0;
  for (const data of col.data) {
    const t = data.type;
    const isFixed = arrow.DataType.isFixedSizeList(t);
    if (!isFixed && !arrow.DataType.isList(t)) {
      throw new DatasetError(`${file}: column "${name}" has type ${String(t)}; expected a list of floats`);
    }
    const child = data.children[0];
    if (!arrow.DataType.isFloat(child.type) && !arrow.DataType.isInt(child.type)) {
      throw new DatasetError(`${file}: column "${name}" holds ${String(child.type)}; expected float32 or float64 items`);
    }
    const vals = child.values as ArrayLike<number>;
    for (let i = 0; i < data.length; i++, row++) {
      const r = data.offset + i;
      const start = isFixed ? r * (t as arrow.FixedSizeList).listSize : data.valueOffsets[r];
      const end = isFixed ? start + (t as arrow.FixedSizeList).listSize : data.valueOffsets[r + 1];
      if (dim < 0) {
        dim = end - start;
        out = new Float32Array(col.length * dim);
      } else if (end - start !== dim) {
        throw new DatasetError(`${file}: column "${name}" row ${row} has ${end - start} values; expected ${dim} like row 0`);
      }
      for (let j = 0; j < dim; j++) out[row * dim + j] = vals[child.offset + start + j];
    }
  }
  return { data: out, dim: Math.max(dim, 0) };
}

/** Any column as plain JS values (strings, nested lists as arrays, int64 as number); for small meta tables. */
export function readPlainColumn(table: arrow.Table, name: string, file: string): unknown[] {
  const col = column(table, name, file);
  const plain = (v: unknown): unknown => {
    if (typeof v === "bigint") return Number(v);
    if (v instanceof arrow.Vector) return Array.from(v.toArray() as ArrayLike<unknown>, plain);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
    return v;
  };
  return Array.from({ length: col.length }, (_, i) => plain(col.get(i)));
}

/** The `bytes` of an image column stored as struct {bytes, path} (LeRobot `image` dtype). */
export function readImageBytesColumn(table: arrow.Table, name: string, file: string): Uint8Array[] {
  const col = column(table, name, file);
  const out: Uint8Array[] = [];
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i) as { bytes?: Uint8Array | null } | null;
    if (!v || !v.bytes) throw new DatasetError(`${file}: column "${name}" row ${i} has no image bytes`);
    out.push(v.bytes);
  }
  return out;
}
