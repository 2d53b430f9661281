#include "io/csv.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "core/error.hpp"

namespace backscore {

namespace {
constexpr std::size_t kBufferBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The field as the user wrote it, shortened for an error message.
std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s.size() > 40 ? std::string(s.substr(0, 40)) + "..." : std::string(s);
  return out + "'";
}

}  // namespace

std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out;
}

void append_csv_number(std::string& line, double v) {
  if (std::isnan(v)) return;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  line += buf;
}

void append_csv_field(std::string& line, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += field;
    return;
  }
  line += '"';
  for (const char c : field) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

void append_csv_record(std::string& out, std::span<const std::string> fields) {
  if (fields.size() == 1 && fields[0].empty()) {
    out += "\"\"\n";
    return;
  }
  for (std::size_t c = 0; c < fields.size(); ++c) {
    if (c > 0) out += ',';
    append_csv_field(out, fields[c]);
  }
  out += '\n';
}

CsvReader::CsvReader(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) {
    throw InputError(path_.string() + ": is a directory, expected a CSV file");
  }
  file_.reset(std::fopen(path_.c_str(), "rb"));
  if (!file_) {
    throw InputError(path_.string() + ": cannot open: " + std::strerror(errno));
  }
  buffer_.resize(kBufferBytes);
  // A UTF-8 byte-order mark (Excel writes one) is not part of the first column's name.
  if (get() == 0xEF) {
    if (get() != 0xBB || get() != 0xBF) fail("not a CSV file (bad byte-order mark)");
  } else {
    pos_ = 0;
  }
  if (!read_record()) throw InputError(path_.string() + ": empty file, expected a header line");
  std::unordered_set<std::string> seen;
  for (std::size_t c = 0; c < ends_.size(); ++c) {
    const std::size_t begin = c ? ends_[c - 1] : 0;
    std::string name(trim(std::string_view(record_).substr(begin, ends_[c] - begin)));
    if (name.empty()) fail("header: column " + std::to_string(c + 1) + " has no name");
    if (name.find('\0') != std::string::npos) {
      fail("header: the name of column " + std::to_string(c + 1) + " has a NUL byte");
    }
    if (!seen.insert(name).second) fail("header: column '" + name + "' appears twice");
    header_.push_back(std::move(name));
  }
}

CsvReader::~CsvReader() = default;

std::optional<std::size_t> CsvReader::column(std::string_view name) const {
  for (std::size_t c = 0; c < header_.size(); ++c) {
    if (header_[c] == name) return c;
  }
  return std::nullopt;
}

int CsvReader::get() {
  if (pos_ == size_) {
    // Only the BOM check rewinds (pos_ = 0), and it happens within the first buffer.
    size_ = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
    pos_ = 0;
    if (size_ == 0) {
      if (std::ferror(file_.get())) fail(std::string("read error: ") + std::strerror(errno));
      return EOF;
    }
  }
  return static_cast<unsigned char>(buffer_[pos_++]);
}

bool CsvReader::read_record() {
  record_.clear();
  ends_.clear();
  int c = get();
  // Blank lines between records are skipped.
  while (c == '\n' || c == '\r') {
    if (c == '\r') {
      c = get();
      if (c != '\n') {
        ++line_;
        continue;
      }
    }
    ++line_;
    c = get();
  }
  if (c == EOF) return false;
  record_line_ = line_;
  for (;;) {
    if (c == '"') {
      const std::size_t quote_line = line_;
      for (;;) {
        c = get();
        if (c == EOF) {
          throw InputError(path_.string() + ":" + std::to_string(quote_line) +
                           ": quoted field is never closed");
        }
        if (c == '"') {
          c = get();
          if (c != '"') break;  // closing quote; "" is a literal quote
        } else if (c == '\n') {
          ++line_;
        }
        record_.push_back(static_cast<char>(c));
      }
      if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        fail(ends_.size(), "text after the closing quote of a quoted field");
      }
    } else {
      while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        record_.push_back(static_cast<char>(c));
        c = get();
      }
    }
    ends_.push_back(record_.size());
    if (c == ',') {
      c = get();
      continue;
    }
    // End of the record: consume the line end.
    if (c == '\r') {
      c = get();
      if (c != '\n' && c != EOF) --pos_;  // a lone CR ends the line; keep the next byte
    }
    if (c != EOF) ++line_;
    return true;
  }
}

bool CsvReader::next(std::vector<std::string_view>& fields) {
  if (!read_record()) return false;
  if (ends_.size() != header_.size()) {
    fail(std::to_string(ends_.size()) + (ends_.size() == 1 ? " field" : " fields") + ", expected " +
         std::to_string(header_.size()) + " as in the header");
  }
  fields.resize(ends_.size());
  std::size_t begin = 0;
  for (std::size_t c = 0; c < ends_.size(); ++c) {
    fields[c] = std::string_view(record_).substr(begin, ends_[c] - begin);
    begin = ends_[c];
  }
  return true;
}

void CsvReader::fail(std::size_t column, const std::string& what) const {
  throw InputError(path_.string() + ":" + std::to_string(record_line_) + ": column '" +
                   one_line(column < header_.size() ? header_[column] : std::string("?")) + "' (" +
                   std::to_string(column + 1) + "): " + one_line(what));
}

void CsvReader::fail(const std::string& what) const {
  throw InputError(path_.string() + ":" + std::to_string(record_line_ ? record_line_ : line_) +
                   ": " + one_line(what));
}

std::optional<double> CsvReader::parse_double(std::string_view field, std::size_t column) const {
  std::string_view s = trim(field);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) fail(column, quoted(field) + " is out of range");
  if (ec != std::errc() || end != s.data() + s.size()) {
    fail(column, quoted(field) + " is not a number");
  }
  if (!std::isfinite(v)) fail(column, quoted(field) + " is not a finite number");
  return v;
}

double CsvReader::parse_finite(std::string_view field, std::size_t column) const {
  const auto v = parse_double(field, column);
  if (!v) fail(column, "empty value");
  return *v;
}

std::string_view CsvReader::parse_name(std::string_view field, std::size_t column) const {
  const std::string_view s = trim(field);
  if (s.empty()) fail(column, "empty value");
  if (s.find('\0') != std::string_view::npos) fail(column, "a name with a NUL byte");
  return s;
}

}  // namespace backscore
