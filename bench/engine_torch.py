"""PyTorch peer of bench/engine.ts: the same workloads, shapes, batch and optimizer on PyTorch CPU.

    python3 bench/engine_torch.py THREADS --serve   # a column of bench/engine.ts (see its --serve)
    python3 bench/engine_torch.py THREADS SECONDS   # standalone: one JSON line {"threads", "version", "results"}

Serving, it prints {"backend"} and then answers each stdin line "w seconds" with one JSON line
(examples/second of workload w, in the order of bench/engine.ts's WORKLOADS, run for ~seconds after
one warm-up step on first use); "end" exits. The LM workload has no PyTorch twin here and is
reported as not measured. Random data, a pool of 1024 examples cycled.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
SERVE = len(sys.argv) > 2 and sys.argv[2] == "--serve"
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 and not SERVE else 5.0
BATCH = 128
POOL = 1024
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def time_box(step, batch, seconds, warm=True):
    """Runs step(i) once to warm up (if warm), then for ~seconds; returns examples/s."""
    if warm:
        step(0)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
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


def train_step(model, in_shape):
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

    return step, BATCH


def forward_step(model):
    x = torch.rand(POOL, 784)
    per = POOL // BATCH

    def step(i):
        o = (i % per) * BATCH
        with torch.no_grad():
            model(x[o:o + BATCH]).numpy()

    return step, BATCH


def attention_step(batch):
    h, t, dh = 8, 128, 32
    q, k, v = (torch.randn(batch, h, t, dh, requires_grad=True) for _ in range(3))

    def step(_):
        out = torch.softmax(q @ k.transpose(-1, -2) * (1 / math.sqrt(dh)), dim=-1) @ v
        gq, gk, gv = torch.autograd.grad(out.sum(), (q, k, v))
        gq.sum().item()

    return step, batch


FACTORIES = [
    lambda: train_step(mlp(), (784,)),
    lambda: train_step(cnn(), (1, 28, 28)),
    lambda: forward_step(mlp()),
    lambda: attention_step(16),
    None,  # LM small: no PyTorch twin
]


def run(w, seconds, live):
    """Result of workload w for ~seconds (JSON-ready)."""
    if FACTORIES[w] is None:
        return {"error": "not measured"}
    try:
        warm = w not in live
        if warm:
            live[w] = FACTORIES[w]()
        step, batch = live[w]
        return {"exPerSec": time_box(step, batch, seconds, warm)}
    except Exception as e:  # reported in the table, not fatal
        return {"error": f"fails: {str(e)[:80]}"}


if SERVE:
    print(json.dumps({"backend": f"torch {torch.__version__}, {THREADS} thread(s)"}), flush=True)
    live = {}
    for line in sys.stdin:
        line = line.strip()
        if line == "end":
            print(json.dumps({"leaked": 0}), flush=True)
            break
        w, seconds = line.split()
        print(json.dumps(run(int(w), float(seconds), live)), flush=True)
else:
    live = {}
    results = [run(w, SECONDS, live) for w in range(len(FACTORIES))]
    print(json.dumps({"threads": THREADS, "version": torch.__version__, "results": results}))
