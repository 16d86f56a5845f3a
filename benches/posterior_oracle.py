"""What posterior-mean RMSE the Ising demo data allow: a sufficient-statistics
oracle for fit-posterior's quality figures (issue 6).

For bundles built like bundle-knn's (8 nearest neighbours in the unit prior
box, 4 drawn per bundle, 20% test), regress the true (T, h) of test bundles
on the bundle's mean bond energy and mean magnetization by k-NN over many
training draws. Those two means are (nearly) sufficient for a bundle of
Ising states, so this approximates the Bayes-optimal posterior mean.

usage: .venv/bin/python benches/posterior_oracle.py ising.parquet   (needs scipy: make bench venv)
"""
import sys

import numpy as np
import pyarrow.parquet as pq
from scipy.spatial import cKDTree


def main(path: str) -> None:
    t = pq.read_table(path, columns=["T", "h", "energy", "magnetization"])
    T, h = t["T"].to_numpy(), t["h"].to_numpy()
    m = t["magnetization"].to_numpy()
    bond = t["energy"].to_numpy() + h * m  # the stored energy includes −h·m
    rng = np.random.default_rng(0)
    _, nb = cKDTree(np.c_[(T - 1) / 4, (h + 2) / 4]).query(np.c_[(T - 1) / 4, (h + 2) / 4], k=8)
    idx = rng.permutation(len(T))
    test, train = idx[: len(T) // 5], idx[len(T) // 5 :]

    def feats(c):
        pick = np.array([rng.choice(nb[i], 4, replace=False) for i in c])
        return np.c_[bond[pick].mean(1), m[pick].mean(1)]

    ftr = np.concatenate([feats(train) for _ in range(8)])
    ytr = np.tile(np.c_[T[train], h[train]], (8, 1))
    fte, yte = feats(test), np.c_[T[test], h[test]]
    sc = ftr.std(0)
    saturated = np.abs(m[test]) > 0.95
    for cols, name in (([0, 1], "bond energy + magnetization"), ([1], "magnetization only")):
        _, j = cKDTree(ftr[:, cols] / sc[cols]).query(fte[:, cols] / sc[cols], k=32)
        err = ytr[j].mean(1) - yte
        rmse = np.sqrt((err**2).mean(0))
        sat = np.sqrt((err[saturated] ** 2).mean(0))
        print(f"{name}: RMSE T {rmse[0]:.3f}, h {rmse[1]:.3f}; "
              f"saturated |m|>0.95 ({saturated.mean():.0%} of test): T {sat[0]:.3f}, h {sat[1]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
