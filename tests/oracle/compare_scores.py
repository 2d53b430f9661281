#!/usr/bin/env python3
"""Compare two score CSVs (header model,era,<formula>,...; empty cell = NaN).

  compare_scores.py expected.csv actual.csv [--tol 1e-9] [--show 20]

Rows are matched by (model, era) and columns by name (order is free; extra columns in actual
are listed and ignored). A value matches when both are NaN, or both are numbers with
|expected - actual| <= tol * max(1, |expected|). Prints the worst difference per formula, the
first mismatches, and a one-line summary. Exit 0 when everything matches, 1 otherwise (any
mismatch, NaN vs number, missing or extra row, missing column, duplicate row), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from typing import Dict, List, Tuple

Key = Tuple[str, str]


def read_scores(path: str) -> Tuple[List[str], Dict[Key, Dict[str, float]], List[str]]:
    problems = []
    rows: Dict[Key, Dict[str, float]] = {}
    try:
        f = open(path, newline="")
    except OSError as e:
        raise SystemExit(f"FAIL: cannot read {path}: {e.strerror}")
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[:2] != ["model", "era"]:
            raise SystemExit(f"FAIL: {path}: header must start with model,era (got {header})")
        formulas = header[2:]
        for line_no, rec in enumerate(reader, start=2):
            if len(rec) != len(header):
                problems.append(f"{path}:{line_no}: {len(rec)} cells, header has {len(header)}")
                continue
            key = (rec[0], rec[1])
            if key in rows:
                problems.append(f"{path}:{line_no}: duplicate row {key}")
                continue
            vals = {}
            for name, cell in zip(formulas, rec[2:]):
                try:
                    vals[name] = math.nan if cell.strip() == "" else float(cell)
                except ValueError:
                    problems.append(f"{path}:{line_no}: {name} is not a number: {cell!r}")
                    vals[name] = math.nan
            rows[key] = vals
    return formulas, rows, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--show", type=int, default=20, help="how many mismatches to print")
    a = ap.parse_args()

    exp_cols, exp, problems = read_scores(a.expected)
    act_cols, act, act_problems = read_scores(a.actual)
    problems += act_problems
    missing_cols = [c for c in exp_cols if c not in act_cols]
    extra_cols = [c for c in act_cols if c not in exp_cols]
    missing_rows = sorted(set(exp) - set(act))
    extra_rows = sorted(set(act) - set(exp))
    for c in missing_cols:
        problems.append(f"column {c} missing from {a.actual}")
    for k in missing_rows[: a.show]:
        problems.append(f"row model={k[0]} era={k[1]} missing from {a.actual}")
    for k in extra_rows[: a.show]:
        problems.append(f"row model={k[0]} era={k[1]} in {a.actual} but not expected")

    cols = [c for c in exp_cols if c in act_cols]
    worst = {c: (0.0, None) for c in cols}
    n_nan = {c: 0 for c in cols}
    mismatches = []
    compared = 0
    for key in sorted(set(exp) & set(act)):
        for c in cols:
            e, v = exp[key][c], act[key][c]
            compared += 1
            if math.isnan(e) or math.isnan(v):
                if math.isnan(e) and math.isnan(v):
                    n_nan[c] += 1
                else:
                    mismatches.append((key, c, e, v, math.inf))
                continue
            d = abs(e - v)
            if d > worst[c][0]:
                worst[c] = (d, key)
            if not d <= a.tol * max(1.0, abs(e)):
                mismatches.append((key, c, e, v, d))

    print(f"{'formula':<16} {'worst |diff|':>12}  {'both NaN':>8}  at (model, era)")
    for c in cols:
        d, key = worst[c]
        where = f"{key[0]} {key[1]}" if key else "-"
        print(f"{c:<16} {d:12.3e}  {n_nan[c]:8d}  {where}")
    if extra_cols:
        print(f"(ignored columns only in {a.actual}: {', '.join(extra_cols)})")
    if mismatches:
        print(f"first mismatches (of {len(mismatches)}):")
        for (m, era), c, e, v, d in mismatches[: a.show]:
            print(f"  model={m} era={era} {c}: expected {e!r} actual {v!r} (|diff| {d:.3e})")
    for p in problems[: a.show]:
        print("  " + p)
    ok = not mismatches and not problems
    overall = max((w[0] for w in worst.values()), default=0.0)
    print(f"{'OK' if ok else 'FAIL'}: {len(set(exp) & set(act))} rows x {len(cols)} formulas "
          f"({compared} values) compared, {len(mismatches)} mismatches, "
          f"{len(missing_rows)} missing / {len(extra_rows)} extra rows, "
          f"{len(missing_cols)} missing columns, worst |diff| {overall:.3e}, tol {a.tol:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
