// Runs the internvla CLI entry point in process with captured output (no environment variables).
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/command.ts";

export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), interactive: false, env: {} };
  const code = await main(argv, io);
  return { code, out, err };
}
