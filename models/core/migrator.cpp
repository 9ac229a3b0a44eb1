// The migration core (rules in include/tcpmig/core/migrator.hpp).
//
// Place in the layers: core, on wire only. Per packet: parse the IPv4 and
// TCP headers in place (views, no copy), find the flow, track it, run the
// migration state machine, rewrite in place with RFC 1624 checksum updates.
// Nothing here allocates per packet in steady state: flows live in one
// vector (recycled through a free list), held packets in recycled buffers,
// deadlines in a binary heap whose storage is reused.
#include "tcpmig/core/migrator.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>
#include <cstring>
#include <string>

#include "flow_table.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace tcpmig::core {

namespace {

using wire::load_be16;
using wire::load_be32;
using wire::store_be16;
using wire::store_be32;
namespace flag = wire::tcp_flag;

constexpr uint32_t kNone = 0xffffffffU;
constexpr uint8_t kNoScale = 0xff;

/// a is after b in sequence space.
constexpr bool seq_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

/// Checksum after the bytes covered by `old_acc` (an accumulator over whole
/// 16-bit words) changed to those covered by `new_acc` (RFC 1624 eqn 3).
uint16_t checksum_replace(uint16_t csum, uint32_t old_acc, uint32_t new_acc) {
  uint32_t acc = static_cast<uint16_t>(~csum);
  acc = wire::checksum_combine(acc, static_cast<uint16_t>(~wire::checksum_fold(old_acc)));
  acc = wire::checksum_combine(acc, wire::checksum_fold(new_acc));
  return static_cast<uint16_t>(~wire::checksum_fold(acc));
}

/// Where the interesting options of a segment sit (offsets from the start
/// of the TCP header; -1 when absent).
struct OptionInfo {
  int ts = -1;          // Timestamps option (kind byte)
  int sack = -1;        // SACK option (kind byte)
  uint8_t sack_len = 0; // its length byte
  TcpOptions values;    // MSS, window scale, SACK-permitted, timestamps present
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
  bool malformed = false;
};

OptionInfo read_options(std::span<const uint8_t> tcp_header) {
  OptionInfo o;
  const auto opts = tcp_header.subspan(wire::tcp::field::OPTIONS);
  for (wire::TcpOptionReader r(opts); !r.done();) {
    auto opt = r.next();
    if (!opt) {
      o.malformed = true;
      break;
    }
    const int at = static_cast<int>(opt->offset() + wire::tcp::field::OPTIONS);
    switch (opt->kind()) {
      case wire::TcpOptionKind::Mss: o.values.mss = opt->mss(); break;
      case wire::TcpOptionKind::WindowScale: o.values.window_scale = std::min<uint8_t>(opt->window_scale(), 14); break;
      case wire::TcpOptionKind::SackPermitted: o.values.sack_permitted = true; break;
      case wire::TcpOptionKind::Sack:
        o.sack = at;
        o.sack_len = static_cast<uint8_t>(opt->size());
        break;
      case wire::TcpOptionKind::Timestamps:
        o.ts = at;
        o.values.timestamps = true;
        o.tsval = opt->tsval();
        o.tsecr = opt->tsecr();
        break;
      default: break;
    }
  }
  return o;
}

/// A parsed packet: the IPv4 packet and its TCP segment, in place.
struct Frame {
  uint8_t* ip = nullptr;   // IPv4 header
  uint8_t* tcp = nullptr;  // TCP header
  std::size_t tcp_len = 0; // segment length (header + payload)
  std::size_t tcp_hlen = 0;
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint32_t payload = 0;    // payload bytes
  OptionInfo opt;

  [[nodiscard]] uint32_t src_ip() const { return load_be32(ip + 12); }
  [[nodiscard]] uint32_t dst_ip() const { return load_be32(ip + 16); }
  [[nodiscard]] uint16_t src_port() const { return load_be16(tcp); }
  [[nodiscard]] uint16_t dst_port() const { return load_be16(tcp + 2); }
  [[nodiscard]] uint16_t window() const { return load_be16(tcp + 14); }
  [[nodiscard]] uint32_t seq_len() const {
    return payload + ((flags & flag::SYN) ? 1U : 0U) + ((flags & flag::FIN) ? 1U : 0U);
  }

  uint16_t tcp_csum() const { return load_be16(tcp + 16); }
  void set_tcp_csum(uint16_t v) { store_be16(tcp + 16, v); }

  /// Replaces the 32-bit IPv4 address at `off` (12 src, 16 dst): both checksums.
  void set_address(std::size_t off, uint32_t v) {
    const uint32_t old = load_be32(ip + off);
    if (old == v) return;
    store_be32(ip + off, v);
    store_be16(ip + 10, wire::checksum_update32(load_be16(ip + 10), old, v));
    set_tcp_csum(wire::checksum_update32(tcp_csum(), old, v));
  }
  /// Replaces a 16-bit TCP header field at an even offset.
  void set16(std::size_t off, uint16_t v) {
    const uint16_t old = load_be16(tcp + off);
    if (old == v) return;
    store_be16(tcp + off, v);
    set_tcp_csum(wire::checksum_update16(tcp_csum(), old, v));
  }
  /// Replaces a 32-bit value at any offset of the TCP header (options may be
  /// odd-aligned: the covering 16-bit words are summed before and after).
  void set32(std::size_t off, uint32_t v) {
    if (load_be32(tcp + off) == v) return;
    if (off % 2 == 0) {
      const uint32_t old = load_be32(tcp + off);
      store_be32(tcp + off, v);
      set_tcp_csum(wire::checksum_update32(tcp_csum(), old, v));
      return;
    }
    const std::span<const uint8_t> words(tcp + off - 1, 6);
    const uint32_t before = wire::checksum_add(words);
    store_be32(tcp + off, v);
    set_tcp_csum(checksum_replace(tcp_csum(), before, wire::checksum_add(words)));
  }
  /// Overwrites the SACK option with NOPs.
  void nop_sack() {
    const std::size_t start = static_cast<std::size_t>(opt.sack) & ~std::size_t{1};
    const std::size_t end = (static_cast<std::size_t>(opt.sack) + opt.sack_len + 1) & ~std::size_t{1};
    const std::span<const uint8_t> words(tcp + start, end - start);
    const uint32_t before = wire::checksum_add(words);
    std::memset(tcp + opt.sack, 1, opt.sack_len);  // kind 1: NOP
    set_tcp_csum(checksum_replace(tcp_csum(), before, wire::checksum_add(words)));
  }
};

/// Parses `pkt` into `f`; the Reason to pass it with when it is not a TCP
/// segment the core can read, else Count.
Reason parse(std::span<uint8_t> pkt, Frame& f) {
  if (pkt.size() < 20 || (pkt[0] >> 4) != 4) return Reason::NotIpv4;
  auto ip = wire::Ipv4Packet::check(pkt);
  if (!ip) return Reason::Malformed;
  if (ip->is_fragment()) return Reason::Fragment;
  if (ip->protocol() != wire::ip_proto::tcp) return Reason::NotTcp;
  auto seg = wire::TcpSegment::check(ip->payload());
  if (!seg) return Reason::Malformed;
  f.ip = pkt.data();
  f.tcp = seg->buffer().data();
  f.tcp_len = seg->buffer().size();
  f.tcp_hlen = seg->header_len();
  f.flags = seg->flags();
  f.seq = seg->seq().raw();
  f.ack = seg->ack().raw();
  f.payload = static_cast<uint32_t>(f.tcp_len - f.tcp_hlen);
  f.opt = read_options(std::span<const uint8_t>(f.tcp, f.tcp_hlen));
  return Reason::Count;
}

}  // namespace

// ---------------------------------------------------------------------------
// Names

std::string endpoint_text(const Endpoint& e) { return wire::to_string(e.ip) + ":" + std::to_string(e.port); }

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::NotIpv4: return "not-ipv4";
    case Reason::Fragment: return "fragment";
    case Reason::NotTcp: return "not-tcp";
    case Reason::Malformed: return "malformed";
    case Reason::UnknownFlow: return "unknown-flow";
    case Reason::TableFull: return "table-full";
    case Reason::Tracked: return "tracked";
    case Reason::Rewritten: return "rewritten";
    case Reason::Held: return "held";
    case Reason::HoldOverflow: return "hold-overflow";
    case Reason::ReplayHandshake: return "replay-handshake";
    case Reason::StaleBackend: return "stale-backend";
    case Reason::MalformedMigrated: return "malformed-migrated";
    case Reason::Count: break;
  }
  return "?";
}

const char* flow_state_name(FlowState s) {
  switch (s) {
    case FlowState::SynSent: return "syn-sent";
    case FlowState::Established: return "established";
    case FlowState::Armed: return "armed";
    case FlowState::WaitTarget: return "wait-target";
    case FlowState::WaitSafePoint: return "wait-safe-point";
    case FlowState::Replaying: return "replaying";
    case FlowState::Closing: return "closing";
  }
  return "?";
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Pending: return "pending";
    case Outcome::Completed: return "completed";
    case Outcome::AbortedRst: return "aborted-rst";
    case Outcome::AbortedTimeout: return "aborted-timeout";
    case Outcome::AbortedOptions: return "aborted-options";
    case Outcome::AbortedClosing: return "aborted-closing";
    case Outcome::AbortedTable: return "aborted-table";
    case Outcome::AbortedServer: return "aborted-server";
  }
  return "?";
}

namespace {
/// "1.5s", "250ms", "12.5us", "7ns": the largest unit the value reaches,
/// with as many decimals as it needs (exact).
void append_duration(std::string& out, Nanos ns) {
  struct Unit {
    Nanos size;
    const char* name;
    int digits;
  };
  static constexpr Unit units[] = {{1'000'000'000, "s", 9}, {1'000'000, "ms", 6}, {1'000, "us", 3}};
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  for (const Unit& u : units) {
    if (ns < u.size) continue;
    out += std::to_string(ns / u.size);
    std::string frac = std::to_string(ns % u.size);
    frac.insert(0, static_cast<std::size_t>(u.digits) - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) out += "." + frac;
    out += u.name;
    return;
  }
  out += std::to_string(ns) + "ns";
}
}  // namespace

std::string trigger_text(const Trigger& t) {
  std::string s;
  switch (t.kind) {
    case Trigger::Kind::Now: s = "now"; break;
    case Trigger::Kind::AtTime: s = "at "; append_duration(s, t.at); break;
    case Trigger::Kind::AfterRequests: s = "after " + std::to_string(t.count) + " requests"; break;
    case Trigger::Kind::AfterSegments: s = "after " + std::to_string(t.count) + " segments"; break;
    case Trigger::Kind::AfterBytes: s = "after " + std::to_string(t.count) + " bytes"; break;
  }
  if (t.safe_point == SafePoint::ClientData) s += ", safe point client-data";
  if (t.safe_point == SafePoint::Quiescent) s += ", safe point quiescent";
  return s;
}

std::string options_text(const TcpOptions& o) {
  std::string s;
  auto add = [&](const std::string& part) {
    if (!s.empty()) s += ", ";
    s += part;
  };
  if (o.mss != 0) add("mss " + std::to_string(o.mss));
  if (o.window_scale) add("wscale " + std::to_string(*o.window_scale));
  if (o.sack_permitted) add("sackOK");
  if (o.timestamps) add("TS");
  return s.empty() ? "none" : s;
}

// ---------------------------------------------------------------------------
// State

namespace {

/// Flow flag bits.
enum : uint8_t {
  kClientFin = 1,    // client sent FIN
  kServerFin = 2,    // server sent FIN
  kReset = 4,        // a RST passed
  kServerSpoke = 8,  // server data since the last new client data
  kMapped = 16,      // migrated at least once: every packet is rewritten
  kExpiring = 32,    // expiry deadline scheduled
  kFree = 64,        // the slot holds no flow
  kSynAcked = 128,   // the server's SYN-ACK was seen
};

/// Option bits: what the old (original) server and the current backend accepted.
enum : uint8_t {
  kOrigSack = 1, kOrigTs = 2, kOrigWs = 4,
  kBackSack = 8, kBackTs = 16, kBackWs = 32,
  kClientSack = 64, kClientTs = 128,
};

/// The part of a client connection every packet touches: one cache line.
/// (FlowCold holds the rest; the index adds 32-40 bytes: <= 128 per flow.)
struct alignas(64) Flow {
  uint32_t client_ip, service_ip, backend_ip;
  uint16_t client_port, service_port, backend_port;
  uint16_t client_window;  // last window field from the client (client scaling)
  uint16_t requests;       // client requests (turns), saturating at 65535
  FlowState state;
  uint8_t flags;          // kClientFin...
  uint8_t opts;           // kOrigSack...
  uint8_t client_ws;      // client's window scale (kNoScale: none)
  uint8_t orig_ws;        // the original server's window scale (kNoScale: none)
  uint8_t backend_ws;     // the current backend's window scale (kNoScale: none)
  uint32_t client_nxt;    // highest client seq + len seen
  uint32_t server_ack;    // highest ack from the server (client seq space)
  uint32_t server_nxt;    // highest server seq + len seen (client view)
  uint32_t client_ack;    // highest ack from the client (client view of server seq)
  uint32_t seq_delta;     // client view = backend seq + seq_delta
  uint32_t ts_delta;      // client view = backend TSval + ts_delta
  uint32_t client_tsval;  // latest TSval from the client
  uint32_t server_tsval;  // latest TSval from the server (client view)
  uint32_t segments;      // client data segments with new data
};
static_assert(sizeof(Flow) == 64, "a flow's per-packet state is one cache line");

/// The part of a flow that handshakes and migrations use.
struct FlowCold {
  uint32_t client_isn;          // client's SYN seq
  uint32_t migration;           // pending migration slot, kNone; the free-list link while kFree
  uint32_t generation;          // bumped when the slot is reused (deadline checks)
  uint16_t client_mss;          // MSS of the client's SYN (0: none)
  uint16_t client_syn_window;   // window field of the client's SYN
  uint16_t migrations;          // completed migrations
  uint16_t backend_mss;         // MSS the current backend announced (0: none)
};
static_assert(sizeof(Flow) + sizeof(FlowCold) <= 88, "flow budget: 88 bytes + at most 40 bytes of index");

/// True while a migration of the flow is pending (FlowCold::migration is set).
constexpr bool migrating(FlowState s) {
  return s == FlowState::Armed || s == FlowState::WaitTarget || s == FlowState::WaitSafePoint ||
         s == FlowState::Replaying;
}

constexpr uint8_t shift_of(uint8_t ws, bool negotiated) { return negotiated && ws != kNoScale ? ws : 0; }

}  // namespace

struct Migrator::Impl {
  /// A migration in progress (one per flow at most).
  struct Pending {
    uint32_t flow = kNone;     // flow slot
    uint32_t record = 0;       // index in records_
    Endpoint target;
    Endpoint old_backend;      // backend when the replay started
    SafePoint safe = SafePoint::ClientData;  // resolved mode
    bool wait_target = false;
    bool cut_set = false;
    bool target_key = false;   // target key inserted in the index
    uint32_t cut = 0;
    uint32_t syn_tsval = 0;    // TSval of the replayed SYN and third ACK: the client's at the cut,
                               // so no held packet is older than the target's TS.Recent (PAWS)
    uint32_t syn_tries = 0;    // SYNs sent
    uint32_t generation = 0;   // bumped when the slot is reused
    std::vector<uint32_t> held;  // hold buffers, in arrival order
    uint32_t next_free = kNone;
  };
  /// One deadline; stale entries are skipped by their generation.
  struct Deadline {
    Nanos at;
    uint64_t order;  // insertion order: ties fire first-in first-out
    enum class Kind : uint8_t { Trigger, SynRetransmit, Expire, RuleTrigger } kind;
    uint32_t index;  // pending, flow or rule
    uint32_t generation;
    bool operator>(const Deadline& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  /// A service-wide request.
  struct Rule {
    Endpoint service, target;
    Trigger trigger;
    bool wait_target;
    bool active;       // still applies to new flows
    uint64_t request;  // its request number
  };

  Impl(Migrator& m, const Config& cfg)
      : self(m),
        index(cfg.max_flows, memory(cfg)),
        flows(memory(cfg)),
        cold(memory(cfg)) {
    // All of it now: untouched pages cost nothing, and the table never moves.
    flows.reserve(cfg.max_flows);
    cold.reserve(cfg.max_flows);
  }

  static std::pmr::memory_resource* memory(const Config& cfg) {
    return cfg.table_memory != nullptr ? cfg.table_memory : std::pmr::new_delete_resource();
  }

  Migrator& self;
  detail::FlowIndex index;
  std::pmr::vector<Flow> flows;      // per-packet state, by flow slot
  std::pmr::vector<FlowCold> cold;   // the rest, same slots
  uint32_t free_flow = kNone;
  uint32_t live_flows = 0;
  std::vector<Pending> pendings;
  uint32_t free_pending = kNone;
  std::vector<std::vector<uint8_t>> buffers;  // hold buffers
  std::vector<uint32_t> free_buffers;
  std::vector<Deadline> heap;  // min-heap by (at, order)
  uint64_t deadline_order = 0;
  std::vector<Rule> rules;
  uint64_t requests = 0;  // migrate_flow / migrate_service calls so far
  std::vector<Endpoint> ready;  // targets known to be up
  /// Former backends of flows (not the service address, which is always a
  /// key): their packets are dropped as stale. (client ip, client port,
  /// backend ip, backend port) -> (flow, generation). Ordered: no hash order.
  using FormerKey = std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>;
  std::map<FormerKey, std::pair<uint32_t, uint32_t>> former;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(65535);  // packets the core makes (an IPv4 packet at most)

  // --- helpers -------------------------------------------------------------
  Counters& counters() { return self.counters_; }
  const Config& cfg() const { return self.cfg_; }
  MigrationRecord& record_of(const Pending& p) { return self.records_[p.record]; }

  static detail::PairKey key(uint32_t cip, uint16_t cport, uint32_t rip, uint16_t rport) {
    return {cip, rip, cport, rport};
  }
  static FlowKey flow_key(const Flow& f) {
    return {{Ipv4Address{f.client_ip}, f.client_port}, {Ipv4Address{f.service_ip}, f.service_port}};
  }

  /// The flow of a client->server packet (service key only).
  uint32_t find_c2s(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport) const {
    return index.find(detail::hash_key(key(cip, cport, sip, sport)), [&](uint32_t i) {
      const Flow& f = flows[i];
      return f.client_ip == cip && f.client_port == cport && f.service_ip == sip && f.service_port == sport;
    });
  }
  /// The flow of a server->client packet from rip:rport (any of its keys).
  uint32_t find_s2c(uint32_t cip, uint16_t cport, uint32_t rip, uint16_t rport) const {
    return index.find(detail::hash_key(key(cip, cport, rip, rport)), [&](uint32_t i) {
      const Flow& f = flows[i];
      if (f.client_ip != cip || f.client_port != cport) return false;
      if (f.service_ip == rip && f.service_port == rport) return true;
      if (f.backend_ip == rip && f.backend_port == rport) return true;
      if (migrating(f.state)) {
        const Pending& p = pendings[cold[i].migration];
        return p.target_key && p.target.ip.value == rip && p.target.port == rport;
      }
      return false;
    });
  }
  void erase_key(uint32_t flow, uint32_t cip, uint16_t cport, uint32_t rip, uint16_t rport) {
    index.erase(detail::hash_key(key(cip, cport, rip, rport)), flow);
  }

  void push_deadline(Nanos at, Deadline::Kind kind, uint32_t idx, uint32_t gen) {
    heap.push_back(Deadline{at, deadline_order++, kind, idx, gen});
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  }

  // --- flows ---------------------------------------------------------------
  uint32_t new_flow(const Frame& fr, Nanos now) {
    if (live_flows >= cfg().max_flows) return kNone;
    uint32_t i;
    if (free_flow != kNone) {
      i = free_flow;
      free_flow = cold[i].migration;
    } else {
      i = static_cast<uint32_t>(flows.size());
      flows.emplace_back();
      cold.emplace_back();
    }
    Flow& f = flows[i];
    FlowCold& c = cold[i];
    f = Flow{};
    c = FlowCold{0, kNone, c.generation + 1, 0, 0, 0, 0};
    f.client_ip = fr.src_ip();
    f.client_port = fr.src_port();
    f.service_ip = f.backend_ip = fr.dst_ip();
    f.service_port = f.backend_port = fr.dst_port();
    f.state = FlowState::SynSent;
    if (!index.insert(detail::hash_key(key(f.client_ip, f.client_port, f.service_ip, f.service_port)), i)) {
      f.flags = kFree;
      c.migration = free_flow;
      free_flow = i;
      return kNone;
    }
    ++live_flows;
    record_syn(i, fr);
    opened(i, now);
    return i;
  }

  /// A connection starts on flow `fi` (new, or reusing a closed flow's addresses).
  void opened(uint32_t fi, Nanos now) {
    ++counters().flows_created;
    // Service rules with count triggers apply to new flows too: the first one.
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const Rule rule = rules[r];  // a copy: begin() calls the observer
      if (!rule.active || rule.service.ip.value != flows[fi].service_ip ||
          rule.service.port != flows[fi].service_port) {
        continue;
      }
      begin(fi, rule.target, rule.trigger, now, rule.wait_target, rule.request);
      break;
    }
  }

  /// Records the client's SYN (first or retransmitted).
  void record_syn(uint32_t fi, const Frame& fr) {
    Flow& f = flows[fi];
    FlowCold& c = cold[fi];
    c.client_isn = fr.seq;
    f.client_nxt = fr.seq + 1;
    c.client_mss = fr.opt.values.mss;
    f.client_ws = fr.opt.values.window_scale.value_or(kNoScale);
    c.client_syn_window = fr.window();
    f.client_window = fr.window();
    f.opts = static_cast<uint8_t>((fr.opt.values.sack_permitted ? kClientSack : 0) |
                                  (fr.opt.values.timestamps ? kClientTs : 0));
    f.orig_ws = f.backend_ws = kNoScale;
    f.client_tsval = fr.opt.tsval;
  }

  /// Forgets the former backends of flow `i`.
  void erase_former(uint32_t i) {
    const Flow& f = flows[i];
    auto it = former.lower_bound(FormerKey{f.client_ip, f.client_port, 0, 0});
    while (it != former.end() && std::get<0>(it->first) == f.client_ip && std::get<1>(it->first) == f.client_port) {
      it = it->second.first == i ? former.erase(it) : std::next(it);
    }
  }

  void free_flow_slot(uint32_t i) {
    Flow& f = flows[i];
    erase_former(i);
    erase_key(i, f.client_ip, f.client_port, f.service_ip, f.service_port);
    if (f.backend_ip != f.service_ip || f.backend_port != f.service_port) {
      erase_key(i, f.client_ip, f.client_port, f.backend_ip, f.backend_port);
    }
    ++cold[i].generation;
    f.flags = kFree;
    cold[i].migration = free_flow;
    free_flow = i;
    --live_flows;
    ++counters().flows_expired;
  }

  /// Marks the flow closing (FIN/RST); aborts a migration that has not replayed yet.
  void closing(uint32_t fi, Nanos now) {
    Flow& f = flows[fi];
    if (migrating(f.state) && f.state != FlowState::Replaying) finish(cold[fi].migration, Outcome::AbortedClosing, now);
    if (!migrating(f.state)) f.state = FlowState::Closing;
    const bool done = (f.flags & kReset) != 0 ||
                      // A FIN is the last thing each side sends: both are acknowledged when
                      // the acknowledgements reached the highest sequence numbers.
                      ((f.flags & kClientFin) && (f.flags & kServerFin) && f.server_ack == f.client_nxt &&
                       f.client_ack == f.server_nxt);
    if (done && !(f.flags & kExpiring)) {
      f.flags |= kExpiring;
      push_deadline(now + cfg().close_linger, Deadline::Kind::Expire, fi, cold[fi].generation);
    }
  }

  // --- migrations ----------------------------------------------------------
  /// Starts a migration of flow `fi` (request time); returns the record id.
  uint64_t begin(uint32_t fi, Endpoint target, const Trigger& trig, Nanos now, bool wait_target, uint64_t request) {
    Flow& f = flows[fi];
    uint32_t pi;
    if (free_pending != kNone) {
      pi = free_pending;
      free_pending = pendings[pi].next_free;
    } else {
      pi = static_cast<uint32_t>(pendings.size());
      pendings.emplace_back();
    }
    Pending& p = pendings[pi];
    const uint32_t gen = p.generation + 1;
    std::vector<uint32_t> held = std::move(p.held);
    held.clear();
    p = Pending{};
    p.held = std::move(held);
    p.generation = gen;
    p.flow = fi;
    p.target = target;
    p.wait_target = wait_target;
    const bool count_trigger = trig.kind == Trigger::Kind::AfterRequests ||
                               trig.kind == Trigger::Kind::AfterSegments || trig.kind == Trigger::Kind::AfterBytes;
    p.safe = trig.safe_point != SafePoint::Auto ? trig.safe_point
                                                : (count_trigger ? SafePoint::ClientData : SafePoint::Quiescent);
    p.record = static_cast<uint32_t>(self.records_.size());
    MigrationRecord rec;
    rec.id = self.records_.size();
    rec.request = request;
    rec.flow = flow_key(f);
    rec.from = {Ipv4Address{f.backend_ip}, f.backend_port};
    rec.to = target;
    rec.trigger = trig;
    rec.requested_at = now;
    self.records_.push_back(rec);
    ++counters().migrations_requested;
    cold[fi].migration = pi;
    f.state = FlowState::Armed;
    switch (trig.kind) {
      case Trigger::Kind::Now: fire(pi, now); break;
      case Trigger::Kind::AtTime:
        if (trig.at <= now) {
          fire(pi, now);
        } else {
          push_deadline(trig.at, Deadline::Kind::Trigger, pi, p.generation);
        }
        break;
      default: check_count(pi, now); break;
    }
    return rec.id;
  }

  /// Count triggers: fire once the flow reached the count.
  void check_count(uint32_t pi, Nanos now) {
    Pending& p = pendings[pi];
    const Flow& f = flows[p.flow];
    if (f.state != FlowState::Armed) return;
    const Trigger& t = record_of(p).trigger;
    uint64_t have = 0;
    switch (t.kind) {
      case Trigger::Kind::AfterRequests: have = f.requests; break;
      case Trigger::Kind::AfterSegments: have = f.segments; break;
      case Trigger::Kind::AfterBytes:
        have = (f.flags & kSynAcked) ? uint64_t{f.client_nxt - cold[p.flow].client_isn - 1} : 0;
        break;
      default: return;
    }
    if (have >= t.count) fire(pi, now);
  }

  /// The trigger fired.
  void fire(uint32_t pi, Nanos now) {
    const uint32_t fi = pendings[pi].flow;
    record_of(pendings[pi]).triggered_at = now;
    if (self.observer_ != nullptr) self.observer_->on_triggered(record_of(pendings[pi]));
    // Looked up again: observers must not call into the core, but if one does
    // the vectors may have moved.
    Pending& p = pendings[pi];
    Flow& f = flows[fi];
    if (!migrating(f.state) || cold[fi].migration != pi) return;
    if (f.flags & (kClientFin | kServerFin | kReset)) {
      finish(pi, Outcome::AbortedClosing, now);
      return;
    }
    if (p.wait_target && !target_is_ready(p.target)) {
      f.state = FlowState::WaitTarget;
      return;
    }
    f.state = FlowState::WaitSafePoint;
    try_safe_point(pi, now);
  }

  bool target_is_ready(const Endpoint& t) const {
    return std::find(ready.begin(), ready.end(), t) != ready.end();
  }

  /// Starts the replay if the flow is at its safe point (rule 3).
  void try_safe_point(uint32_t pi, Nanos now) {
    Pending& p = pendings[pi];
    const Flow& f = flows[p.flow];
    if (f.state != FlowState::WaitSafePoint) return;
    if (f.flags & (kClientFin | kServerFin | kReset)) {
      finish(pi, Outcome::AbortedClosing, now);
      return;
    }
    if (!(f.flags & kSynAcked)) return;
    const bool server_acked = f.client_ack == f.server_nxt;
    if (p.safe == SafePoint::Quiescent) {
      if (server_acked && f.server_ack == f.client_nxt) {
        p.cut = f.client_nxt;
        p.syn_tsval = f.client_tsval;
        p.cut_set = true;
        start_replay(pi, now);
      }
      return;
    }
    if (p.cut_set && server_acked && f.server_ack == p.cut) start_replay(pi, now);
  }

  void start_replay(uint32_t pi, Nanos now) {
    Pending& p = pendings[pi];
    Flow& f = flows[p.flow];
    p.old_backend = {Ipv4Address{f.backend_ip}, f.backend_port};
    const bool is_service = p.target.ip.value == f.service_ip && p.target.port == f.service_port;
    if (!is_service) {
      const uint32_t other = find_s2c(f.client_ip, f.client_port, p.target.ip.value, p.target.port);
      if (other != kNone ||
          !index.insert(detail::hash_key(key(f.client_ip, f.client_port, p.target.ip.value, p.target.port)),
                        p.flow)) {
        finish(pi, Outcome::AbortedTable, now);
        return;
      }
      p.target_key = true;
    }
    f.state = FlowState::Replaying;
    MigrationRecord& rec = record_of(p);
    rec.safe_point_at = now;
    rec.cut = p.cut;
    rec.client_options.mss = cold[p.flow].client_mss;
    if (f.client_ws != kNoScale) rec.client_options.window_scale = f.client_ws;
    rec.client_options.sack_permitted = (f.opts & kClientSack) != 0;
    rec.client_options.timestamps = (f.opts & kClientTs) != 0;
    rec.old_options.mss = cold[p.flow].backend_mss;
    if (f.opts & kBackWs) rec.old_options.window_scale = f.backend_ws;
    rec.old_options.sack_permitted = (f.opts & kBackSack) != 0;
    rec.old_options.timestamps = (f.opts & kBackTs) != 0;
    send_syn(pi, now);
  }

  void send_syn(uint32_t pi, Nanos now) {
    Pending& p = pendings[pi];
    const Flow& f = flows[p.flow];
    wire::TcpRepr syn;
    syn.src_port = f.client_port;
    syn.dst_port = p.target.port;
    syn.seq = wire::SeqNumber{p.cut - 1};
    syn.flags = flag::SYN;
    const FlowCold& c = cold[p.flow];
    syn.window = c.client_syn_window;
    if (c.client_mss != 0) syn.mss = c.client_mss;
    if ((f.opts & kOrigWs) && f.client_ws != kNoScale) syn.window_scale = f.client_ws;
    syn.sack_permitted = (f.opts & kOrigSack) != 0;
    if (f.opts & kOrigTs) syn.timestamps = std::pair<uint32_t, uint32_t>{p.syn_tsval, 0};
    emit_tcp(syn, f.client_ip, p.target.ip.value, Direction::ClientToServer);
    ++p.syn_tries;
    ++record_of(p).syn_sent;
    ++counters().syn_sent;
    Nanos rto = cfg().replay_rto;  // doubled per retry, saturating
    for (uint32_t i = 1; i < p.syn_tries && rto < kNever / 4; ++i) rto *= 2;
    push_deadline(now + rto, Deadline::Kind::SynRetransmit, pi, p.generation);
  }

  /// Writes IPv4 + `tcp` into the scratch buffer; empty if it does not fit.
  std::span<uint8_t> build_tcp(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst) {
    wire::Ipv4Repr ip;
    ip.src = Ipv4Address{src};
    ip.dst = Ipv4Address{dst};
    ip.protocol = wire::ip_proto::tcp;
    ip.ttl = cfg().ttl;
    const std::size_t l4 = tcp.buffer_len();
    if (l4 > scratch.size() - wire::Ipv4Repr::header_len()) return {};
    ip.payload_len = static_cast<uint16_t>(l4);
    auto buf = std::span<uint8_t>(scratch.data(), wire::Ipv4Repr::header_len() + l4);
    auto seg = tcp.emit(buf.subspan(wire::Ipv4Repr::header_len()), ip.src, ip.dst);
    auto hdr = ip.emit(buf);
    if (!seg || !hdr) return {};
    return buf;
  }
  void emit_tcp(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst, Direction dir) {
    if (auto buf = build_tcp(tcp, src, dst); !buf.empty()) self.sink_->emit(buf, dir);
  }

  /// While the cut is set, gives the current backend what a held client
  /// segment carries for it (rule 3): the bytes before the cut when the
  /// segment straddles it, else its acknowledgement as a pure ACK. Made in
  /// the client's view, then rewritten like any client packet of the flow.
  void forward_before_cut(const Flow& f, const Frame& fr, uint32_t cut) {
    const bool straddle = seq_after(cut, fr.seq);
    wire::TcpRepr t;
    t.src_port = f.client_port;
    t.dst_port = f.service_port;
    t.seq = wire::SeqNumber{straddle ? fr.seq : cut};
    t.ack = wire::SeqNumber{fr.ack};
    t.flags = static_cast<uint8_t>(flag::ACK | (straddle ? flag::PSH : 0));
    t.window = fr.window();
    if (fr.opt.values.timestamps) t.timestamps = std::pair<uint32_t, uint32_t>{fr.opt.tsval, fr.opt.tsecr};
    if (straddle) t.payload = std::span<const uint8_t>(fr.tcp + fr.tcp_hlen, cut - fr.seq);
    auto buf = build_tcp(t, f.client_ip, f.service_ip);
    if (buf.empty()) return;
    Frame out;
    if (parse(buf, out) != Reason::Count) return;
    if (f.flags & kMapped) rewrite_c2s(f, out);
    self.sink_->emit(buf, Direction::ClientToServer);
  }

  void send_rst(const Flow& f, Endpoint to, uint32_t seq) {
    wire::TcpRepr rst;
    rst.src_port = f.client_port;
    rst.dst_port = to.port;
    rst.seq = wire::SeqNumber{seq};
    rst.flags = flag::RST;
    emit_tcp(rst, f.client_ip, to.ip.value, Direction::ClientToServer);
    ++counters().resets_sent;
  }

  /// The target's SYN-ACK to the replayed SYN.
  void on_synack(uint32_t pi, const Frame& fr, Nanos now) {
    Pending& p = pendings[pi];
    Flow& f = flows[p.flow];
    MigrationRecord& rec = record_of(p);
    rec.synack_at = now;
    rec.new_options = fr.opt.values;
    if ((f.opts & kOrigTs) && !fr.opt.values.timestamps) {
      send_rst(f, p.target, p.cut);
      finish(pi, Outcome::AbortedOptions, now);
      return;
    }
    const uint32_t isn = fr.seq;
    f.seq_delta = f.server_nxt - (isn + 1);
    f.ts_delta = fr.opt.values.timestamps ? f.server_tsval - fr.opt.tsval : 0;
    f.opts = static_cast<uint8_t>(f.opts & ~(kBackSack | kBackTs | kBackWs));
    if ((f.opts & kOrigSack) && fr.opt.values.sack_permitted) f.opts |= kBackSack;
    if ((f.opts & kOrigTs) && fr.opt.values.timestamps) f.opts |= kBackTs;
    if ((f.opts & kOrigWs) && fr.opt.values.window_scale) {
      f.opts |= kBackWs;
      f.backend_ws = *fr.opt.values.window_scale;
    } else {
      f.backend_ws = kNoScale;
    }
    // Switch the flow to the target.
    const Endpoint old = p.old_backend;
    const bool old_is_service = old.ip.value == f.service_ip && old.port == f.service_port;
    if (!old_is_service) {
      erase_key(p.flow, f.client_ip, f.client_port, old.ip.value, old.port);
      former[FormerKey{f.client_ip, f.client_port, old.ip.value, old.port}] = {p.flow, cold[p.flow].generation};
    }
    former.erase(FormerKey{f.client_ip, f.client_port, p.target.ip.value, p.target.port});
    f.backend_ip = p.target.ip.value;
    f.backend_port = p.target.port;
    cold[p.flow].backend_mss = fr.opt.values.mss;
    p.target_key = false;  // it is the backend key now
    f.flags |= kMapped;
    ++cold[p.flow].migrations;
    // The third ACK, in the target's numbers.
    wire::TcpRepr ack;
    ack.src_port = f.client_port;
    ack.dst_port = p.target.port;
    ack.seq = wire::SeqNumber{p.cut};
    ack.ack = wire::SeqNumber{isn + 1};
    ack.flags = flag::ACK;
    ack.window = c2s_window(f, f.client_window);
    if (f.opts & kBackTs) ack.timestamps = std::pair<uint32_t, uint32_t>{p.syn_tsval, fr.opt.tsval};
    emit_tcp(ack, f.client_ip, p.target.ip.value, Direction::ClientToServer);
    rec.seq_delta = f.seq_delta;
    rec.ts_delta = f.ts_delta;
    finish(pi, Outcome::Completed, now);
    if (cfg().reset_old_backend) send_rst(f, old, f.server_ack);
  }

  /// Ends a migration: releases held packets (rewritten for the flow's backend
  /// now), records the outcome, frees the slot.
  void finish(uint32_t pi, Outcome outcome, Nanos now) {
    Pending& p = pendings[pi];
    const uint32_t fi = p.flow;
    Flow& f = flows[fi];
    MigrationRecord& rec = record_of(p);
    rec.outcome = outcome;
    rec.finished_at = now;
    if (outcome == Outcome::Completed) {
      ++counters().migrations_completed;
    } else {
      ++counters().migrations_aborted;
      if (p.target_key) {
        erase_key(p.flow, f.client_ip, f.client_port, p.target.ip.value, p.target.port);
        p.target_key = false;
      }
      // A target that may hold a half-open connection is reset (seq = cut is
      // its RCV.NXT once it got the SYN).
      if (outcome == Outcome::AbortedTimeout || outcome == Outcome::AbortedServer) send_rst(f, p.target, p.cut);
    }
    cold[fi].migration = kNone;
    f.state = (f.flags & (kClientFin | kServerFin | kReset)) ? FlowState::Closing
              : (f.flags & kSynAcked)                        ? FlowState::Established
                                                             : FlowState::SynSent;
    // Release what was held, in order.
    for (uint32_t b : p.held) {
      std::vector<uint8_t>& buf = buffers[b];
      Frame fr;
      if (parse(buf, fr) == Reason::Count && !fr.opt.malformed) {
        rewrite_c2s(f, fr);
        self.sink_->emit(buf, Direction::ClientToServer);
      }
      free_buffers.push_back(b);
    }
    p.held.clear();
    ++p.generation;
    p.flow = kNone;
    p.next_free = free_pending;
    free_pending = pi;
    if (self.observer_ != nullptr) self.observer_->on_finished(rec);
    if (f.flags & (kClientFin | kServerFin | kReset)) closing(fi, now);
  }

  void hold(Pending& p, std::span<const uint8_t> pkt, Nanos now) {
    uint32_t b;
    if (!free_buffers.empty()) {
      b = free_buffers.back();
      free_buffers.pop_back();
    } else {
      b = static_cast<uint32_t>(buffers.size());
      buffers.emplace_back();
    }
    buffers[b].assign(pkt.begin(), pkt.end());
    p.held.push_back(b);
    MigrationRecord& rec = record_of(p);
    ++rec.held;
    if (rec.first_hold_at == kNever) rec.first_hold_at = now;
  }

  // --- rewriting -----------------------------------------------------------
  static uint16_t rescale(uint16_t field, uint8_t from, uint8_t to) {
    if (from == to) return field;
    const uint64_t real = uint64_t{field} << from;
    const uint64_t out = (real + (uint64_t{1} << to) - 1) >> to;  // rounded up: never 0 from nonzero
    return static_cast<uint16_t>(std::min<uint64_t>(out, 0xffff));
  }
  /// A client window field as the backend reads it.
  static uint16_t c2s_window(const Flow& f, uint16_t field) {
    return rescale(field, shift_of(f.client_ws, f.opts & kOrigWs), shift_of(f.client_ws, f.opts & kBackWs));
  }

  /// Client -> backend (the flow is mapped).
  static void rewrite_c2s(const Flow& f, Frame& fr) {
    fr.set_address(16, f.backend_ip);
    fr.set16(2, f.backend_port);
    const bool syn = (fr.flags & flag::SYN) != 0;
    if (fr.flags & flag::ACK) fr.set32(8, fr.ack - f.seq_delta);
    if (!syn) fr.set16(14, c2s_window(f, fr.window()));
    if (fr.opt.ts >= 0 && (fr.flags & flag::ACK) && fr.opt.tsecr != 0) {
      fr.set32(static_cast<std::size_t>(fr.opt.ts) + 6, fr.opt.tsecr - f.ts_delta);
    }
    if (fr.opt.sack >= 0) {
      if (!(f.opts & kBackSack)) {
        fr.nop_sack();
      } else {
        const std::size_t blocks = (fr.opt.sack_len - 2U) / 8U;
        for (std::size_t i = 0; i < 2 * blocks; ++i) {
          const std::size_t at = static_cast<std::size_t>(fr.opt.sack) + 2 + 4 * i;
          fr.set32(at, load_be32(fr.tcp + at) - f.seq_delta);
        }
      }
    }
  }

  /// Backend -> client (the flow is mapped).
  static void rewrite_s2c(const Flow& f, Frame& fr) {
    fr.set_address(12, f.service_ip);
    fr.set16(0, f.service_port);
    fr.set32(4, fr.seq + f.seq_delta);
    if (!(fr.flags & flag::SYN)) {
      fr.set16(14, rescale(fr.window(), shift_of(f.backend_ws, f.opts & kBackWs), shift_of(f.orig_ws, f.opts & kOrigWs)));
    }
    if (fr.opt.ts >= 0) fr.set32(static_cast<std::size_t>(fr.opt.ts) + 2, fr.opt.tsval + f.ts_delta);
  }

  // --- per direction -------------------------------------------------------
  Verdict client_to_server(uint32_t fi, std::span<uint8_t> pkt, Frame& fr, Nanos now) {
    Flow& f = flows[fi];
    if (fr.opt.malformed) {
      return (f.flags & kMapped) ? drop(Reason::MalformedMigrated) : pass(Reason::Malformed);
    }
    const bool syn = (fr.flags & flag::SYN) != 0;
    if (syn && !(fr.flags & (flag::ACK | flag::RST))) {
      if (f.state == FlowState::Closing && fr.seq != cold[fi].client_isn) {
        // A new connection on the same addresses (TIME_WAIT reuse): start over
        // on the service address.
        if (f.backend_ip != f.service_ip || f.backend_port != f.service_port) {
          erase_key(fi, f.client_ip, f.client_port, f.backend_ip, f.backend_port);
        }
        erase_former(fi);
        const Flow copy = f;
        f = Flow{};
        f.client_ip = copy.client_ip;
        f.client_port = copy.client_port;
        f.service_ip = f.backend_ip = copy.service_ip;
        f.service_port = f.backend_port = copy.service_port;
        cold[fi] = FlowCold{0, kNone, cold[fi].generation + 1, 0, 0, 0, 0};
        f.state = FlowState::SynSent;
        record_syn(fi, fr);
        opened(fi, now);
        return pass(Reason::Tracked);
      }
      if (!(f.flags & kSynAcked)) {
        record_syn(fi, fr);
        return pass(Reason::Tracked);
      }
    }
    // Track (client view: the client's numbers are never translated).
    const uint32_t old_nxt = f.client_nxt;
    const uint32_t old_ack = f.client_ack;
    const uint32_t end = fr.seq + fr.seq_len();
    const bool new_data = fr.payload > 0 && seq_after(end, old_nxt);
    // The highest TSval (wrap-aware), not the last: a reordered old segment must
    // not pull the target's TS.Recent (via the replayed SYN) backwards.
    if (fr.opt.values.timestamps && !seq_after(f.client_tsval, fr.opt.tsval)) f.client_tsval = fr.opt.tsval;
    if (seq_after(end, f.client_nxt)) f.client_nxt = end;
    if ((fr.flags & flag::ACK) && (f.flags & kSynAcked) && seq_after(fr.ack, f.client_ack)) f.client_ack = fr.ack;
    if (!syn) f.client_window = fr.window();
    if (new_data) {
      if ((f.segments == 0 || (f.flags & kServerSpoke)) && f.requests != 0xffff) ++f.requests;
      ++f.segments;
      f.flags &= static_cast<uint8_t>(~kServerSpoke);
    }
    if (fr.flags & flag::FIN) {
      f.flags |= kClientFin;
    }
    if (fr.flags & flag::RST) f.flags |= kReset;

    Verdict v = (f.flags & kMapped) ? Verdict{Action::Modified, Reason::Rewritten} : pass(Reason::Tracked);
    bool held = false;
    if (migrating(f.state)) {
      const uint32_t pi = cold[fi].migration;
      Pending& p = pendings[pi];
      if (f.state == FlowState::Replaying) {
        held = true;
      } else if (f.state == FlowState::WaitSafePoint && p.safe == SafePoint::ClientData) {
        if (!p.cut_set && new_data && fr.seq == old_nxt && !(fr.flags & (flag::FIN | flag::RST))) {
          p.cut = fr.seq;
          p.syn_tsval = f.client_tsval;  // this packet's TSval when it has one
          p.cut_set = true;
        }
        // Data or FIN at or beyond the cut is held; pure ACKs pass to the old backend.
        if (p.cut_set && seq_after(end, p.cut) && (fr.payload > 0 || (fr.flags & (flag::FIN | flag::RST)))) {
          held = true;
          const bool straddle = seq_after(p.cut, fr.seq) && fr.payload > 0;
          const bool new_ack = (fr.flags & flag::ACK) && seq_after(fr.ack, old_ack);
          if ((straddle || new_ack) && !(fr.flags & flag::RST) && p.held.size() < cfg().hold_packets) {
            forward_before_cut(f, fr, p.cut);
          }
        }
      }
      if (held) {
        if (p.held.size() >= cfg().hold_packets) {
          ++record_of(p).hold_dropped;
          v = drop(Reason::HoldOverflow);
        } else {
          hold(p, pkt, now);
          v = drop(Reason::Held);
        }
      }
    }
    if (!held && (f.flags & kMapped)) rewrite_c2s(f, fr);
    // After the packet: triggers, safe point, closing.
    if (migrating(f.state)) {
      const uint32_t pi = cold[fi].migration;
      if (f.state == FlowState::Armed) check_count(pi, now);
      if (f.state == FlowState::WaitSafePoint && cold[fi].migration == pi) try_safe_point(pi, now);
    }
    if (f.flags & (kClientFin | kServerFin | kReset)) closing(fi, now);
    return v;
  }

  Verdict server_to_client(uint32_t fi, Frame& fr, Nanos now) {
    Flow& f = flows[fi];
    const uint32_t src = fr.src_ip();
    const uint16_t sport = fr.src_port();
    const bool from_backend = src == f.backend_ip && sport == f.backend_port;
    if (migrating(f.state)) {
      const uint32_t pi = cold[fi].migration;
      Pending& p = pendings[pi];
      if (f.state == FlowState::Replaying && src == p.target.ip.value && sport == p.target.port) {
        if (fr.flags & flag::RST) {
          if ((fr.flags & flag::ACK) && fr.ack == p.cut) finish(pi, Outcome::AbortedRst, now);
        } else if ((fr.flags & (flag::SYN | flag::ACK)) == (flag::SYN | flag::ACK) && fr.ack == p.cut &&
                   !fr.opt.malformed) {
          on_synack(pi, fr, now);
        }
        return drop(Reason::ReplayHandshake);
      }
    }
    if (!from_backend) return drop(Reason::StaleBackend);
    if (fr.opt.malformed) {
      return (f.flags & kMapped) ? drop(Reason::MalformedMigrated) : pass(Reason::Malformed);
    }
    const bool syn = (fr.flags & flag::SYN) != 0;
    if (syn && (fr.flags & flag::ACK) && !(f.flags & (kSynAcked | kMapped))) {
      // The original server's SYN-ACK: what it accepted.
      const TcpOptions& o = fr.opt.values;
      f.opts = static_cast<uint8_t>(f.opts & (kClientSack | kClientTs));
      if (o.sack_permitted && (f.opts & kClientSack)) f.opts |= kOrigSack | kBackSack;
      if (o.timestamps && (f.opts & kClientTs)) f.opts |= kOrigTs | kBackTs;
      if (o.window_scale && f.client_ws != kNoScale) {
        f.opts |= kOrigWs | kBackWs;
        f.orig_ws = f.backend_ws = *o.window_scale;
      }
      cold[fi].backend_mss = o.mss;
      f.server_nxt = fr.seq + 1;
      f.client_ack = fr.seq + 1;
      f.server_ack = fr.ack;
      if (o.timestamps) f.server_tsval = fr.opt.tsval;
      f.flags |= kSynAcked;
      if (f.state == FlowState::SynSent) f.state = FlowState::Established;
      return pass(Reason::Tracked);
    }
    // Track (client view).
    const uint32_t old_server_nxt = f.server_nxt;
    const uint32_t seq = fr.seq + f.seq_delta;
    const uint32_t end = seq + fr.seq_len();
    if (seq_after(end, f.server_nxt)) f.server_nxt = end;
    if (fr.payload > 0) f.flags |= kServerSpoke;
    if ((fr.flags & flag::ACK) && seq_after(fr.ack, f.server_ack)) f.server_ack = fr.ack;
    if (fr.opt.values.timestamps && !seq_after(f.server_tsval, fr.opt.tsval + f.ts_delta)) {
      f.server_tsval = fr.opt.tsval + f.ts_delta;  // the highest, as for the client
    }
    if (fr.flags & flag::FIN) {
      f.flags |= kServerFin;
    }
    if (fr.flags & flag::RST) f.flags |= kReset;
    Verdict v = pass(Reason::Tracked);
    if (f.flags & kMapped) {
      rewrite_s2c(f, fr);
      v = Verdict{Action::Modified, Reason::Rewritten};
    }
    if (f.state == FlowState::WaitSafePoint) try_safe_point(cold[fi].migration, now);
    // The old backend moved on during the replay: its new bytes (or FIN)
    // could not be retransmitted once it is reset, so the flow stays.
    if (f.state == FlowState::Replaying && (seq_after(f.server_nxt, old_server_nxt) || (fr.flags & flag::RST))) {
      finish(cold[fi].migration, Outcome::AbortedServer, now);
    }
    if (f.flags & (kClientFin | kServerFin | kReset)) closing(fi, now);
    return v;
  }

  Verdict process(std::span<uint8_t> ipv4, Direction dir, Nanos now);

  /// True while a deadline still means something.
  bool live(const Deadline& d) const {
    switch (d.kind) {
      case Deadline::Kind::Trigger:
        return pendings[d.index].generation == d.generation && flows[pendings[d.index].flow].state == FlowState::Armed;
      case Deadline::Kind::SynRetransmit:
        return pendings[d.index].generation == d.generation &&
               flows[pendings[d.index].flow].state == FlowState::Replaying;
      case Deadline::Kind::Expire:
        return cold[d.index].generation == d.generation && !(flows[d.index].flags & kFree);
      case Deadline::Kind::RuleTrigger: return true;
    }
    return false;
  }
  /// Drops dead deadlines from the top, so next_deadline() is a real one.
  void prune() {
    while (!heap.empty() && !live(heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
      heap.pop_back();
    }
  }

  // Verdicts are counted once, in Migrator::process.
  static Verdict pass(Reason r) { return {Action::Pass, r}; }
  static Verdict drop(Reason r) { return {Action::Drop, r}; }
};

// ---------------------------------------------------------------------------
// Public API

Migrator::Migrator(const Config& cfg, PacketSink& sink)
    : cfg_(cfg), sink_(&sink), impl_(std::make_unique<Impl>(*this, cfg)) {}

Migrator::~Migrator() = default;

Verdict Migrator::process(std::span<uint8_t> ipv4, Direction dir, Nanos now) {
  ++counters_.packets;
  const Verdict v = impl_->process(ipv4, dir, now);
  ++counters_.by_reason[static_cast<std::size_t>(v.reason)];
  impl_->prune();
  return v;
}

Verdict Migrator::Impl::process(std::span<uint8_t> ipv4, Direction dir, Nanos now) {
  Impl& m = *this;
  Frame fr;
  if (const Reason r = parse(ipv4, fr); r != Reason::Count) return m.pass(r);
  if (dir == Direction::ClientToServer) {
    const uint32_t fi = m.find_c2s(fr.src_ip(), fr.src_port(), fr.dst_ip(), fr.dst_port());
    if (fi != kNone) return m.client_to_server(fi, ipv4, fr, now);
    if ((fr.flags & (flag::SYN | flag::ACK | flag::RST)) == flag::SYN && !fr.opt.malformed) {
      return m.new_flow(fr, now) != kNone ? m.pass(Reason::Tracked) : m.pass(Reason::TableFull);
    }
    return m.pass(fr.opt.malformed ? Reason::Malformed : Reason::UnknownFlow);
  }
  const uint32_t fi = m.find_s2c(fr.dst_ip(), fr.dst_port(), fr.src_ip(), fr.src_port());
  if (fi == kNone) {
    if (!m.former.empty()) {
      const auto it = m.former.find(FormerKey{fr.dst_ip(), fr.dst_port(), fr.src_ip(), fr.src_port()});
      if (it != m.former.end() && m.cold[it->second.first].generation == it->second.second) {
        return drop(Reason::StaleBackend);
      }
    }
    return m.pass(fr.opt.malformed ? Reason::Malformed : Reason::UnknownFlow);
  }
  return m.server_to_client(fi, fr, now);
}

void Migrator::process_burst(std::span<BurstPacket> burst, Nanos now) {
  // A software pipeline: packet i + 2D has its flow-table slot prefetched
  // while packet i + D has its flow prefetched (the slot arrived meanwhile)
  // and packet i is processed (its flow arrived meanwhile).
  constexpr std::size_t kDistance = 8;
  constexpr std::size_t kRing = 4 * kDistance;  // > 2D: hashes of the packets in flight
  Impl& m = *impl_;
  std::array<uint32_t, kRing> hashes{};
  std::array<bool, kRing> tcp{};
  const std::size_t n = burst.size();
  for (std::size_t i = 0; i < n + 2 * kDistance; ++i) {
    if (i < n) {  // slot of packet i
      const std::span<const uint8_t> b = burst[i].ipv4;
      const std::size_t r = i % kRing;
      tcp[r] = false;
      if (b.size() >= 20 && (b[0] >> 4) == 4 && b[9] == wire::ip_proto::tcp) {
        const std::size_t hl = std::size_t{static_cast<uint8_t>(b[0] & 0x0f)} * 4;
        if (hl >= 20 && b.size() >= hl + 4) {
          const uint32_t src = load_be32(b.data() + 12), dst = load_be32(b.data() + 16);
          const uint16_t sport = load_be16(b.data() + hl), dport = load_be16(b.data() + hl + 2);
          hashes[r] = burst[i].dir == Direction::ClientToServer
                          ? detail::hash_key(Impl::key(src, sport, dst, dport))
                          : detail::hash_key(Impl::key(dst, dport, src, sport));
          tcp[r] = true;
          m.index.prefetch(hashes[r]);
        }
      }
    }
    if (i >= kDistance && i - kDistance < n) {  // flow of packet i - D
      const std::size_t r = (i - kDistance) % kRing;
      if (tcp[r]) {
        const uint32_t fi = m.index.candidate(hashes[r]);
        if (fi != detail::FlowIndex::kEmpty && fi < m.flows.size()) {
          __builtin_prefetch(&m.flows[fi]);  // one cache line
        }
      }
    }
    if (i >= 2 * kDistance) {  // packet i - 2D itself
      BurstPacket& pkt = burst[i - 2 * kDistance];
      pkt.verdict = process(pkt.ipv4, pkt.dir, now);
    }
  }
}

void Migrator::poll(Nanos now) {
  Impl& m = *impl_;
  while (!m.heap.empty() && m.heap.front().at <= now) {
    std::pop_heap(m.heap.begin(), m.heap.end(), std::greater<>{});
    const Impl::Deadline d = m.heap.back();
    m.heap.pop_back();
    switch (d.kind) {
      case Impl::Deadline::Kind::Trigger: {
        if (d.generation != m.pendings[d.index].generation) break;
        if (m.flows[m.pendings[d.index].flow].state == FlowState::Armed) m.fire(d.index, d.at);
        break;
      }
      case Impl::Deadline::Kind::SynRetransmit: {
        Impl::Pending& p = m.pendings[d.index];
        if (d.generation != p.generation || m.flows[p.flow].state != FlowState::Replaying) break;
        if (p.syn_tries > cfg_.replay_retries) {
          m.finish(d.index, Outcome::AbortedTimeout, d.at);
        } else {
          m.send_syn(d.index, d.at);
        }
        break;
      }
      case Impl::Deadline::Kind::Expire: {
        const Flow& f = m.flows[d.index];
        if (d.generation != m.cold[d.index].generation || (f.flags & kFree) || !(f.flags & kExpiring)) break;
        if (migrating(f.state)) {
          // A replay still runs: when it ends, finish() -> closing() schedules
          // the expiry again.
          m.flows[d.index].flags &= static_cast<uint8_t>(~kExpiring);
          break;
        }
        m.free_flow_slot(d.index);
        break;
      }
      case Impl::Deadline::Kind::RuleTrigger: {
        const Impl::Rule rule = m.rules[d.index];  // a copy: begin() calls the observer
        for (uint32_t i = 0; i < m.flows.size(); ++i) {
          const Flow& f = m.flows[i];
          if ((f.flags & kFree) || migrating(f.state) || f.state == FlowState::Closing) continue;
          if (f.service_ip != rule.service.ip.value || f.service_port != rule.service.port) continue;
          if (f.backend_ip == rule.target.ip.value && f.backend_port == rule.target.port) continue;
          m.begin(i, rule.target, rule.trigger, d.at, rule.wait_target, rule.request);
        }
        break;
      }
    }
  }
  m.prune();
}

Nanos Migrator::next_deadline() const { return impl_->heap.empty() ? kNever : impl_->heap.front().at; }

wire::Result<uint64_t> Migrator::migrate_flow(const FlowKey& flow, Endpoint target, Trigger trigger, Nanos now,
                                              bool wait_for_target) {
  Impl& m = *impl_;
  const uint32_t fi = m.find_c2s(flow.client.ip.value, flow.client.port, flow.service.ip.value, flow.service.port);
  if (fi == kNone) return wire::Error::Unsupported;
  const Flow& f = m.flows[fi];
  if (migrating(f.state) || f.state == FlowState::Closing || !(f.flags & kSynAcked) ||
      (f.backend_ip == target.ip.value && f.backend_port == target.port)) {
    return wire::Error::Unsupported;
  }
  const uint64_t id = m.begin(fi, target, trigger, now, wait_for_target, m.requests++);
  m.prune();
  return id;
}

uint64_t Migrator::migrate_service(Endpoint service, Endpoint target, Trigger trigger, Nanos now,
                                   bool wait_for_target) {
  Impl& m = *impl_;
  const uint64_t request = m.requests++;
  const bool count = trigger.kind == Trigger::Kind::AfterRequests || trigger.kind == Trigger::Kind::AfterSegments ||
                     trigger.kind == Trigger::Kind::AfterBytes;
  m.rules.push_back({service, target, trigger, wait_for_target, count, request});
  if (trigger.kind == Trigger::Kind::AtTime && trigger.at > now) {
    m.push_deadline(trigger.at, Impl::Deadline::Kind::RuleTrigger, static_cast<uint32_t>(m.rules.size() - 1), 0);
    return request;
  }
  for (uint32_t i = 0; i < m.flows.size(); ++i) {
    const Flow& f = m.flows[i];
    if ((f.flags & kFree) || migrating(f.state) || f.state == FlowState::Closing) continue;
    if (f.service_ip != service.ip.value || f.service_port != service.port) continue;
    if (f.backend_ip == target.ip.value && f.backend_port == target.port) continue;
    m.begin(i, target, trigger, now, wait_for_target, request);
  }
  m.prune();
  return request;
}

void Migrator::target_ready(Endpoint target, Nanos now) {
  Impl& m = *impl_;
  if (!m.target_is_ready(target)) m.ready.push_back(target);
  for (uint32_t pi = 0; pi < m.pendings.size(); ++pi) {
    Impl::Pending& p = m.pendings[pi];
    if (p.flow == kNone) continue;
    Flow& f = m.flows[p.flow];
    if (f.state != FlowState::WaitTarget || m.cold[p.flow].migration != pi || !(p.target == target)) continue;
    f.state = FlowState::WaitSafePoint;
    m.try_safe_point(pi, now);
  }
  m.prune();
}

std::optional<FlowStatus> Migrator::status(const FlowKey& flow) const {
  const Impl& m = *impl_;
  const uint32_t fi = m.find_c2s(flow.client.ip.value, flow.client.port, flow.service.ip.value, flow.service.port);
  if (fi == kNone) return std::nullopt;
  const Flow& f = m.flows[fi];
  FlowStatus s;
  s.key = Impl::flow_key(f);
  s.state = f.state;
  s.backend = {Ipv4Address{f.backend_ip}, f.backend_port};
  s.migrations = m.cold[fi].migrations;
  s.seq_delta = f.seq_delta;
  s.ts_delta = f.ts_delta;
  s.client_bytes = (f.flags & kSynAcked) ? uint64_t{f.client_nxt - m.cold[fi].client_isn - 1} : 0;
  s.requests = f.requests;
  s.segments = f.segments;
  return s;
}

std::size_t Migrator::flow_count() const { return impl_->live_flows; }

std::size_t Migrator::table_bytes() const {
  return impl_->flows.capacity() * sizeof(Flow) + impl_->cold.capacity() * sizeof(FlowCold) + impl_->index.bytes();
}

}  // namespace tcpmig::core
