// internvla bench through the CLI entry point: the list in --help and a misspelt name (benchmarks themselves are not tests).
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const run = runCli;

describe("internvla bench", () => {
  it("lists every benchmark in --help and refuses an unknown one with the closest name", async () => {
    const help = await run("bench", "--help");
    for (const name of ["engine", "compile", "model", "sim", "data", "train", "serve"]) expect(help.out).toContain(`  ${name}`);
    const bad = await run("bench", "tran");
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('internvla bench: no benchmark "tran"\n  hint: did you mean "train"?\n');
  });

});
