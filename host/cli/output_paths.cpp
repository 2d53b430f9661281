#include "host/cli/output_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <iterator>
#include <system_error>

#include "core/error.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

// A path as the file system sees it: symbolic links and `..` resolved as far as the path exists,
// and the file's identity when it exists.
struct Resolved {
  fs::path canonical;
  bool exists = false;
  bool directory = false;
  dev_t device = 0;
  ino_t inode = 0;
};

Resolved resolve(const fs::path& p) {
  Resolved r;
  std::error_code ec;
  const fs::path absolute = fs::absolute(p, ec);
  r.canonical = fs::weakly_canonical(absolute, ec);
  if (ec) r.canonical = absolute.lexically_normal();
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) {
    r.exists = true;
    r.directory = S_ISDIR(st.st_mode);
    r.device = st.st_dev;
    r.inode = st.st_ino;
  }
  return r;
}

bool same_file(const Resolved& a, const Resolved& b) {
  if (a.canonical == b.canonical) return true;
  return a.exists && b.exists && a.device == b.device && a.inode == b.inode;
}

// `p` is `dir` or lies below it (by path components, after resolving).
bool inside(const Resolved& p, const Resolved& dir) {
  if (!dir.directory) return false;
  auto d = dir.canonical.begin(), dend = dir.canonical.end();
  auto q = p.canonical.begin(), qend = p.canonical.end();
  for (; d != dend; ++d, ++q) {
    if (d->empty() && std::next(d) == dend) break;  // a trailing separator
    if (q == qend || *q != *d) return false;
  }
  return true;
}

std::string named(const NamedPath& n) { return n.what + " " + n.path.string(); }

}  // namespace

void refuse_aliased_outputs(const std::vector<NamedPath>& inputs,
                            const std::vector<NamedPath>& outputs) {
  std::vector<Resolved> in, out;
  for (const NamedPath& n : inputs) in.push_back(resolve(n.path));
  for (const NamedPath& n : outputs) out.push_back(resolve(n.path));
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    if (outputs[o].path.empty()) continue;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].path.empty()) continue;
      if (same_file(out[o], in[i])) {
        throw InputError(named(outputs[o]) + " is the same file as " + named(inputs[i]) +
                         ", which it would overwrite: give " + outputs[o].what + " another path");
      }
      if (inside(out[o], in[i])) {
        throw InputError(named(outputs[o]) + " lies inside " + named(inputs[i]) +
                         ", which is read: give " + outputs[o].what + " another path");
      }
    }
    for (std::size_t p = 0; p < o; ++p) {
      if (!outputs[p].path.empty() && same_file(out[o], out[p])) {
        throw InputError(named(outputs[o]) + " is the same file as " + named(outputs[p]) +
                         ": give each output its own path");
      }
    }
  }
}

void check_output_file(const NamedPath& output) {
  const fs::path& path = output.path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw InputError(output.what + ": " + path.string() + " is a directory");
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    throw InputError(output.what + ": directory " + dir.string() + " does not exist");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw InputError(output.what + ": cannot write in " + dir.string());
  }
}

void check_output_dir(const NamedPath& output) {
  std::error_code ec;
  fs::path p = output.path;
  if (fs::exists(p, ec) && !fs::is_directory(p, ec)) {
    throw InputError(output.what + ": " + p.string() + " exists and is not a directory");
  }
  // The nearest existing ancestor must accept the entries the command will create.
  p = fs::absolute(p, ec).lexically_normal();
  while (!p.empty() && !fs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) {
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec)) {
    throw InputError(output.what + ": cannot create " + output.path.string() + " (" + p.string() +
                     " is not a directory)");
  }
  if (::access(p.c_str(), W_OK | X_OK) != 0) {
    throw InputError(output.what + ": cannot write in " + p.string());
  }
}

}  // namespace backscore::cli
