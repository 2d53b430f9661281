#!/usr/bin/env python3
"""Peak memory and rate of `backscore import-numerai` as the data file grows (bench/RESULTS.md).

    bench/numerai_import_bench.py BACKSCORE_BINARY WORKDIR [--eras 10,40] [--stocks 5000]
        [--features 500] [--benchmarks 5]

Writes a data file in Numerai's int8 layout (index id, era, data_type, int8 features, float32
target) and a benchmark file for each era count, imports both with the binary under
/usr/bin/time -v, and prints the peak RSS and rows/s of each. Needs pandas and pyarrow (run it
with the venv of tests/python, e.g. build/tests/python_work/venv/bin/python).
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_files(root, eras, stocks, features, benchmarks, seed=1):
    rng = np.random.default_rng(seed)
    data_path = os.path.join(root, f"validation_{eras}.parquet")
    bench_path = os.path.join(root, f"benchmarks_{eras}.parquet")
    cols = [f"feature_f{k:04d}" for k in range(features)]
    with pq.ParquetWriter(data_path, _schema(cols)) as data, \
            pq.ParquetWriter(bench_path, _bench_schema(benchmarks)) as bench:
        for e in range(eras):
            ids = np.char.add(f"n{e:05d}", np.char.zfill(np.arange(stocks).astype(str), 6))
            frame = pd.DataFrame(rng.integers(0, 5, (stocks, features), dtype=np.int8),
                                 columns=cols)
            frame.insert(0, "id", ids)
            frame.insert(1, "era", f"{e:04d}")
            frame.insert(2, "data_type", "validation")
            frame["target"] = (rng.integers(0, 5, stocks) / 4).astype(np.float32)
            data.write_table(pa.Table.from_pandas(frame, preserve_index=False))
            b = pd.DataFrame({"id": ids, "era": f"{e:04d}"})
            for k in range(benchmarks):
                b[f"bench_{k}"] = rng.random(stocks, dtype=np.float32)
            bench.write_table(pa.Table.from_pandas(b, preserve_index=False))
    return data_path, bench_path


def _schema(cols):
    return pa.schema([("id", pa.string()), ("era", pa.string()), ("data_type", pa.string())] +
                     [(c, pa.int8()) for c in cols] + [("target", pa.float32())])


def _bench_schema(n):
    return pa.schema([("id", pa.string()), ("era", pa.string())] +
                     [(f"bench_{k}", pa.float32()) for k in range(n)])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("work")
    p.add_argument("--eras", default="10,40")
    p.add_argument("--stocks", type=int, default=5000)
    p.add_argument("--features", type=int, default=500)
    p.add_argument("--benchmarks", type=int, default=5)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for eras in map(int, a.eras.split(",")):
        data, bench = write_files(a.work, eras, a.stocks, a.features, a.benchmarks)
        out = os.path.join(a.work, f"store_{eras}.h5")
        start = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-v", a.binary, "import-numerai", "--python",
                            sys.executable, "--data", data, "--feature-set",
                            ",".join(f"feature_f{k:04d}" for k in range(a.features)),
                            "--benchmark-models", bench, "--out", out, "--quiet"],
                           capture_output=True, text=True, check=True)
        seconds = time.monotonic() - start
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
        rows = eras * a.stocks
        print(f"eras {eras:4d}: {rows} rows x {a.features} int8 features "
              f"({os.path.getsize(data) / 1e6:.0f} MB parquet, "
              f"{os.path.getsize(bench) / 1e6:.0f} MB benchmarks) -> "
              f"{os.path.getsize(out) / 1e6:.0f} MB store: {seconds:.1f} s, "
              f"{rows / seconds:,.0f} rows/s, peak RSS {rss / 1024:.0f} MB")
        for f in (data, bench, out):
            os.remove(f)


if __name__ == "__main__":
    main()
