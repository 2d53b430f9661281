// libFuzzer target: the CSV reader (io/csv.hpp) on any bytes. Every field goes through the field
// parsers, and the records read must survive a round trip through the CSV writer: written with
// append_csv_record and read again, they are the same (a mismatch aborts, which the fuzzer
// reports). Errors are InputErrors; anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "fuzz_file.hpp"
#include "io/csv.hpp"

namespace {

using Records = std::vector<std::vector<std::string>>;

Records read_records(const std::string& path) {
  backscore::CsvReader csv(path);
  Records records{csv.header()};
  std::vector<std::string_view> fields;
  while (csv.next(fields)) {
    records.emplace_back(fields.begin(), fields.end());
    for (std::size_t c = 0; c < fields.size(); ++c) {
      try {
        csv.parse_double(fields[c], c);
      } catch (const backscore::InputError&) {
      }
      try {
        csv.parse_name(fields[c], c);
      } catch (const backscore::InputError&) {
      }
    }
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Records records;
  {
    backscore::fuzz::InputFile input(data, size);
    try {
      records = read_records(input.path());
    } catch (const backscore::InputError&) {
      return 0;
    }
  }
  // A byte-order mark first: the reader skips one, so a header starting with those bytes keeps
  // them.
  std::string text = "\xEF\xBB\xBF";
  for (const auto& record : records) backscore::append_csv_record(text, record);
  backscore::fuzz::InputFile written(reinterpret_cast<const std::uint8_t*>(text.data()),
                                     text.size());
  if (read_records(written.path()) != records) std::abort();
  return 0;
}
