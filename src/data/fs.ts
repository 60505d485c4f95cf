// File helpers for crash safety: write to a temporary name in the same folder, fsync, then rename.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, existsSync, readFileSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { DatasetError } from "./errors.ts";

/** The temporary name used while `path` is being written; never read as a real file. */
export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
}

/** Writes bytes or text atomically: readers see the old file or the complete new one, never a prefix. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const fd = openSync(tmp, "w");
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Writes JSON atomically, pretty-printed with 4 spaces as LeRobot does. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 4) + "\n");
}

/** Reads and parses a JSON file, naming the file in every error. */
export function readJson(path: string): unknown {
  if (!existsSync(path)) throw new DatasetError(`${path}: file not found`);
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Reads a JSON-lines file (one object per non-empty line), naming the file and line in errors. */
export function readJsonl(path: string): unknown[] {
  if (!existsSync(path)) throw new DatasetError(`${path}: file not found`);
  const out: unknown[] = [];
  readFileSync(path, "utf8").split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      throw new DatasetError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
  return out;
}
