"""How sharp a posteriors file is in T near h = 0: the median precision
(1 / posterior variance of T) of bundles with |h| < H_MAX, in bins of true T.

Beside the report's resolved exact G_TT (1/(1/G_TT + σ_T²)), this tells how
much of the T information a posterior network, the k-NN oracle
(benches/oracle_posteriors.py) or the exact posteriors
(benches/exact_posteriors.py) keep, temperature by temperature.

usage: .venv/bin/python benches/posterior_precision.py POSTERIORS [--h-max 0.1] [--T 1.5:3.5] [--bin 0.125]
"""
import argparse
import json

import numpy as np
import pyarrow.parquet as pq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("posteriors")
    ap.add_argument("--h-max", type=float, default=0.1)
    ap.add_argument("--T", dest="t_box", default="1.5:3.5")
    ap.add_argument("--bin", type=float, default=0.125)
    a = ap.parse_args()
    p = pq.read_table(a.posteriors)
    grid = json.loads(p.schema.metadata[b"phasekit.grid"])
    gh, gw = grid["shape"]
    t0, t1 = grid["bounds"]["T"]
    t, h = p["T"].to_numpy(), p["h"].to_numpy()
    keep = np.abs(h) < a.h_max
    post = p["posterior"].combine_chunks().values.to_numpy().reshape(len(t), gh, gw)[keep]
    p_t = post.sum(2)
    cells = t0 + (t1 - t0) * (np.arange(gh) + 0.5) / gh
    mean = p_t @ cells
    var = p_t @ cells**2 - mean**2
    lo, hi = (float(v) for v in a.t_box.split(":"))
    edges = np.arange(lo, hi + 1e-9, a.bin)
    print(f"{a.posteriors}: bundles with |h| < {a.h_max}")
    for b0, b1 in zip(edges[:-1], edges[1:]):
        s = (t[keep] >= b0) & (t[keep] < b1)
        if s.any():
            print(f"T {b0:.3f}-{b1:.3f}: {s.sum():5d} bundles, median precision {np.median(1 / var[s]):7.1f}")


if __name__ == "__main__":
    main()
