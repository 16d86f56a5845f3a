"""fit-maxent against the issue-18 targets (the couplings each dataset was
generated with), then pseudo-likelihood's speed beside a numpy baseline.

  tied 16x16, 1000 Swendsen-Wang configurations at K = 0.2, 0.3, 0.4407, h = 0:
    pl, mcmc, exact, mean-field on one dataset; pl, mcmc and exact 95% coverage
    over 20 datasets
  K = 0.3, H = 0.1: pl and mcmc
  bonds on 8x8, 10^4 heat-bath configurations of a disordered lattice (J_ij = 1 + 0.3 N(0,1), T = 2.5)
  pl on 10^4 configurations of 64x64: fit-maxent's own fit time beside a numpy
  Newton on the same (s_i, neighbour sum) classes, on the same data

usage: .venv/bin/python benches/maxent_bench.py BIN_DIR OUT_DIR [DATASETS]
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def sh(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{args[0]}: {r.stderr.strip()}")
    return r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def gen_sw(bin_dir, out, l, m, k, h, seed):
    sh(bin_dir / "gen-ising", "--n", m, "--L", l, "--T", repr(1.0 / k), f"--h={h / k!r}",
       "--algorithm", "sw", "--sweeps", 40, "--seed", seed, "-q", "-o", out)


def fit(bin_dir, data, out, *extra):
    sh(bin_dir / "fit-maxent", "-i", data, "-o", out, "-q", *extra)
    t = pq.read_table(out).to_pydict()
    return {(term, scope): (v, se) for term, scope, v, se in zip(t["term"], t["scope"], t["value"], t["std_error"])}, t


def main():
    bin_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    datasets = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    out.mkdir(parents=True, exist_ok=True)
    methods = {
        "pl": ["--field", "none"],
        "mcmc": ["--field", "none", "--method", "mcmc"],
        "exact": ["--field", "none", "--method", "exact"],
        "mean-field": ["--field", "none", "--method", "mean-field"],
    }
    print(f"| K | method | fitted K ± σ (first dataset) | its pull | 95% coverage over {datasets} datasets | mean σ |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in [0.2, 0.3, 0.4407]:
        pulls = {m: [] for m in methods}
        sigmas = {m: [] for m in methods}
        first = {}
        for s in range(datasets):
            data = out / f"sw-{k}-{s}.parquet"
            gen_sw(bin_dir, data, 16, 1000, k, 0.0, 1000 + s)
            for m, args in methods.items():
                if m == "mean-field" and s > 0:
                    continue
                r, _ = fit(bin_dir, data, out / f"c-{m}.parquet", *args)
                v, se = r[("K", "tied")]
                pulls[m].append((v - k) / se)
                sigmas[m].append(se)
                if s == 0:
                    first[m] = (v, se)
        for m in methods:
            v, se = first[m]
            cov = "—" if m == "mean-field" else "%d/%d" % (sum(abs(p) < 1.96 for p in pulls[m]), datasets)
            print(f"| {k} | {m} | {v:.5f} ± {se:.5f} | {pulls[m][0]:+.2f} | {cov} | {np.mean(sigmas[m]):.5f} |")
        v, _ = first["mean-field"]
        print(f"| {k} | mean-field bias | {100 * (v / k - 1):+.1f}% | | | |")

    data = out / "field.parquet"
    gen_sw(bin_dir, data, 16, 1000, 0.3, 0.1, 7)
    for m in ["pl", "mcmc"]:
        r, _ = fit(bin_dir, data, out / f"f-{m}.parquet", "--method", m)
        (kv, ks), (hv, hs) = r[("K", "tied")], r[("H", "tied")]
        print(f"field case, {m}: K = {kv:.5f} ± {ks:.5f} (pull {(kv - 0.3) / ks:+.2f}), H = {hv:.5f} ± {hs:.5f} (pull {(hv - 0.1) / hs:+.2f})")

    data = out / "disorder.parquet"
    sh(bin_dir / "gen-ising", "--n", 10000, "--L", 8, "--T", 2.5, "--h", 0, "--algorithm", "glauber",
       "--bond-disorder", 0.3, "--sweeps", 200, "--seed", 3, "-q", "-o", data)
    truth = np.array(json.loads(pq.read_schema(data).metadata[b"phasekit.bonds"])) / 2.5
    _, t = fit(bin_dir, data, out / "bonds.parquet", "--model", "bonds", "--field", "none")
    k = np.array([v for v, term in zip(t["value"], t["term"]) if term == "K"])
    se = np.array([v for v, term in zip(t["std_error"], t["term"]) if term == "K"])
    print(f"bonds 8x8: RMSE over 128 bonds {np.sqrt(np.mean((k - truth) ** 2)):.4f} (target 0.03), rms pull {np.sqrt(np.mean(((k - truth) / se) ** 2)):.2f}")

    data = out / "big.parquet"
    gen_sw(bin_dir, data, 64, 10000, 0.3, 0.0, 5)
    line = sh(bin_dir / "fit-maxent", "-i", data, "-o", out / "big-c.parquet", "--threads", 2, "--check-sweeps", 100, "--chains", 4)
    ours = float(line.split(") in ")[1].split(" s;")[0])
    # numpy baseline, the same algorithm: count the (s_i, neighbour sum)
    # classes, then Newton on the ten class terms with the same tolerance
    s = np.stack(pq.read_table(data, columns=["state"])["state"].to_numpy(zero_copy_only=False)).reshape(-1, 64, 64)
    start = time.perf_counter()
    nb = np.roll(s, 1, 1) + np.roll(s, -1, 1) + np.roll(s, 1, 2) + np.roll(s, -1, 2)
    cls = (s.astype(np.int64) + 1) // 2 * 5 + (nb.astype(np.int64) + 4) // 2
    counts = np.bincount(cls.ravel(), minlength=10).astype(np.float64)
    si = np.repeat([-1.0, 1.0], 5)
    a = np.stack([np.tile(np.arange(-4.0, 5.0, 2.0), 2), np.ones(10)], 1)
    theta = np.zeros(2)
    for _ in range(100):
        t_ = np.tanh(a @ theta)
        g = a.T @ (counts * (si - t_))
        hmat = (a * (counts * (1 - t_ ** 2))[:, None]).T @ a
        step = np.linalg.solve(hmat, g)
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    base = time.perf_counter() - start
    print(f"pl on 10^4 configurations of 64x64: fit-maxent {ours:.3f} s (target < 5 s, standard errors included), "
          f"numpy with the same class counts {base:.2f} s (K = {theta[0]:.5f}, no errors): {base / ours:.1f}x")
    print(line)


if __name__ == "__main__":
    main()
