// Bulk transfer pair: a sender of a configurable number of bytes of a
// deterministic pattern, and a sink that verifies every byte and reports
// goodput and completion time.
//
// Place in the layers: models/apps, on tcp::TcpStack.
// Pattern: byte k of the stream is bulk_pattern(k) = T[k mod 65521], where
// T[i] is the low byte of splitmix64 seeded with i (sim/random.hpp). The
// period is prime, so a segment misplaced by any power-of-two distance (or
// any distance below 65521) does not match; generating and checking are
// memcpy/memcmp from the table.
// The sender connects, writes the bytes as the send buffer frees, then
// closes; the sink reads everything, checks it, and closes on the FIN.
// Goodput = bytes * 8 / (time of the last byte - time the connection was
// accepted), in bit/s, integer arithmetic.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tcpmig/apps/console.hpp"
#include "tcpmig/apps/delivery.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace tcpmig::apps {

/// Period of the bulk pattern (a prime).
inline constexpr uint32_t kBulkPatternPeriod = 65521;
/// Byte k of the bulk stream.
uint8_t bulk_pattern(uint64_t k);
/// Writes bytes [offset, offset + out.size()) of the bulk stream.
void fill_bulk_pattern(uint64_t offset, std::span<uint8_t> out);
/// True when `data` equals bytes [offset, offset + data.size()) of the stream.
bool matches_bulk_pattern(uint64_t offset, std::span<const uint8_t> data);

struct BulkSenderConfig {
  wire::Ipv4Address server;                 // sink address
  uint16_t port = 5001;                     // sink port
  uint64_t bytes = 1'000'000;               // how many to send
  sim::Time start = sim::Time::zero();      // when to connect
  std::string name;                         // console name; empty: the node's name
};

/// Connects and sends `bytes` pattern bytes, then closes.
class BulkSender final : public tcp::TcpEvents {
 public:
  BulkSender(tcp::TcpStack& stack, BulkSenderConfig cfg, Console& console);
  ~BulkSender() override;
  BulkSender(const BulkSender&) = delete;
  BulkSender& operator=(const BulkSender&) = delete;

  /// Bytes handed to TCP so far.
  [[nodiscard]] uint64_t queued() const { return queued_; }
  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] tcp::CloseReason close_reason() const { return reason_; }
  /// When the connection closed normally (both FINs sent and acknowledged)
  /// with every byte handed to TCP: the transfer is complete.
  [[nodiscard]] std::optional<sim::Time> completed() const { return completed_; }
  [[nodiscard]] tcp::TcpSocket* socket() const { return sock_; }

  void on_connected(tcp::TcpSocket& s) override;
  void on_writable(tcp::TcpSocket& s) override;
  void on_closed(tcp::TcpSocket& s, tcp::CloseReason r) override;

 private:
  void start();
  void pump();

  tcp::TcpStack& stack_;
  BulkSenderConfig cfg_;
  Console& console_;
  std::string name_;  // what the console lines are labelled with
  sim::Timer start_timer_;
  tcp::TcpSocket* sock_ = nullptr;
  uint64_t queued_ = 0;
  std::optional<sim::Time> completed_;  // closed normally after queuing every byte
  bool closed_ = false;
  tcp::CloseReason reason_ = tcp::CloseReason::Normal;
};

/// What a BulkSink measured for one connection.
struct BulkReport {
  uint64_t offset = 0;                        // pattern offset of the first byte (BulkSinkConfig::continues)
  uint64_t bytes = 0;                         // bytes received
  uint64_t errors = 0;                        // bytes that differ from the pattern
  std::optional<uint64_t> first_error;        // offset of the first wrong byte
  sim::Time accepted;                         // connection established
  sim::Time last_byte;                        // last byte received
  std::optional<sim::Time> finished;          // the sender's FIN arrived
  /// When bytes were read; with BulkSinkConfig::continues, the gap from the
  /// continued sink's last delivery to this one's first counts in max_gap.
  DeliveryTimes deliveries;
  /// bytes * 8e9 / (last_byte - accepted) in bit/s (0 if no time passed).
  [[nodiscard]] uint64_t goodput_bps() const;
};

class BulkSink;

struct BulkSinkConfig {
  uint16_t port = 5001;               // listen port
  std::string name;                   // console name; empty: the node's name
  bool verify = true;                 // check every byte against the pattern
  /// The stream continues what another sink received (a connection migrated
  /// to this server mid-stream): when a connection is accepted, its first byte
  /// is taken to be byte `continues->report().bytes` of the pattern. Not owned.
  const BulkSink* continues = nullptr;
};

/// Accepts connections on `port`, verifies and counts their bytes.
class BulkSink final : public tcp::TcpEvents {
 public:
  BulkSink(tcp::TcpStack& stack, BulkSinkConfig cfg, Console& console);
  ~BulkSink() override;
  BulkSink(const BulkSink&) = delete;
  BulkSink& operator=(const BulkSink&) = delete;

  /// The report of the latest connection.
  [[nodiscard]] const BulkReport& report() const { return report_; }
  [[nodiscard]] tcp::TcpSocket* connection() const { return conn_; }

  void on_accept(tcp::TcpSocket& listener, tcp::TcpSocket& child) override;
  void on_readable(tcp::TcpSocket& s) override;
  void on_peer_fin(tcp::TcpSocket& s) override;
  void on_closed(tcp::TcpSocket& s, tcp::CloseReason r) override;

 private:
  tcp::TcpStack& stack_;
  BulkSinkConfig cfg_;
  Console& console_;
  std::string name_;  // what the console lines are labelled with
  tcp::TcpSocket* listener_ = nullptr;
  tcp::TcpSocket* conn_ = nullptr;
  BulkReport report_;
};

}  // namespace tcpmig::apps
