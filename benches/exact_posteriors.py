"""Exact zero-field posteriors for the free-energy stage: what fit-icnn and the
report's T_c reading give when the posteriors are right (issue 17, target 3).

The dataset is gen-ising at h = 0 (any L, T box, N). Its samples, sorted by
T, are cut into bundles of K consecutive ones (one temperature each to
within a few 1e-4). For a bundle of K states at inverse temperature β the
likelihood is exp(−β ΣE − K ln Z_L(β)): the density of states cancels, so
Kaufman's ln Z of the L×L torus gives the exact posterior over T (the data
are uniform in T, so is the prior). It is then blurred by the pipeline's
target Gaussians (width σ on the grid, normalised per axis as bundle-knn's
targets), which is what a posterior network trained on those targets would
converge to. In h, where no exact posterior is at hand, each bundle gets a
made-up centre drawn uniformly from the h box and a Gaussian of width
--h-width: the h axis is then flat and separable, and only the T reading
means anything.

    make bench-exact-posteriors   (gen-ising at h = 0 -> this -> fit-icnn -> pk-report)

usage: .venv/bin/python benches/exact_posteriors.py DATA OUT --grid 64x64 --sigma 0.005
         [--k 4] [--T 1:5] [--h -2:2] [--h-width 0.4] [--seed 1]
"""
import argparse
import itertools
import json
import sys

import numpy as np
import pyarrow.parquet as pq

from posteriors_io import axis_gaussians, write_posteriors


def ln_2cosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a))


def kaufman_ln_z(l, beta):
    """ln Z of the l×l periodic Ising lattice at h = 0, J = 1 (Kaufman 1949),
    vectorised over beta; the form lib/exact/ising.rs uses."""
    k = np.asarray(beta, float)[..., None]
    two_k = 2.0 * k
    base = np.cosh(two_k) ** 2 / np.sinh(two_k)
    r = np.arange(l)

    def gamma(idx):
        g = np.arccosh(base - np.cos(np.pi * idx / l))
        return np.where(idx == 0, two_k + np.log(np.tanh(k)), g)

    g_odd, g_even = 0.5 * l * gamma(2 * r + 1), 0.5 * l * gamma(2 * r)
    ln_z1, ln_z3 = ln_2cosh(g_odd).sum(-1), ln_2cosh(g_even).sum(-1)
    p1, p3 = np.tanh(g_odd).prod(-1), np.tanh(g_even).prod(-1)
    mx = np.maximum(ln_z1, ln_z3)
    s = np.exp(ln_z1 - mx) * (1 + p1) + np.exp(ln_z3 - mx) * (1 + p3)
    k = k[..., 0]
    return np.log(0.5) + 0.5 * l * l * np.log(2 * np.sinh(2 * k)) + np.log(s) + mx


def brute_ln_z(l, beta):
    spins = np.array(list(itertools.product([-1, 1], repeat=l * l))).reshape(-1, l, l)
    bonds = (spins * np.roll(spins, 1, 1) + spins * np.roll(spins, 1, 2)).sum((1, 2))
    return np.log(np.exp(beta * bonds).sum())


def self_check():
    """Kaufman against enumeration (4×4) and the published 16×16 values at β_c."""
    for t in (1.5, 2.269, 3.5):
        ref = brute_ln_z(4, 1 / t)
        got = kaufman_ln_z(4, np.array([1 / t]))[0]
        assert abs(got - ref) < 1e-9 * abs(ref), f"Kaufman 4x4 at T={t}: {got} vs {ref}"
    bc = 0.4406868
    f = -kaufman_ln_z(16, np.array([bc]))[0] / bc / 256
    assert abs(f - -2.1153262) < 5e-7, f"Kaufman 16x16 f(beta_c) = {f}"


def box(text):
    lo, hi = (float(v) for v in text.split(":"))
    return lo, hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--grid", default="64x64")
    ap.add_argument("--sigma", type=float, default=0.005, help="target width, unit-box units")
    ap.add_argument("--k", type=int, default=4, help="states per bundle (K_bundle)")
    ap.add_argument("--T", dest="t_box", default="1:5")
    ap.add_argument("--h", dest="h_box", default="-2:2")
    ap.add_argument("--h-width", type=float, default=0.4, help="made-up h posterior width, in h")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    self_check()

    d = pq.read_table(a.data)
    meta = dict(d.schema.metadata)
    l = int(json.loads(meta[b"phasekit.state_shape"])[0])
    t, h, e = (d[c].to_numpy() for c in ("T", "h", "energy"))
    if np.any(h != 0):
        raise SystemExit(f"{a.data}: needs a zero-field dataset (gen-ising --h=0)")
    (t0, t1), (h0, h1) = box(a.t_box), box(a.h_box)
    if t.min() < t0 or t.max() > t1:
        raise SystemExit(f"{a.data}: temperatures outside --T {a.t_box}")
    gh, gw = (int(v) for v in a.grid.split("x"))

    order = np.argsort(t, kind="stable")
    n = len(t) // a.k
    idx = order[: n * a.k].reshape(n, a.k)
    t_b = t[idx].mean(1)
    e_sum = (e[idx] * l * l).sum(1)  # total energy of the bundle's states
    rng = np.random.default_rng(a.seed)
    h_b = rng.uniform(h0, h1, n)
    split = np.where(rng.permutation(n) < round(0.2 * n), "test", "train")

    # exact posterior on a fine T axis, then the targets' blur onto the cells
    fine = np.linspace(t0, t1, 40 * gh + 1)
    ln_z = kaufman_ln_z(l, 1 / fine)
    cells_t = (np.arange(gh) + 0.5) / gh
    blur = axis_gaussians(cells_t, (fine - t0) / (t1 - t0), a.sigma)
    cells_h = h0 + (h1 - h0) * (np.arange(gw) + 0.5) / gw
    q_h = axis_gaussians(cells_h, h_b, a.h_width)
    post = np.empty((n, gh * gw), np.float32)
    mean_t = np.empty(n)
    for c in range(0, n, 2000):
        s = slice(c, c + 2000)
        ll = -e_sum[s, None] / fine - a.k * ln_z
        p = np.exp(ll - ll.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        mean_t[s] = p @ fine
        q_t = p @ blur
        post[s] = (q_t[:, :, None] * q_h[s, None, :]).reshape(-1, gh * gw)
    post /= post.sum(1, keepdims=True)

    bounds = {"T": [t0, t1], "h": [h0, h1]}
    out_meta = {
        b"phasekit.version": meta[b"phasekit.version"],
        b"phasekit.kind": b"posteriors",
        b"phasekit.params": b'["T","h"]',
        b"phasekit.bounds": json.dumps(bounds).encode(),
        b"phasekit.model": meta[b"phasekit.model"],
        b"phasekit.k_bundle": str(a.k).encode(),
        b"phasekit.grid": json.dumps(
            {"params": ["T", "h"], "bounds": bounds, "shape": [gh, gw], "sigma": a.sigma}
        ).encode(),
        b"phasekit.provenance": json.dumps(
            {"tool": "benches/exact_posteriors.py", "version": "1", "args": sys.argv[1:], "seed": a.seed}
        ).encode(),
    }
    ids = d["id"].to_numpy()[idx[:, 0]].astype(np.uint64)
    write_posteriors(a.out, out_meta, ids, split, t_b, h_b, post)
    rmse = np.sqrt(((mean_t - t_b)[split == "test"] ** 2).mean())
    print(f"exact posteriors: {n} bundles of {a.k} (L = {l}), test posterior-mean RMSE T {rmse:.3f} -> {a.out}")


if __name__ == "__main__":
    main()
