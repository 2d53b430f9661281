// The progress line of long commands (eras done, predictions/s, ETA), shown only when stderr is
// a terminal so logs and tests stay clean.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace backscore {

class EraProgress {
 public:
  EraProgress(bool enabled, std::size_t total_eras)
      : enabled_(enabled && ::isatty(STDERR_FILENO)), total_(total_eras) {}
  void update(std::size_t eras_done, std::size_t predictions, double seconds) const {
    if (!enabled_ || eras_done == 0) return;
    const double rate = seconds > 0 ? static_cast<double>(predictions) / seconds : 0;
    const double eta =
        seconds / static_cast<double>(eras_done) * static_cast<double>(total_ - eras_done);
    std::fprintf(stderr, "\r  era %zu/%zu  %.3g predictions/s  ETA %.0fs   ", eras_done, total_,
                 rate, eta);
    std::fflush(stderr);
  }
  void end() const {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  std::size_t total_;
};

}  // namespace backscore
