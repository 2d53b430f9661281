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
  double lo =
      std::max(*std::max_element(costs.begin(), costs.end()), total / static_cast<double>(parts));
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

namespace {

// RunStats' fields, listed once for merging and for the bytes: each count with how ranks' values
// combine (added, or the largest: the device figures), then the seconds (the wall: the largest;
// the phases: added, thread-seconds).
struct CountField {
  std::size_t RunStats::*field;
  bool largest;
};
constexpr CountField kCountFields[] = {
    {&RunStats::eras, false},
    {&RunStats::model_eras, false},
    {&RunStats::skipped, false},
    {&RunStats::subset_models, false},
    {&RunStats::fnc_fallbacks, false},
    {&RunStats::predictions, false},
    {&RunStats::gpu_model_eras, false},
    {&RunStats::gpu_peak_bytes, true},
    {&RunStats::gpu_batch_models, true},
    {&RunStats::gpu_streams, true},
};
constexpr double StageSeconds::*kStageFields[] = {
    &StageSeconds::read,         &StageSeconds::era_stages,    &StageSeconds::factorization,
    &StageSeconds::wait_batches, &StageSeconds::wait_stages,   &StageSeconds::fnc_inputs,
    &StageSeconds::fnc_products, &StageSeconds::subset_stages, &StageSeconds::subset_products,
    &StageSeconds::columns,      &StageSeconds::ranks,
};
constexpr std::size_t kWords = std::size(kCountFields) + 1 + std::size(kStageFields);

}  // namespace

void merge_run_stats(RunStats& into, const RunStats& from) {
  for (const CountField& c : kCountFields) {
    into.*c.field =
        c.largest ? std::max(into.*c.field, from.*c.field) : into.*c.field + from.*c.field;
  }
  if (into.undefined.size() < from.undefined.size()) into.undefined.resize(from.undefined.size());
  for (std::size_t f = 0; f < from.undefined.size(); ++f) into.undefined[f] += from.undefined[f];
  into.seconds = std::max(into.seconds, from.seconds);
  for (const auto field : kStageFields) into.times.*field += from.times.*field;
}

std::vector<unsigned char> encode_run_stats(const RunStats& stats) {
  std::vector<unsigned char> out((1 + stats.undefined.size() + kWords) * 8);
  std::size_t at = 0;
  auto put = [&out, &at](const auto& value) {
    static_assert(sizeof value == 8);
    std::memcpy(out.data() + at, &value, sizeof value);
    at += sizeof value;
  };
  put(static_cast<std::uint64_t>(stats.undefined.size()));
  for (const std::size_t u : stats.undefined) put(static_cast<std::uint64_t>(u));
  for (const CountField& c : kCountFields) put(static_cast<std::uint64_t>(stats.*c.field));
  put(stats.seconds);
  for (const auto field : kStageFields) put(stats.times.*field);
  return out;
}

RunStats decode_run_stats(std::span<const unsigned char> bytes) {
  std::size_t at = 0;
  auto take = [&](auto& value) {
    static_assert(sizeof value == 8);
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
  };
  auto take_count = [&](std::size_t& value) {
    std::uint64_t w = 0;
    take(w);
    value = static_cast<std::size_t>(w);
  };
  if (bytes.size() < 8) throw std::invalid_argument("decode_run_stats: too short");
  RunStats s;
  std::size_t n = 0;
  take_count(n);
  if (n > bytes.size() / 8 || bytes.size() != (1 + n + kWords) * 8) {
    throw std::invalid_argument("decode_run_stats: wrong length");
  }
  s.undefined.resize(n);
  for (std::size_t& u : s.undefined) take_count(u);
  for (const CountField& c : kCountFields) take_count(s.*c.field);
  take(s.seconds);
  for (const auto field : kStageFields) take(s.times.*field);
  return s;
}

}  // namespace backscore
