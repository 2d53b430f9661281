// Comma-separated name lists of the command line (--formulas corr,mmc, --models a,b): one parser,
// so every option reads them the same way.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace backscore {

// Splits on commas and trims blanks around each name. An empty text gives no names; an empty
// name between commas is an InputError naming the option ("--formulas: empty name in 'a,,b'").
inline std::vector<std::string> split_names(std::string_view text, std::string_view option) {
  std::vector<std::string> names;
  if (text.find_first_not_of(" \t") == std::string_view::npos) return names;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    std::string_view name = text.substr(begin, end - begin);
    const std::size_t first = name.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      throw InputError(std::string(option) + ": empty name in '" + std::string(text) + "'");
    }
    name = name.substr(first, name.find_last_not_of(" \t") - first + 1);
    names.emplace_back(name);
    if (end == text.size()) return names;
    begin = end + 1;
  }
}

// A file of names, one per line (run --models FILE): blank lines and lines starting with '#' are
// skipped, a trailing CR is dropped. Each name comes with its line number, for messages.
struct NameLine {
  std::string name;
  std::size_t line = 0;
};
inline std::vector<NameLine> read_name_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot open " + path.string());
  std::vector<NameLine> names;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#') continue;
    names.push_back({text, line});
  }
  if (in.bad()) throw InputError("cannot read " + path.string());
  return names;
}

}  // namespace backscore
