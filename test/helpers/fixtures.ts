// Loads versioned PyTorch fixtures (safetensors under test/fixtures/) as named float32 arrays plus metadata.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromF32, type Tensor } from "../../src/tensor/index.ts";
import { withSafetensors } from "../../src/tensor/safetensors.ts";

const FIXTURE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

/** The fixture format version the scripts in scripts/ref/ write into `format_version` today. */
export const FIXTURE_FORMAT_VERSION = 1;

/** One named array: float32 data (every stored dtype is converted) and its shape. */
export interface FixtureArray {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** A loaded fixture file. */
export interface Fixture {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly arrays: ReadonlyMap<string, FixtureArray>;
  /** The named array; throws naming the fixture and the names it has when absent. */
  get(name: string): FixtureArray;
  /** The named array's data. */
  f32(name: string): Float32Array;
  /** A fresh Tensor of the named array (the caller owns it). */
  tensor(name: string): Tensor;
  /** Parsed JSON of a metadata entry (e.g. a case's call options). */
  json<T = Record<string, unknown>>(key: string): T;
  has(name: string): boolean;
}

function regenerateHint(script: string | undefined): string {
  const cmd = script ?? "the scripts/ref/*.py that writes this file";
  return `regenerate it: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 ${cmd}`;
}

/**
 * Loads test/fixtures/<relPath>, checks its `format_version` metadata against `opts.version` (default
 * FIXTURE_FORMAT_VERSION) and returns every tensor as float32. Failures name the script that regenerates the
 * file (from `opts.script`, else from the file's own `script` metadata).
 */
export async function loadFixture(relPath: string, opts: { version?: number; script?: string } = {}): Promise<Fixture> {
  const path = resolve(FIXTURE_ROOT, relPath);
  const wanted = String(opts.version ?? FIXTURE_FORMAT_VERSION);
  if (!existsSync(path)) throw new Error(`fixture ${relPath}: missing (${path})\n  hint: ${regenerateHint(opts.script)}`);
  return withSafetensors(path, async (r) => {
    const metadata = r.metadata;
    const script = opts.script ?? metadata.script;
    if (metadata.format_version !== wanted) {
      throw new Error(
        `fixture ${relPath}: format_version ${JSON.stringify(metadata.format_version)} but the test expects "${wanted}"\n  hint: ${regenerateHint(script)}`,
      );
    }
    const arrays = new Map<string, FixtureArray>();
    for (const name of r.names()) arrays.set(name, { data: await r.readF32(name), shape: r.info(name).shape });
    const get = (name: string): FixtureArray => {
      const a = arrays.get(name);
      if (!a) throw new Error(`fixture ${relPath}: no array "${name}" (has ${[...arrays.keys()].join(", ")})\n  hint: ${regenerateHint(script)}`);
      return a;
    };
    return {
      path,
      metadata,
      arrays,
      get,
      f32: (name) => get(name).data,
      tensor: (name) => fromF32(get(name).data, get(name).shape),
      json: <T,>(key: string): T => {
        if (!(key in metadata)) throw new Error(`fixture ${relPath}: no metadata "${key}"\n  hint: ${regenerateHint(script)}`);
        return JSON.parse(metadata[key]) as T;
      },
      has: (name) => arrays.has(name),
    };
  });
}
