"""Writes the model gradient fixture: d loss / d every policy weight of the tiny parity model (scripts/ref/model.py's
weights and inputs, same generator draws), for test/model/gradient.test.ts.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/model_grad.py (drop OPENBLAS_CORETYPE on
a CPU without AVX-512). Writes test/fixtures/model/parity/grad.safetensors: one tensor per trainable weight, under its
official name; the frozen Cosmos tokenizer has no entry (the trainer never updates it). Weights that do not reach the
loss (the und tower's final norm, its lm_head rows of unused tokens) get their true gradient: zero.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import save  # noqa: E402
from model import CONFIG, FORMAT_VERSION, OUT, make_inputs, random_weights  # noqa: E402
from model_policy import compute_loss  # noqa: E402


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    W = random_weights(CONFIG, gen)
    inputs = make_inputs(CONFIG, gen)
    trainable = [n for n in W if not n.startswith("model.cosmos.")]
    for n in trainable:
        W[n].requires_grad_(True)
    out = compute_loss(W, CONFIG, inputs)
    out["loss"].backward()
    grads = {n: (W[n].grad if W[n].grad is not None else torch.zeros_like(W[n])).detach().float().contiguous() for n in trainable}
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/model_grad.py"}
    save(os.path.join(OUT, "grad.safetensors"), grads, meta)
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads.values()))
    print(f"grad.safetensors: {len(grads)} tensors, loss {out['loss'].item():.6f}, global grad norm {total.item():.6f}")


if __name__ == "__main__":
    main()
