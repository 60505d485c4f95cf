#!/usr/bin/python3
"""PyTorch side of bench/compile.ts for the tiny InternVLA-A1: one training step and the cached sampler, timed.

The model is the project's PyTorch reference (scripts/ref/model_ref.py, model_policy.py) with random weights
(scripts/ref/model.py `random_weights`). The train step matches bench/compile.ts: loss (compute_loss) -> backward
over every policy weight (the Cosmos tokenizer is frozen) -> clip_grad_norm_(1.0) -> AdamW(0.9, 0.95, 1e-8, wd 0.01).
Run by bench/compile.ts with OMP_WAIT_POLICY=PASSIVE (and OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs); prints JSON.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "ref"))
from model import random_weights  # noqa: E402
from model_policy import compute_loss, sample_actions  # noqa: E402
from model_ref import DEC, ENC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine import timed_train_steps  # noqa: E402


def make_inputs(cfg, batch, gen):
    """A batch like test/compile/tiny-vla.ts: every camera present, random text with some padding."""
    V, H = cfg["n_views"], cfg["vision_config"]["image_size"]
    per = (H // cfg["vision_config"]["patch_size"] // cfg["vision_config"]["spatial_merge_size"]) ** 2
    ids, mask = [], []
    for b in range(batch):
        row = []
        for _ in range(V):
            row += [cfg["vision_start_token_id"]] + [cfg["image_token_id"]] * per + [cfg["vision_end_token_id"]]
        n_text = cfg["n_text_tokens"] - 3 - b
        text = torch.randint(1, 500, (n_text,), generator=gen).tolist()
        ids.append(row + text + [cfg["pad_token_id"]] * (cfg["n_text_tokens"] - n_text))
        mask.append([1] * (len(row) + n_text) + [0] * (cfg["n_text_tokens"] - n_text))
    c, A = cfg["chunk_size"], cfg["max_action_dim"]
    return {
        "images": torch.rand(batch, V, 3, 3, H, H, generator=gen), "image_masks": torch.ones(batch, V),
        "token_ids": torch.tensor(ids, dtype=torch.int64), "token_mask": torch.tensor(mask, dtype=torch.float32),
        "state": torch.randn(batch, cfg["max_state_dim"], generator=gen), "actions": torch.randn(batch, c, A, generator=gen),
        "noise": torch.randn(batch, c, A, generator=gen), "time": torch.rand(batch, generator=gen) * 0.9 + 0.05,
    }


def train_step_ms(cfg, batch, steps):
    gen = torch.Generator().manual_seed(0)
    W = random_weights(cfg, gen)
    trainable = [t for k, t in W.items() if not k.startswith((ENC, DEC))]
    for t in trainable:
        t.requires_grad_(True)
    opt = torch.optim.AdamW(trainable, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
    inputs = make_inputs(cfg, batch, gen)
    out = timed_train_steps(lambda: compute_loss(W, cfg, inputs)["loss"], trainable, opt, steps)
    return {**out, "trainable_params": sum(t.numel() for t in trainable)}


def sample_ms(cfg, steps):
    gen = torch.Generator().manual_seed(0)
    W = random_weights(cfg, gen)
    inputs = make_inputs(cfg, 1, gen)
    times = []
    with torch.no_grad():
        for i in range(steps + 1):
            t0 = time.perf_counter()
            sample_actions(W, cfg, inputs)
            if i > 0:
                times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": statistics.median(times), "runs_ms": [round(t) for t in times]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--config", type=str, required=True, help="the tiny ModelConfig as JSON")
    args = ap.parse_args()
    cfg = json.loads(args.config)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_step": train_step_ms(cfg, args.batch, args.steps),
        "sample_actions": sample_ms(cfg, args.steps),
    }
    print(json.dumps(out))
