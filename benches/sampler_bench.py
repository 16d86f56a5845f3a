"""Baseline for `make bench-sampler`: VAN's MADE (src_ising/made.py) at L = 16,
depth 3, width 4, as VAN runs it: sample() does one full forward pass per
site, and a reverse-KL step is sampling + forward + backward (REINFORCE with
the batch-mean baseline) + Adam. PyTorch when it is importable, else numpy
with the same arithmetic and a hand-written backward pass. One thread.

usage: python sampler_bench.py BATCH  -> last line: "<backend> <configs/s> <seconds per training step>"
"""
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import van_made  # noqa: E402

L, DEPTH, WIDTH = 16, 3, 4
N = L * L
BETA = 1 / 2.269
BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 1000


def masks():
    return van_made.masks(L, DEPTH, WIDTH)


def energy(s):
    return van_made.energy(s, L)


def bench_torch():
    import torch

    torch.set_num_threads(1)
    ms = [torch.tensor(m) for m in masks()]
    ws = [torch.nn.Parameter(torch.randn(m.shape) * 0.05 * m) for m in ms]
    bs = [torch.nn.Parameter(torch.zeros(m.shape[1])) for m in ms]
    acts = [torch.nn.PReLU(m.shape[1], init=0.5) for m in ms[:-1]]
    params = ws + bs + [p for a in acts for p in a.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)

    def forward(x):
        h = x
        for k in range(DEPTH):
            h = h @ (ws[k] * ms[k]) + bs[k]
            if k < DEPTH - 1:
                h = acts[k](h)
        return h

    def sample(b):
        s = torch.zeros(b, N)
        with torch.no_grad():
            for i in range(N):
                p = torch.sigmoid(forward(s)[:, i])
                s[:, i] = torch.bernoulli(p) * 2 - 1
        return s

    t0 = time.perf_counter()
    sample(BATCH)
    rate = BATCH / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    opt.zero_grad()
    s = sample(BATCH)
    lq = torch.nn.functional.logsigmoid(forward(s) * s).sum(1)
    with torch.no_grad():
        f = lq + BETA * torch.tensor(energy(s.numpy()))
    ((f - f.mean()) * lq).mean().backward()
    opt.step()
    return "pytorch", rate, time.perf_counter() - t0


def bench_numpy():
    rng = np.random.default_rng(1)
    ms = masks()
    ws = [(rng.standard_normal(m.shape).astype(np.float32) * 0.05) * m for m in ms]
    bs = [np.zeros(m.shape[1], np.float32) for m in ms]
    al = [np.full(m.shape[1], 0.5, np.float32) for m in ms[:-1]]
    adam = [(np.zeros_like(p), np.zeros_like(p)) for p in ws + bs + al]

    def forward(x, keep=False):
        h, cache = x, []
        for k in range(DEPTH):
            a = h @ ws[k] + bs[k]
            cache.append((h, a))
            h = np.where(a > 0, a, al[k] * a) if k < DEPTH - 1 else a
        return (h, cache) if keep else h

    def sample(b):
        s = np.zeros((b, N), np.float32)
        for i in range(N):
            p = 1 / (1 + np.exp(-forward(s)[:, i]))
            s[:, i] = np.where(rng.random(b) < p, 1.0, -1.0)
        return s

    t0 = time.perf_counter()
    sample(BATCH)
    rate = BATCH / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    s = sample(BATCH)
    logits, cache = forward(s, keep=True)
    z = logits * s
    lq = -np.logaddexp(0, -z).sum(1)
    f = lq + BETA * energy(s)
    c = (f - f.mean()) / BATCH
    g = c[:, None] * s / (1 + np.exp(z))  # d loss / d logits
    grads_w, grads_b, grads_a = [None] * DEPTH, [None] * DEPTH, [None] * (DEPTH - 1)
    for k in reversed(range(DEPTH)):
        h, a = cache[k]
        if k < DEPTH - 1:
            grads_a[k] = (g * np.minimum(a, 0)).sum(0)
            g = g * np.where(a > 0, 1.0, al[k])
        grads_w[k] = (h.T @ g) * ms[k]
        grads_b[k] = g.sum(0)
        g = g @ ws[k].T
    for p, gr, (m, v) in zip(ws + bs + al, grads_w + grads_b + grads_a, adam):
        m[:] = 0.9 * m + 0.1 * gr
        v[:] = 0.999 * v + 0.001 * gr * gr
        p -= 1e-3 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
    return "numpy", rate, time.perf_counter() - t0


try:
    import torch  # noqa: F401

    backend, rate, step = bench_torch()
except ImportError:
    backend, rate, step = bench_numpy()
print(f"VAN-style MADE, L={L}, depth {DEPTH}, width {WIDTH}, batch {BATCH}, 1 thread, {backend}:")
print(f"  sample(): {rate:.1f} configurations/s; one reverse-KL step: {step:.2f} s")
print(f"{backend} {rate} {step}")
