// Migration-core rewrite benchmark: the DESIGN.md section 9 figure "migration
// core rewrite, 1M flows" (target >= 10 M packets/s on one core, <= 128 bytes
// per flow).
//
// CoreRewrite/N: a core::Migrator with Config::max_flows = N holds N flows
// (client 10.x.y.z:port -> service 10.255.0.1:80), each opened by a SYN /
// SYN-ACK / ACK through process(). Every odd flow is then migrated to
// 10.254.0.2:8080: migrate_flow(Trigger::now()) and the target's SYN-ACK to
// the replayed SYN the sink receives. The timed loop sends data segments with
// timestamps of seeded random flows through process(), directions
// alternating; packets of migrated flows must come back Modified, the others
// Pass (the benchmark fails otherwise). Each packet is a template (4096 per
// direction, seeded payload sizes, in one buffer) patched to its flow:
// addresses, ports, seq, ack, TSval, TSecr, and both checksums from
// precomputed partial sums; that patch is part of the timed loop.
// items_per_second = packets through process(); bytes_per_flow =
// table_bytes() / N; migrated = fraction of flows on the target.
// The set-up (about 4 N packets) is done once per N and kept for every run.
//
// Run: tcpmig-bench --benchmark_filter='^CoreRewrite'
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <memory_resource>
#include <span>
#include <vector>

#include <sys/mman.h>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/sim/random.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace {

using namespace tcpmig;
using wire::Ipv4Address;
using wire::SeqNumber;

constexpr core::Endpoint kService{Ipv4Address{0x0aff0001}, 80};  // 10.255.0.1:80
constexpr core::Endpoint kTarget{Ipv4Address{0x0afe0002}, 8080}; // 10.254.0.2:8080
constexpr uint32_t kTargetSeqOffset = 0x40000000;  // target ISN = old server's next seq - 1 - this
constexpr std::size_t kTemplates = 4096;           // per direction
constexpr uint16_t kWindow = 502;                  // x 128 (window scale 7 both ways)

/// Client i: 10.1.0.0 + i / 4, ports 10000..10003.
core::Endpoint client_of(uint32_t i) { return {Ipv4Address{0x0a010000U + (i >> 2)}, static_cast<uint16_t>(10000 + (i & 3))}; }
uint32_t client_isn(uint32_t i) { return i * 2654435761U + 17; }
uint32_t server_isn(uint32_t i) { return i * 40503U + 0x9e3779b9U; }

/// Keeps the last packet the core emitted toward a server (the replayed SYN).
class LastPacketSink final : public core::PacketSink {
 public:
  void emit(std::span<const uint8_t> ipv4, core::Direction) override {
    ++emitted;
    auto ip = wire::ConstIpv4Packet::check(ipv4);
    if (!ip || ip->protocol() != wire::ip_proto::tcp) return;
    auto seg = wire::ConstTcpSegment::check(ip->payload());
    if (seg && seg->has_flags(wire::tcp_flag::SYN) && !seg->has_flags(wire::tcp_flag::ACK)) {
      syn.assign(ipv4.begin(), ipv4.end());
    }
  }
  std::vector<uint8_t> syn;  ///< the last SYN emitted (empty: none)
  uint64_t emitted = 0;
};

/// Emits an IPv4 + TCP packet into buf; returns its length (0 on failure).
std::size_t build(std::span<uint8_t> buf, Ipv4Address src, Ipv4Address dst, const wire::TcpRepr& tcp) {
  wire::Ipv4Repr ip{src, dst, wire::ip_proto::tcp, static_cast<uint16_t>(tcp.buffer_len())};
  auto pkt = ip.emit(buf);
  if (!pkt || !tcp.emit(pkt->payload(), src, dst)) return 0;
  return ip.buffer_len();
}

/// Folds a 64-bit sum of 16-bit words into the checksum field value.
inline uint16_t checksum_of(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
inline uint64_t words32(uint32_t v) { return (v >> 16) + (v & 0xffff); }

/// One packet template: IPv4 (20) + TCP with nop,nop,TS (32) + payload, with
/// addresses, ports, seq, ack, TSval, TSecr and checksums zero; the word sums
/// of the rest are kept so the checksums of a patched copy cost a few adds.
struct Template {
  uint32_t offset = 0;    ///< in the template buffer
  uint16_t len = 0;       ///< IPv4 total length
  uint16_t payload = 0;   ///< TCP payload bytes
  uint64_t ip_base = 0;   ///< header words without addresses and checksum
  uint64_t tcp_base = 0;  ///< pseudo header (protocol, length) + segment words without the patched fields
};

/// Memory on 2 MiB pages (transparent huge pages asked for with madvise),
/// what a gateway with a million flows gives the flow table: every packet
/// touches two random places in ~120 MB, and with 4 KiB pages each costs a
/// page walk as well as a cache miss.
class HugePages final : public std::pmr::memory_resource {
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  static std::size_t round(std::size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }
  void* do_allocate(std::size_t bytes, std::size_t) override {
    void* p = mmap(nullptr, round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, round(bytes), MADV_HUGEPAGE);  // a hint: without THP the pages stay 4 KiB
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t) override { munmap(p, round(bytes)); }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override { return this == &o; }
};

/// Everything set up once per flow count and page size.
struct Setup {
  Setup(uint32_t flows, std::pmr::memory_resource* memory)
      : n(flows), migrator(make_config(flows, memory), sink), next(flows, memory) {}
  static core::Config make_config(uint32_t flows, std::pmr::memory_resource* memory) {
    core::Config cfg;
    cfg.max_flows = flows;
    cfg.table_memory = memory;
    return cfg;
  }

  uint32_t n;
  LastPacketSink sink;
  core::Migrator migrator;
  /// Next sequence numbers of a flow, side by side: one cache line per packet.
  struct Next {
    uint32_t c;  ///< client's next seq
    uint32_t s;  ///< server's next seq in the client's view
  };
  std::pmr::vector<Next> next;
  std::vector<uint8_t> buffer;   ///< every template
  std::vector<Template> templates[2];  ///< by direction
  core::Nanos now = 1'000'000'000;
  uint64_t migrated = 0;
  const char* error = nullptr;   ///< set-up failure
};

/// Opens every flow and migrates the odd ones; sets s.error on failure.
void open_and_migrate(Setup& s) {
  std::vector<uint8_t> buf(256);
  const auto ts = static_cast<uint32_t>(s.now >> 20);  // the timed loop's clock
  for (uint32_t i = 0; i < s.n && s.error == nullptr; ++i) {
    const core::Endpoint c = client_of(i);
    wire::TcpRepr t;
    t.src_port = c.port;
    t.dst_port = kService.port;
    t.seq = SeqNumber{client_isn(i)};
    t.flags = wire::tcp_flag::SYN;
    t.window = 64240;
    t.mss = 1460;
    t.sack_permitted = true;
    t.timestamps = std::pair{ts, 0U};
    t.window_scale = 7;
    std::size_t len = build(buf, c.ip, kService.ip, t);
    if (s.migrator.process(std::span(buf.data(), len), core::Direction::ClientToServer, s.now).action !=
        core::Action::Pass) {
      s.error = "client SYN not passed";
      return;
    }
    std::swap(t.src_port, t.dst_port);
    t.seq = SeqNumber{server_isn(i)};
    t.ack = SeqNumber{client_isn(i) + 1};
    t.flags = wire::tcp_flag::SYN | wire::tcp_flag::ACK;
    t.window = 65160;
    t.timestamps = std::pair{ts + 5000, ts};
    len = build(buf, kService.ip, c.ip, t);
    s.migrator.process(std::span(buf.data(), len), core::Direction::ServerToClient, s.now);
    std::swap(t.src_port, t.dst_port);
    t.seq = SeqNumber{client_isn(i) + 1};
    t.ack = SeqNumber{server_isn(i) + 1};
    t.flags = wire::tcp_flag::ACK;
    t.window = kWindow;
    t.mss.reset();
    t.sack_permitted = false;
    t.window_scale.reset();
    t.timestamps = std::pair{ts, ts + 5000};
    len = build(buf, c.ip, kService.ip, t);
    s.migrator.process(std::span(buf.data(), len), core::Direction::ClientToServer, s.now);
    s.next[i].c = client_isn(i) + 1;
    s.next[i].s = server_isn(i) + 1;
  }
  if (s.error != nullptr) return;
  if (s.migrator.flow_count() != s.n) {
    s.error = "not every flow is tracked";
    return;
  }
  // Migrate the odd flows: replayed SYN, then the target's SYN-ACK.
  for (uint32_t i = 1; i < s.n; i += 2) {
    const core::FlowKey key{client_of(i), kService};
    s.sink.syn.clear();
    if (!s.migrator.migrate_flow(key, kTarget, core::Trigger::now(), s.now)) {
      s.error = "migrate_flow refused an established flow";
      return;
    }
    if (s.sink.syn.empty()) s.migrator.poll(s.now);
    auto ip = wire::ConstIpv4Packet::check(s.sink.syn);
    if (!ip) {
      s.error = "no replayed SYN";
      return;
    }
    auto seg = wire::ConstTcpSegment::check(ip->payload());
    if (!seg) {
      s.error = "bad replayed SYN";
      return;
    }
    auto syn = wire::TcpRepr::parse_unverified(*seg);
    if (!syn) {
      s.error = "bad replayed SYN options";
      return;
    }
    wire::TcpRepr t;
    t.src_port = kTarget.port;
    t.dst_port = syn->src_port;
    t.seq = SeqNumber{s.next[i].s - 1 - kTargetSeqOffset};
    t.ack = syn->seq + 1;
    t.flags = wire::tcp_flag::SYN | wire::tcp_flag::ACK;
    t.window = 65160;
    t.mss = syn->mss;
    t.window_scale = syn->window_scale;
    t.sack_permitted = syn->sack_permitted;
    if (syn->timestamps) t.timestamps = std::pair{700000U, syn->timestamps->first};
    std::vector<uint8_t> out(t.buffer_len() + 20);
    const std::size_t len = build(out, kTarget.ip, ip->src(), t);
    const auto v = s.migrator.process(std::span(out.data(), len), core::Direction::ServerToClient, s.now);
    if (v.action != core::Action::Drop) {
      s.error = "the target's SYN-ACK was not consumed";
      return;
    }
    auto st = s.migrator.status(key);
    if (!st || st->backend != kTarget || st->migrations != 1 || st->seq_delta != kTargetSeqOffset) {
      s.error = "a migration did not complete with the expected seq_delta";
      return;
    }
    ++s.migrated;
  }
}

/// Builds the templates of both directions (seeded payload sizes).
void build_templates(Setup& s) {
  sim::Rng rng(20240601);
  std::vector<uint8_t> payload(1024);
  for (auto& b : payload) b = static_cast<uint8_t>(rng.next_u64());
  for (int dir = 0; dir < 2; ++dir) {
    for (std::size_t k = 0; k < kTemplates; ++k) {
      // Client requests of 1..256 bytes; server answers of 1..1024 bytes.
      const auto plen = static_cast<uint16_t>(1 + rng.below(dir == 0 ? 256 : 1024));
      wire::TcpRepr t;
      t.flags = wire::tcp_flag::ACK | wire::tcp_flag::PSH;
      t.window = kWindow;
      t.timestamps = std::pair{0U, 0U};
      t.payload = std::span(payload.data(), plen);
      Template tp;
      tp.offset = static_cast<uint32_t>(s.buffer.size());
      tp.len = static_cast<uint16_t>(20 + t.buffer_len());
      tp.payload = plen;
      s.buffer.resize(s.buffer.size() + ((tp.len + 7U) & ~7U));
      const std::span<uint8_t> pkt(s.buffer.data() + tp.offset, tp.len);
      build(pkt, Ipv4Address{}, Ipv4Address{}, t);
      pkt[10] = pkt[11] = 0;             // IPv4 checksum
      pkt[20 + 16] = pkt[20 + 17] = 0;   // TCP checksum
      tp.ip_base = wire::checksum_add(pkt.first(20));
      tp.tcp_base = wire::checksum_add(pkt.subspan(20)) + wire::ip_proto::tcp + (tp.len - 20U);
      s.templates[dir].push_back(tp);
    }
  }
}

/// Writes the flow's fields into a template and both checksums.
inline void patch(uint8_t* p, const Template& tp, Ipv4Address src, Ipv4Address dst, uint16_t sport,
                  uint16_t dport, uint32_t seq, uint32_t ack, uint32_t tsval, uint32_t tsecr) {
  wire::store_be32(p + 12, src.value);
  wire::store_be32(p + 16, dst.value);
  wire::store_be16(p + 10, checksum_of(tp.ip_base + words32(src.value) + words32(dst.value)));
  uint8_t* t = p + 20;
  wire::store_be16(t + 0, sport);
  wire::store_be16(t + 2, dport);
  wire::store_be32(t + 4, seq);
  wire::store_be32(t + 8, ack);
  wire::store_be32(t + 24, tsval);  // nop, nop, kind 8, len 10 at 20..23
  wire::store_be32(t + 28, tsecr);
  const uint64_t sum = tp.tcp_base + words32(src.value) + words32(dst.value) + sport + dport + words32(seq) +
                       words32(ack) + words32(tsval) + words32(tsecr);
  wire::store_be16(t + 16, checksum_of(sum));
}

Setup* setup_for(uint32_t flows, bool huge_pages) {
  static HugePages huge;
  static std::map<std::pair<uint32_t, bool>, std::unique_ptr<Setup>> cache;
  auto& s = cache[{flows, huge_pages}];
  if (!s) {
    s = std::make_unique<Setup>(flows, huge_pages ? &huge : std::pmr::new_delete_resource());
    open_and_migrate(*s);
    build_templates(*s);
    // The patched templates must carry valid checksums.
    for (int dir = 0; dir < 2 && s->error == nullptr; ++dir) {
      for (std::size_t k = 0; k < 64; ++k) {
        const Template& tp = s->templates[dir][k];
        uint8_t* p = s->buffer.data() + tp.offset;
        const core::Endpoint c = client_of(static_cast<uint32_t>(k));
        patch(p, tp, c.ip, kService.ip, c.port, 80, 0x12345678U * static_cast<uint32_t>(k), 77, 99, 3);
        auto ip = wire::ConstIpv4Packet::check(std::span<const uint8_t>(p, tp.len));
        if (!ip || !ip->verify_checksum() ||
            !wire::ConstTcpSegment::check(ip->payload())->verify_checksum(ip->src(), ip->dst())) {
          s->error = "template checksums wrong";
        }
      }
    }
  }
  return s.get();
}

/// Patches template `tp` (at p) into the next packet of `flow` in direction `dir`.
void next_packet(Setup& s, const Template& tp, uint8_t* p, uint32_t flow, int dir) {
  const core::Endpoint c = client_of(flow);
  const bool migrated = (flow & 1) != 0;
  const auto tick = static_cast<uint32_t>(s.now >> 20);  // about 1 ms
  if (dir == 0) {
    patch(p, tp, c.ip, kService.ip, c.port, kService.port, s.next[flow].c, s.next[flow].s, tick, tick + 5000);
    s.next[flow].c += tp.payload;
  } else {
    const core::Endpoint from = migrated ? kTarget : kService;
    const uint32_t seq = migrated ? s.next[flow].s - kTargetSeqOffset : s.next[flow].s;
    patch(p, tp, from.ip, c.ip, from.port, c.port, seq, s.next[flow].c, tick + (migrated ? 700000 : 5000), tick);
    s.next[flow].s += tp.payload;
  }
}

/// Packets per Migrator::process_burst call.
constexpr std::size_t kBurst = 64;

/// The counters every CoreRewrite variant reports; fails the run on a wrong verdict.
void report(benchmark::State& state, const Setup& s, uint64_t packets, uint64_t wrong) {
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["bytes_per_flow"] = static_cast<double>(s.migrator.table_bytes()) / static_cast<double>(s.n);
  state.counters["migrated"] = static_cast<double>(s.migrated) / static_cast<double>(s.n);
  state.counters["flows"] = static_cast<double>(s.migrator.flow_count());
  if (wrong != 0) state.SkipWithError("a migrated flow's packet was not Modified (or another flow's not Pass)");
}

/// The set-up for `state`'s flow count, or null (the run is skipped).
Setup* setup_or_skip(benchmark::State& state, bool huge_pages) {
  Setup* s = setup_for(static_cast<uint32_t>(state.range(0)), huge_pages);
  if (s->error == nullptr) return s;
  state.SkipWithError(s->error);
  return nullptr;
}

void rewrite_bursts(benchmark::State& state, bool huge_pages) {
  Setup* const setup = setup_or_skip(state, huge_pages);
  if (setup == nullptr) return;
  Setup& s = *setup;
  sim::Rng rng(42);
  uint64_t packets = 0;
  uint64_t wrong = 0;
  core::Migrator& mig = s.migrator;
  uint8_t* const base = s.buffer.data();
  const uint64_t n = s.n;
  std::array<core::BurstPacket, kBurst> burst{};
  std::array<uint32_t, kBurst> flows{};
  std::array<uint32_t, kBurst> upcoming{};
  // Random flows, drawn one burst ahead so their sequence counters are in
  // the cache when the packets are made (the generator should cost little);
  // the prefetches are spread over the making of the current burst.
  for (std::size_t k = 0; k < kBurst; ++k) upcoming[k] = static_cast<uint32_t>(((rng.next_u64() >> 32) * n) >> 32);
  uint64_t next_template = 0;
  for (auto _ : state) {
    flows = upcoming;
    for (std::size_t k = 0; k < kBurst; ++k) {
      upcoming[k] = static_cast<uint32_t>(((rng.next_u64() >> 32) * n) >> 32);
      __builtin_prefetch(&s.next[upcoming[k]]);
      const int dir = static_cast<int>((packets + k) & 1);
      // Consecutive templates: the packets of one burst never share a buffer.
      const Template& tp = s.templates[dir][(next_template++ >> 1) & (kTemplates - 1)];
      uint8_t* p = base + tp.offset;
      next_packet(s, tp, p, flows[k], dir);
      burst[k].ipv4 = std::span(p, tp.len);
      burst[k].dir = dir == 0 ? core::Direction::ClientToServer : core::Direction::ServerToClient;
    }
    mig.process_burst(burst, s.now);
    for (std::size_t k = 0; k < kBurst; ++k) {
      const bool migrated = (flows[k] & 1) != 0;
      wrong += burst[k].verdict.action != (migrated ? core::Action::Modified : core::Action::Pass) ? 1 : 0;
    }
    s.now += 100 * kBurst;
    packets += kBurst;
  }
  report(state, s, packets, wrong);
}
void CoreRewrite(benchmark::State& state) { rewrite_bursts(state, true); }
void CoreRewrite4KiB(benchmark::State& state) { rewrite_bursts(state, false); }
BENCHMARK(CoreRewrite)->Arg(1000000);
BENCHMARK(CoreRewrite4KiB)->Arg(1000000);

void CoreRewriteSingle(benchmark::State& state) {
  Setup* const setup = setup_or_skip(state, true);
  if (setup == nullptr) return;
  Setup& s = *setup;
  sim::Rng rng(42);
  uint64_t packets = 0;
  uint64_t wrong = 0;
  core::Migrator& mig = s.migrator;
  uint8_t* const base = s.buffer.data();
  const uint64_t n = s.n;
  for (auto _ : state) {
    const uint64_t r = rng.next_u64();
    const auto flow = static_cast<uint32_t>(((r >> 32) * n) >> 32);
    const auto dir = static_cast<int>(packets & 1);
    const Template& tp = s.templates[dir][r & (kTemplates - 1)];
    uint8_t* p = base + tp.offset;
    const bool migrated = (flow & 1) != 0;
    next_packet(s, tp, p, flow, dir);
    const core::Verdict v = mig.process(std::span(p, tp.len),
                                        dir == 0 ? core::Direction::ClientToServer : core::Direction::ServerToClient,
                                        s.now);
    wrong += v.action != (migrated ? core::Action::Modified : core::Action::Pass) ? 1 : 0;
    s.now += 100;
    ++packets;
  }
  report(state, s, packets, wrong);
}
BENCHMARK(CoreRewriteSingle)->Arg(1000000);

}  // namespace
