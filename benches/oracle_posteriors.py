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
import json

import numpy as np
import pyarrow.parquet as pq
from scipy.spatial import cKDTree

from posteriors_io import axis_gaussians, write_posteriors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("bundles")
    ap.add_argument("out")
    ap.add_argument("--subset", type=int, default=0)
    ap.add_argument("--k", type=int, default=32, help="training bundles averaged per query")
    a = ap.parse_args()

    d = pq.read_table(a.data, columns=["T", "h", "energy", "magnetization"])
    t, h = d["T"].to_numpy(), d["h"].to_numpy()
    m = d["magnetization"].to_numpy()
    bond = d["energy"].to_numpy() + h * m  # the stored energy includes −h·m
    b = pq.read_table(a.bundles)
    meta = dict(b.schema.metadata)
    k_bundle = int(meta[b"phasekit.k_bundle"])
    grid = json.loads(meta[b"phasekit.grid"])
    (t0, t1), (h0, h1) = grid["bounds"]["T"], grid["bounds"]["h"]
    gh, gw = grid["shape"]
    sigma = grid["sigma"]
    members = np.stack(b["members"].to_numpy(zero_copy_only=False)).astype(np.int64)
    split = np.array(b["split"].to_pylist())

    rng = np.random.default_rng(0)
    train = np.where(split == "train")[0]
    draws = np.concatenate(
        [np.array([rng.choice(members[i], k_bundle, replace=False) for i in train]) for _ in range(8)]
    )

    def features(ids):
        return np.c_[bond[ids].mean(1), m[ids].mean(1)]

    f_train = features(draws)
    scale = f_train.std(0)
    keep = np.arange(len(members))
    if a.subset:
        keep = np.sort(np.random.default_rng(1).choice(len(members), a.subset, replace=False))
    _, near = cKDTree(f_train / scale).query(features(members[keep, :k_bundle]) / scale, k=a.k)

    # separable Gaussians in unit-box coordinates, normalised along each axis
    ut, uh = (t - t0) / (t1 - t0), (h - h0) / (h1 - h0)
    ct, ch = (np.arange(gh) + 0.5) / gh, (np.arange(gw) + 0.5) / gw
    post = np.empty((len(keep), gh, gw), np.float32)
    for c in range(0, len(keep), 2000):
        ids = draws[near[c : c + 2000]].reshape(len(near[c : c + 2000]), -1)
        wt, wh = axis_gaussians(ct, ut[ids], sigma), axis_gaussians(ch, uh[ids], sigma)
        post[c : c + 2000] = np.einsum("nki,nkj->nij", wt, wh) / ids.shape[1]
    post = post.reshape(len(keep), -1)
    post /= post.sum(1, keepdims=True)

    meta[b"phasekit.kind"] = b"posteriors"
    for k in (b"phasekit.k_neib", b"phasekit.state_shape", b"phasekit.test_fraction"):
        meta.pop(k, None)
    meta[b"phasekit.provenance"] = json.dumps(
        {
            "tool": "benches/oracle_posteriors.py",
            "version": "1",
            "args": [a.data, a.bundles, a.out, "--subset", str(a.subset), "--k", str(a.k)],
        }
    ).encode()
    b = b.take(keep)
    write_posteriors(a.out, meta, b["bundle_id"], b["split"], b["T"], b["h"], post)
    test = split[keep] == "test"
    mean_t = (post.reshape(-1, gh, gw).sum(2) * (t0 + ct * (t1 - t0))).sum(1)
    rmse = np.sqrt(((mean_t - b["T"].to_numpy())[test] ** 2).mean())
    print(f"oracle posteriors: {len(keep)} bundles, test posterior-mean RMSE T {rmse:.3f} -> {a.out}")


if __name__ == "__main__":
    main()
