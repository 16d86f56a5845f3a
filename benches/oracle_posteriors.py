"""Sufficient-statistics oracle posteriors for an Ising bundles file, written
in the posteriors contract (schemas/posteriors.md), so fit-icnn and pk-report
can run on near-Bayes posteriors instead of fit-posterior's (issue 7).

What fit-icnn and the report give from these is what a perfect posterior
network could give at the same grid, sigma and data: the baseline beside
which the network's figures are read (`make bench-oracle`).

Each bundle is summarised by the mean bond energy and mean magnetization of
its first K_bundle members (what fit-posterior's prediction sees); those two
means are (nearly) sufficient for a bundle of Ising states. Its posterior is
the mean target of the K nearest training bundles in that feature space
(8 random K-of-k_neib draws per training bundle, as fit-posterior trains):
Gaussians of width sigma at each member's parameters, normalised per axis
on the grid like bundle-knn's targets.

usage: .venv/bin/python benches/oracle_posteriors.py DATA BUNDLES OUT [--subset N] [--k 32]
(needs scipy: make bench venv; --subset keeps N random bundles to bound memory on big grids)
"""
import argparse

import numpy as np
from scipy.spatial import cKDTree

from posteriors_io import IsingBundles, write_posteriors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("bundles")
    ap.add_argument("out")
    ap.add_argument("--subset", type=int, default=0)
    ap.add_argument("--k", type=int, default=32, help="training bundles averaged per query")
    a = ap.parse_args()

    ib = IsingBundles(a.data, a.bundles)
    rng = np.random.default_rng(0)
    train = np.where(ib.split == "train")[0]
    draws = np.concatenate(
        [np.array([rng.choice(ib.members[i], ib.k, replace=False) for i in train]) for _ in range(8)]
    )

    f_train = ib.features(draws)
    scale = f_train.std(0)
    keep = np.arange(len(ib.members))
    if a.subset:
        keep = np.sort(np.random.default_rng(1).choice(len(ib.members), a.subset, replace=False))
    _, near = cKDTree(f_train / scale).query(ib.features(ib.members[keep, : ib.k]) / scale, k=a.k)

    post = np.empty((len(keep), ib.gh, ib.gw), np.float32)
    for c in range(0, len(keep), 2000):
        ids = draws[near[c : c + 2000]].reshape(len(near[c : c + 2000]), -1)
        post[c : c + 2000] = ib.targets(ids)
    post = post.reshape(len(keep), -1)
    post /= post.sum(1, keepdims=True)

    args = [a.data, a.bundles, a.out, "--subset", str(a.subset), "--k", str(a.k)]
    meta = ib.posteriors_meta("benches/oracle_posteriors.py", args)
    b = ib.table.take(keep)
    write_posteriors(a.out, meta, b["bundle_id"], b["split"], b["T"], b["h"], post)
    rmse = ib.rmse_t(post, keep)
    print(f"oracle posteriors: {len(keep)} bundles, test posterior-mean RMSE T {rmse:.3f} -> {a.out}")


if __name__ == "__main__":
    main()
