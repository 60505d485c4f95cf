// Fuzz: 1,200 malformed frames (random bytes, mutated and truncated observations, bad arrays, lying length headers,
// oversize frames, invalid UTF-8 text) each get an error frame, and the server keeps serving a healthy client.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type WireValue, encodeMsgpackNumpy, ndarray } from "../../src/serve/msgpack-numpy.ts";
import { type PolicyServer } from "../../src/serve/server.ts";
import { makeRng } from "../../src/sim/rng.ts";
import { type RawClient, probeProvider, rawClient, startServer } from "./helpers.ts";

const FRAMES = 1200;
const LIMIT = 64 * 1024;
const rand = makeRng(20251130).next; // the project's seeded mulberry32
const int = (n: number): number => Math.floor(rand() * n);

const validObs = (): { [k: string]: WireValue } => ({
  "observation/image": ndarray(new Uint8Array(6 * 6 * 3).fill(3), [6, 6, 3]),
  "observation/state": ndarray(new Float32Array([0.5, -1, 2]), [3]),
  prompt: "pick up the cube",
});

/** Semantically wrong but well-formed observations. */
const badValues: (() => { [k: string]: WireValue })[] = [
  () => ({ ...validObs(), "observation/state": ndarray(new Float32Array([int(3) === 0 ? NaN : Infinity, 1]), [2]) }),
  () => ({ ...validObs(), "observation/image": ndarray(new Float32Array(12), [2, 2, 3]) }),
  () => ({ ...validObs(), "observation/image": { kind: "ndarray", dtype: "uint8", shape: [4, 4, 3], data: new Uint8Array(int(47)) } }),
  () => ({ ...validObs(), "observation/image": ndarray(new Uint8Array(3 * 5000), [1, 5000, 3]) }),
  () => ({ ...validObs(), "observation/state": "not numbers" }),
  () => ({ ...validObs(), prompt: int(2) ? null : ndarray(new Uint8Array(3), [3]) }),
  () => ({ ...validObs(), step: -int(10) - 1 }),
  () => {
    const o = validObs();
    delete o[["observation/image", "observation/state", "prompt"][int(3)]];
    return o;
  },
  () => ({ [`k${int(1000)}`]: int(100) }),
  () => ({ __ctrl__: int(2) ? "explode" : 42 }),
];

/** Raw byte sequences that lie about lengths or use unsupported types. */
const badHeaders: (() => Uint8Array)[] = [
  () => new Uint8Array([0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]), // bin32 claiming 2 GB
  () => new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]), // map32 claiming 4 billion pairs
  () => new Uint8Array([0xdd, 0x00, 0x10, 0x00, 0x00, 0x01]), // array32 claiming 1M items
  () => new Uint8Array(Array.from({ length: 2 + int(30) }, () => [0xdd, 0x01, 0, 0, 0]).flat()), // nested 16M-item claims
  () => new Uint8Array([0xc7, 0x03, 0x05, 1, 2, 3]), // ext8
  () => new Uint8Array([0xc1]), // never-used byte
  () => new Uint8Array(0),
  () => Uint8Array.from({ length: 40 }, () => 0x91).map((b, i, a) => (i === a.length - 1 ? 0x01 : b)), // 39-deep list
];

function malformedFrame(i: number): { data: Uint8Array; text?: boolean } {
  switch (i % 7) {
    case 0:
      return { data: Uint8Array.from({ length: int(200) }, () => int(256)) };
    case 1: {
      const f = encodeMsgpackNumpy(validObs()).slice();
      for (let k = int(4) + 1; k > 0; k--) f[int(Math.min(f.length, 120))] = int(256);
      return { data: f };
    }
    case 2: {
      const f = encodeMsgpackNumpy(validObs());
      return { data: f.subarray(0, int(f.length - 1)) };
    }
    case 3:
      return { data: encodeMsgpackNumpy(badValues[int(badValues.length)]()) };
    case 4:
      return { data: badHeaders[int(badHeaders.length)]() };
    case 5:
      return int(10) === 0 ? { data: new Uint8Array(LIMIT + 1 + int(LIMIT)) } : { data: new Uint8Array([0xff, 0xfe, 0x80, int(256)]), text: true };
    default: {
      const f = encodeMsgpackNumpy(validObs());
      const g = new Uint8Array(f.length + 1 + int(8));
      g.set(f);
      return { data: g }; // trailing garbage
    }
  }
}

let server: PolicyServer;
beforeAll(async () => {
  server = await startServer(probeProvider(), { maxFrameBytes: LIMIT });
});
afterAll(() => server.close());

async function connect(): Promise<RawClient> {
  const c = await rawClient(server.port);
  expect((await c.next()).kind).toBe("binary");
  return c;
}

it(`${FRAMES} malformed frames each get an error frame and leave the server serving`, async () => {
  let healthyOk = 0;
  let fuzzing = true;
  const healthy = (async () => {
    const h = await connect();
    while (fuzzing) {
      h.send(encodeMsgpackNumpy(validObs()));
      const ev = await h.next();
      expect(ev.kind, JSON.stringify(ev).slice(0, 300)).toBe("binary");
      healthyOk++;
    }
    h.close();
  })();

  let c = await connect();
  let errors = 0;
  let accepted = 0;
  try {
    for (let i = 0; i < FRAMES; i++) {
      const { data, text } = malformedFrame(i);
      c.ws.send(data, { binary: !text });
      const e = await c.next();
      if (e.kind === "binary") {
        accepted++; // a mutation that still decodes to a valid observation is served normally
        continue;
      }
      expect(e.kind, `frame ${i} (case ${i % 7})`).toBe("text");
      expect((e as { text: string }).text).toMatch(/^internvla serve: /);
      expect(await c.next()).toMatchObject({ kind: "close", code: 1011 });
      errors++;
      c = await connect();
    }
  } finally {
    fuzzing = false;
  }
  await healthy;
  c.close();

  expect(errors + accepted).toBe(FRAMES);
  expect(errors).toBeGreaterThan(FRAMES * 0.9);
  expect(healthyOk).toBeGreaterThan(10);
  const after = await connect();
  after.send(encodeMsgpackNumpy(validObs()));
  expect((await after.next()).kind).toBe("binary");
  after.close();
});
