// The simulation's state and its journal records as bytes (see simulation.hpp).
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "host/run/simulation.hpp"

namespace backscore {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Little-endian packing of the state and the journal's era records.
class Packer {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  template <typename T>
  void put_all(std::span<const T> v) {
    put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size_bytes());
  }
  std::vector<unsigned char> bytes;
};

class Unpacker {
 public:
  explicit Unpacker(std::span<const unsigned char> b) : b_(b) {}
  template <typename T>
  T get() {
    T v;
    take(&v, sizeof(T));
    return v;
  }
  // A table of `expected` values (any length when SIZE_MAX).
  template <typename T>
  std::vector<T> get_all(std::size_t expected) {
    const auto count = get<std::uint64_t>();
    if ((expected != SIZE_MAX && count != expected) || count > (b_.size() - pos_) / sizeof(T)) {
      throw std::invalid_argument("simulation record: a table's length");
    }
    std::vector<T> v(count);
    take(v.data(), count * sizeof(T));
    return v;
  }
  void finish() const {
    if (pos_ != b_.size()) throw std::invalid_argument("simulation record: trailing bytes");
  }

 private:
  void take(void* out, std::size_t n) {
    if (n > b_.size() - pos_) throw std::invalid_argument("simulation record: too short");
    if (n == 0) return;  // an empty table: its data() may be null, which memcpy must not see
    std::memcpy(out, b_.data() + pos_, n);
    pos_ += n;
  }
  std::span<const unsigned char> b_;
  std::size_t pos_ = 0;
};

constexpr std::uint64_t kStateMagic = 0x31534d4953534221ull;  // "!BSSIMS1"

}  // namespace

SimState SimState::start(std::size_t rules, std::size_t models, std::size_t lag,
                         std::uint64_t first_era, bool observed_payout) {
  if (lag == 0) throw std::invalid_argument("SimState: the resolve lag must be at least 1");
  SimState s;
  s.next_era = first_era;
  s.rules = rules;
  s.models = models;
  s.lag = lag;
  s.stake.assign(rules * models, kNaN);
  s.pending.assign(rules * lag * models, 0.0);
  s.last_observed.assign(models, kNaN);
  if (observed_payout) {
    s.explained.assign(models, 0.0);
    s.pending_observed.assign(lag * models, 0.0);
  }
  return s;
}

std::vector<unsigned char> SimState::serialize() const {
  Packer p;
  p.put(kStateMagic);
  for (std::uint64_t v :
       {next_era, simulated, std::uint64_t{rules}, std::uint64_t{models}, std::uint64_t{lag}}) {
    p.put(v);
  }
  p.put_all<double>(stake);
  p.put_all<double>(pending);
  p.put_all<double>(last_observed);
  p.put_all<double>(explained);
  p.put_all<double>(pending_observed);
  return std::move(p.bytes);
}

SimState SimState::deserialize(std::span<const unsigned char> bytes) {
  Unpacker u(bytes);
  if (u.get<std::uint64_t>() != kStateMagic) throw std::invalid_argument("not a simulation state");
  SimState s;
  s.next_era = u.get<std::uint64_t>();
  s.simulated = u.get<std::uint64_t>();
  s.rules = u.get<std::uint64_t>();
  s.models = u.get<std::uint64_t>();
  s.lag = u.get<std::uint64_t>();
  if (s.lag == 0 || s.rules > (1u << 20) || s.models > (1u << 30) || s.lag > (1u << 20)) {
    throw std::invalid_argument("simulation state: bad shape");
  }
  s.stake = u.get_all<double>(s.rules * s.models);
  s.pending = u.get_all<double>(s.rules * s.lag * s.models);
  s.last_observed = u.get_all<double>(s.models);
  s.explained = u.get_all<double>(SIZE_MAX);
  s.pending_observed = u.get_all<double>(s.explained.empty() ? 0 : s.lag * s.models);
  if (!s.explained.empty() && s.explained.size() != s.models) {
    throw std::invalid_argument("simulation state: bad shape");
  }
  u.finish();
  return s;
}

std::vector<unsigned char> encode_sim_era(const SimEra& era, std::size_t rules) {
  Packer p;
  p.put(era.era);
  p.put(era.store_mm_corr);
  p.put_all<std::int32_t>(era.models);
  if (era.stakes.size() != rules * era.models.size() || era.payouts.size() != era.stakes.size() ||
      era.quantities.size() != rules * kSimQuantityCount) {
    throw std::invalid_argument("encode_sim_era: tables of the wrong size");
  }
  p.put_all<double>(era.stakes);
  p.put_all<double>(era.payouts);
  p.put_all<double>(era.quantities);
  return std::move(p.bytes);
}

SimEra decode_sim_era(std::span<const unsigned char> bytes, std::size_t rules) {
  Unpacker u(bytes);
  SimEra e;
  e.era = u.get<std::uint64_t>();
  e.store_mm_corr = u.get<double>();
  e.models = u.get_all<std::int32_t>(SIZE_MAX);
  const std::size_t m = e.models.size();
  e.stakes = u.get_all<double>(rules * m);
  e.payouts = u.get_all<double>(rules * m);
  e.quantities = u.get_all<double>(rules * kSimQuantityCount);
  u.finish();
  return e;
}

}  // namespace backscore
