// Bulk sender and verifying sink (see tcpmig/apps/bulk.hpp).
#include "tcpmig/apps/bulk.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "tcpmig/apps/request_response.hpp"
#include "tcpmig/sim/random.hpp"

namespace tcpmig::apps {

namespace {
constexpr std::size_t kChunk = 16384;

struct PatternTable {
  // Twice the period, so any run of up to one period is one contiguous slice.
  std::array<uint8_t, 2 * kBulkPatternPeriod> bytes{};
  constexpr PatternTable() {
    for (uint32_t i = 0; i < kBulkPatternPeriod; ++i) {
      uint64_t state = i;
      bytes[i] = static_cast<uint8_t>(sim::splitmix64(state));
      bytes[i + kBulkPatternPeriod] = bytes[i];
    }
  }
};
// Immutable after its first use (a function-local static: thread-safe).
const PatternTable& table() {
  static const PatternTable t;
  return t;
}
}  // namespace

uint8_t bulk_pattern(uint64_t k) { return table().bytes[k % kBulkPatternPeriod]; }

void fill_bulk_pattern(uint64_t offset, std::span<uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t at = (offset + done) % kBulkPatternPeriod;
    const std::size_t n = std::min<std::size_t>(out.size() - done, kBulkPatternPeriod);
    std::memcpy(out.data() + done, table().bytes.data() + at, n);
    done += n;
  }
}

bool matches_bulk_pattern(uint64_t offset, std::span<const uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t at = (offset + done) % kBulkPatternPeriod;
    const std::size_t n = std::min<std::size_t>(data.size() - done, kBulkPatternPeriod);
    if (std::memcmp(data.data() + done, table().bytes.data() + at, n) != 0) return false;
    done += n;
  }
  return true;
}

// ---------------------------------------------------------------- sender

BulkSender::BulkSender(tcp::TcpStack& stack, BulkSenderConfig cfg, Console& console)
    : stack_(stack),
      cfg_(std::move(cfg)),
      console_(console),
      name_(cfg_.name.empty() ? stack.node().name() : cfg_.name),
      start_timer_(stack.sim(), sim::Callback::bind<&BulkSender::start>(this)) {
  start_timer_.schedule_at(std::max(cfg_.start, stack.sim().now()));
}

BulkSender::~BulkSender() {
  if (sock_ != nullptr) {
    sock_->set_events(nullptr);
    sock_->abort();
  }
}

void BulkSender::start() {
  sock_ = stack_.connect(cfg_.server, cfg_.port, this);
  if (sock_ == nullptr) {
    console_.line(stack_.sim().now(), name_, "connect failed: no route or no free port");
    closed_ = true;
  }
}

void BulkSender::on_connected(tcp::TcpSocket& s) {
  const auto& t = s.tuple();
  console_.line(stack_.sim().now(), name_,
                "connected " + endpoint_text(t.local_addr, t.local_port) + " -> " +
                    endpoint_text(t.remote_addr, t.remote_port) + ", sending " + std::to_string(cfg_.bytes) +
                    " bytes");
  pump();
}

void BulkSender::on_writable(tcp::TcpSocket&) { pump(); }

void BulkSender::pump() {
  if (sock_ == nullptr) return;
  std::array<uint8_t, kChunk> buf;  // filled before use: no zeroing per call
  while (queued_ < cfg_.bytes) {
    // At least one byte is offered so that a full buffer registers interest
    // in on_writable (the socket reports space only after a short send).
    const std::size_t space = std::max<std::size_t>(sock_->send_space(), 1);
    const std::size_t want = std::min<uint64_t>(std::min(buf.size(), space), cfg_.bytes - queued_);
    fill_bulk_pattern(queued_, {buf.data(), want});
    const std::size_t n = sock_->send({buf.data(), want});
    queued_ += n;
    if (n < want) return;
  }
  tcp::TcpSocket* s = sock_;
  console_.line(stack_.sim().now(), name_, "all bytes queued, closing");
  s->close();
}

void BulkSender::on_closed(tcp::TcpSocket& s, tcp::CloseReason r) {
  closed_ = true;
  reason_ = r;
  if (r == tcp::CloseReason::Normal && queued_ == cfg_.bytes) completed_ = stack_.sim().now();
  console_.line(stack_.sim().now(), name_, std::string("connection closed (") + tcp::close_reason_name(r) + ")");
  s.close();
  sock_ = nullptr;
}

// ---------------------------------------------------------------- sink

uint64_t BulkReport::goodput_bps() const {
  const int64_t ns = (last_byte - accepted).ns();
  if (ns <= 0) return 0;
  __extension__ using u128 = unsigned __int128;
  return static_cast<uint64_t>(static_cast<u128>(bytes) * 8U * 1'000'000'000U / static_cast<u128>(ns));
}

BulkSink::BulkSink(tcp::TcpStack& stack, BulkSinkConfig cfg, Console& console)
    : stack_(stack),
      cfg_(std::move(cfg)),
      console_(console),
      name_(cfg_.name.empty() ? stack.node().name() : cfg_.name) {
  listener_ = stack_.listen(cfg_.port, this);
  if (listener_ == nullptr) {
    console_.line(stack_.sim().now(), name_, "listen failed: port " + std::to_string(cfg_.port) + " in use");
  }
}

BulkSink::~BulkSink() {
  if (conn_ != nullptr) {
    conn_->set_events(nullptr);
    conn_->abort();
  }
  if (listener_ != nullptr) {
    listener_->set_events(nullptr);
    listener_->close();
  }
}

void BulkSink::on_accept(tcp::TcpSocket&, tcp::TcpSocket& child) {
  child.set_events(this);
  if (conn_ != nullptr) {
    conn_->set_events(nullptr);
    conn_->abort();
  }
  conn_ = &child;
  report_ = BulkReport{};
  if (cfg_.continues != nullptr) report_.offset = cfg_.continues->report().offset + cfg_.continues->report().bytes;
  report_.accepted = stack_.sim().now();
  report_.last_byte = report_.accepted;
  const auto& t = child.tuple();
  console_.line(stack_.sim().now(), name_, "connection from " + endpoint_text(t.remote_addr, t.remote_port));
}

void BulkSink::on_readable(tcp::TcpSocket& s) {
  if (&s != conn_) return;
  std::array<uint8_t, kChunk> buf;  // filled by recv: no zeroing per call
  const uint64_t before = report_.bytes;
  while (const std::size_t n = s.recv(buf)) {
    const uint64_t at = report_.offset + report_.bytes;
    if (cfg_.verify && !matches_bulk_pattern(at, {buf.data(), n})) {
      for (std::size_t i = 0; i < n; ++i) {
        if (buf[i] != bulk_pattern(at + i)) {
          if (!report_.first_error) report_.first_error = at + i;
          ++report_.errors;
        }
      }
    }
    report_.bytes += n;
  }
  report_.last_byte = stack_.sim().now();
  if (report_.bytes > before) {
    const BulkSink* earlier = cfg_.continues;
    report_.deliveries.record(report_.last_byte,
                              earlier != nullptr ? earlier->report().deliveries.last : std::nullopt);
  }
}

void BulkSink::on_peer_fin(tcp::TcpSocket& s) {
  if (&s != conn_) return;
  report_.finished = stack_.sim().now();
  std::string msg = "received " + std::to_string(report_.bytes) + " bytes, " + std::to_string(report_.errors) +
                    " wrong, in ";
  sim::append_duration(msg, report_.last_byte - report_.accepted);
  msg += " s, goodput " + std::to_string(report_.goodput_bps()) + " bit/s";
  console_.line(stack_.sim().now(), name_, msg);
  s.close();
}

void BulkSink::on_closed(tcp::TcpSocket& s, tcp::CloseReason r) {
  console_.line(stack_.sim().now(), name_, std::string("connection closed (") + tcp::close_reason_name(r) + ")");
  s.close();
  if (&s == conn_) conn_ = nullptr;
}

}  // namespace tcpmig::apps
