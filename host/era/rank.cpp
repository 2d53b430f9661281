// Ranking (see rank.hpp).
#include "host/era/rank.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "core/hd/order_key.hpp"

namespace backscore {
namespace {

// Unsigned key with the same order as the double; -0.0 is folded into 0.0 so they tie.
inline std::uint64_t order_key(double v) { return order_key64(v); }

// The r-th smallest (0-based) of keys, exactly; `scratch` is reused. A deterministic sample of
// 128 keys brackets the answer; one pass counts the keys below the bracket and gathers those in
// it (~n/8), and the selection runs on those alone. When the sample misleads (adversarial
// orders, heavy ties at the bracket's edge) it falls back to a selection over all the keys.
std::uint64_t select_rank(std::span<const std::uint64_t> keys, std::size_t r,
                          std::vector<std::uint64_t>& scratch) {
  const std::size_t n = keys.size();
  constexpr std::size_t kSample = 128, kSlack = 8;
  if (n >= 4 * kSample) {
    std::array<std::uint64_t, kSample> sample;
    for (std::size_t i = 0; i < kSample; ++i) sample[i] = keys[i * n / kSample];
    std::sort(sample.begin(), sample.end());
    const std::size_t p = r * kSample / n;
    const bool open_below = p < kSlack, open_above = p + kSlack >= kSample;
    const std::uint64_t lo = open_below ? 0 : sample[p - kSlack];
    const std::uint64_t hi = open_above ? ~std::uint64_t{0} : sample[p + kSlack];
    scratch.clear();
    std::size_t below = 0;
    for (const std::uint64_t key : keys) {
      if (key < lo) {
        ++below;
      } else if (key <= hi) {
        scratch.push_back(key);
      }
    }
    if (below <= r && r < below + scratch.size()) {
      const auto nth = scratch.begin() + static_cast<std::ptrdiff_t>(r - below);
      std::nth_element(scratch.begin(), nth, scratch.end());
      return *nth;
    }
  }
  scratch.assign(keys.begin(), keys.end());
  const auto nth = scratch.begin() + static_cast<std::ptrdiff_t>(r);
  std::nth_element(scratch.begin(), nth, scratch.end());
  return *nth;
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

namespace {

// One stable LSD radix pass per kDigitBits-bit digit of the keys' bits [lo_bit, 64), skipping
// digits equal across the column. Keys and their payload move together; returns the buffers
// holding the result (src or dst, after the last swap).
constexpr int kDigitBits = 11;
constexpr std::uint32_t kBuckets = 1u << kDigitBits;

template <class Payload>
void radix_passes(std::size_t n, int lo_bit, std::uint64_t*& src_k, std::uint64_t*& dst_k,
                  Payload*& src_p, Payload*& dst_p) {
  constexpr int kMaxDigits = (64 + kDigitBits - 1) / kDigitBits;
  const int digits = (64 - lo_bit + kDigitBits - 1) / kDigitBits;
  std::array<std::array<std::uint32_t, kBuckets>, kMaxDigits> count;
  for (int d = 0; d < digits; ++d) count[d].fill(0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = src_k[i];
    for (int d = 0; d < digits; ++d) ++count[d][(k >> (lo_bit + kDigitBits * d)) & (kBuckets - 1)];
  }
  for (int d = 0; d < digits; ++d) {
    const int shift = lo_bit + kDigitBits * d;
    auto& c = count[d];
    if (c[(src_k[0] >> shift) & (kBuckets - 1)] == n) continue;  // one digit value: no-op pass
    std::uint32_t pos = 0;
    for (auto& bucket : c) {
      const std::uint32_t size = bucket;
      bucket = pos;
      pos += size;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t at = c[(src_k[i] >> shift) & (kBuckets - 1)]++;
      dst_k[at] = src_k[i];
      if constexpr (!std::is_void_v<Payload>) dst_p[at] = src_p[i];
    }
    std::swap(src_k, dst_k);
    if constexpr (!std::is_void_v<Payload>) std::swap(src_p, dst_p);
  }
}

}  // namespace

void StableSorter::sort(std::span<const double> values, std::span<std::uint32_t> order) {
  const std::size_t n = values.size();
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  if (n < 2) return;
  keys_.resize(n);
  keys_tmp_.resize(n);
  // Values that are all float32 (predictions read from a store are): the float's 32-bit key and
  // the row in one 64-bit word, sorted on the upper 32 bits (3 passes of 11 bits at most, 8
  // bytes moved per element); the row in the low bits keeps equal keys in row order. Otherwise
  // the double's 64-bit key with the row alongside (6 passes at most, 12 bytes).
  bool floats = true;
  for (std::size_t i = 0; i < n && floats; ++i) {
    floats = static_cast<double>(static_cast<float>(values[i])) == values[i];
  }
  std::uint64_t* src_k = keys_.data();
  std::uint64_t* dst_k = keys_tmp_.data();
  if (floats) {
    for (std::size_t i = 0; i < n; ++i) {
      keys_[i] = (std::uint64_t{order_key32(static_cast<float>(values[i]))} << 32) | i;
    }
    void* none = nullptr;  // no payload: the row travels in the key
    radix_passes<void>(n, 32, src_k, dst_k, none, none);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(src_k[i]);
    return;
  }
  index_tmp_.resize(n);
  for (std::size_t i = 0; i < n; ++i) keys_[i] = order_key(values[i]);
  std::uint32_t* src_i = order.data();
  std::uint32_t* dst_i = index_tmp_.data();
  radix_passes<std::uint32_t>(n, 0, src_k, dst_k, src_i, dst_i);
  if (src_i != order.data()) std::memcpy(order.data(), src_i, n * sizeof(std::uint32_t));
}

void mark_top_bottom(std::span<const double> values, std::size_t k, std::span<char> kept,
                     std::vector<std::uint64_t>& work, std::vector<std::uint64_t>& scratch) {
  const std::size_t n = values.size();
  std::fill(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(n), 0);
  if (k == 0 || 2 * k > n) return;
  work.resize(n);
  for (std::size_t i = 0; i < n; ++i) work[i] = order_key(values[i]);
  const std::span<const std::uint64_t> keys(work.data(), n);
  // The k-th smallest and k-th largest keys; rows strictly beyond them are in, rows equal to
  // them fill the remaining places in (stable) row order from the matching end.
  const std::uint64_t low = select_rank(keys, k - 1, scratch);
  const std::uint64_t high = select_rank(keys, n - k, scratch);
  std::size_t below = 0, above = 0;
  for (const std::uint64_t key : keys) {
    below += key < low;
    above += key > high;
  }
  std::size_t low_ties = k - below, high_ties = k - above;
  for (std::size_t i = 0; i < n; ++i) {
    if (keys[i] < low) {
      kept[i] = 1;
    } else if (keys[i] == low && low_ties > 0) {
      kept[i] = 1;
      --low_ties;
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    if (keys[i] > high) {
      kept[i] = 1;
    } else if (keys[i] == high && high_ties > 0) {
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
