"""An openpi-style Python client for the interop test of `internvla serve` (test/serve/interop.test.ts).

Uses only Debian's python3-msgpack, python3-websockets and python3-numpy. Arrays are encoded exactly as openpi's
`openpi_client.msgpack_numpy` does (maps with BYTES keys __ndarray__/data/dtype/shape, __npgeneric__ for scalars),
and the connection follows `websocket_client_policy.py` (compression off, no size limit, metadata frame first,
optional `Authorization: Api-Key`, a str reply means a server error).

  /usr/bin/python3 scripts/ref/openpi_client.py probe --url ws://127.0.0.1:PORT [--api-key KEY]
      sends LIBERO, ALOHA (channel-first) and internvla observations to a server running the test's probe policy,
      recomputes the expected probe actions with numpy and checks them; then checks the error path
      (a NaN state gives a text frame and close code 1011). Prints one JSON line; exit code 0 when all pass.
  /usr/bin/python3 scripts/ref/openpi_client.py frames --out DIR
      writes msgpack frames made by this encoder (FORMAT_VERSION below) plus expected.json, for the codec test.
"""

import argparse
import asyncio
import functools
import inspect
import json
import os
import sys

import msgpack
import numpy as np
import websockets

FORMAT_VERSION = 1
PROBE_DIM = 16


def pack_array(obj):
    """openpi msgpack_numpy.pack_array: ndarray -> map with bytes keys; numpy scalar -> __npgeneric__ map."""
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in ("V", "O", "c"):
        raise ValueError(f"Unsupported dtype: {obj.dtype}")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj


def unpack_array(obj):
    """openpi msgpack_numpy.unpack_array (accepts bytes or str marker keys)."""
    for key, data, dtype, shape in ((b"__ndarray__", b"data", b"dtype", b"shape"), ("__ndarray__", "data", "dtype", "shape")):
        if key in obj:
            return np.ndarray(buffer=obj[data], dtype=np.dtype(obj[dtype]), shape=obj[shape])
    for key, data, dtype in ((b"__npgeneric__", b"data", b"dtype"), ("__npgeneric__", "data", "dtype")):
        if key in obj:
            return np.dtype(obj[dtype]).type(obj[data])
    return obj


packb = functools.partial(msgpack.packb, default=pack_array)
unpackb = functools.partial(msgpack.unpackb, object_hook=unpack_array)


async def connect(url, api_key=None, tries=60):
    """Connects like WebsocketClientPolicy._wait_for_server (retrying while refused) and returns (ws, metadata)."""
    headers = {"Authorization": f"Api-Key {api_key}"} if api_key else None
    params = inspect.signature(websockets.connect).parameters
    header_arg = "additional_headers" if "additional_headers" in params else "extra_headers"
    for attempt in range(tries):
        try:
            ws = await websockets.connect(url, compression=None, max_size=None, **{header_arg: headers})
            return ws, unpackb(await ws.recv())
        except (ConnectionRefusedError, OSError):
            if attempt == tries - 1:
                raise
            await asyncio.sleep(0.25)


async def infer(ws, obs):
    await ws.send(packb(obs))
    reply = await ws.recv()
    if isinstance(reply, str):
        raise RuntimeError(f"Error in inference server:\n{reply}")
    return unpackb(reply)


def camera_stats(img_hwc):
    flat = img_hwc.reshape(-1).astype(np.float64)
    h, w, _ = img_hwc.shape
    return [h, w, flat.mean(), flat[0], flat[1], flat[2]]


def expected_probe(cams_hwc, state, prompt, step=None):
    """The probe policy of test/serve/helpers.ts, recomputed from what was sent (cameras sorted by our names)."""
    out = np.zeros((3, PROBE_DIM))
    s = np.asarray(state, dtype=np.float32)[:PROBE_DIM]
    out[0, : len(s)] = s
    stats = [v for name in sorted(cams_hwc) for v in camera_stats(cams_hwc[name])][:PROBE_DIM]
    out[1, : len(stats)] = stats
    out[2, :5] = [len(prompt), -1 if step is None else step, len(cams_hwc), -1, -1]  # no RTC fields sent
    return out


def check(name, got, want, results):
    ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-4)
    results.append({"case": name, "ok": bool(ok), "max_diff": float(np.abs(got - want).max()) if got.shape == want.shape else None})


async def probe(url, api_key):
    rng = np.random.default_rng(7)
    results = []
    ws, metadata = await connect(url, api_key)
    top = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    wrist = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    state = rng.standard_normal(8)  # float64, as numpy makes it
    libero = {"observation/image": top, "observation/wrist_image": wrist, "observation/state": state, "prompt": "pick up the red block"}
    reply = await infer(ws, libero)
    check("libero", reply["actions"], expected_probe({"top": top, "wrist": wrist}, state, libero["prompt"]), results)
    results.append({"case": "timing", "ok": "infer_ms" in reply.get("server_timing", {}) and "infer_ms" in reply.get("policy_timing", {})})

    high = rng.integers(0, 256, (3, 96, 128), dtype=np.uint8)  # ALOHA cameras are channel-first
    aloha = {"images": {"cam_high": high}, "state": rng.standard_normal(14).astype(np.float32), "prompt": "fold"}
    reply = await infer(ws, aloha)
    check("aloha_chw", reply["actions"], expected_probe({"top": high.transpose(1, 2, 0)}, aloha["state"], "fold"), results)

    state6 = rng.standard_normal(6).astype(np.float32)
    ours = {"images": {"top": top, "left_wrist": wrist}, "state": state6, "prompt": "x", "step": np.int64(12)}
    reply = await infer(ws, ours)
    check("internvla_step", reply["actions"], expected_probe({"top": top, "left_wrist": wrist}, ours["state"], "x", 12), results)
    await ws.close()

    ws, _ = await connect(url, api_key)
    bad = dict(libero, **{"observation/state": np.array([0.0, np.nan])})
    try:
        await infer(ws, bad)
        results.append({"case": "nan_error", "ok": False})
    except RuntimeError as e:
        try:
            await ws.recv()
            code = None
        except websockets.ConnectionClosed as closed:
            code = closed.code
        results.append({"case": "nan_error", "ok": "NaN" in str(e) and code == 1011, "message": str(e)[:200], "code": code})
    print(json.dumps({"ok": all(r["ok"] for r in results), "metadata": metadata, "results": results}, default=str))
    return all(r["ok"] for r in results)


def sample_values(t):
    """Six values of dtype t, [2, 3]: negatives for signed types, fractions and a large value for floats."""
    kind = np.dtype(t).kind
    if kind == "b":
        return (np.arange(6) % 2).astype(t).reshape(2, 3)
    base = np.arange(6) - (2 if kind in "if" else 0)
    if kind == "f":
        base = base * 0.75 + np.array([0, 0, 0, 0, 0, 1000.5])
    return base.astype(t).reshape(2, 3)


def write_frames(out):
    """Frames packed by this (openpi) encoder, with the values the decoder must find."""
    os.makedirs(out, exist_ok=True)
    cases = {
        "dtypes": {f"a_{np.dtype(t).name}": sample_values(t) for t in
                   ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64")},
        "big_endian": {"f": np.arange(4, dtype=">f4") * 1.5, "i": np.arange(3, dtype=">i4") - 1},
        "scalars": {"f": np.float32(2.5), "i": np.int64(-3), "b": np.bool_(True), "plain": 7, "text": "hi", "raw": b"\x00\x01"},
        "nested": {"images": {"top": np.full((2, 2, 3), 9, np.uint8)}, "state": np.array([1.0, -2.0]), "list": [1, 2.5, "a", None]},
        "empty": {"e": np.zeros((0, 3), np.float32)},
    }
    expected = {}
    for name, value in cases.items():
        with open(os.path.join(out, f"{name}.msgpack"), "wb") as f:
            f.write(packb(value))
        expected[name] = json_of(value)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"format_version": FORMAT_VERSION, "generator": "scripts/ref/openpi_client.py frames", "cases": expected}, f, indent=1)


def json_of(v):
    if isinstance(v, np.ndarray):
        return {"dtype": v.dtype.name, "shape": list(v.shape), "values": v.astype(np.float64).reshape(-1).tolist()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {k: json_of(x) for k, x in v.items()}
    if isinstance(v, list):
        return [json_of(x) for x in v]
    if isinstance(v, bytes):
        return {"bytes": list(v)}
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--url", required=True)
    p.add_argument("--api-key")
    f = sub.add_parser("frames")
    f.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd == "frames":
        write_frames(args.out)
        return 0
    return 0 if asyncio.run(probe(args.url, args.api_key)) else 1


if __name__ == "__main__":
    sys.exit(main())
