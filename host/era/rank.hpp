// Ranking as numerai-tools does it with pandas: one stable ascending sort of a column, and from
// that one order both the tie-kept ("average") and the tie-broken ("first") percentile ranks
// (rank - 0.5) / n, and the gaussianized tie-kept ranks ndtri(percentile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace backscore {

// Stable ascending order of NaN-free doubles: an LSD radix sort on order-preserving 64-bit keys
// (8-bit digits; digits equal across the whole column are skipped, so float32-valued columns
// need about 4 passes). Holds its buffers between calls: no allocation after warm-up.
class StableSorter {
 public:
  // order[k] = index of the k-th smallest value. Equal values, -0.0 and 0.0 included, keep index
  // order, which is pandas' "first" tie-breaking on rows sorted by id. order.size() ==
  // values.size().
  void sort(std::span<const double> values, std::span<std::uint32_t> order);

 private:
  std::vector<std::uint64_t> keys_, keys_tmp_;
  std::vector<std::uint32_t> index_tmp_;
};

// numerai-tools' filter_sort_top_bottom on one column: kept[i] = 1 for the k lowest and the k
// highest values by np.argsort(kind="stable") (ties: the low end takes the earliest rows, the
// high end the latest), 0 elsewhere. Needs 2k <= n (the sets are then disjoint). Two O(n)
// selections on the sort keys instead of a full sort (each on ~n/8 candidates bracketed by a
// sample); `work` and `scratch` are reusable buffers.
void mark_top_bottom(std::span<const double> values, std::size_t k, std::span<char> kept,
                     std::vector<std::uint64_t>& work, std::vector<std::uint64_t>& scratch);

// pandas rank(method="first") percentile: out[order[k]] = (k + 1 - 0.5) / n.
void tie_broken_percentiles(std::span<const std::uint32_t> order, std::span<double> out);

// pandas rank(method="average") percentile: a run of equal values at sorted positions [a, b)
// gets the rank (a + 1 + b) / 2, exactly what pandas' sum_ranks / dups yields.
void tie_kept_percentiles(std::span<const double> values, std::span<const std::uint32_t> order,
                          std::span<double> out);

// ndtri(percentile(r, n)) for every integer rank r = 1..n, and its signed 1.5 power: gaussianizing
// (and powering) a column then costs a lookup per distinct rank instead of an ndtri and a pow.
struct GaussianTable {
  std::vector<double> gauss;  // ndtri(percentile(r, n)) at [r - 1]
  std::vector<double> pow15;  // signed_pow(gauss, 1.5)
  static GaussianTable of(std::size_t n);
  std::size_t size() const { return gauss.size(); }
};

// numerai-tools gaussian(tie_kept_rank(x)): gauss_out[i] = ndtri(tie-kept percentile of
// values[i]) and, when pow15_out is not empty, power(., 1.5) of it too. `table` may be null or
// of another size (then every distinct rank calls ndtri and pow); results are identical.
void tie_kept_gaussian(std::span<const double> values, std::span<const std::uint32_t> order,
                       const GaussianTable* table, std::span<double> gauss_out,
                       std::span<double> pow15_out = {});

}  // namespace backscore
