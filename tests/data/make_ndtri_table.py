"""Writes ndtri_scipy.txt: scipy.special.ndtri (= scipy.stats.norm.ppf) on a dense grid including
both tails and on the percentiles (k - 0.5) / n numerai-tools feeds it, as exact hex floats
("y x" per line). Regenerate with a Python that has numpy and scipy:
    python tests/data/make_ndtri_table.py > tests/data/ndtri_scipy.txt
"""
import numpy as np
import scipy
import scipy.special as sc
import scipy.stats as st

ys = set()
ys.update(10.0 ** np.linspace(-300, np.log10(0.5), 500))
ys.update(1 - 10.0 ** np.linspace(-16, np.log10(0.5), 300))
ys.update(np.linspace(0, 1, 401)[1:-1])
for n in [1, 2, 3, 4, 5, 7, 10, 20, 33, 100]:
    ys.update((np.arange(1, n + 1) - 0.5) / n)
for n in [1000, 4999, 5000, 123457]:
    k = np.unique(np.r_[np.arange(1, 40), np.linspace(1, n, 120).round(), np.arange(n - 39, n + 1)])
    ys.update((k - 0.5) / n)
    twice = np.unique(np.linspace(2, 2 * n, 101).round())
    ys.update((twice / 2 - 0.5) / n)  # integer and half-integer (tie-kept) ranks
rng = np.random.default_rng(20240601)
ys.update(rng.uniform(size=300))
for b in [np.exp(-2), 1 - np.exp(-2), np.exp(-32), 1 - np.exp(-32), 0.5]:
    v = b
    for _ in range(3):
        ys.add(v)
        v = np.nextafter(v, 0)
    v = b
    for _ in range(3):
        v = np.nextafter(v, 1)
        ys.add(v)
ys.update([5e-324, 2.2250738585072014e-308, 1e-310, np.nextafter(1, 0), 0.0, 1.0])
ys = np.array(sorted(float(y) for y in ys if 0 <= y <= 1))
x = sc.ndtri(ys)
assert np.array_equal(x, st.norm.ppf(ys))
print(f"# scipy {scipy.__version__} ndtri; y x as hex floats; {len(ys)} points")
for y, v in zip(ys, x):
    print(float(y).hex(), float(v).hex())
