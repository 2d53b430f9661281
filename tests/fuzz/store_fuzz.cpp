// libFuzzer target: the store reader (io/store.hpp) on mutated store files (the seed corpus holds
// small valid stores). It opens the file and reads everything `inspect` reads: each era, its
// stock count, its predictions in batches (direct chunk reads when the layout allows, else
// through HDF5). Errors are InputErrors or Hdf5Errors (both one line, exit 2 in the CLI) or
// bad_alloc (exit 2, "out of memory"); anything else escaping, a sanitizer report or a crash in
// HDF5 itself is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "core/error.hpp"
#include "fuzz_file.hpp"
#include "io/hdf5.hpp"
#include "io/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  backscore::fuzz::InputFile input(data, size);
  try {
    backscore::StoreReader store(input.path());
    std::vector<float> block;
    for (std::size_t e = 0; e < store.eras().size(); ++e) {
      const backscore::Era era = store.read_era(e);
      if (store.n_stocks(e) != era.n_stocks()) __builtin_trap();
      store.reads_predictions_directly(e);
      const std::size_t n = era.n_stocks(), m = era.n_submitted();
      for (std::size_t first = 0; first < m; first += 3) {
        const std::size_t count = std::min<std::size_t>(3, m - first);
        block.resize(count * n);
        store.read_predictions(e, first, count, block, 2);
      }
    }
  } catch (const backscore::InputError&) {
  } catch (const backscore::h5::Hdf5Error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
