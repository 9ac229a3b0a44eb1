// The files of one tcpmig-sim invocation (see include/tcpmig/scenario/files.hpp).
#include "tcpmig/scenario/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace tcpmig::scenario {

namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

/// "64 MiB", "1 GiB": a cap in the unit that divides it.
std::string size_text(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  return std::to_string(bytes >> 20) + " MiB";
}

/// What a file that is neither a regular file nor a pipe is.
std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// write(2) until all of `text` is written.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

bool read_input(const std::string& path, const InputKind& kind, std::string& text, std::string& error) {
  const std::string expected = "; expected a " + std::string(kind.what) + " (a regular file or a pipe) of at most " +
                               size_text(kind.max_bytes);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = "cannot open the file (" + errno_text() + ")" + expected;
    return false;
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    error = file_kind(st.st_mode) + expected;
    return false;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open the file (" + errno_text() + ")" + expected;
    return false;
  }
  text.clear();
  if (S_ISREG(st.st_mode)) text.reserve(std::min(static_cast<std::size_t>(st.st_size), kind.max_bytes));
  std::array<char, 65536> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read the file (" + errno_text() + ")" + expected;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (static_cast<std::size_t>(n) > kind.max_bytes - text.size()) {
      error = "more than " + size_text(kind.max_bytes) + expected;
      ::close(fd);
      return false;
    }
    text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

OutputDir::~OutputDir() {
  if (keep_) return;
  std::error_code ec;
  for (const std::string& f : files_) {
    if (fs::is_regular_file(fs::symlink_status(f, ec))) fs::remove(f, ec);
  }
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::remove(*it, ec);  // only if empty
}

bool OutputDir::open(const std::string& dir, std::string& error) {
  // The missing directories, innermost first, up to the first that exists.
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        error = p.string() + " is not a directory; expected a directory or a path where one can be created";
        return false;
      }
      break;
    }
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    std::error_code ec;
    if (fs::create_directory(*it, ec)) created_.push_back(*it);
    if (ec) {
      error = "cannot create the directory " + it->string() + " (" + ec.message() +
              "); expected a path where a directory can be created";
      return false;
    }
  }
  return true;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!keep_ && regular_ && (created_ || written_)) ::unlink(path_.c_str());
}

bool OutputFile::open(const std::string& path, std::string& error) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  created_ = fd_ >= 0;
  if (fd_ < 0 && errno == EEXIST) fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error = "cannot open the file for writing (" + errno_text() + "); expected a writable file path";
    return false;
  }
  struct stat st {};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  // An empty write fails on files that take no writes (/proc/version) and changes nothing.
  if (::write(fd_, "", 0) < 0) {
    error = "cannot write the file (" + errno_text() + "); expected a writable file path";
    return false;
  }
  return true;
}

bool OutputFile::write(std::string_view text, std::string& error) {
  if (regular_) {
    if (::ftruncate(fd_, 0) != 0) {
      error = "cannot truncate the file (" + errno_text() + "); expected a writable file";
      return false;
    }
    written_ = true;
  }
  std::string failure;
  if (!write_all(fd_, text)) failure = errno_text();
  if (::close(fd_) != 0 && failure.empty()) failure = errno_text();
  fd_ = -1;
  if (!failure.empty()) {
    error = "cannot write the file (" + failure + "); expected a writable file";
    return false;
  }
  return true;
}

}  // namespace tcpmig::scenario
