// The split of a run's eras among ranks and the ranks' stats (see era_shards.hpp).
#include "host/run/era_shards.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace backscore {

double EraCostModel::cost(const EraShape& era) const {
  const double n = static_cast<double>(era.stocks), m = static_cast<double>(era.submitted);
  const double f = static_cast<double>(features);
  double c = n * m * kPerPrediction;
  if (features > 0) c += 2 * n * f * f + kProducts * n * f * m;
  return c;
}

namespace {

// Ranges filled greedily from the first era, each up to `limit` (an era costlier than the limit
// gets a range of its own); how many ranges that takes.
std::size_t ranges_needed(std::span<const double> costs, double limit) {
  std::size_t ranges = 0;
  double load = 0;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    if (i == 0 || load + costs[i] > limit) {
      ++ranges;
      load = 0;
    }
    load += costs[i];
  }
  return ranges;
}

}  // namespace

std::vector<std::size_t> split_eras(std::span<const double> costs, std::size_t parts) {
  if (parts == 0) throw std::invalid_argument("split_eras: no parts");
  for (const double c : costs) {
    if (!(c >= 0) || c > 1e300) throw std::invalid_argument("split_eras: a cost is not finite");
  }
  std::vector<std::size_t> bounds(parts + 1, costs.size());
  bounds[0] = 0;
  if (costs.empty()) return bounds;
  // The bottleneck lies in [max(largest era, total / parts), total]; bisect on it.
  const double total = std::accumulate(costs.begin(), costs.end(), 0.0);
  double lo = std::max(*std::max_element(costs.begin(), costs.end()),
                       total / static_cast<double>(parts));
  double hi = total;
  if (ranges_needed(costs, lo) <= parts) hi = lo;
  for (int step = 0; step < 100 && hi - lo > 1e-9 * hi; ++step) {
    const double mid = lo + (hi - lo) / 2;
    (ranges_needed(costs, mid) <= parts ? hi : lo) = mid;
  }
  std::size_t part = 0;
  double load = 0;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    if (i > 0 && load + costs[i] > hi && part + 1 < parts) {
      bounds[++part] = i;
      load = 0;
    }
    load += costs[i];
  }
  for (std::size_t p = part + 1; p <= parts; ++p) bounds[p] = costs.size();
  return bounds;
}

void merge_run_stats(RunStats& into, const RunStats& from) {
  into.eras += from.eras;
  into.model_eras += from.model_eras;
  into.skipped += from.skipped;
  into.subset_models += from.subset_models;
  into.fnc_fallbacks += from.fnc_fallbacks;
  into.predictions += from.predictions;
  if (into.undefined.size() < from.undefined.size()) into.undefined.resize(from.undefined.size());
  for (std::size_t f = 0; f < from.undefined.size(); ++f) into.undefined[f] += from.undefined[f];
  into.seconds = std::max(into.seconds, from.seconds);
  StageSeconds& t = into.times;
  const StageSeconds& u = from.times;
  t.read += u.read;
  t.era_stages += u.era_stages;
  t.factorization += u.factorization;
  t.wait_batches += u.wait_batches;
  t.wait_stages += u.wait_stages;
  t.fnc_inputs += u.fnc_inputs;
  t.fnc_products += u.fnc_products;
  t.subset_stages += u.subset_stages;
  t.subset_products += u.subset_products;
  t.columns += u.columns;
  t.ranks += u.ranks;
  into.gpu_model_eras += from.gpu_model_eras;
  into.gpu_peak_bytes = std::max(into.gpu_peak_bytes, from.gpu_peak_bytes);
  into.gpu_batch_models = std::max(into.gpu_batch_models, from.gpu_batch_models);
  into.gpu_streams = std::max(into.gpu_streams, from.gpu_streams);
}

namespace {

// The fields of RunStats in one order, for both directions: counts as u64, seconds as f64.
template <typename Stats, typename Count, typename Seconds>
void fields(Stats& s, Count&& count, Seconds&& seconds) {
  count(s.eras);
  count(s.model_eras);
  count(s.skipped);
  count(s.subset_models);
  count(s.fnc_fallbacks);
  count(s.predictions);
  count(s.gpu_model_eras);
  count(s.gpu_peak_bytes);
  count(s.gpu_batch_models);
  count(s.gpu_streams);
  seconds(s.seconds);
  auto& t = s.times;
  for (auto* v : {&t.read, &t.era_stages, &t.factorization, &t.wait_batches, &t.wait_stages,
                  &t.fnc_inputs, &t.fnc_products, &t.subset_stages, &t.subset_products,
                  &t.columns, &t.ranks}) {
    seconds(*v);
  }
}

constexpr std::size_t kCounts = 10, kSeconds = 12;

}  // namespace

std::vector<unsigned char> encode_run_stats(const RunStats& stats) {
  std::vector<unsigned char> out((1 + stats.undefined.size() + kCounts + kSeconds) * 8);
  std::size_t at = 0;
  auto put = [&out, &at](const auto& value) {
    static_assert(sizeof value == 8);
    std::memcpy(out.data() + at, &value, sizeof value);
    at += sizeof value;
  };
  put(static_cast<std::uint64_t>(stats.undefined.size()));
  for (const std::size_t u : stats.undefined) put(static_cast<std::uint64_t>(u));
  RunStats copy = stats;
  fields(
      copy, [&](std::size_t& v) { put(static_cast<std::uint64_t>(v)); },
      [&](double& v) { put(v); });
  return out;
}

RunStats decode_run_stats(std::span<const unsigned char> bytes) {
  std::size_t at = 0;
  auto take = [&](void* value, std::size_t size) {
    if (bytes.size() - at < size) throw std::invalid_argument("decode_run_stats: too short");
    std::memcpy(value, bytes.data() + at, size);
    at += size;
  };
  RunStats s;
  std::uint64_t n = 0;
  take(&n, sizeof n);
  if (n > bytes.size() / 8 || bytes.size() != (1 + n + kCounts + kSeconds) * 8) {
    throw std::invalid_argument("decode_run_stats: wrong length");
  }
  s.undefined.resize(static_cast<std::size_t>(n));
  for (std::size_t& u : s.undefined) {
    std::uint64_t v = 0;
    take(&v, sizeof v);
    u = static_cast<std::size_t>(v);
  }
  fields(
      s,
      [&](std::size_t& v) {
        std::uint64_t w = 0;
        take(&w, sizeof w);
        v = static_cast<std::size_t>(w);
      },
      [&](double& v) { take(&v, sizeof v); });
  if (at != bytes.size()) throw std::invalid_argument("decode_run_stats: wrong length");
  return s;
}

}  // namespace backscore
