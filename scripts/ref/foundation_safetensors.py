"""The safetensors file format written by hand (this machine's python3 has no `safetensors` package).

Follows the format spec of huggingface/safetensors: an 8-byte little-endian u64 header length N, N bytes of
JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, padded with spaces to a
multiple of 8), then the tensors' little-endian bytes back to back in header order. Imported by the other
scripts in scripts/ref/ that write fixtures.
"""
import json
import struct

import torch

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The tensor's row-major little-endian bytes (bf16/f16 through a same-width integer view)."""
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def header_and_data(tensors: dict, metadata: dict) -> tuple:
    """The padded header bytes (without the length prefix) and the concatenated data."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return text, b"".join(blobs)


def save(path: str, tensors: dict, metadata: dict) -> None:
    """Writes `tensors` (name -> torch.Tensor, in order) and string `metadata` to `path`."""
    text, data = header_and_data(tensors, metadata)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)
