// The CSV reader: RFC 4180 quoting, line ends, byte-order mark, and its error messages.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "io/csv.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::TempDir;
using testing::write_file;

std::vector<std::vector<std::string>> read_all(const std::filesystem::path& p,
                                               std::vector<std::size_t>* lines = nullptr) {
  CsvReader csv(p);
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back(csv.header().begin(), csv.header().end());
  std::vector<std::string_view> f;
  while (csv.next(f)) {
    rows.emplace_back(f.begin(), f.end());
    if (lines) lines->push_back(csv.line());
  }
  return rows;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Csv, QuotesCrlfBomAndBlankLines) {
  TempDir dir;
  write_file(dir / "a.csv",
             "\xEF\xBB\xBF"
             "a,b,c\r\n"
             "1,\"x,y\",\r\n"
             "\r\n"
             "\"he said \"\"hi\"\"\",\"two\nlines\",3\n"
             "4,,\"\"\n"
             "5,6,7");  // no final line end
  std::vector<std::size_t> lines;
  const auto rows = read_all(dir / "a.csv", &lines);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x,y", ""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"he said \"hi\"", "two\nlines", "3"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"4", "", ""}));
  EXPECT_EQ(rows[4], (std::vector<std::string>{"5", "6", "7"}));
  // Records start on lines 2, 4 (after a blank line), 6 (the quoted field spans 4-5), 7.
  EXPECT_EQ(lines, (std::vector<std::size_t>{2, 4, 6, 7}));
}

TEST(Csv, LargerThanTheReadBuffer) {
  TempDir dir;
  std::string text = "id,value\n";
  const int n = 200000;  // ~2.5 MB: records straddle buffer refills
  for (int i = 0; i < n; ++i)
    text += "\"id" + std::to_string(i) + "\"," + std::to_string(i) + "\r\n";
  write_file(dir / "big.csv", text);
  CsvReader csv(dir / "big.csv");
  std::vector<std::string_view> f;
  int count = 0;
  while (csv.next(f)) {
    ASSERT_EQ(f[0], "id" + std::to_string(count));
    ASSERT_EQ(f[1], std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, n);
  EXPECT_EQ(csv.line(), static_cast<std::size_t>(n) + 1);
}

TEST(Csv, Numbers) {
  TempDir dir;
  write_file(dir / "n.csv", "x\n1\n");
  CsvReader csv(dir / "n.csv");
  EXPECT_EQ(csv.parse_double(" 0.25 ", 0), 0.25);
  EXPECT_EQ(csv.parse_double("+1e-3", 0), 1e-3);
  EXPECT_EQ(csv.parse_double("-2", 0), -2.0);
  EXPECT_FALSE(csv.parse_double("", 0).has_value());
  EXPECT_FALSE(csv.parse_double("  ", 0).has_value());
  EXPECT_EQ(error_of([&] { csv.parse_double("abc", 0); }),
            (dir / "n.csv").string() + ":1: column 'x' (1): 'abc' is not a number");
  EXPECT_EQ(error_of([&] { csv.parse_double("1.5x", 0); }),
            (dir / "n.csv").string() + ":1: column 'x' (1): '1.5x' is not a number");
  EXPECT_EQ(error_of([&] { csv.parse_double("nan", 0); }),
            (dir / "n.csv").string() + ":1: column 'x' (1): 'nan' is not a finite number");
  EXPECT_EQ(error_of([&] { csv.parse_double("1e999", 0); }),
            (dir / "n.csv").string() + ":1: column 'x' (1): '1e999' is out of range");
  EXPECT_EQ(error_of([&] { csv.parse_finite("", 0); }),
            (dir / "n.csv").string() + ":1: column 'x' (1): empty value");
}

TEST(Csv, Errors) {
  TempDir dir;
  const auto err = [&](const std::string& text) {
    write_file(dir / "e.csv", text);
    return error_of([&] { read_all(dir / "e.csv"); });
  };
  const std::string f = (dir / "e.csv").string();
  EXPECT_EQ(err(""), f + ": empty file, expected a header line");
  EXPECT_EQ(err("a,b\n1,2\n3\n"), f + ":3: 1 field, expected 2 as in the header");
  EXPECT_EQ(err("a,b\n1,2,3\n"), f + ":2: 3 fields, expected 2 as in the header");
  EXPECT_EQ(err("a,b\n1,\"2\n"), f + ":2: quoted field is never closed");
  EXPECT_EQ(err("a,b\n1,\"2\"x\n"),
            f + ":2: column 'b' (2): text after the closing quote of a quoted field");
  EXPECT_EQ(err("a,a\n"), f + ":1: header: column 'a' appears twice");
  EXPECT_EQ(err("a,,b\n"), f + ":1: header: column 2 has no name");
  EXPECT_EQ(error_of([&] { CsvReader c(dir / "missing.csv"); }),
            (dir / "missing.csv").string() + ": cannot open: No such file or directory");
  EXPECT_EQ(error_of([&] { CsvReader c(dir.path()); }),
            dir.path().string() + ": is a directory, expected a CSV file");
}

// A reader that refuses its file (empty, bad header) closes it: no descriptor leaks, however
// many files are refused (the fuzzer ran out of descriptors).
TEST(Csv, RefusedFilesAreClosed) {
  TempDir dir;
  write_file(dir / "empty.csv", "");
  write_file(dir / "twice.csv", "a,a\n");
  const auto open_descriptors = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const std::size_t before = open_descriptors();
  for (int k = 0; k < 200; ++k) {
    EXPECT_THROW(CsvReader(dir / "empty.csv"), InputError);
    EXPECT_THROW(CsvReader(dir / "twice.csv"), InputError);
  }
  EXPECT_EQ(open_descriptors(), before);
}

// The writer quotes a field exactly when RFC 4180 needs it: a comma, a quote, CR or LF.
TEST(CsvWriter, QuotesOnlyWhatNeedsIt) {
  const auto field = [](std::string_view s) {
    std::string out;
    append_csv_field(out, s);
    return out;
  };
  EXPECT_EQ(field("plain"), "plain");
  EXPECT_EQ(field(""), "");
  EXPECT_EQ(field(" blanks kept "), " blanks kept ");
  EXPECT_EQ(field("e,1"), "\"e,1\"");
  EXPECT_EQ(field("m\"1"), "\"m\"\"1\"");
  EXPECT_EQ(field("a\nb"), "\"a\nb\"");
  EXPECT_EQ(field("a\rb"), "\"a\rb\"");
  EXPECT_EQ(field("\xC3\xBC\xE6\x97\xA5"), "\xC3\xBC\xE6\x97\xA5");  // UTF-8 as it is
  std::string record;
  append_csv_record(record, std::vector<std::string>{"a", "b,c", ""});
  EXPECT_EQ(record, "a,\"b,c\",\n");
  record.clear();
  append_csv_record(record, std::vector<std::string>{""});  // not a blank line
  EXPECT_EQ(record, "\"\"\n");
}

// Whatever the writer writes, the reader reads back to the same bytes: random fields of commas,
// quotes, CR, LF, CRLF, blanks and UTF-8.
TEST(CsvWriter, RandomFieldsRoundTrip) {
  TempDir dir;
  std::mt19937_64 rng(13);
  const std::vector<std::string> pieces = {",", "\"", "\r", "\n", "\r\n", " ", "a", "Z9", "",
                                           "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\"\"", "\t"};
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t columns = 1 + rng() % 4;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header;
    for (std::size_t c = 0; c < columns; ++c) header.push_back("c" + std::to_string(c));
    rows.push_back(header);
    for (int r = 0; r < 20; ++r) {
      std::vector<std::string> row;
      for (std::size_t c = 0; c < columns; ++c) {
        std::string f;
        for (std::size_t k = rng() % 5; k > 0; --k) f += pieces[rng() % pieces.size()];
        row.push_back(f);
      }
      rows.push_back(row);
    }
    std::string text;
    for (const auto& row : rows) append_csv_record(text, row);
    write_file(dir / "w.csv", text);
    EXPECT_EQ(read_all(dir / "w.csv"), rows) << "trial " << trial;
  }
}

// A name may not hold a NUL byte (the store's strings are NUL-padded); the error is one line
// naming the file, line and column, with the NUL shown as \0.
TEST(Csv, NamesWithNulAreRefused) {
  using namespace std::string_literals;
  TempDir dir;
  const std::string f = (dir / "z.csv").string();
  write_file(dir / "z.csv", "model,id\nm,\"a\0b\"\n"s);
  CsvReader csv(dir / "z.csv");
  std::vector<std::string_view> fields;
  ASSERT_TRUE(csv.next(fields));
  EXPECT_EQ(csv.parse_name(fields[0], 0), "m");
  EXPECT_EQ(error_of([&] { csv.parse_name(fields[1], 1); }),
            f + ":2: column 'id' (2): a name with a NUL byte");
  write_file(dir / "z.csv", "model,i\0d\n"s);
  EXPECT_EQ(error_of([&] { CsvReader c(dir / "z.csv"); }),
            f + ":1: header: the name of column 2 has a NUL byte");
  // A message quoting a field with a line break stays one line.
  write_file(dir / "z.csv", "x\n\"1\n2\"\n");
  CsvReader lines(dir / "z.csv");
  ASSERT_TRUE(lines.next(fields));
  EXPECT_EQ(error_of([&] { lines.parse_double(fields[0], 0); }),
            f + ":2: column 'x' (1): '1\\n2' is not a number");
}

}  // namespace
}  // namespace backscore
