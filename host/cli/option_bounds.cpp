#include "host/cli/option_bounds.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace backscore::cli {
namespace {

std::string shown(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

CLI::Validator whole_number(std::int64_t lo, std::uint64_t hi, std::string why_hi) {
  const std::string range = hi == UINT64_MAX ? ">= " + std::to_string(lo)
                                             : std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, why_hi](std::string& text) -> std::string {
        const char* first = text.data();
        const char* last = first + text.size();
        bool too_small = false, too_large = false;
        if (!text.empty() && text[0] == '-') {
          std::int64_t v = 0;
          const auto [end, ec] = std::from_chars(first, last, v);
          if (end != last || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
              text.size() == 1) {
            return "'" + text + "' is not a whole number";
          }
          too_small = ec == std::errc::result_out_of_range || v < lo;
        } else {
          std::uint64_t v = 0;
          const auto [end, ec] = std::from_chars(first, last, v);
          if (text.empty() || end != last ||
              (ec != std::errc() && ec != std::errc::result_out_of_range)) {
            return "'" + text + "' is not a whole number";
          }
          too_large = ec == std::errc::result_out_of_range || v > hi;
          too_small = !too_large && lo > 0 && v < static_cast<std::uint64_t>(lo);
        }
        if (too_small) return text + " is too small: at least " + std::to_string(lo);
        if (too_large) {
          return text + " is too large: at most " + std::to_string(hi) +
                 (why_hi.empty() ? "" : " (" + why_hi + ")");
        }
        return "";
      },
      range);
}

CLI::Validator payout_threshold_bounds() { return real_number(1e-9, 1e15); }

CLI::Validator real_number(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) {
          return "'" + text + "' is not a number";
        }
        if (!(v >= lo && v <= hi)) {
          return text + " is out of range: from " + shown(lo) + " to " + shown(hi);
        }
        return "";
      },
      shown(lo) + ".." + shown(hi));
}

int max_threads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(64, 4 * std::max(cores, 1));
}

std::string max_threads_why() {
  return "the larger of 64 and 4 x this machine's " +
         std::to_string(std::max(1u, std::thread::hardware_concurrency())) + " cores";
}

}  // namespace backscore::cli
