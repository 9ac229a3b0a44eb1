// The files of one tcpmig-sim invocation (see include/tcpmig/scenario/files.hpp).
#include "tcpmig/scenario/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace tcpmig::scenario {

namespace {

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

}  // namespace tcpmig::scenario
