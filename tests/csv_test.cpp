// The CSV reader: RFC 4180 quoting, line ends, byte-order mark, and its error messages.
#include <gtest/gtest.h>

#include <string>
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

}  // namespace
}  // namespace backscore
