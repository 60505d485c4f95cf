#!/usr/bin/python3
"""Real safetensors files for test/tensor/safetensors.test.ts, and deliberately corrupted copies.

Writes test/fixtures/nn/safetensors/: `dtypes.safetensors` (every supported dtype, with torch's own float32
conversions and float32 -> bf16/f16 roundings stored next to them as truth) and one broken file per error
the reader must report. Files are written with the hand-made format writer in foundation_safetensors.py.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/foundation_st_files.py
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import header_and_data, save  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "nn", "safetensors")
META = {"format_version": FORMAT_VERSION, "script": "scripts/ref/foundation_st_files.py"}


def special_floats():
    """Normal, subnormal, overflowing, tie-rounding and non-finite float32 values."""
    vals = [0.0, -0.0, 1.0, -2.5, 3.14159265, 65504.0, 65520.0, 1e5, 6.1e-5, 5.96e-8, 2.98e-8, 1e-40, 1e-30,
            1.00390625, 1.01171875, 3.4e38, float("inf"), float("-inf"), float("nan")]
    return torch.cat([torch.tensor(vals, dtype=torch.float32), torch.randn(45) * 100])


def dtype_tensors():
    f = special_floats()
    i64 = torch.tensor([0, 1, -1, 2**31, -(2**40), 2**53, 123456789], dtype=torch.int64)
    return {
        "f32": torch.randn(3, 4, 5),
        "f16": (torch.randn(2, 8) * 300).to(torch.float16),
        "bf16": (torch.randn(4, 4) * 1e3).to(torch.bfloat16),
        "i64": i64,
        "i32": torch.tensor([[0, -7, 2**31 - 1], [-(2**31), 5, 9]], dtype=torch.int32),
        "u8": torch.arange(0, 256, 17, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True, True, False]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "special.f32": f,
        "special.as_f16": f.to(torch.float16),
        "special.as_bf16": f.to(torch.bfloat16),
    }


def write_dtypes():
    tensors = dtype_tensors()
    truth = {f"{k}.f32": v.to(torch.float32) for k, v in tensors.items() if k in ("f16", "bf16", "i64", "i32", "u8", "bool")}
    truth["special.as_f16.f32"] = tensors["special.as_f16"].float()
    truth["special.as_bf16.f32"] = tensors["special.as_bf16"].float()
    save(os.path.join(OUT, "dtypes.safetensors"), {**tensors, **truth}, {**META, "note": "héllo ✓"})


def small():
    return {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4, dtype=torch.float32)}


def write_raw(name, header_obj=None, data=None, header_text=None, length=None):
    """Writes a file from an explicit header (object or text), optional length override and data bytes."""
    text = header_text if header_text is not None else json.dumps(header_obj).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(text) if length is None else length))
        f.write(text)
        f.write(data or b"")


def write_broken():
    text, data = header_and_data(small(), META)
    header = json.loads(text)
    write_raw("truncated.safetensors", header, data[:-5])
    for name, edit in (
        ("overlap", lambda h: h["b"].update(data_offsets=[16, 32])),
        ("out_of_range", lambda h: h["b"].update(data_offsets=[1000, 1016])),
        ("size_mismatch", lambda h: h["a"].update(shape=[2, 2])),
        ("unknown_dtype", lambda h: h["b"].update(dtype="F8_E4M3")),
        ("hole", lambda h: h["b"].update(data_offsets=[28, 44])),
    ):
        h = json.loads(text)
        edit(h)
        write_raw(f"{name}.safetensors", h, data + (b"\0" * 4 if name == "hole" else b""))
    write_raw("header_too_large.safetensors", header, data, length=2**40)
    write_raw("bad_json.safetensors", header_text=text[:-12] + b"}}", data=data)
    write_raw("trailing.safetensors", header, data + b"\0" * 8)


if __name__ == "__main__":
    torch.manual_seed(7)
    os.makedirs(OUT, exist_ok=True)
    write_dtypes()
    write_broken()
    for n in sorted(os.listdir(OUT)):
        print(f"wrote {os.path.relpath(os.path.join(OUT, n))} ({os.path.getsize(os.path.join(OUT, n))} bytes)")
