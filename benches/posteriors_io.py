"""Write a posteriors file (schemas/posteriors.md) from numpy arrays, and read
the Ising data and bundles they stand in for: the benchmarks' stand-in
posteriors go through fit-icnn and pk-report unchanged."""
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def axis_gaussians(cells, centres, width):
    """Gaussians of `width` about each centre at the grid's cell centres,
    normalised over the cells (last axis), as bundle-knn's targets are per axis."""
    w = np.exp(-0.5 * ((cells - centres[..., None]) / width) ** 2)
    return w / w.sum(-1, keepdims=True)


def write_posteriors(path, meta, bundle_id, split, t, h, post):
    """post: [n, gh·gw] float32 rows summing to 1; meta: footer metadata
    (bytes to bytes). Written beside the target, then renamed into place."""
    cells = post.shape[1]
    cell = pa.list_(pa.field("item", pa.float32(), nullable=False), cells)
    schema = pa.schema(
        [
            pa.field("bundle_id", pa.uint64(), False),
            pa.field("split", pa.string(), False),
            pa.field("T", pa.float64(), False),
            pa.field("h", pa.float64(), False),
            pa.field("posterior", cell, False),
        ],
        metadata=meta,
    )
    column = pa.FixedSizeListArray.from_arrays(pa.array(np.ravel(post), pa.float32()), type=cell)
    arrow = (pa.Array, pa.ChunkedArray)
    columns = [c if isinstance(c, arrow) else pa.array(c) for c in (bundle_id, split, t, h)]
    table = pa.table(columns + [column], schema=schema)
    tmp = path + ".tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def require_kind(path, kind):
    """Stop with one line naming `path` unless it is a phasekit file of `kind`."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such file")
    found = (pq.read_schema(path).metadata or {}).get(b"phasekit.kind")
    if found != kind:
        raise SystemExit(f"{path}: not a phasekit {kind.decode()} file")


class IsingBundles:
    """An Ising samples file (gen-ising) and its bundles file (bundle-knn), as
    the benches that write stand-in posteriors read them."""

    def __init__(self, data, bundles):
        require_kind(data, b"microstates")
        require_kind(bundles, b"bundles")
        d = pq.read_table(data, columns=["T", "h", "energy", "magnetization"])
        self.t, self.h = d["T"].to_numpy(), d["h"].to_numpy()
        self.m = d["magnetization"].to_numpy()
        self.bond = d["energy"].to_numpy() + self.h * self.m  # the stored energy includes −h·m
        self.table = pq.read_table(bundles)
        self.meta = dict(self.table.schema.metadata)
        self.k = int(self.meta[b"phasekit.k_bundle"])
        grid = json.loads(self.meta[b"phasekit.grid"])
        self.t_box, self.h_box = grid["bounds"]["T"], grid["bounds"]["h"]
        self.gh, self.gw = grid["shape"]
        self.sigma = grid["sigma"]
        self.state_shape = json.loads(self.meta[b"phasekit.state_shape"])
        self.members = np.stack(self.table["members"].to_numpy(zero_copy_only=False)).astype(np.int64)
        self.split = np.array(self.table["split"].to_pylist())
        # cell centres and sample parameters in unit-box coordinates
        self.ct, self.ch = (np.arange(self.gh) + 0.5) / self.gh, (np.arange(self.gw) + 0.5) / self.gw
        (t0, t1), (h0, h1) = self.t_box, self.h_box
        self.ut, self.uh = (self.t - t0) / (t1 - t0), (self.h - h0) / (h1 - h0)

    def features(self, ids):
        """Mean bond energy and magnetization per site over each row of sample ids."""
        return np.c_[self.bond[ids].mean(1), self.m[ids].mean(1)]

    def targets(self, ids):
        """bundle-knn's targets for rows of sample ids: [n, gh, gw], the mean of
        the members' separable Gaussians."""
        wt, wh = axis_gaussians(self.ct, self.ut[ids], self.sigma), axis_gaussians(self.ch, self.uh[ids], self.sigma)
        return np.einsum("nki,nkj->nij", wt, wh) / ids.shape[1]

    def rmse_t(self, post, rows):
        """Posterior-mean RMSE in T over the test bundles among `rows`, whose
        posteriors [len(rows), gh·gw] are `post`."""
        (t0, t1) = self.t_box
        mean_t = post.reshape(-1, self.gh, self.gw).sum(2) @ (t0 + self.ct * (t1 - t0))
        centre = self.table["T"].to_numpy()[rows]
        test = self.split[rows] == "test"
        return np.sqrt(((mean_t - centre)[test] ** 2).mean())

    def posteriors_meta(self, tool, args):
        """The bundles file's footer made a posteriors file's, with provenance."""
        meta = dict(self.meta)
        meta[b"phasekit.kind"] = b"posteriors"
        for key in (b"phasekit.k_neib", b"phasekit.state_shape", b"phasekit.test_fraction"):
            meta.pop(key, None)
        meta[b"phasekit.provenance"] = json.dumps({"tool": tool, "version": "1", "args": args}).encode()
        return meta
