// Test fixtures for the migration core (core::Migrator): IPv4 + TCP packets
// built with wire::TcpRepr / Ipv4Repr, a decoder that checks both checksums
// by full recomputation, a sink that records what the core emits, and a Lab
// that drives one Migrator through the standard flow of these tests:
//
//   client 10.0.0.2:40000 -> service 10.255.0.1:80 (backend S1 = the service)
//   client ISN 1000, SYN: mss 1460, wscale 7, sackOK, TS 100
//   S1 ISN 5000, SYN-ACK: mss 1400, wscale 7, sackOK, TS 7000/100
//   then a 100-byte request (1001..1101) and a 200-byte response (5001..5201),
//   all acknowledged: client TSval 103, S1 TSval 7001.
//   Targets: S2 10.254.0.2:8080 (ISN 900000, TS 50000), S3 10.254.0.3:9090
//   (ISN 3000000000, TS 4000000000).
//
// Rows of the table tests are {description, input packet, direction, expected
// action + reason, expected output packet, expected emitted packets}; each
// row's comment says which rule of migrator.hpp it checks.
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace coretest {

using namespace tcpmig;
using core::Action;
using core::Direction;
using core::Endpoint;
using core::FlowKey;
using core::Nanos;
using core::Reason;
using core::Trigger;
using wire::Ipv4Address;
using wire::SeqNumber;
using wire::TcpRepr;
namespace flag = wire::tcp_flag;

inline constexpr Direction C2S = Direction::ClientToServer;
inline constexpr Direction S2C = Direction::ServerToClient;

inline constexpr Endpoint kClient{Ipv4Address{0x0a000002}, 40000};   // 10.0.0.2:40000
inline constexpr Endpoint kClient2{Ipv4Address{0x0a000003}, 40001};  // 10.0.0.3:40001
inline constexpr Endpoint kService{Ipv4Address{0x0aff0001}, 80};     // 10.255.0.1:80 (S1)
inline constexpr Endpoint kS2{Ipv4Address{0x0afe0002}, 8080};        // 10.254.0.2:8080
inline constexpr Endpoint kS3{Ipv4Address{0x0afe0003}, 9090};        // 10.254.0.3:9090
inline constexpr FlowKey kFlow{kClient, kService};
inline constexpr FlowKey kFlow2{kClient2, kService};

inline constexpr uint32_t kClientIsn = 1000;
inline constexpr uint32_t kS1Isn = 5000;
inline constexpr uint32_t kS2Isn = 900000;
inline constexpr uint32_t kS3Isn = 3000000000U;
inline constexpr uint32_t kS2Ts = 50000;
inline constexpr uint32_t kS3Ts = 4000000000U;
inline constexpr Nanos kStart = 1'000'000'000;

/// Payload bytes: a fixed pattern (static storage, so TcpRepr spans stay valid).
inline std::span<const uint8_t> payload(std::size_t n) {
  static const std::array<uint8_t, 2048> bytes = [] {
    std::array<uint8_t, 2048> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
    return b;
  }();
  return std::span<const uint8_t>(bytes.data(), n);
}

/// A segment with flags, seq, ack, window 502 and `len` payload bytes.
inline TcpRepr seg(uint8_t flags, uint32_t seq, uint32_t ack, std::size_t len = 0) {
  TcpRepr t;
  t.flags = flags;
  t.seq = SeqNumber{seq};
  t.ack = SeqNumber{ack};
  t.window = 502;
  t.payload = payload(len);
  return t;
}
/// The same segment with timestamps.
inline TcpRepr with_ts(TcpRepr t, uint32_t tsval, uint32_t tsecr) {
  t.timestamps = std::pair{tsval, tsecr};
  return t;
}
/// The same segment with SACK blocks.
inline TcpRepr with_sack(TcpRepr t, std::vector<std::pair<uint32_t, uint32_t>> blocks) {
  t.sack_count = static_cast<uint8_t>(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    t.sack_blocks[i] = {SeqNumber{blocks[i].first}, SeqNumber{blocks[i].second}};
  }
  return t;
}
/// The same segment with the window field set.
inline TcpRepr with_window(TcpRepr t, uint16_t w) {
  t.window = w;
  return t;
}

/// A whole IPv4 packet (20-byte header, TTL `ttl`, DF) carrying `t` from src to dst.
inline std::vector<uint8_t> packet(Endpoint src, Endpoint dst, TcpRepr t, uint8_t ttl = 63) {
  t.src_port = src.port;
  t.dst_port = dst.port;
  std::vector<uint8_t> out(20 + t.buffer_len());
  wire::Ipv4Repr ip{src.ip, dst.ip, wire::ip_proto::tcp, static_cast<uint16_t>(t.buffer_len())};
  ip.ttl = ttl;
  ip.ident = 0x1234;
  auto pkt = ip.emit(out);
  REQUIRE(pkt.ok());
  auto s = t.emit(pkt->payload(), src.ip, dst.ip);
  REQUIRE(s.ok());
  return out;
}

/// Recomputes both checksums of a packet changed by hand (a test that wants a
/// wrong checksum spoils it afterwards).
inline std::vector<uint8_t> refill(std::vector<uint8_t> p) {
  auto ip = wire::Ipv4Packet::check(p);
  REQUIRE(ip.ok());
  ip->fill_checksum();
  auto s = wire::TcpSegment::check(ip->payload());
  if (s) s->fill_checksum(ip->src(), ip->dst());
  return p;
}

/// An IPv4 + TCP packet decoded, with both checksums verified by full recomputation.
struct Decoded {
  bool ok = false;       ///< IPv4 + TCP headers and options parse
  bool ip_csum = false;  ///< IPv4 header checksum verifies
  bool tcp_csum = false; ///< TCP checksum verifies (pseudo header + segment)
  Endpoint src, dst;
  uint8_t ttl = 0;
  uint16_t total_len = 0;
  TcpRepr tcp;                   ///< ports and payload included
  std::vector<uint8_t> data;     ///< payload copy (tcp.payload points into the caller's bytes)
};

inline Decoded decode(std::span<const uint8_t> bytes) {
  Decoded d;
  auto ip = wire::ConstIpv4Packet::check(bytes);
  if (!ip || ip->protocol() != wire::ip_proto::tcp || ip->is_fragment()) return d;
  auto s = wire::ConstTcpSegment::check(ip->payload());
  if (!s) return d;
  auto t = TcpRepr::parse_unverified(*s);
  if (!t) return d;
  d.ok = true;
  d.ip_csum = ip->verify_checksum();
  d.tcp_csum = s->verify_checksum(ip->src(), ip->dst());
  d.src = {ip->src(), t->src_port};
  d.dst = {ip->dst(), t->dst_port};
  d.ttl = ip->ttl();
  d.total_len = ip->total_len();
  d.tcp = *t;
  d.data.assign(t->payload.begin(), t->payload.end());
  return d;
}

/// Every field of a segment, one line (doctest shows both sides on mismatch).
inline std::string describe(Endpoint src, Endpoint dst, const TcpRepr& t) {
  std::string s = core::endpoint_text(src) + " > " + core::endpoint_text(dst);
  s += " flags=" + std::to_string(t.flags) + " seq=" + std::to_string(t.seq.raw()) +
       " ack=" + std::to_string(t.ack.raw()) + " win=" + std::to_string(t.window) +
       " urg=" + std::to_string(t.urgent);
  if (t.mss) s += " mss=" + std::to_string(*t.mss);
  if (t.window_scale) s += " ws=" + std::to_string(*t.window_scale);
  if (t.sack_permitted) s += " sackOK";
  if (t.timestamps) s += " TS=" + std::to_string(t.timestamps->first) + "/" + std::to_string(t.timestamps->second);
  for (std::size_t i = 0; i < t.sack_count && i < t.sack_blocks.size(); ++i) {
    s += " sack=" + std::to_string(t.sack_blocks[i].first.raw()) + "-" + std::to_string(t.sack_blocks[i].second.raw());
  }
  if (!t.unknown_options.empty()) s += " unknown=" + std::to_string(t.unknown_options.len);
  s += " len=" + std::to_string(t.payload.size());
  return s;
}

/// Checks `bytes` is exactly src -> dst carrying `want` (every header field and
/// option, the payload bytes), with both checksums valid by full recompute.
inline void check_packet(std::span<const uint8_t> bytes, Endpoint src, Endpoint dst, TcpRepr want) {
  const Decoded d = decode(bytes);
  REQUIRE(d.ok);
  want.src_port = src.port;
  want.dst_port = dst.port;
  CHECK(describe(d.src, d.dst, d.tcp) == describe(src, dst, want));
  CHECK(d.tcp == want);
  CHECK(d.ip_csum);
  CHECK(d.tcp_csum);
  CHECK(d.total_len == bytes.size());
}

/// A checksum that verifies compared with the value a full recompute writes
/// (0x0000 and 0xffff are the same ones'-complement value).
inline bool same_checksum(uint16_t a, uint16_t b) {
  auto norm = [](uint16_t v) { return v == 0xffff ? uint16_t{0} : v; };
  return norm(a) == norm(b);
}
/// The incremental checksums of a rewritten packet equal a full recompute.
inline void check_checksums_recomputed(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  auto ip = wire::Ipv4Packet::check(copy);
  REQUIRE(ip.ok());
  const uint16_t ip_sum = ip->checksum();
  ip->fill_checksum();
  CHECK(same_checksum(ip_sum, ip->checksum()));
  auto s = wire::TcpSegment::check(ip->payload());
  REQUIRE(s.ok());
  const uint16_t tcp_sum = s->checksum();
  s->fill_checksum(ip->src(), ip->dst());
  CHECK(same_checksum(tcp_sum, s->checksum()));
}

/// One packet the core emitted.
struct Emitted {
  std::vector<uint8_t> bytes;
  Direction dir;
  Decoded d;
};

/// Records every emitted packet and checks it is whole, valid IPv4 + TCP.
class RecordingSink final : public core::PacketSink {
 public:
  void emit(std::span<const uint8_t> ipv4, Direction dir) override {
    Emitted e{{ipv4.begin(), ipv4.end()}, dir, decode(ipv4)};
    CHECK(e.d.ok);
    out.push_back(std::move(e));
  }
  std::vector<Emitted> out;
};

/// Counts observer calls.
class CountingObserver final : public core::MigrationObserver {
 public:
  void on_triggered(const core::MigrationRecord& r) override { triggered.push_back(r.id); }
  void on_finished(const core::MigrationRecord& r) override { finished.push_back(r.id); }
  std::vector<uint64_t> triggered;
  std::vector<uint64_t> finished;
};

/// The result of one process() call.
struct Result {
  core::Verdict v;
  std::vector<uint8_t> out;  ///< the bytes after the call
};

/// The client's SYN of the standard flow.
inline TcpRepr client_syn(uint32_t isn = kClientIsn, uint32_t tsval = 100) {
  TcpRepr t = seg(flag::SYN, isn, 0);
  t.window = 64240;
  t.mss = 1460;
  t.window_scale = 7;
  t.sack_permitted = true;
  t.timestamps = std::pair{tsval, 0U};
  return t;
}
/// S1's SYN-ACK of the standard flow.
inline TcpRepr server_synack(uint32_t isn = kS1Isn, uint32_t ack = kClientIsn + 1, uint32_t tsval = 7000,
                             uint32_t tsecr = 100) {
  TcpRepr t = seg(flag::SYN | flag::ACK, isn, ack);
  t.window = 65160;
  t.mss = 1400;
  t.window_scale = 7;
  t.sack_permitted = true;
  t.timestamps = std::pair{tsval, tsecr};
  return t;
}

/// One Migrator, a recording sink and a clock.
struct Lab {
  explicit Lab(core::Config c = config()) : cfg(c), m(cfg, sink) {}
  static core::Config config() {
    core::Config c;
    c.max_flows = 16;
    c.replay_rto = 100'000'000;  // 100 ms
    c.replay_retries = 3;
    c.close_linger = 1'000'000'000;
    return c;
  }

  core::Config cfg;
  RecordingSink sink;
  core::Migrator m;
  Nanos now = kStart;

  /// process() of a copy of `pkt` at `now`.
  Result process(std::vector<uint8_t> pkt, Direction dir) {
    Result r;
    r.v = m.process(pkt, dir, now);
    r.out = std::move(pkt);
    return r;
  }
  Result c2s(const TcpRepr& t, Endpoint from = kClient, Endpoint to = kService) {
    return process(packet(from, to, t), C2S);
  }
  Result s2c(const TcpRepr& t, Endpoint from = kService, Endpoint to = kClient) {
    return process(packet(from, to, t), S2C);
  }
  /// Advances the clock and polls.
  void advance(Nanos dt) {
    now += dt;
    m.poll(now);
  }

  /// SYN, SYN-ACK, ACK of the standard flow.
  void handshake(const TcpRepr& syn = client_syn(), const TcpRepr& synack = server_synack()) {
    REQUIRE(c2s(syn).v.action == Action::Pass);
    REQUIRE(s2c(synack).v.action == Action::Pass);
    TcpRepr ack = seg(flag::ACK, syn.seq.raw() + 1, synack.seq.raw() + 1);
    if (syn.timestamps && synack.timestamps) ack = with_ts(ack, syn.timestamps->first + 1, synack.timestamps->first);
    REQUIRE(c2s(ack).v.action == Action::Pass);
  }
  /// The standard 100-byte request and 200-byte response, all acknowledged
  /// (c_next 1101, s_next 5201; client TSval 103, S1 TSval 7001).
  void exchange() {
    REQUIRE(c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 100), 102, 7000)).v.action == Action::Pass);
    REQUIRE(s2c(with_ts(seg(flag::ACK | flag::PSH, 5001, 1101, 200), 7001, 102)).v.action == Action::Pass);
    REQUIRE(c2s(with_ts(seg(flag::ACK, 1101, 5201), 103, 7001)).v.action == Action::Pass);
  }
  /// Handshake + exchange.
  void established() {
    handshake();
    exchange();
  }

  /// The target's SYN-ACK answering the last replayed SYN emitted toward `target`.
  TcpRepr target_synack(Endpoint target, uint32_t isn, uint32_t tsval) const {
    const Emitted* syn = last_syn_to(target);
    REQUIRE(syn != nullptr);
    TcpRepr t = seg(flag::SYN | flag::ACK, isn, syn->d.tcp.seq.raw() + 1);
    t.window = 65160;
    t.mss = 1300;
    t.window_scale = syn->d.tcp.window_scale;
    t.sack_permitted = syn->d.tcp.sack_permitted;
    if (syn->d.tcp.timestamps) t.timestamps = std::pair{tsval, syn->d.tcp.timestamps->first};
    return t;
  }
  /// The last SYN (without ACK) emitted toward `target`, or null.
  const Emitted* last_syn_to(Endpoint target) const {
    for (auto it = sink.out.rbegin(); it != sink.out.rend(); ++it) {
      if (it->d.ok && it->d.dst == target && (it->d.tcp.flags & (flag::SYN | flag::ACK)) == flag::SYN) return &*it;
    }
    return nullptr;
  }
  /// Number of emitted SYNs toward `target`.
  std::size_t syns_to(Endpoint target) const {
    std::size_t n = 0;
    for (const auto& e : sink.out) {
      if (e.d.ok && e.d.dst == target && (e.d.tcp.flags & (flag::SYN | flag::ACK)) == flag::SYN) ++n;
    }
    return n;
  }
  /// Migrates the standard flow now to `target` and answers with its SYN-ACK.
  void migrate_now(Endpoint target, uint32_t isn, uint32_t tsval) {
    REQUIRE(m.migrate_flow(kFlow, target, Trigger::now(), now).ok());
    REQUIRE(last_syn_to(target) != nullptr);
    const Result r = s2c(target_synack(target, isn, tsval), target);
    REQUIRE(r.v.action == Action::Drop);
    REQUIRE(m.status(kFlow)->backend == target);
  }
  /// Status of the standard flow (must exist).
  core::FlowStatus status(const FlowKey& k = kFlow) const {
    auto s = m.status(k);
    REQUIRE(s.has_value());
    return *s;
  }
};

/// A table row: one packet into a Lab prepared by the table's set-up.
struct Row {
  const char* what;                 ///< the rule it checks
  std::function<std::vector<uint8_t>(const Lab&)> input;  ///< the packet (may use the Lab's state)
  Direction dir;
  Action action;
  Reason reason;
  /// Expected output (checked when the action is Modified, or Pass: unchanged bytes).
  std::function<void(const Lab&, const Result&)> check_out = nullptr;
  /// Expected emitted packets (called with the packets emitted by this row).
  std::function<void(const Lab&, std::span<const Emitted>)> check_emitted = nullptr;
};

/// Runs every row on a fresh Lab prepared by `setup`.
inline void run_rows(const std::function<void(Lab&)>& setup, const std::vector<Row>& rows,
                     core::Config cfg = Lab::config()) {
  for (const Row& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    Lab lab(cfg);
    setup(lab);
    const std::size_t emitted_before = lab.sink.out.size();
    const std::vector<uint8_t> in = row.input(lab);
    const Result r = lab.process(in, row.dir);
    CHECK(static_cast<int>(r.v.action) == static_cast<int>(row.action));
    CHECK(std::string(core::reason_name(r.v.reason)) == std::string(core::reason_name(row.reason)));
    CHECK(r.out.size() == in.size());
    if (r.v.action == Action::Pass) CHECK(r.out == in);
    const Decoded din = decode(in);
    if (r.v.action == Action::Modified && din.ip_csum && din.tcp_csum) {
      check_checksums_recomputed(r.out);  // incremental == full recompute
    }
    if (row.check_out) row.check_out(lab, r);
    const std::span<const Emitted> emitted(lab.sink.out.data() + emitted_before,
                                           lab.sink.out.size() - emitted_before);
    if (row.check_emitted) {
      row.check_emitted(lab, emitted);
    } else {
      CHECK(emitted.empty());  // no emitted packets expected
    }
  }
}

}  // namespace coretest
