// `backscore import`'s universe CSV (era, id, target, ...; docs/FORMAT.md): read into the store's
// eras, ids sorted by byte order, values laid out as the store wants them. Internal to io/.
#pragma once

#include <filesystem>
#include <vector>

#include "io/store.hpp"

namespace backscore {

// One Era per era of the universe, in order of first appearance, without models or predictions;
// fills the schema's targets, benchmarks, features and has_meta_model from the header. Throws
// InputError naming FILE:LINE and the column.
std::vector<Era> read_universe(const std::filesystem::path& path, StoreSchema& schema);

}  // namespace backscore
