import { describe, expect, it } from "vitest";
import { applyOverrides, parseArgs, type FlagSpec } from "../../src/cli/args.ts";
import { main } from "../../src/cli/main.ts";

const specs: FlagSpec[] = [
  { name: "out", type: "string", help: "output dir", required: true },
  { name: "episodes", type: "number", help: "count", default: 10 },
  { name: "resume", type: "boolean", help: "resume" },
];

describe("parseArgs", () => {
  it("reads flags, defaults, positionals and overrides", () => {
    const a = parseArgs(["DIR", "--out", "x", "--resume", "--model.hidden_size=64"], specs, "t");
    expect(a.positionals).toEqual(["DIR"]);
    expect(a.flags).toEqual({ out: "x", resume: true, episodes: 10 });
    expect(a.overrides).toEqual([["model.hidden_size", "64"]]);
  });
  it("suggests the nearest flag for a typo", () => {
    expect(() => parseArgs(["--out=x", "--episods=3"], specs, "t")).toThrow(/did you mean episodes/);
  });
  it("refuses a non-number for a number flag and a missing required flag", () => {
    expect(() => parseArgs(["--out=x", "--episodes=many"], specs, "t")).toThrow(/expects a number, got "many"/);
    expect(() => parseArgs([], specs, "t")).toThrow(/--out is required/);
  });
});

describe("applyOverrides", () => {
  const cfg = { model: { hidden_size: 128, mrope_section: [24, 20, 20], name: "tiny", tie: false } };
  it("types values by the field they replace and leaves the input alone", () => {
    const out = applyOverrides(cfg, [["model.hidden_size", "64"], ["model.mrope_section", "[8,4,4]"], ["model.tie", "true"]], "t");
    expect(out.model).toEqual({ hidden_size: 64, mrope_section: [8, 4, 4], name: "tiny", tie: true });
    expect(cfg.model.hidden_size).toBe(128);
  });
  it("refuses unknown keys with a suggestion", () => {
    expect(() => applyOverrides(cfg, [["model.hiden_size", "64"]], "t")).toThrow(/did you mean model.hidden_size/);
    expect(() => applyOverrides(cfg, [["model.hidden_size", "wide"]], "t")).toThrow(/expects a number/);
  });
});

describe("main", () => {
  it("suggests a command for a typo and exits 2", async () => {
    let err = "";
    const code = await main(["trian"], { out: () => {}, err: (t) => (err += t), interactive: false, env: {} });
    expect(code).toBe(2);
    expect(err).toMatch(/unknown command "trian"/);
  });
});
