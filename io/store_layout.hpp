// What the store's writer and reader share about its layout (docs/FORMAT.md): the era groups'
// names, the prediction chunking, and the checks both apply to an era's vectors. Internal to io/.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backscore::store_layout {

// Prediction rows (models) per chunk: a batch of model columns is whole chunks, one read each.
inline constexpr hsize_t kModelsPerChunk = 64;

inline std::string era_group_name(std::size_t e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06zu", e);
  return buf;
}

inline std::size_t first_duplicate_or_unsorted(const std::vector<std::string>& ids) {
  for (std::size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) return i;
  }
  return ids.size();
}

inline bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// A name for a one-line message: a NUL byte or line break in it shown as \0, \n or \r.
inline std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\0') {
      out += "\\0";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

template <typename T>
inline std::size_t first_non_finite(std::span<const T> v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return v.size();
}

inline std::size_t first_infinite(std::span<const float> v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isinf(v[i])) return i;
  }
  return v.size();
}

// What is wrong with a K x n matrix of per-stock values (element (k, i) at [k * n + i]) that must
// be finite: "FIELD 'NAME' is not finite for id 'ID'" at its first non-finite value (NAME: row
// k's name, or FIELD itself when `names` is empty), or "" when every value is finite.
inline std::string non_finite_problem(std::span<const double> v,
                                      const std::vector<std::string>& names, const char* field,
                                      const std::vector<std::string>& ids) {
  const std::size_t i = first_non_finite(v);
  if (i == v.size()) return "";
  const std::size_t n = ids.size();
  const std::string which = names.empty() ? std::string(field) : names[i / n];
  return std::string(field) + " '" + which + "' is not finite for id '" + ids[i % n] + "'";
}

// Stakes are finite and >= 0 (0 = unstaked).
inline std::size_t first_bad_stake(std::span<const double> stakes) {
  for (std::size_t j = 0; j < stakes.size(); ++j) {
    if (!std::isfinite(stakes[j]) || stakes[j] < 0) return j;
  }
  return stakes.size();
}

inline bool all_small_integers(std::span<const double> v) {
  return std::all_of(v.begin(), v.end(),
                     [](double x) { return x >= -128.0 && x <= 127.0 && x == std::nearbyint(x); });
}

}  // namespace backscore::store_layout
