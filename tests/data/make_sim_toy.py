#!/usr/bin/env python3
"""The toy simulation of docs/FORMULAS.md ("Simulation: a toy history worked by hand"), computed
independently of backscore: plain Python, NormalDist's inverse CDF for the gaussianization, the
numerai-tools steps written out. Prints the doc's table and the values tests/simulation_test.cpp
checks (to 1e-12).

    python3 tests/data/make_sim_toy.py
"""
from statistics import NormalDist

N = 4  # stocks a, b, c, d
LAG = 2
RULE_CLIP = 0.25  # rule: clip(mmc, -0.25, 0.25)
TARGETS = [  # per era, stocks a..d (in [0, 1]: numerai-tools multiplies by 4, then centers)
    [0.0, 0.25, 0.75, 1.0],
    [1.0, 0.75, 0.25, 0.0],
    [0.25, 0.0, 1.0, 0.75],
    [0.75, 1.0, 0.0, 0.25],
    [0.0, 1.0, 0.25, 0.75],
    [1.0, 0.0, 0.75, 0.25],
]
# predictions per era and model (None: the model does not submit that era)
PREDS = {
    "A": [[.1, .2, .3, .4], [.4, .3, .1, .2], [.1, .2, .4, .3], [.3, .4, .1, .2], [.2, .4, .1, .3], [.4, .1, .3, .2]],
    "B": [[.2, .1, .4, .3], [.1, .2, .3, .4], [.3, .1, .4, .2], None, [.1, .3, .2, .4], [.1, .4, .2, .3]],
    "C": [None, None, [.4, .3, .2, .1], [.2, .4, .3, .1], [.1, .2, .3, .4], [.4, .2, .3, .1]],
}
OBSERVED = {"A": 100.0, "B": 50.0, "C": 30.0}  # stake in its first era


def gauss(v):
    n = len(v)
    order = sorted(range(n), key=lambda i: v[i])
    out = [0.0] * n
    k = 0
    while k < n:  # tie-kept (average) ranks
        e = k
        while e + 1 < n and v[order[e + 1]] == v[order[k]]:
            e += 1
        r = (k + 1 + e + 1) / 2
        for q in range(k, e + 1):
            out[order[q]] = NormalDist().inv_cdf((r - 0.5) / n)
        k = e + 1
    return out


def dot(x, y):
    return sum(a * b for a, b in zip(x, y))


def main():
    stake = {}
    pending = [dict() for _ in range(LAG)]
    rows = []
    for e, target in enumerate(TARGETS):
        slot = e % LAG
        for name, amount in pending[slot].items():
            stake[name] = max(0.0, stake[name] + amount)
        pending[slot] = {}
        models = [m for m in PREDS if PREDS[m][e] is not None]
        for m in models:
            stake.setdefault(m, OBSERVED[m])
        w = {m: stake[m] for m in models}
        total = sum(w.values())
        g = {m: gauss(PREDS[m][e]) for m in models}
        meta = [sum(w[m] * g[m][i] for m in models) / total for i in range(N)]
        mg = gauss(meta)
        t = [4 * x for x in target] if all(0 <= x <= 1 for x in target) else list(target)
        mean_t = sum(t) / N
        t = [x - mean_t for x in t]
        for m in models:
            p = g[m]
            c = dot(p, mg) / dot(mg, mg)
            perp = [p[i] - mg[i] * c for i in range(N)]
            mmc = dot(t, perp) / N
            pay = max(-RULE_CLIP, min(RULE_CLIP, mmc))
            pending[slot][m] = pending[slot].get(m, 0.0) + w[m] * pay
            rows.append((e + 1, m, w[m], meta, mmc, pay))
    print("| era | model | stake at risk | meta-model (a, b, c, d) | mmc | payout |")
    print("|---|---|---|---|---|---|")
    for era, m, s, meta, mmc, pay in rows:
        print(f"| {era} | {m} | {s:.6f} | {', '.join(f'{x:.4f}' for x in meta)} | {mmc:.6f} | {pay:+.6f} |")
    print()
    print("// era, model, stake, mmc, payout")
    for era, m, s, meta, mmc, pay in rows:
        print(f"{{{era}, '{m}', {s!r}, {mmc!r}, {pay!r}}},")
    print("// meta-models per era")
    seen = set()
    for era, m, s, meta, mmc, pay in rows:
        if era not in seen:
            seen.add(era)
            print("{" + ", ".join(repr(x) for x in meta) + "},")


if __name__ == "__main__":
    main()
