"""Write a posteriors file (schemas/posteriors.md) from numpy arrays: the
benchmarks' stand-in posteriors go through fit-icnn and pk-report unchanged."""
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
