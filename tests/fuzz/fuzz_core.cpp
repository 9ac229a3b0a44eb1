// libFuzzer target for the migration core (core::Migrator): the input is a
// program of operations on one Migrator with a tiny table (8 flows, 4 held
// packets), so that table-full, hold-overflow, retransmission and abort paths
// are reached. __builtin_trap() on any broken invariant:
//   - every verdict is one of the enumerators; counters().packets counts the calls;
//   - Pass leaves the bytes unchanged;
//   - a Modified packet is still IPv4 + TCP of the same length, and each of its
//     checksums (IPv4 header, TCP) verifies exactly when it did on input
//     (RFC 1624 updates: a wrong checksum stays wrong);
//   - every packet the sink receives is a whole, unfragmented IPv4 + TCP packet
//     with valid options and valid checksums (a held client packet that came in
//     with a bad checksum may come out with it);
//   - after poll(now), next_deadline() > now; flow_count() <= max_flows;
//   - records: ids increase; finished records have finished_at; the counters of
//     completed and aborted migrations match the records;
//   - a packet given with a partial checksum (Checksum::Partial, only the
//     pseudo-header sum) and rewritten still holds the pseudo-header sum of its
//     new addresses; released later, it carries a full valid checksum;
//   - gauges(), flows(), pending_records() and rules() agree with flow_count()
//     and each other;
//   - rule 9: every RST the core makes goes to an endpoint that is not the
//     flow's backend once the call that sent it returns (packets of the
//     harness carry IPv4 ident kPeerIdent, so a client's own RST the core held
//     and released is told apart from one it made: those have ident 0).
//
// Program (one operation byte, op % 10, then its arguments; missing bytes read 0):
//   0 raw packet    dir, fix-checksums, len, bytes[len]
//   1 client SYN    flow, seq32, options, tsval32
//   2 SYN-ACK       flow, from (backend index), seq32, options, ack-mode
//   3 segment       flow, ctl (bit0 server->client, bits1-2 source, bit3 partial checksum), len, seq offset,
//                   flags, options
//   4 migrate_flow  flow, target, trigger, count, safe point (bit 2: wait for target)
//   5 migrate_service service, target, trigger, count, safe point
//   6 time          mode (bit0: jump to next_deadline; bits1-2: scale), dt16; then poll
//   7 target        target (bit 7: target_down, else target_ready)
//   8 answer a replayed SYN  index, kind (0 SYN-ACK, 1 RST, 2 wrong ack, 3 chosen options,
//                            4 challenge ACK), isn32, options
//   9 queries       what (1: cancel request what>>2, 2: cancel_all), then status of every flow, records
//
// Build: cmake -DCMAKE_CXX_COMPILER=clang++ -DTCPMIG_FUZZ=ON, target fuzz_core.
// Run:   cp -r tests/fuzz/corpus/core /tmp/corpus && ./fuzz_core -max_total_time=60 /tmp/corpus
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using namespace tcpmig;
using core::Direction;
using core::Endpoint;
using wire::Ipv4Address;
using wire::SeqNumber;

/// IPv4 identification of every packet the harness sends (the core's own have 0).
constexpr std::uint16_t kPeerIdent = 0xc11e;

/// Stops the fuzzer with a crash report when an invariant fails.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::size_t kClients = 12;  // more flows than the table holds
constexpr std::array<Endpoint, 2> kServices{{{Ipv4Address{0x0aff0001}, 80}, {Ipv4Address{0x0aff0009}, 443}}};
/// Backends: index 0 is "the flow's service"; 1..3 are other servers.
constexpr std::array<Endpoint, 3> kServers{{{Ipv4Address{0x0afe0002}, 8080},
                                            {Ipv4Address{0x0afe0003}, 8080},
                                            {Ipv4Address{0x0aff0009}, 443}}};

Endpoint client_of(std::size_t k) {
  return {Ipv4Address{0x0a010001U + static_cast<std::uint32_t>(k)}, static_cast<std::uint16_t>(40000 + k)};
}
Endpoint service_of(std::size_t k) { return kServices[k < 10 ? 0 : 1]; }
core::FlowKey key_of(std::size_t k) { return {client_of(k), service_of(k)}; }
Endpoint server_of(std::size_t k, std::uint8_t index) {
  index %= 4;
  return index == 0 ? service_of(k) : kServers[index - 1];
}

/// Reads the program; past the end every read is 0.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  [[nodiscard]] bool done() const { return pos_ >= b_.size(); }
  std::uint8_t u8() { return pos_ < b_.size() ? b_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
  std::uint32_t u32() { return (std::uint32_t{u16()} << 16) | u16(); }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    n = std::min(n, b_.size() - std::min(pos_, b_.size()));
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

/// Checksum validity of an IPv4 + TCP packet.
struct Checks {
  bool ip_ok = false;   ///< IPv4 header parses and its checksum verifies
  bool tcp_ok = false;  ///< TCP segment parses and its checksum verifies
  bool is_tcp = false;  ///< unfragmented IPv4 + TCP whose headers parse
};
Checks checks_of(std::span<const std::uint8_t> bytes) {
  Checks c;
  auto ip = wire::ConstIpv4Packet::check(bytes);
  if (!ip) return c;
  c.ip_ok = ip->verify_checksum();
  if (ip->is_fragment() || ip->protocol() != wire::ip_proto::tcp) return c;
  auto seg = wire::ConstTcpSegment::check(ip->payload());
  if (!seg) return c;
  c.is_tcp = true;
  c.tcp_ok = seg->verify_checksum(ip->src(), ip->dst());
  return c;
}

/// A replayed SYN the core sent.
struct Replay {
  Endpoint from, to;
  std::uint32_t seq = 0;
  wire::TcpRepr options;  ///< its options (payload not kept)
};

/// What the harness remembers of flow k (client's view).
struct FlowModel {
  std::uint32_t c_next = 0;
  std::uint32_t s_next = 0;
  std::uint32_t c_ts = 0;
  std::uint32_t s_ts = 0;
};

class Harness final : public core::PacketSink {
 public:
  Harness() : mig_(config(), *this) {}

  static core::Config config() {
    core::Config cfg;
    cfg.max_flows = 8;
    cfg.hold_packets = 4;
    cfg.replay_rto = 100'000'000;
    cfg.replay_retries = 2;
    cfg.close_linger = 1'000'000'000;
    cfg.idle_timeout = 3'000'000'000;  // reached by op_time's larger steps (rule 10)
    cfg.syn_timeout = 500'000'000;
    cfg.sweep_interval = 100'000'000;
    return cfg;
  }

  void emit(std::span<const std::uint8_t> ipv4, Direction dir) override {
    require(dir == Direction::ClientToServer || dir == Direction::ServerToClient);
    auto ip = wire::ConstIpv4Packet::check(ipv4);
    require(ip.ok());
    require(ip->total_len() == ipv4.size());
    require(!ip->is_fragment() && ip->protocol() == wire::ip_proto::tcp);
    auto seg = wire::ConstTcpSegment::check(ip->payload());
    require(seg.ok());
    const Checks c = checks_of(ipv4);
    if (!c.ip_ok || !c.tcp_ok) {
      // Only a held packet that came in with a bad checksum may leave with one
      // (possibly during the very call that holds it: a FIN makes the flow
      // close, which aborts the migration and releases it at once).
      if (current_bad_) {
        current_bad_ = false;
        return;
      }
      require(bad_held_ > 0);
      --bad_held_;
      return;
    }
    auto repr = wire::TcpRepr::parse(*seg, ip->src(), ip->dst());
    require(repr.ok());
    if ((repr->flags & wire::tcp_flag::RST) != 0 && ip->ident() != kPeerIdent) {
      resets_.push_back({{ip->src(), repr->src_port}, {ip->dst(), repr->dst_port}});
    }
    if ((repr->flags & (wire::tcp_flag::SYN | wire::tcp_flag::ACK)) == wire::tcp_flag::SYN) {
      Replay r;
      r.from = {ip->src(), repr->src_port};
      r.to = {ip->dst(), repr->dst_port};
      r.seq = repr->seq.raw();
      r.options = *repr;
      r.options.payload = {};
      if (replays_.size() >= 16) replays_.erase(replays_.begin());
      replays_.push_back(r);
    }
  }

  void run(Reader& in) {
    while (!in.done()) {
      switch (in.u8() % 10) {
        case 0: op_raw(in); break;
        case 1: op_syn(in); break;
        case 2: op_synack(in); break;
        case 3: op_segment(in); break;
        case 4: op_migrate_flow(in); break;
        case 5: op_migrate_service(in); break;
        case 6: op_time(in); break;
        case 7: {
          const std::uint8_t v = in.u8();
          const Endpoint target = server_of(0, static_cast<std::uint8_t>(1 + v % 3));
          if ((v & 0x80) != 0) {
            (void)mig_.target_down(target, now_);
          } else {
            mig_.target_ready(target, now_);
          }
          break;
        }
        case 8: op_answer(in); break;
        default: {
          const std::uint8_t what = in.u8();
          if (what % 4 == 1) (void)mig_.cancel(what >> 2, now_);
          if (what % 4 == 2) (void)mig_.cancel_all(now_);
          op_query();
          break;
        }
      }
      check_global();
      check_resets();
    }
    op_query();
  }

 private:
  /// process() with every per-packet invariant checked.
  void process(std::span<std::uint8_t> bytes, Direction dir, bool partial = false) {
    const std::vector<std::uint8_t> before(bytes.begin(), bytes.end());
    Checks in = checks_of(bytes);
    if (partial) in.tcp_ok = true;  // a partial sum is right as it is; a full one comes out on release
    current_bad_ = !in.ip_ok || !in.tcp_ok;
    const core::Verdict v =
        mig_.process(bytes, dir, now_, partial ? core::Checksum::Partial : core::Checksum::Complete);
    const bool released_at_once = (!in.ip_ok || !in.tcp_ok) && !current_bad_;
    current_bad_ = false;
    ++calls_;
    require(v.action == core::Action::Pass || v.action == core::Action::Modified || v.action == core::Action::Drop);
    require(v.reason < core::Reason::Count);
    require(mig_.counters().packets == calls_);
    if (v.action == core::Action::Pass) {
      require(std::equal(before.begin(), before.end(), bytes.begin(), bytes.end()));
    } else if (v.action == core::Action::Modified) {
      Checks out = checks_of(bytes);
      if (partial) out.tcp_ok = holds_pseudo_sum(bytes);
      require(in.is_tcp && out.is_tcp);
      require(out.ip_ok == in.ip_ok);
      require(out.tcp_ok == in.tcp_ok);
      auto ip = wire::ConstIpv4Packet::check(bytes);
      require(ip->total_len() == wire::load_be16(before.data() + 2));
    } else if (v.reason == core::Reason::Held && (!in.ip_ok || !in.tcp_ok) && !released_at_once) {
      ++bad_held_;
    }
  }

  /// True when the TCP checksum field holds the pseudo-header sum of the packet's addresses and length.
  static bool holds_pseudo_sum(std::span<const std::uint8_t> bytes) {
    auto ip = wire::ConstIpv4Packet::check(bytes);
    if (!ip) return false;
    auto seg = wire::ConstTcpSegment::check(ip->payload());
    if (!seg) return false;
    const auto len = static_cast<std::uint16_t>(seg->buffer().size());
    return seg->checksum() == wire::checksum_fold(wire::pseudo_header_sum(ip->src(), ip->dst(), wire::ip_proto::tcp, len));
  }

  /// Emits ip + tcp into buf_ (fixing the IPv4 header) and processes it; `bad`
  /// spoils the TCP checksum first; `partial` leaves only the pseudo-header sum in it.
  void send(Endpoint src, Endpoint dst, wire::TcpRepr t, Direction dir, bool bad, bool partial = false) {
    t.src_port = src.port;
    t.dst_port = dst.port;
    if (t.header_len() > wire::tcp::field::MAX_HEADER_LEN) return;
    wire::Ipv4Repr ip{src.ip, dst.ip, wire::ip_proto::tcp, static_cast<std::uint16_t>(t.buffer_len())};
    ip.ident = kPeerIdent;
    auto pkt = ip.emit(buf_);
    require(pkt.ok());
    auto seg = t.emit(pkt->payload(), src.ip, dst.ip);
    require(seg.ok());
    if (bad) seg->set_checksum(static_cast<std::uint16_t>(seg->checksum() ^ 0x0101));
    partial = partial && !bad;
    if (partial) {
      const auto len = static_cast<std::uint16_t>(seg->buffer().size());
      seg->set_checksum(wire::checksum_fold(wire::pseudo_header_sum(src.ip, dst.ip, wire::ip_proto::tcp, len)));
    }
    process(std::span(buf_.data(), ip.buffer_len()), dir, partial);
  }

  /// Options from a mask: bit0 MSS, bit1 window scale, bit2 SACK-permitted, bit3 timestamps.
  static void set_options(wire::TcpRepr& t, std::uint8_t mask, std::uint32_t tsval, std::uint32_t tsecr) {
    if ((mask & 1) != 0) t.mss = static_cast<std::uint16_t>(536 + 4 * (mask >> 4) * 61);
    if ((mask & 2) != 0) t.window_scale = static_cast<std::uint8_t>((mask >> 5) * 2);
    if ((mask & 4) != 0) t.sack_permitted = true;
    if ((mask & 8) != 0) t.timestamps = std::pair{tsval, tsecr};
  }

  void op_raw(Reader& in) {
    const Direction dir = (in.u8() & 1) != 0 ? Direction::ServerToClient : Direction::ClientToServer;
    const bool fix = (in.u8() & 1) != 0;
    const auto bytes = in.bytes(in.u8());
    std::copy(bytes.begin(), bytes.end(), buf_.begin());
    const std::span<std::uint8_t> pkt(buf_.data(), bytes.size());
    if (auto ip = wire::Ipv4Packet::check(pkt)) {  // a peer's packet, never the core's: its ident says so
      const bool valid = ip->verify_checksum();
      ip->set_ident(kPeerIdent);
      if (valid) ip->fill_checksum();  // as valid (or not) as it came
    }
    if (fix) {
      if (auto ip = wire::Ipv4Packet::check(pkt)) {
        ip->fill_checksum();
        if (!ip->is_fragment() && ip->protocol() == wire::ip_proto::tcp) {
          if (auto seg = wire::TcpSegment::check(ip->payload())) seg->fill_checksum(ip->src(), ip->dst());
        }
      }
    }
    process(pkt, dir);
  }

  void op_syn(Reader& in) {
    const std::size_t k = in.u8() % kClients;
    wire::TcpRepr t;
    t.seq = SeqNumber{in.u32()};
    const std::uint8_t mask = in.u8();
    const std::uint32_t tsval = in.u32();
    t.flags = wire::tcp_flag::SYN;
    t.window = 64240;
    set_options(t, mask, tsval, 0);
    model_[k] = {};
    model_[k].c_next = t.seq.raw() + 1;
    model_[k].c_ts = tsval;
    send(client_of(k), service_of(k), t, Direction::ClientToServer, false);
  }

  void op_synack(Reader& in) {
    const std::size_t k = in.u8() % kClients;
    const Endpoint from = server_of(k, in.u8());
    wire::TcpRepr t;
    t.seq = SeqNumber{in.u32()};
    const std::uint8_t mask = in.u8();
    const std::uint8_t ack_mode = in.u8();
    t.flags = wire::tcp_flag::SYN | wire::tcp_flag::ACK;
    t.ack = SeqNumber{model_[k].c_next + ((ack_mode & 1) != 0 ? ack_mode : 0U)};
    t.window = 65160;
    model_[k].s_ts = t.seq.raw() ^ 0x5555;
    set_options(t, mask, model_[k].s_ts, model_[k].c_ts);
    model_[k].s_next = t.seq.raw() + 1;
    send(from, client_of(k), t, Direction::ServerToClient, false);
  }

  void op_segment(Reader& in) {
    const std::size_t k = in.u8() % kClients;
    const std::uint8_t ctl = in.u8();
    const std::uint8_t len = in.u8() & 0x7f;
    const auto off = static_cast<std::int8_t>(in.u8());
    const std::uint8_t fl = in.u8();
    const std::uint8_t opts = in.u8();
    FlowModel& m = model_[k];
    const auto st = mig_.status(key_of(k));
    const std::uint32_t seq_delta = st ? st->seq_delta : 0;
    const std::uint32_t ts_delta = st ? st->ts_delta : 0;
    wire::TcpRepr t;
    t.flags = static_cast<std::uint8_t>((fl & (wire::tcp_flag::FIN | wire::tcp_flag::RST | wire::tcp_flag::PSH |
                                              wire::tcp_flag::URG | wire::tcp_flag::SYN)) |
                                        ((fl & 0x80) != 0 ? 0 : wire::tcp_flag::ACK));
    if ((fl & 0x40) == 0) t.flags = static_cast<std::uint8_t>(t.flags & ~wire::tcp_flag::SYN);
    t.window = (opts & 0x40) != 0 ? static_cast<std::uint16_t>(fl & 3) : std::uint16_t{502};
    t.payload = std::span(pattern_.data(), len);
    const bool to_client = (ctl & 1) != 0;
    const std::uint8_t source = static_cast<std::uint8_t>((ctl >> 1) & 3);
    Endpoint src, dst;
    SeqNumber ack_base;
    if (!to_client) {
      src = client_of(k);
      dst = service_of(k);
      t.seq = SeqNumber{m.c_next + static_cast<std::uint32_t>(off)};
      t.ack = SeqNumber{m.s_next};
      ack_base = t.ack;
      m.c_ts += 1;
      if ((opts & 1) != 0) t.timestamps = std::pair{m.c_ts, m.s_ts};
      if (off == 0) m.c_next += t.seq_len();
    } else {
      // From the flow's current backend (source 0), or from another server.
      src = source == 0 && st ? st->backend : server_of(k, source);
      dst = client_of(k);
      t.seq = SeqNumber{m.s_next - seq_delta + static_cast<std::uint32_t>(off)};
      t.ack = SeqNumber{m.c_next};
      ack_base = t.ack;
      m.s_ts += 1;
      if ((opts & 1) != 0) t.timestamps = std::pair{m.s_ts - ts_delta, m.c_ts};
      if (off == 0) m.s_next += t.seq_len();
    }
    if ((opts & 2) != 0) {
      t.sack_count = static_cast<std::uint8_t>(1 + ((opts >> 2) & 3));
      for (std::size_t i = 0; i < t.sack_count; ++i) {
        const SeqNumber left = ack_base + 100 * (i + 1);
        t.sack_blocks[i] = {left, left + 50};
      }
    }
    if ((opts & 0x20) != 0) {
      const std::array<std::uint8_t, 3> broken{8, 3, 0};  // a timestamps option of length 3
      t.unknown_options.append(broken);
    }
    if ((opts & 0x80) != 0) {
      const std::array<std::uint8_t, 4> unknown{30, 4, 1, 2};
      t.unknown_options.append(unknown);
    }
    send(src, dst, t, to_client ? Direction::ServerToClient : Direction::ClientToServer, (opts & 0x10) != 0,
         (ctl & 8) != 0);
  }

  static core::Trigger trigger_of(std::uint8_t kind, std::uint8_t count, std::uint8_t sp, core::Nanos now) {
    core::Trigger tr;
    switch (kind % 5) {
      case 0: tr = core::Trigger::now(); break;
      case 1: tr = core::Trigger::at_time(now + core::Nanos{count} * 10'000'000); break;
      case 2: tr = core::Trigger::after_requests(count % 8); break;
      case 3: tr = core::Trigger::after_segments(count % 8); break;
      default: tr = core::Trigger::after_bytes(count); break;
    }
    tr.safe_point = static_cast<core::SafePoint>(sp % 3);
    return tr;
  }

  void op_migrate_flow(Reader& in) {
    const std::size_t k = in.u8() % kClients;
    const Endpoint target = server_of(k, in.u8());
    const std::uint8_t kind = in.u8();
    const std::uint8_t count = in.u8();
    const std::uint8_t sp = in.u8();
    auto r = mig_.migrate_flow(key_of(k), target, trigger_of(kind, count, sp, now_), now_, (sp & 4) != 0);
    if (!mig_.status(key_of(k))) require(!r.ok());  // unknown flows cannot be migrated
  }

  void op_migrate_service(Reader& in) {
    const Endpoint service = kServices[in.u8() & 1];
    const Endpoint target = server_of(0, in.u8());
    const std::uint8_t kind = in.u8();
    const std::uint8_t count = in.u8();
    const std::uint8_t sp = in.u8();
    (void)mig_.migrate_service(service, target, trigger_of(kind, count, sp, now_), now_, (sp & 4) != 0);
  }

  void op_time(Reader& in) {
    const std::uint8_t mode = in.u8();
    const std::uint16_t dt = in.u16();
    const core::Nanos deadline = mig_.next_deadline();
    if ((mode & 1) != 0 && deadline != core::kNever) {
      now_ = std::max(now_, deadline);
    } else {
      static constexpr std::array<core::Nanos, 4> kScale{1'000, 1'000'000, 10'000'000, 1'000'000'000};
      now_ += core::Nanos{dt} * kScale[(mode >> 1) & 3];
    }
    mig_.poll(now_);
    require(mig_.next_deadline() > now_);
  }

  void op_answer(Reader& in) {
    const std::uint8_t index = in.u8();
    const std::uint8_t kind = in.u8() % 5;
    const std::uint32_t isn = in.u32();
    const std::uint8_t mask = in.u8();
    if (replays_.empty()) return;
    const Replay r = replays_[index % replays_.size()];
    wire::TcpRepr t;
    t.seq = SeqNumber{isn};
    t.ack = SeqNumber{r.seq + 1};
    t.window = 65160;
    if (kind == 1) {
      t.flags = wire::tcp_flag::RST | wire::tcp_flag::ACK;
      t.seq = SeqNumber{0};
    } else if (kind == 4) {  // from a connection the target still holds on the tuple
      t.flags = wire::tcp_flag::ACK;
      t.ack = SeqNumber{isn ^ (std::uint32_t{mask} << 8)};
    } else {
      t.flags = wire::tcp_flag::SYN | wire::tcp_flag::ACK;
      if (kind == 2) t.ack = SeqNumber{r.seq + 1 + mask};
      const std::uint32_t tsecr = r.options.timestamps ? r.options.timestamps->first : 0;
      if (kind == 3) {
        set_options(t, mask, isn ^ 0x3333, tsecr);
      } else {
        t.mss = r.options.mss;
        t.window_scale = r.options.window_scale;
        t.sack_permitted = r.options.sack_permitted;
        if (r.options.timestamps) t.timestamps = std::pair{isn ^ 0x3333, tsecr};
      }
    }
    send(r.to, r.from, t, Direction::ServerToClient, false);
  }

  void op_query() {
    for (std::size_t k = 0; k < kClients; ++k) {
      if (auto st = mig_.status(key_of(k))) {
        require(st->key == key_of(k));
        require(st->state <= core::FlowState::Closing);
      }
    }
    const auto& records = mig_.records();
    std::uint64_t completed = 0;
    std::uint64_t aborted = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& rec = records[i];
      if (i > 0) require(rec.id > records[i - 1].id);
      if (rec.outcome == core::Outcome::Pending) continue;
      require(rec.finished_at != core::kNever && rec.finished_at >= rec.requested_at);
      (rec.outcome == core::Outcome::Completed ? completed : aborted) += 1;
    }
    require(mig_.counters().migrations_completed == completed);
    require(mig_.counters().migrations_aborted == aborted);
    // The host's views (rule 10) agree with each other.
    const core::Gauges g = mig_.gauges();
    std::uint64_t flows = 0;
    for (const std::uint64_t n : g.flows_by_state) flows += n;
    require(flows == mig_.flow_count());
    require(mig_.flows(64).size() == mig_.flow_count());
    const auto pending = mig_.pending_records();
    require(g.pending == pending.size());
    std::uint64_t pending_in_records = 0;
    for (const auto& rec : records) pending_in_records += rec.outcome == core::Outcome::Pending ? 1 : 0;
    require(pending_in_records == pending.size());
    for (std::size_t i = 1; i < pending.size(); ++i) require(pending[i].id > pending[i - 1].id);
    for (const auto& rule : mig_.rules()) require(rule.trigger.kind != core::Trigger::Kind::Now);
    require(g.held <= std::uint64_t{config().hold_packets} * config().max_flows);
  }

  void check_global() { require(mig_.flow_count() <= config().max_flows); }

  /// Rule 9: no RST sent by the last operation hits the connection carrying its flow.
  void check_resets() {
    for (const auto& [from, to] : resets_) {
      for (std::size_t k = 0; k < kClients; ++k) {
        if (!(client_of(k) == from)) continue;
        if (const auto st = mig_.status(key_of(k))) require(!(st->backend == to));
      }
    }
    resets_.clear();
  }

  core::Migrator mig_;
  core::Nanos now_ = 1'000'000'000;
  std::uint64_t calls_ = 0;
  std::uint64_t bad_held_ = 0;  ///< held packets that came in with a bad checksum
  bool current_bad_ = false;    ///< the packet in process() has a bad checksum and was not emitted yet
  std::array<FlowModel, kClients> model_{};
  std::vector<Replay> replays_;
  std::vector<std::pair<Endpoint, Endpoint>> resets_;  ///< (from, to) of RSTs emitted since the last check
  std::array<std::uint8_t, 70000> buf_{};
  std::array<std::uint8_t, 128> pattern_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(std::span(data, size));
  Harness h;
  h.run(in);
  return 0;
}
