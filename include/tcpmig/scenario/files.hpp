// The files of one tcpmig-sim invocation: inputs read with a size cap, and
// outputs that are taken back when the invocation fails.
//
// Place in the layers: scenario loading (tools/scenario), on POSIX file calls
// only. Used by the loader (the scenario file) and tcpmig-sim (the expected
// trace, the output directory, the --trace and --write-fingerprint files).
// Rules (README.md, `tcpmig-sim`, says the same for users):
// - An input is a regular file or a pipe (so `<(cmd)` works). Anything else
//   (a directory, a device such as /dev/zero) is refused before it is opened,
//   and an input longer than its cap is refused, never cut.
// - OutputDir: creates the output directory with its missing parents. Unless
//   kept, it removes on destruction the files the run wrote there (regular
//   files only: new ones, and older ones the run had begun to replace), then
//   the directories it created, if empty. It never touches other files.
// - OutputFile: a file named on the command line, opened (created when
//   missing) and probed with an empty write before the run, but not
//   truncated until write(). Unless kept, it removes the file on destruction
//   if this invocation created it or began to overwrite it; never a device
//   or a pipe.
// - Error texts are "<what was found>; expected <what>"; the caller says
//   which input or output it is.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcpmig::scenario {

/// Largest scenario file (64 MiB).
inline constexpr std::size_t kMaxScenarioBytes = std::size_t{64} << 20;
/// Largest file --expect-trace reads, a trace or a fingerprint file (1 GiB).
inline constexpr std::size_t kMaxExpectedTraceBytes = std::size_t{1} << 30;

/// An input file: what it is called in messages, and its cap in bytes.
struct InputKind {
  std::string_view what;  ///< e.g. "scenario file"
  std::size_t max_bytes;  ///< longer inputs are refused
};

/// Reads all of `path`, a regular file or a pipe of at most kind.max_bytes.
/// False with `error` set otherwise.
bool read_input(const std::string& path, const InputKind& kind, std::string& text, std::string& error);

/// The output directory of one run and the files written into it.
class OutputDir {
 public:
  OutputDir() = default;
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;
  ~OutputDir();

  /// Creates `dir` and its missing parents, unless it is a directory already.
  bool open(const std::string& dir, std::string& error);
  /// Files the run opened for writing (RunResults::files), removed unless kept.
  void add_files(std::span<const std::string> paths) { files_.insert(files_.end(), paths.begin(), paths.end()); }
  /// Keeps the directories and files when this object is destroyed.
  void keep() { keep_ = true; }

 private:
  std::vector<std::filesystem::path> created_;  // directories open() created, outermost first
  std::vector<std::string> files_;              // files the run opened for writing
  bool keep_ = false;                           // the invocation succeeded
};

/// A file written once at the end of the run (--trace FILE, --write-fingerprint FILE).
class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  /// Opens `path` for writing, creating it when missing; truncates nothing.
  bool open(const std::string& path, std::string& error);
  /// Replaces the file's contents with `text` and closes it.
  bool write(std::string_view text, std::string& error);
  /// Keeps the file when this object is destroyed.
  void keep() { keep_ = true; }

 private:
  std::string path_;       // as given
  int fd_ = -1;            // open until write()
  bool regular_ = false;   // a regular file (not a device or a pipe)
  bool created_ = false;   // did not exist before open()
  bool written_ = false;   // its older contents are gone
  bool keep_ = false;      // the invocation succeeded
};

}  // namespace tcpmig::scenario
