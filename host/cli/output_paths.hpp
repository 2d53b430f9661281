// The files a command reads and writes, checked before any work: an output must never replace
// one of the command's inputs or another of its outputs (compared after resolving symbolic links
// and `..`, and, for files that exist, by device and inode, so hard links count), and its
// directory must exist and accept files. Every command that writes calls these first, so a bad
// output path is one line and exit 2 with nothing read, scored or changed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace backscore::cli {

// A path and how a message names it: the option it came from ("--out", "--formula-file") or
// the positional argument ("the store", "the scores file").
struct NamedPath {
  std::string what;
  std::filesystem::path path;
};

// Throws InputError, one line naming both, when an output is the same file as an input or as
// another output, or lies inside an input directory (--predictions-dir). Empty paths are skipped.
void refuse_aliased_outputs(const std::vector<NamedPath>& inputs,
                            const std::vector<NamedPath>& outputs);

// Throws InputError when the file `output` cannot be written where it is: the path is a
// directory, its directory does not exist, or the directory does not accept new files.
void check_output_file(const NamedPath& output);

// Throws InputError when the directory `output` (created by the command when missing, after its
// inputs are read) cannot be: the path is a file, or its nearest existing parent does not accept
// new entries.
void check_output_dir(const NamedPath& output);

}  // namespace backscore::cli
