"""Baseline for `make bench-nis`: VAN-style importance sampling at L = 16 with
the demo's sampler shape (MADE depth 2, width 4, z2): sample() runs one full
forward pass per site, as VAN's does; then log q of each draw and of its flip
(z2), the energies and log w. PyTorch when importable, else numpy with the
same arithmetic. THREADS threads.

usage: python nis_bench.py BATCH THREADS -> last line: "<backend> <samples/s>"
"""
import os
import sys
import time

THREADS = sys.argv[2] if len(sys.argv) > 2 else "2"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import van_made  # noqa: E402

L, DEPTH, WIDTH = 16, 2, 4
N = L * L
BETA = 0.5 * np.log(1 + np.sqrt(2))
BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def masks():
    return van_made.masks(L, DEPTH, WIDTH)


def energy(s):
    return van_made.energy(s, L)


def run(xp, matmul, rand, where):
    rng = np.random.default_rng(1)
    ms = masks()
    ws = [xp((rng.standard_normal(m.shape) * 0.05).astype(np.float32) * m) for m in ms]
    bs = [xp(np.zeros(m.shape[1], np.float32)) for m in ms]

    def forward(x):
        h = x
        for k in range(DEPTH):
            a = matmul(h, ws[k]) + bs[k]
            h = where(a > 0, a, 0.5 * a) if k < DEPTH - 1 else a
        return h

    def log_q(s):
        z = forward(s) * s
        return -np.logaddexp(0, -np.asarray(z, np.float64)).sum(1)

    def draw(b):
        s = xp(np.zeros((b, N), np.float32))
        for i in range(N):
            p = 1 / (1 + np.exp(-np.asarray(forward(s)[:, i])))
            s[:, i] = xp(np.where(rand(b) < p, 1.0, -1.0).astype(np.float32))
        flip = xp(np.where(rand(b) < 0.5, -1.0, 1.0).astype(np.float32))[:, None]
        s = s * flip
        a, c = log_q(s), log_q(-s)
        lq = np.logaddexp(a, c) - np.log(2)
        e = energy(np.asarray(s))
        return -BETA * e - lq

    draw(BATCH)
    t0 = time.perf_counter()
    lw = draw(BATCH)
    assert np.isfinite(lw).all()
    return BATCH / (time.perf_counter() - t0)


try:
    import torch

    torch.set_num_threads(int(THREADS))
    gen = np.random.default_rng(2)
    with torch.no_grad():
        rate = run(torch.tensor, torch.matmul, lambda b: gen.random(b), torch.where)
    backend = "torch"
except ImportError:
    gen = np.random.default_rng(2)
    rate = run(np.asarray, np.matmul, lambda b: gen.random(b), np.where)
    backend = "numpy"
print(f"VAN-style NIS at L={L}, MADE depth {DEPTH} width {WIDTH}, z2, batch {BATCH}, {THREADS} threads, {backend}:")
print(f"  {rate:.1f} samples/s (sampling, log q, energies, log w)")
print(f"{backend} {rate}")
