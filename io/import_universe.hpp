// `backscore import`'s universe CSV (era, id, target, ...; docs/FORMAT.md), read once as a stream:
// each row's values go to a spill file bucketed by era (features as int8 where they are integers
// in -128..127), and only the eras' names and sorted ids stay in memory. take() gives back one
// era at a time laid out as the store wants it. Internal to io/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/era_spill.hpp"
#include "io/store.hpp"

namespace backscore {

class Universe {
 public:
  // Reads and checks the whole file (eras in order of first appearance; a duplicate id is an
  // error) and fills the schema's targets, benchmarks, features, neutralizers, has_meta_model and
  // has_sample_weights from the header. The spill file lies beside `beside` and buffers up to `spill_bytes` in memory. Throws
  // InputError naming FILE:LINE and the column.
  Universe(const std::filesystem::path& path, const std::filesystem::path& beside,
           std::size_t spill_bytes, StoreSchema& schema);
  ~Universe();

  std::size_t eras() const { return eras_.size(); }
  const std::string& name(std::size_t era) const { return eras_[era].name; }
  // Position of `id` among era `era`'s ids sorted by byte order, if the era has it (until take()).
  std::optional<std::uint32_t> find(std::size_t era, std::string_view id) const;
  // Era `era` without models or predictions: ids sorted by byte order, values laid out as the
  // store wants them. Once per era: it reads the era back from the spill file and frees it.
  Era take(std::size_t era);

 private:
  // The ids of a whole history stay in memory, so they are packed: one string of the era's ids
  // back to back and where each ends (about 4 bytes a row more than the ids' text).
  struct EraRows {
    std::string name;
    std::string id_text;                // the ids back to back, sorted by byte order
    std::vector<std::uint32_t> id_end;  // end of each id in id_text
    std::vector<std::uint32_t>
        position;  // position among the ids of the era's k-th row (file order)
    std::size_t size() const { return id_end.size(); }
    std::string_view id(std::size_t i) const {
      const std::size_t begin = i ? id_end[i - 1] : 0;
      return std::string_view(id_text).substr(begin, id_end[i] - begin);
    }
  };

  std::vector<EraRows> eras_;
  std::unique_ptr<EraSpill> spill_;
  std::size_t n_targets_ = 0, n_benchmarks_ = 0, n_features_ = 0, n_neutralizers_ = 0;
  bool has_meta_model_ = false, has_sample_weights_ = false;
};

}  // namespace backscore
