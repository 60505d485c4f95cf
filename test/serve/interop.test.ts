// Interop: an openpi-style Python client (scripts/ref/openpi_client.py: Debian python3-msgpack, python3-websockets,
// python3-numpy; arrays encoded as openpi's msgpack_numpy) gets correct actions from our server and our error frames.
import { spawnSync, spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PolicyServer } from "../../src/serve/server.ts";
import { probeProvider, startServer } from "./helpers.ts";

const SCRIPT = new URL("../../scripts/ref/openpi_client.py", import.meta.url).pathname;

/** The first Python that has the three packages (Debian's /usr/bin/python3 first: a pyenv python3 may lack them). */
function findPython(): string | undefined {
  for (const exe of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(exe, ["-c", "import msgpack, websockets, numpy"], { encoding: "utf8" });
    if (r.status === 0) return exe;
  }
  return undefined;
}

const python = findPython();
const missing = "needs python3 with msgpack, websockets and numpy (Debian: apt-get install python3-msgpack python3-websockets python3-numpy)";

function runClient(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(python!, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({ code, out, err }));
  });
}

let server: PolicyServer | undefined;
beforeAll(async () => {
  if (python) server = await startServer(probeProvider(), { apiKey: "interop-key" });
});
afterAll(() => server?.close());

it.skipIf(!python)(`Python openpi client gets correct actions and error frames (${python ? python : missing})`, async () => {
  const { code, out, err } = await runClient(["probe", "--url", `ws://127.0.0.1:${server!.port}`, "--api-key", "interop-key"]);
  expect(err, "python stderr").toBe("");
  const report = JSON.parse(out) as { ok: boolean; metadata: Record<string, unknown>; results: { case: string; ok: boolean }[] };
  expect(report.results.map((r) => r.case)).toEqual(["libero", "timing", "aloha_chw", "internvla_step", "nan_error"]);
  expect(report.results.filter((r) => !r.ok), out).toEqual([]);
  expect(report.metadata).toMatchObject({ policy: "probe", server: "internvla" });
  expect(code).toBe(0);
});
