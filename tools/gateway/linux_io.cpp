// Linux services of tcpmig-gateway (see linux_io.hpp).
#include "linux_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "segment.hpp"
#include "tcpmig/wire/bytes.hpp"

extern char** environ;

namespace tcpmig::gateway_tool {

namespace {

constexpr std::size_t kDefaultMtu = 1500;
constexpr std::size_t kMinMtu = 576;  // every IPv4 path carries this much (RFC 791)

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

core::Nanos monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
int64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

RawSender::~RawSender() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSender::open(std::string& error) {
  fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd_ < 0) {
    error = errno == EPERM || errno == EACCES ? "raw socket: need CAP_NET_RAW (run as root)"
                                              : std::string("raw socket: ") + std::strerror(errno);
    return false;
  }
  const int on = 1;
  if (setsockopt(fd_, IPPROTO_IP, IP_HDRINCL, &on, sizeof on) != 0) {
    error = std::string("raw socket IP_HDRINCL: ") + std::strerror(errno);
    return false;
  }
  return true;
}

std::size_t RawSender::path_mtu(std::span<const uint8_t> ipv4) {
  if (ipv4.size() <= kMinMtu || ipv4.size() < 20) return kDefaultMtu;
  const uint32_t dst = wire::load_be32(ipv4.data() + 16);
  if (const auto it = mtu_.find(dst); it != mtu_.end()) return it->second;
  std::size_t mtu = kDefaultMtu;
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(9);
    sa.sin_addr.s_addr = htonl(dst);
    int v = 0;
    socklen_t len = sizeof v;
    if (::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 &&
        getsockopt(s, IPPROTO_IP, IP_MTU, &v, &len) == 0 && v >= static_cast<int>(kMinMtu)) {
      mtu = static_cast<std::size_t>(v);
    }
    ::close(s);
  }
  mtu_[dst] = static_cast<uint16_t>(mtu);
  return mtu;
}

bool RawSender::split(std::span<const uint8_t> ipv4, HostCounters& c) {
  if (!segment_tcp(ipv4, path_mtu(ipv4), segments_)) return false;
  ++c.segmented;
  return true;
}

bool RawSender::send_one(std::span<const uint8_t> ipv4, HostCounters& c) {
  if (ipv4.size() < 20) {
    ++c.send_errors;
    return false;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(wire::load_be32(ipv4.data() + 16));
  const ssize_t n = ::sendto(fd_, ipv4.data(), ipv4.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&sa),
                             sizeof sa);
  if (n != static_cast<ssize_t>(ipv4.size())) {
    ++c.send_errors;
    return false;
  }
  ++c.sent;
  return true;
}

namespace {

/// posix_spawn attributes: every signal at its default and unblocked in the child.
struct SpawnAttr {
  posix_spawnattr_t attr{};
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

std::vector<char*> c_argv(const std::vector<std::string>& args) {
  std::vector<char*> v;
  for (const std::string& a : args) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int run_with_input(const std::vector<std::string>& argv, const std::string& input, std::string& error) {
  int in[2];
  int err[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    ::close(in[0]);
    ::close(in[1]);
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  SpawnAttr attr;
  pid_t pid = -1;
  std::vector<char*> args = c_argv(argv);
  const int rc = posix_spawnp(&pid, args[0], &fa, &attr.attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(err[0]);
    error = argv[0] + ": " + (rc == ENOENT ? std::string("not found") : std::string(std::strerror(rc)));
    return -1;
  }
  // Small inputs: the pipe buffer (64 KiB) takes all of it before the child reads.
  std::size_t off = 0;
  while (off < input.size()) {
    const ssize_t n = ::write(in[1], input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(err[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = exit_code(status);
  if (code != 0) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    error = argv[0] + " failed (exit " + std::to_string(code) + ")" + (out.empty() ? "" : ": " + out);
  }
  return code;
}

bool spawn_shell(const std::string& command, const std::vector<std::string>& env, Child& child, std::string& error) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> envp = c_argv(envs);
  std::vector<std::string> argv{"/bin/sh", "-c", command};
  std::vector<char*> args = c_argv(argv);
  SpawnAttr attr;
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", nullptr, &attr.attr, args.data(), envp.data());
  if (rc != 0) {
    error = std::string("/bin/sh: ") + std::strerror(rc);
    return false;
  }
  child.pid = pid;
  child.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (child.pidfd < 0) {
    // Without pidfds (kernels before 5.3) the child is reaped when the caller polls it.
    error = std::string("pidfd_open: ") + std::strerror(errno);
    int status = 0;
    waitpid(pid, &status, 0);
    return false;
  }
  return true;
}

int reap(Child& child) {
  int status = 0;
  int code = 1;
  if (waitpid(child.pid, &status, WNOHANG) == child.pid) code = exit_code(status);
  if (child.pidfd >= 0) ::close(child.pidfd);
  child = Child{};
  return code;
}

void* HugePageResource::do_allocate(std::size_t bytes, std::size_t alignment) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (alignment > kHuge) throw std::bad_alloc();
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= kHuge) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: plain pages if refused
  return p;
}

void HugePageResource::do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/) { ::munmap(p, bytes); }

}  // namespace tcpmig::gateway_tool
