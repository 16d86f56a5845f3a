"""Open phasekit Parquet files with pyarrow, polars and DuckDB and check what
other tools see: column types, the state shape and the phasekit metadata.

usage: check_parquet.py DIR   (DIR holds <kind>.parquet for every kind)
"""
import json
import math
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

def fixed_list(t: pa.DataType, value_type: pa.DataType, n: int) -> bool:
    return pa.types.is_fixed_size_list(t) and t.value_type == value_type and t.list_size == n


KINDS = ["microstates", "bundles", "posteriors", "thermo", "trainlog", "estimates", "couplings"]


def main(folder: Path) -> None:
    for kind in KINDS:
        path = folder / f"{kind}.parquet"
        table = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
        assert meta["phasekit.kind"] == kind, meta["phasekit.kind"]
        assert meta["phasekit.version"] == "1"
        params = json.loads(meta["phasekit.params"])
        assert params == ["T", "h"], params
        bounds = json.loads(meta["phasekit.bounds"])
        assert bounds == {"T": [1.0, 5.0], "h": [-2.0, 2.0]}, bounds
        prov = json.loads(meta["phasekit.provenance"])
        assert prov["tool"] == "test" and prov["seed"] == 1, prov
        for p in params if kind not in ("trainlog", "couplings") else []:
            assert table.schema.field(p).type == pa.float64()

        df = pl.read_parquet(path)
        con = duckdb.connect()
        n_duck = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
        assert n_duck == table.num_rows == df.height, (n_duck, table.num_rows, df.height)
        kv = dict(
            (k.decode(), v.decode())
            for k, v in con.execute(
                f"SELECT key, value FROM parquet_kv_metadata('{path}')"
            ).fetchall()
        )
        assert kv["phasekit.kind"] == kind

        if kind == "microstates":
            shape = json.loads(meta["phasekit.state_shape"])
            n = math.prod(shape)
            assert fixed_list(table.schema.field("state").type, pa.int8(), n), table.schema.field("state").type
            assert table.schema.field("id").type == pa.uint64()
            assert df.schema["state"] == pl.Array(pl.Int8, n), df.schema["state"]
            states = df["state"].to_numpy()
            assert states.shape == (table.num_rows, n)
            assert set(states.ravel().tolist()) <= {-1, 1}
            # magnetization is the mean spin, seen the same way from every tool
            mag = df["magnetization"].to_numpy()
            assert abs(mag - states.mean(axis=1)).max() < 1e-12
            # DuckDB reads a Parquet list as a variable list; every row has n spins
            typ, lo, hi = con.execute(
                f"SELECT any_value(typeof(state)), min(len(state)), max(len(state)) FROM read_parquet('{path}')"
            ).fetchone()
            assert typ in (f"TINYINT[{n}]", "TINYINT[]"), typ
            assert lo == hi == n, (lo, hi)
            s = con.execute(
                f"SELECT sum(list_sum(state::INTEGER[])) FROM read_parquet('{path}')"
            ).fetchone()[0]
            assert s == int(states.sum()), (s, states.sum())
        elif kind == "bundles":
            k = json.loads(meta["phasekit.k_neib"])
            grid = json.loads(meta["phasekit.grid"])
            assert grid["shape"] == [3, 2] and grid["params"] == ["T", "h"]
            assert fixed_list(table.schema.field("members").type, pa.uint64(), k)
            assert df.schema["members"] == pl.Array(pl.UInt64, k)
            assert set(df["split"].unique().to_list()) == {"train", "test"}
        elif kind == "posteriors":
            grid = json.loads(meta["phasekit.grid"])
            g = grid["shape"][0] * grid["shape"][1]
            assert fixed_list(table.schema.field("posterior").type, pa.float32(), g)
            sums = con.execute(
                f"SELECT min(list_sum(posterior)), max(list_sum(posterior)) FROM read_parquet('{path}')"
            ).fetchone()
            assert abs(sums[0] - 1) < 1e-6 and abs(sums[1] - 1) < 1e-6, sums
        elif kind == "thermo":
            for c in ["log_z", "grad_T", "grad_h", "fisher_T_T", "fisher_T_h", "fisher_h_h"]:
                assert df.schema[c] == pl.Float64, c
        elif kind == "trainlog":
            assert df.schema["step"] == pl.UInt64
            assert df["loss"].to_list()[1] == 0.5
        elif kind == "estimates":
            assert df["quantity"].to_list()[0] == "free_energy"
            assert df["method"].to_list()[0] == "nis"
            # a missing standard error is a null in every reader
            assert df["std_error"].null_count() == 3, df["std_error"]
            assert table.column("std_error").null_count == 3
            nulls = con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE std_error IS NULL").fetchone()
            assert nulls[0] == 3, nulls
        elif kind == "couplings":
            assert df.schema["i"] == pl.UInt64 and df.schema["value"] == pl.Float64
            k = con.execute(
                f"SELECT avg(value) FROM read_parquet('{path}') WHERE term = 'K' AND scope = 'bond'"
            ).fetchone()[0]
            assert abs(k - 0.315) < 1e-12, k
        print(f"{kind}: pyarrow, polars and duckdb agree ({table.num_rows} rows)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
