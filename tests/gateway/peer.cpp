// tcpmig-peer: a real TCP peer (plain POSIX sockets) for the network-namespace
// tests and the gateway benchmarks.
//
//   serve      --listen IP:PORT --name S [--once]
//       request/response server: answers every line with "reply <n> from <S>",
//       n counting the lines of that connection from 1.
//   request    --connect IP:PORT --count N [--interval-ms MS] [--timeout-ms MS]
//       one connection; sends "request <i>" lines one at a time, prints each reply.
//   serve-bulk --listen IP:PORT [--bytes N] [--name S] [--once]
//       answers "get <offset> <length>" with the header "data <offset> <length> from <S>"
//       and then the pattern bytes [offset, offset + length).
//   fetch-bulk --connect IP:PORT --bytes N [--chunk BYTES] [--timeout-ms MS] [--report]
//       fetches N bytes in chunks, one request at a time, checks every byte
//       against the pattern and prints the total, a checksum and which server
//       served which offsets.
//
// The pattern is a function of the absolute byte offset only, so any server
// can serve any part of the stream: after a transparent migration the new
// server answers the requests it receives from then on, and the client sees
// one continuous, byte-exact stream. A client never has more than one request
// outstanding, so every chunk boundary is a point where the server has sent
// everything and the client has acknowledged it: where a gateway can cut.
//
// All programs exit 0 on SIGTERM or SIGINT (the servers) and print errors on
// stderr with the reason; a client exits 1 when the exchange fails.
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

// SIGTERM/SIGINT interrupt poll() (no SA_RESTART), so every loop sees g_stop.
void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

sockaddr_in parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw Failure("expected IP:PORT, got '" + text + "'");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::string ip = text.substr(0, colon);
  if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) throw Failure("bad IPv4 address '" + ip + "'");
  unsigned port = 0;
  auto port_text = std::string_view(text).substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    throw Failure("bad port in '" + text + "'");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return sa;
}

std::string endpoint_text(const sockaddr_in& sa) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
}

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw Failure(errno_text("fcntl"));
}

Fd listen_on(const sockaddr_in& sa) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw Failure(errno_text("socket"));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0)
    throw Failure(errno_text(("bind " + endpoint_text(sa)).c_str()));
  if (::listen(fd.get(), 128) < 0) throw Failure(errno_text("listen"));
  set_nonblocking(fd.get());
  return fd;
}

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Connects with a deadline; the socket stays non-blocking.
Fd connect_to(const sockaddr_in& sa, int timeout_ms) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw Failure(errno_text("socket"));
  set_nonblocking(fd.get());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
    if (errno != EINPROGRESS) throw Failure(errno_text(("connect " + endpoint_text(sa)).c_str()));
    pollfd p{fd.get(), POLLOUT, 0};
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int n = ::poll(&p, 1, remaining_ms(deadline));
      if (g_stop) throw Failure("interrupted");
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Failure(errno_text("poll"));
      if (n == 0) throw Failure("connect " + endpoint_text(sa) + ": timed out");
      break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw Failure("connect " + endpoint_text(sa) + ": " + std::strerror(err));
  }
  sockaddr_in local{};
  socklen_t len = sizeof local;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
  std::fprintf(stderr, "connected %s -> %s\n", endpoint_text(local).c_str(), endpoint_text(sa).c_str());
  return fd;
}

// ---- the bulk pattern --------------------------------------------------------
//
// pattern(offset) = base[offset % kPeriod]; base is splitmix64 output. The
// period is prime, so a stream shifted, repeated or cut short by any amount
// that is not a multiple of 4 GB-ish fails the check. A window of up to
// kMaxWindow bytes at any offset is one contiguous slice of `bytes`.
constexpr size_t kPeriod = 1'000'003;
constexpr size_t kMaxWindow = size_t{1} << 20;

class Pattern {
 public:
  Pattern() : bytes_(kPeriod + kMaxWindow) {
    uint64_t state = 0x7463706d69672d70;  // fixed seed: every peer makes the same pattern
    for (size_t i = 0; i < kPeriod; i += 8) {
      uint64_t z = (state += 0x9e3779b97f4a7c15);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      z ^= z >> 31;
      for (size_t b = 0; b < 8 && i + b < kPeriod; ++b) bytes_[i + b] = static_cast<uint8_t>(z >> (8 * b));
    }
    for (size_t i = kPeriod; i < bytes_.size(); ++i) bytes_[i] = bytes_[i - kPeriod];
  }
  // The pattern bytes [offset, offset + length); length <= kMaxWindow.
  const uint8_t* at(uint64_t offset) const { return bytes_.data() + offset % kPeriod; }

 private:
  std::vector<uint8_t> bytes_;
};

// Fletcher-style checksum over little-endian 64-bit words of the stream
// (order-sensitive; the last partial word is zero-padded).
class StreamChecksum {
 public:
  void feed(const uint8_t* p, size_t n) {
    while (n > 0 && fill_ != 0) {
      partial_ |= uint64_t{*p++} << (8 * fill_);
      --n;
      if (++fill_ == 8) flush_word();
    }
    uint64_t a = a_, b = b_;
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      a += w;
      b += a;
    }
    a_ = a;
    b_ = b;
    while (n > 0) {
      partial_ |= uint64_t{*p++} << (8 * fill_);
      --n;
      if (++fill_ == 8) flush_word();
    }
  }
  uint64_t value() const {
    uint64_t a = a_, b = b_;
    if (fill_ != 0) {
      a += partial_;
      b += a;
    }
    return a ^ (b * 0x9e3779b97f4a7c15);
  }

 private:
  void flush_word() {
    a_ += partial_;
    b_ += a_;
    partial_ = 0;
    fill_ = 0;
  }
  uint64_t a_ = 0, b_ = 0, partial_ = 0;
  unsigned fill_ = 0;
};

// ---- line helpers ------------------------------------------------------------

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// ---- servers -------------------------------------------------------------------

constexpr size_t kMaxLine = 4096;

struct Conn {
  Fd fd;
  std::string peer;
  std::string in;         // received bytes not yet handled
  std::string out;        // text to send (replies, bulk headers)
  uint64_t requests = 0;  // lines handled on this connection
  uint64_t bulk_offset = 0, bulk_left = 0;  // pattern bytes still to send after `out`
  bool peer_closed = false;
  bool failed = false;
  bool output_pending() const { return !out.empty() || bulk_left > 0; }
};

struct ServerOptions {
  std::string listen;
  std::string name = "server";
  bool once = false;
  bool bulk = false;
  uint64_t max_bytes = 0;  // bulk: highest offset served (0: no limit)
};

class Server {
 public:
  explicit Server(ServerOptions opt) : opt_(std::move(opt)) {}

  int run() {
    sockaddr_in sa = parse_endpoint(opt_.listen);
    listener_ = listen_on(sa);
    std::printf("listening %s\n", endpoint_text(sa).c_str());
    std::fflush(stdout);
    std::vector<pollfd> pfds;
    while (!g_stop) {
      pfds.clear();
      pfds.push_back({listener_.get(), POLLIN, 0});
      for (auto& c : conns_) {
        short ev = 0;
        if (!c->output_pending() && !c->peer_closed) ev |= POLLIN;
        if (c->output_pending()) ev |= POLLOUT;
        pfds.push_back({c->fd.get(), ev, 0});
      }
      int n = ::poll(pfds.data(), pfds.size(), 1000);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Failure(errno_text("poll"));
      }
      for (size_t i = 0; i < conns_.size(); ++i) {
        auto& c = *conns_[i];
        short re = pfds[i + 1].revents;
        if (re & (POLLIN | POLLHUP | POLLERR)) read_some(c);
        if (!c.failed && (re & (POLLOUT | POLLERR))) write_some(c);
        if (!c.failed && !c.output_pending()) handle_lines(c);
        if (!c.failed && !c.output_pending()) write_some(c);
      }
      if (pfds[0].revents & POLLIN) accept_all();
      bool closed_one = false;
      std::erase_if(conns_, [&](const std::unique_ptr<Conn>& c) {
        bool done = c->failed || (c->peer_closed && !c->output_pending() && c->in.empty());
        if (done) {
          std::fprintf(stderr, "%s: connection from %s closed after %" PRIu64 " requests\n", opt_.name.c_str(),
                       c->peer.c_str(), c->requests);
          closed_one = true;
        }
        return done;
      });
      if (opt_.once && closed_one && served_any_ && conns_.empty()) break;
    }
    return 0;
  }

 private:
  void accept_all() {
    for (;;) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        throw Failure(errno_text("accept"));
      }
      auto c = std::make_unique<Conn>();
      c->fd = Fd(fd);
      c->peer = endpoint_text(peer);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::fprintf(stderr, "%s: connection from %s\n", opt_.name.c_str(), c->peer.c_str());
      served_any_ = true;
      conns_.push_back(std::move(c));
    }
  }

  void read_some(Conn& c) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.size() > 2 * kMaxLine) break;  // handle what we have first
        continue;
      }
      if (n == 0) {
        c.peer_closed = true;
        return;
      }
      if (errno == EAGAIN || errno == EINTR) return;
      std::fprintf(stderr, "%s: %s: %s\n", opt_.name.c_str(), c.peer.c_str(), std::strerror(errno));
      c.failed = true;
      return;
    }
  }

  // Handles complete lines while nothing is waiting to be sent (a client
  // that sends before reading gets its answers in order).
  void handle_lines(Conn& c) {
    size_t pos = 0;
    while (!c.output_pending()) {
      size_t nl = c.in.find('\n', pos);
      if (nl == std::string::npos) break;
      handle_line(c, strip_cr(std::string_view(c.in).substr(pos, nl - pos)));
      pos = nl + 1;
      if (c.failed) return;
    }
    c.in.erase(0, pos);
    if (c.in.size() > kMaxLine) {
      std::fprintf(stderr, "%s: %s: line longer than %zu bytes\n", opt_.name.c_str(), c.peer.c_str(), kMaxLine);
      c.failed = true;
    }
    // A peer that closed with a partial line left: nothing more will come.
    if (c.peer_closed && !c.output_pending() && c.in.find('\n') == std::string::npos) c.in.clear();
  }

  void handle_line(Conn& c, std::string_view line) {
    ++c.requests;
    if (!opt_.bulk) {
      c.out += "reply " + std::to_string(c.requests) + " from " + opt_.name + "\n";
      return;
    }
    auto words = split_words(line);
    std::optional<uint64_t> offset, length;
    if (words.size() == 3 && words[0] == "get") {
      offset = parse_u64(words[1]);
      length = parse_u64(words[2]);
    }
    if (!offset || !length) {
      c.out += "error expected 'get <offset> <length>'\n";
      c.peer_closed = true;  // answer, then close
      c.in.clear();
      return;
    }
    if (opt_.max_bytes != 0 && (*offset > opt_.max_bytes || *length > opt_.max_bytes - *offset)) {
      c.out += "error beyond " + std::to_string(opt_.max_bytes) + " bytes\n";
      c.peer_closed = true;
      c.in.clear();
      return;
    }
    c.out += "data " + std::to_string(*offset) + " " + std::to_string(*length) + " from " + opt_.name + "\n";
    c.bulk_offset = *offset;
    c.bulk_left = *length;
  }

  void write_some(Conn& c) {
    while (c.output_pending()) {
      const void* p;
      size_t len;
      if (!c.out.empty()) {
        p = c.out.data();
        len = c.out.size();
      } else {
        p = pattern_.at(c.bulk_offset);
        len = static_cast<size_t>(std::min<uint64_t>(c.bulk_left, kMaxWindow));
      }
      ssize_t n = ::send(c.fd.get(), p, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        std::fprintf(stderr, "%s: %s: %s\n", opt_.name.c_str(), c.peer.c_str(), std::strerror(errno));
        c.failed = true;
        return;
      }
      auto sent = static_cast<size_t>(n);
      if (!c.out.empty()) {
        c.out.erase(0, sent);
      } else {
        c.bulk_offset += sent;
        c.bulk_left -= sent;
      }
    }
    if (c.peer_closed && c.in.empty()) ::shutdown(c.fd.get(), SHUT_WR);
  }

  ServerOptions opt_;
  Pattern pattern_;
  Fd listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
  bool served_any_ = false;
};

// ---- clients -------------------------------------------------------------------

// Reads from a non-blocking socket into `buf`, waiting at most until `deadline`.
// Returns the byte count; 0 means the peer closed.
size_t read_with_deadline(int fd, uint8_t* buf, size_t cap, Clock::time_point deadline, const char* waiting_for) {
  for (;;) {
    ssize_t n = ::recv(fd, buf, cap, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EAGAIN && errno != EINTR) throw Failure(errno_text("recv"));
    if (g_stop) throw Failure("interrupted");
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno != EINTR) throw Failure(errno_text("poll"));
    if (r == 0) throw Failure(std::string("timed out waiting for ") + waiting_for);
  }
}

void send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw Failure(errno_text("send"));
    if (g_stop) throw Failure("interrupted");
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno != EINTR) throw Failure(errno_text("poll"));
    if (r == 0) throw Failure("timed out sending");
  }
}

// Reads one line (without its newline) from `fd`, keeping extra bytes in `pending`.
std::string read_line(int fd, std::string& pending, Clock::time_point deadline, const char* waiting_for) {
  for (;;) {
    auto nl = pending.find('\n');
    if (nl != std::string::npos) {
      std::string line(strip_cr(std::string_view(pending).substr(0, nl)));
      pending.erase(0, nl + 1);
      return line;
    }
    if (pending.size() > kMaxLine) throw Failure(std::string("line too long while waiting for ") + waiting_for);
    uint8_t buf[4096];
    size_t n = read_with_deadline(fd, buf, sizeof buf, deadline, waiting_for);
    if (n == 0) throw Failure(std::string("connection closed by peer while waiting for ") + waiting_for);
    pending.append(reinterpret_cast<const char*>(buf), n);
  }
}

struct RequestOptions {
  std::string connect;
  uint64_t count = 10;
  int interval_ms = 0;
  int timeout_ms = 5000;
};

int run_request(const RequestOptions& opt) {
  uint64_t done = 0;
  try {
    Fd fd = connect_to(parse_endpoint(opt.connect), opt.timeout_ms);
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string pending;
    for (uint64_t i = 1; i <= opt.count; ++i) {
      if (i > 1 && opt.interval_ms > 0) {
        auto until = Clock::now() + std::chrono::milliseconds(opt.interval_ms);
        while (!g_stop && Clock::now() < until) ::poll(nullptr, 0, remaining_ms(until));
      }
      if (g_stop) throw Failure("interrupted");
      auto deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
      send_all(fd.get(), "request " + std::to_string(i) + "\n", deadline);
      std::string what = "the reply to request " + std::to_string(i);
      std::string line = read_line(fd.get(), pending, deadline, what.c_str());
      if (line.rfind("reply ", 0) != 0) throw Failure("unexpected answer to request " + std::to_string(i) + ": '" + line + "'");
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      ++done;
    }
    ::shutdown(fd.get(), SHUT_WR);
    // The server closes after our FIN; anything else it sends is an error.
    uint8_t buf[256];
    size_t n = read_with_deadline(fd.get(), buf, sizeof buf, Clock::now() + std::chrono::milliseconds(opt.timeout_ms),
                                  "the server's FIN");
    if (n != 0) throw Failure("unexpected bytes from the server after the last reply");
  } catch (const Failure& e) {
    std::fprintf(stderr, "tcpmig-peer request: %s (%" PRIu64 " of %" PRIu64 " replies received)\n", e.what(), done,
                 opt.count);
    return 1;
  }
  std::fprintf(stderr, "tcpmig-peer request: all %" PRIu64 " replies received\n", done);
  return 0;
}

struct FetchOptions {
  std::string connect;
  uint64_t bytes = 0;
  uint64_t chunk = uint64_t{1} << 20;
  int timeout_ms = 10000;
  bool report = false;
};

int run_fetch(const FetchOptions& opt) {
  Pattern pattern;
  StreamChecksum sum;
  uint64_t received = 0;
  auto start = Clock::now();
  try {
    Fd fd = connect_to(parse_endpoint(opt.connect), opt.timeout_ms);
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    start = Clock::now();
    std::vector<uint8_t> buf(kMaxWindow);
    std::string pending, server;
    uint64_t chunks = 0;
    while (received < opt.bytes) {
      uint64_t length = std::min(opt.chunk, opt.bytes - received);
      auto deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
      send_all(fd.get(), "get " + std::to_string(received) + " " + std::to_string(length) + "\n", deadline);
      std::string header = read_line(fd.get(), pending, deadline, "a data header");
      auto words = split_words(header);
      std::string expected_start = "data " + std::to_string(received) + " " + std::to_string(length) + " from ";
      if (words.size() != 5 || header.rfind(expected_start, 0) != 0)
        throw Failure("unexpected header at offset " + std::to_string(received) + ": '" + header + "'");
      std::string from(words[4]);
      if (from != server) {
        std::printf("from %s at offset %" PRIu64 "\n", from.c_str(), received);
        std::fflush(stdout);
        server = from;
      }
      ++chunks;
      uint64_t left = length;
      // Bytes that came with the header line.
      auto take = [&](const uint8_t* p, size_t n) {
        if (std::memcmp(p, pattern.at(received), n) != 0) {
          size_t i = 0;
          while (p[i] == pattern.at(received)[i]) ++i;
          throw Failure("byte " + std::to_string(received + i) + " differs from the pattern (chunk from " + from + ")");
        }
        sum.feed(p, n);
        received += n;
        left -= n;
      };
      if (!pending.empty()) {
        if (pending.size() > left) throw Failure("server sent more than it announced");
        take(reinterpret_cast<const uint8_t*>(pending.data()), pending.size());
        pending.clear();
      }
      while (left > 0) {
        deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
        size_t n = read_with_deadline(fd.get(), buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())),
                                      deadline, "data");
        if (n == 0)
          throw Failure("connection closed by peer at offset " + std::to_string(received) + " (" +
                        std::to_string(left) + " bytes of the chunk missing)");
        take(buf.data(), n);
      }
    }
    auto seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ::shutdown(fd.get(), SHUT_WR);
    size_t n = read_with_deadline(fd.get(), buf.data(), 256, Clock::now() + std::chrono::milliseconds(opt.timeout_ms),
                                  "the server's FIN");
    if (n != 0) throw Failure("unexpected bytes from the server after the last chunk");
    std::printf("bytes %" PRIu64 " chunks %" PRIu64 " checksum %016" PRIx64 "\n", received, chunks, sum.value());
    double gbps = seconds > 0 ? static_cast<double>(received) * 8 / seconds / 1e9 : 0;
    std::fprintf(stderr, "tcpmig-peer fetch-bulk: %" PRIu64 " bytes in %.3f s: %.3f Gbit/s\n", received, seconds, gbps);
    if (opt.report) std::printf("throughput_gbps %.3f seconds %.3f\n", gbps, seconds);
  } catch (const Failure& e) {
    std::fprintf(stderr, "tcpmig-peer fetch-bulk: %s (%" PRIu64 " of %" PRIu64 " bytes received)\n", e.what(),
                 received, opt.bytes);
    return 1;
  }
  return 0;
}

// The checksum fetch-bulk prints for N pattern bytes, computed without a network.
int run_checksum(uint64_t bytes) {
  Pattern pattern;
  StreamChecksum sum;
  for (uint64_t off = 0; off < bytes;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes - off, 65536));
    sum.feed(pattern.at(off), n);
    off += n;
  }
  std::printf("bytes %" PRIu64 " checksum %016" PRIx64 "\n", bytes, sum.value());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tcpmig-peer: TCP request/response and bulk peers for the gateway tests"};
  app.require_subcommand(1);

  ServerOptions serve_opt;
  auto* serve = app.add_subcommand("serve", "request/response server: 'reply <n> from <name>' per line");
  serve->add_option("--listen", serve_opt.listen, "IP:PORT to listen on")->required();
  serve->add_option("--name", serve_opt.name, "name in every reply");
  serve->add_flag("--once", serve_opt.once, "exit after the first connection closes");

  ServerOptions bulk_opt;
  bulk_opt.bulk = true;
  auto* serve_bulk = app.add_subcommand("serve-bulk", "bulk server: answers 'get <offset> <length>' with pattern bytes");
  serve_bulk->add_option("--listen", bulk_opt.listen, "IP:PORT to listen on")->required();
  serve_bulk->add_option("--name", bulk_opt.name, "name in every data header");
  serve_bulk->add_option("--bytes", bulk_opt.max_bytes, "serve offsets below this only (0: any)");
  serve_bulk->add_flag("--once", bulk_opt.once, "exit after the first connection closes");

  RequestOptions req_opt;
  auto* request = app.add_subcommand("request", "one connection, COUNT request lines, one reply each");
  request->add_option("--connect", req_opt.connect, "server IP:PORT")->required();
  request->add_option("--count", req_opt.count, "requests to send")->check(CLI::Range(1, 1000000));
  request->add_option("--interval-ms", req_opt.interval_ms, "pause between requests")->check(CLI::Range(0, 3600000));
  request->add_option("--timeout-ms", req_opt.timeout_ms, "longest wait for a connect or a reply")
      ->check(CLI::Range(1, 3600000));

  FetchOptions fetch_opt;
  auto* fetch = app.add_subcommand("fetch-bulk", "fetch BYTES pattern bytes in chunks and check every byte");
  fetch->add_option("--connect", fetch_opt.connect, "server IP:PORT")->required();
  fetch->add_option("--bytes", fetch_opt.bytes, "bytes to fetch")->required();
  fetch->add_option("--chunk", fetch_opt.chunk, "bytes per request")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  fetch->add_option("--timeout-ms", fetch_opt.timeout_ms, "longest wait for a connect or for data")
      ->check(CLI::Range(1, 3600000));
  fetch->add_flag("--report", fetch_opt.report, "also print 'throughput_gbps G seconds S' on stdout");

  uint64_t checksum_bytes = 0;
  auto* checksum = app.add_subcommand("checksum", "print the checksum fetch-bulk reports for BYTES pattern bytes");
  checksum->add_option("--bytes", checksum_bytes, "stream length")->required();

  CLI11_PARSE(app, argc, argv);
  install_signals();
  try {
    if (serve->parsed()) return Server(serve_opt).run();
    if (serve_bulk->parsed()) return Server(bulk_opt).run();
    if (request->parsed()) return run_request(req_opt);
    if (fetch->parsed()) return run_fetch(fetch_opt);
    if (checksum->parsed()) return run_checksum(checksum_bytes);
  } catch (const Failure& e) {
    std::fprintf(stderr, "tcpmig-peer: %s\n", e.what());
    return 1;
  }
  return 2;
}
