#!/usr/bin/env python3
"""Writes a universe CSV and a long predictions CSV for `backscore import` (docs/FORMAT.md).

Features are integers 0..4 as in Numerai's data; with --float-features a fraction of rows gets one
non-integer feature (exercises the import's fallback from int8). Example, Numerai's size:

  bench/make_universe_csv.py --eras 50 --stocks 5000 --features 2376 --models 3 --out /tmp/u50

writes /tmp/u50/universe.csv (about 1.2 GB) and /tmp/u50/predictions.csv.
Pure Python (no numpy), deterministic for a given --seed.
"""
import argparse
import os
import random

DIGITS = bytes((ord("0") + b % 5) for b in range(256))


def row_id(era, i):
    # Unique within an era (an odd multiplier is a bijection mod 2^40), different across eras.
    return "n%010x" % ((i * 2654435761 + era * 977) % (1 << 40))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eras", type=int, default=2)
    ap.add_argument("--stocks", type=int, default=5000)
    ap.add_argument("--features", type=int, default=2376)
    ap.add_argument("--targets", type=int, default=1, help="target plus target_t1.. (>= 1)")
    ap.add_argument("--benchmarks", type=int, default=0)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--missing", type=float, default=0.0,
                    help="fraction of prediction cells left empty or left out")
    ap.add_argument("--float-features", type=float, default=0.0,
                    help="fraction of rows with one non-integer feature")
    ap.add_argument("--interleave", action="store_true",
                    help="rows of all eras interleaved (not sorted by era)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="directory for universe.csv, predictions.csv")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    F = a.features
    header = [f"feature_f{k:04d}" for k in range(F)] + ["era", "id", "target"]
    header += [f"target_t{k}" for k in range(1, a.targets)]
    header += ["meta_model"] + [f"benchmark_b{k}" for k in range(a.benchmarks)]
    order = ([(e, i) for i in range(a.stocks) for e in range(a.eras)] if a.interleave else
             [(e, i) for e in range(a.eras) for i in range(a.stocks)])
    commas = b"," * F
    with open(os.path.join(a.out, "universe.csv"), "wb", buffering=1 << 22) as u:
        u.write((",".join(header) + "\n").encode())
        for e, i in order:
            row = bytearray(2 * F)
            row[0::2] = rng.randbytes(F).translate(DIGITS)
            row[1::2] = commas
            if a.float_features and rng.random() < a.float_features:
                k = rng.randrange(F)
                row[2 * k:2 * k + 1] = b"%.3f" % (rng.random() * 4)
            tail = [f"era{e:04d}", row_id(e, i)]
            tail += ["%.2f" % (rng.randrange(5) / 4) for _ in range(a.targets)]
            tail += ["%.6f" % rng.random() for _ in range(1 + a.benchmarks)]
            u.write(bytes(row) + (",".join(tail) + "\n").encode())
    with open(os.path.join(a.out, "predictions.csv"), "w", buffering=1 << 22) as p:
        p.write("model,era,id,prediction\n")
        for m in range(a.models):
            for e in range(a.eras):
                for i in range(a.stocks):
                    r = rng.random()
                    if r < a.missing / 2:
                        continue  # id not submitted
                    value = "" if r < a.missing else "%.6f" % rng.random()
                    p.write(f"model{m:03d},era{e:04d},{row_id(e, i)},{value}\n")


if __name__ == "__main__":
    main()
