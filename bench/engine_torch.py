"""PyTorch peer of bench/engine.ts: the same workloads, shapes, batch and optimizer on PyTorch CPU.

    python3 bench/engine_torch.py THREADS SECONDS   # prints one JSON line: {"threads", "version", "results"}

Results are in the order of bench/engine.ts's WORKLOADS (examples/second); the LM workload has no
PyTorch twin here and is reported as not measured. Random data, a pool of 1024 examples cycled.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
BATCH = 128
POOL = 1024
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def time_box(step, batch):
    """Runs step(i) once to warm up, then for ~SECONDS; returns examples/s."""
    step(0)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < SECONDS:
        n += 1
        step(n)
    return n * batch / (time.perf_counter() - t0)


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    # conv3x3·16 → maxpool → conv3x3·32 → maxpool → dense 10, on 28x28x1 (valid padding, as tfjs-layers' default)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 10),
    )


def train_throughput(model, in_shape):
    x = torch.rand(POOL, *in_shape)
    y = torch.randint(0, 10, (POOL,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    per = POOL // BATCH

    def step(i):
        o = (i % per) * BATCH
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[o:o + BATCH]), y[o:o + BATCH])
        loss.backward()
        opt.step()
        loss.item()

    return time_box(step, BATCH)


def forward_throughput(model):
    x = torch.rand(POOL, 784)
    per = POOL // BATCH

    def step(i):
        o = (i % per) * BATCH
        with torch.no_grad():
            model(x[o:o + BATCH]).numpy()

    return time_box(step, BATCH)


def attention_throughput(batch):
    h, t, dh = 8, 128, 32
    q, k, v = (torch.randn(batch, h, t, dh, requires_grad=True) for _ in range(3))

    def step(_):
        out = torch.softmax(q @ k.transpose(-1, -2) * (1 / math.sqrt(dh)), dim=-1) @ v
        gq, gk, gv = torch.autograd.grad(out.sum(), (q, k, v))
        gq.sum().item()

    return time_box(step, batch)


def attempt(f):
    try:
        return {"exPerSec": f()}
    except Exception as e:  # reported in the table, not fatal
        return {"error": f"fails: {str(e)[:80]}"}


results = [
    attempt(lambda: train_throughput(mlp(), (784,))),
    attempt(lambda: train_throughput(cnn(), (1, 28, 28))),
    attempt(lambda: forward_throughput(mlp())),
    attempt(lambda: attention_throughput(16)),
    {"error": "not measured"},
]
print(json.dumps({"threads": THREADS, "version": torch.__version__, "results": results}))
