// Ranking (see rank.hpp).
#include "host/engine/rank.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "kernels/hd/elementwise.hpp"
#include "kernels/hd/ndtri.hpp"

namespace backscore {
namespace {

// Unsigned key with the same order as the double; -0.0 is folded into 0.0 so they tie.
inline std::uint64_t order_key(double v) {
  const std::uint64_t u = std::bit_cast<std::uint64_t>(v == 0.0 ? 0.0 : v);
  constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
  return (u & kSign) ? ~u : (u | kSign);
}

// Calls emit(a, b) for each run [a, b) of equal values in sorted order.
template <class Emit>
void for_each_tie_run(std::span<const double> values, std::span<const std::uint32_t> order,
                      const Emit& emit) {
  const std::size_t n = order.size();
  std::size_t a = 0;
  while (a < n) {
    const double v = values[order[a]];
    std::size_t b = a + 1;
    while (b < n && values[order[b]] == v) ++b;
    emit(a, b);
    a = b;
  }
}

}  // namespace

void StableSorter::sort(std::span<const double> values, std::span<std::uint32_t> order) {
  const std::size_t n = values.size();
  keys_.resize(n);
  keys_tmp_.resize(n);
  index_tmp_.resize(n);
  std::array<std::array<std::uint32_t, 256>, 8> count{};
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = order_key(values[i]);
    keys_[i] = k;
    for (int d = 0; d < 8; ++d) ++count[d][(k >> (8 * d)) & 0xff];
    order[i] = static_cast<std::uint32_t>(i);
  }
  if (n < 2) return;
  std::uint64_t* src_k = keys_.data();
  std::uint64_t* dst_k = keys_tmp_.data();
  std::uint32_t* src_i = order.data();
  std::uint32_t* dst_i = index_tmp_.data();
  for (int d = 0; d < 8; ++d) {
    const int shift = 8 * d;
    auto& c = count[d];
    if (c[(src_k[0] >> shift) & 0xff] == n) continue;  // one digit value everywhere: no-op pass
    std::uint32_t pos = 0;
    for (auto& bucket : c) {
      const std::uint32_t size = bucket;
      bucket = pos;
      pos += size;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t at = c[(src_k[i] >> shift) & 0xff]++;
      dst_k[at] = src_k[i];
      dst_i[at] = src_i[i];
    }
    std::swap(src_k, dst_k);
    std::swap(src_i, dst_i);
  }
  if (src_i != order.data()) std::memcpy(order.data(), src_i, n * sizeof(std::uint32_t));
}

void mark_top_bottom(std::span<const double> values, std::size_t k, std::span<char> kept,
                     std::vector<std::uint64_t>& work) {
  const std::size_t n = values.size();
  std::fill(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(n), 0);
  if (k == 0 || 2 * k > n) return;
  work.resize(n);
  for (std::size_t i = 0; i < n; ++i) work[i] = order_key(values[i]);
  // The k-th smallest and k-th largest keys; rows strictly beyond them are in, rows equal to
  // them fill the remaining places in (stable) row order from the matching end.
  std::nth_element(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(k - 1), work.end());
  const std::uint64_t low = work[k - 1];
  std::nth_element(work.begin() + static_cast<std::ptrdiff_t>(k),
                   work.begin() + static_cast<std::ptrdiff_t>(n - k), work.end());
  const std::uint64_t high = work[n - k];
  std::size_t below = 0, above = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t key = order_key(values[i]);
    below += key < low;
    above += key > high;
  }
  std::size_t low_ties = k - below, high_ties = k - above;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t key = order_key(values[i]);
    if (key < low) {
      kept[i] = 1;
    } else if (key == low && low_ties > 0) {
      kept[i] = 1;
      --low_ties;
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    const std::uint64_t key = order_key(values[i]);
    if (key > high) {
      kept[i] = 1;
    } else if (key == high && high_ties > 0) {
      kept[i] = 1;
      --high_ties;
    }
  }
}

void tie_broken_percentiles(std::span<const std::uint32_t> order, std::span<double> out) {
  const double n = static_cast<double>(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    out[order[k]] = percentile(static_cast<double>(k + 1), n);
  }
}

void tie_kept_percentiles(std::span<const double> values, std::span<const std::uint32_t> order,
                          std::span<double> out) {
  const double n = static_cast<double>(order.size());
  for_each_tie_run(values, order, [&](std::size_t a, std::size_t b) {
    const double p = percentile(static_cast<double>(a + 1 + b) * 0.5, n);
    for (std::size_t k = a; k < b; ++k) out[order[k]] = p;
  });
}

GaussianTable GaussianTable::of(std::size_t n) {
  GaussianTable t;
  t.gauss.resize(n);
  t.pow15.resize(n);
  const double dn = static_cast<double>(n);
  for (std::size_t k = 0; k < n; ++k) {
    t.gauss[k] = ndtri(percentile(static_cast<double>(k + 1), dn));
    t.pow15[k] = signed_pow(t.gauss[k], 1.5);
  }
  return t;
}

void tie_kept_gaussian(std::span<const double> values, std::span<const std::uint32_t> order,
                       const GaussianTable* table, std::span<double> gauss_out,
                       std::span<double> pow15_out) {
  const std::size_t n = order.size();
  const bool use_table = table != nullptr && table->size() == n;
  const bool want_pow = !pow15_out.empty();
  const double dn = static_cast<double>(n);
  for_each_tie_run(values, order, [&](std::size_t a, std::size_t b) {
    const std::size_t twice_rank = a + 1 + b;
    double g, p = 0;
    if (use_table && twice_rank % 2 == 0) {  // an integer average rank
      g = table->gauss[twice_rank / 2 - 1];
      if (want_pow) p = table->pow15[twice_rank / 2 - 1];
    } else {
      g = ndtri(percentile(static_cast<double>(twice_rank) * 0.5, dn));
      if (want_pow) p = signed_pow(g, 1.5);
    }
    for (std::size_t k = a; k < b; ++k) gauss_out[order[k]] = g;
    if (want_pow) {
      for (std::size_t k = a; k < b; ++k) pow15_out[order[k]] = p;
    }
  });
}

}  // namespace backscore
