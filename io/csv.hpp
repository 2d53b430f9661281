// CSV (RFC 4180) in and out. The reader streams: comma-separated, fields optionally in double
// quotes with "" for a quote and line breaks allowed inside quotes, LF or CRLF line ends, an
// optional UTF-8 byte-order mark, blank lines skipped. Memory is one read buffer plus one record,
// whatever the file's size. Every error is an InputError naming FILE:LINE (and the column when
// there is one). The writer functions below are the only way backscore writes a CSV field, so
// everything it writes reads back through CsvReader to the same bytes.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backscore {

// Appends `field` to `line` as one CSV field: as it is, or in double quotes (every quote in it
// doubled) when it holds a comma, a double quote, CR or LF. Other bytes (UTF-8 text, blanks) are
// written unchanged.
void append_csv_field(std::string& line, std::string_view field);
// Appends one record: the fields (append_csv_field) joined by commas, then "\n". A record of one
// empty field is written as `""`: an empty line would be read as a blank line and skipped.
void append_csv_record(std::string& out, std::span<const std::string> fields);
// Appends a number as backscore's CSVs hold them: 17 significant digits (it reads back to the
// same double), nothing for NaN (an empty cell: not scored, undefined).
void append_csv_number(std::string& line, double v);

// `text` with its line breaks and NUL bytes shown as \n, \r and \0: every error is one line,
// also when it quotes a name that holds them (a quoted CSV field may).
std::string one_line(std::string_view text);

class CsvReader {
 public:
  // Opens the file and reads its header (the first record). Throws InputError when the file is
  // missing, unreadable or empty, or the header has an empty or repeated column name.
  explicit CsvReader(std::filesystem::path path);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  const std::vector<std::string>& header() const { return header_; }
  // Index of the named column, if the header has it.
  std::optional<std::size_t> column(std::string_view name) const;

  // Reads the next record into fields (views valid until the next call); false at the end of the
  // file. A record with a different number of fields than the header is an error.
  bool next(std::vector<std::string_view>& fields);

  // Line (1-based) on which the current record starts.
  std::size_t line() const { return record_line_; }
  const std::filesystem::path& path() const { return path_; }

  // "FILE:LINE: column 'NAME' (N): what" (N 1-based), as an InputError.
  [[noreturn]] void fail(std::size_t column, const std::string& what) const;
  // "FILE:LINE: what".
  [[noreturn]] void fail(const std::string& what) const;

  // Field parsers that fail() with the column on bad text. A number may have surrounding blanks
  // and a leading '+'; nan and inf are refused. parse_double returns nullopt for an empty field.
  // parse_name trims blanks and refuses an empty name or one with a NUL byte (the store's strings
  // are NUL-padded, so most readers would cut the name there).
  std::optional<double> parse_double(std::string_view field, std::size_t column) const;
  double parse_finite(std::string_view field, std::size_t column) const;  // empty is an error
  std::string_view parse_name(std::string_view field, std::size_t column) const;  // non-empty

 private:
  bool read_record();  // into record_ / ends_; false at end of file
  int get();           // next byte or EOF

  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  std::filesystem::path path_;
  // Owned so that a constructor that refuses the file (an empty file, a bad header) closes it.
  std::unique_ptr<std::FILE, Closer> file_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, size_ = 0;
  std::size_t line_ = 1, record_line_ = 0;
  std::string record_;             // the current record's field texts, back to back
  std::vector<std::size_t> ends_;  // end offset of each field in record_
  std::vector<std::string> header_;
};

}  // namespace backscore
