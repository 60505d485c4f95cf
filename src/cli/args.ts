// Command-line parsing: declared flags, positionals, typed `--a.b=value` config overrides, "did you mean".
import { ConfigError } from "../tensor/errors.ts";

export type FlagType = "string" | "number" | "boolean" | "list";
export type FlagValue = string | number | boolean | string[];

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly help: string;
  readonly default?: FlagValue;
  readonly required?: boolean;
  /** Shown in --help instead of the type, e.g. "DIR" or "ws://HOST:PORT". */
  readonly placeholder?: string;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, FlagValue>>;
  /** `--a.b=value` pairs, in order, still as text: typed against a config by applyOverrides. */
  readonly overrides: readonly (readonly [string, string])[];
}

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest candidate within a sensible distance, or undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c ? ` (did you mean ${c}?)` : "";
}

function typed(spec: FlagSpec, raw: string, where: string): FlagValue {
  switch (spec.type) {
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) {
        throw new ConfigError(`${where}: --${spec.name} expects a number, got "${raw}"`);
      }
      return n;
    }
    case "boolean":
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw new ConfigError(`${where}: --${spec.name} expects true or false, got "${raw}"`);
    case "list":
      return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    default:
      return raw;
  }
}

/** Parses argv against declared flags; flags with a dot in their name are config overrides. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], where: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positionals: string[] = [];
  const flags: Record<string, FlagValue> = {};
  const overrides: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name.includes(".")) {
      if (raw === undefined) {
        raw = argv[++i];
        if (raw === undefined) throw new ConfigError(`${where}: override --${name} needs a value (--${name}=VALUE)`);
      }
      overrides.push([name, raw]);
      continue;
    }
    const spec = byName.get(name);
    if (!spec) {
      throw new ConfigError(`${where}: unknown option --${name}${didYouMean(name, byName.keys())}`, `see ${where} --help`);
    }
    if (raw === undefined) {
      if (spec.type === "boolean") raw = "true";
      else {
        raw = argv[++i];
        if (raw === undefined) throw new ConfigError(`${where}: --${name} needs a value`);
      }
    }
    flags[name] = typed(spec, raw, where);
  }
  for (const spec of specs) {
    if (!(spec.name in flags) && spec.default !== undefined) flags[spec.name] = spec.default;
    if (spec.required && !(spec.name in flags)) {
      throw new ConfigError(`${where}: --${spec.name} is required`, `see ${where} --help`);
    }
  }
  return { positionals, flags, overrides };
}

function parseLike(current: unknown, raw: string, path: string, where: string): unknown {
  if (typeof current === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(`${where}: ${path} expects a number, got "${raw}"`);
    return n;
  }
  if (typeof current === "boolean") {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new ConfigError(`${where}: ${path} expects true or false, got "${raw}"`);
  }
  if (typeof current === "string" || current === null) return raw;
  try {
    const v: unknown = JSON.parse(raw);
    if (Array.isArray(current) !== Array.isArray(v)) throw new Error("kind");
    return v;
  } catch {
    throw new ConfigError(`${where}: ${path} expects JSON like ${JSON.stringify(current)}, got "${raw}"`);
  }
}

/**
 * Returns a copy of `config` with each `a.b.c=value` applied; the value is typed by the field it replaces.
 * An unknown key fails with the nearest known key at that level.
 */
export function applyOverrides<T extends object>(config: T, overrides: ParsedArgs["overrides"], where: string): T {
  const out = structuredClone(config) as Record<string, unknown>;
  for (const [path, raw] of overrides) {
    const parts = path.split(".");
    let node: Record<string, unknown> = out;
    parts.forEach((key, depth) => {
      if (!(key in node)) {
        const prefix = parts.slice(0, depth).join(".");
        throw new ConfigError(
          `${where}: unknown config key ${path}${didYouMean(key, Object.keys(node)).replace("mean ", `mean ${prefix ? prefix + "." : ""}`)}`,
        );
      }
      if (depth === parts.length - 1) node[key] = parseLike(node[key], raw, path, where);
      else {
        const child = node[key];
        if (child === null || typeof child !== "object" || Array.isArray(child)) {
          throw new ConfigError(`${where}: ${parts.slice(0, depth + 1).join(".")} is not a section; cannot set ${path}`);
        }
        node = child as Record<string, unknown>;
      }
    });
  }
  return out as T;
}

/** Renders --help for a command from its flags. */
export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage: ${usage}`, "", description.trim(), ""];
  if (specs.length > 0) {
    lines.push("Options:");
    const left = specs.map((s) => `  --${s.name}${s.type === "boolean" ? "" : ` ${s.placeholder ?? s.type.toUpperCase()}`}`);
    const width = Math.max(...left.map((l) => l.length)) + 2;
    specs.forEach((s, i) => {
      const extra = s.required ? " (required)" : s.default !== undefined ? ` (default: ${String(s.default)})` : "";
      lines.push(left[i].padEnd(width) + s.help + extra);
    });
    lines.push(`  --help`.padEnd(width) + "show this help");
  }
  return lines.join("\n") + "\n";
}
