// The migration core's front: one packet (or a burst) in, a verdict out
// (rules in include/tcpmig/core/migrator.hpp).
//
// Place in the layers: core, on wire only. Per packet: Segment::parse
// (segment.hpp) -> FlowTable lookup (flow_table.hpp) -> tracking
// (tracking.hpp) -> the migration state machine for a migrating flow
// (migration.hpp) -> rewrite_to_backend / rewrite_to_client (rewrite.hpp).
// Nothing here allocates per packet in steady state.
#include "tcpmig/core/migrator.hpp"

#include <array>

#include "flow_table.hpp"
#include "migration.hpp"
#include "rewrite.hpp"
#include "segment.hpp"
#include "tracking.hpp"

namespace tcpmig::core {

using detail::Flow;
using detail::FlowTable;
using detail::kNone;
using detail::Segment;
using wire::SeqNumber;
namespace flag = wire::tcp_flag;

struct Migrator::Impl {
  Impl(const Config& cfg, PacketSink& sink) : shared(cfg, sink), migrations(shared) {}

  detail::Shared shared;          // configuration, counters, records, flow table
  detail::Migrations migrations;  // requests, pending migrations, deadlines

  FlowTable& table() { return shared.table; }

  static Verdict pass(Reason r) { return {Action::Pass, r}; }
  static Verdict drop(Reason r) { return {Action::Drop, r}; }

  Verdict process(std::span<uint8_t> ipv4, Direction dir, Nanos now, Checksum sum);
  Verdict client_packet(uint32_t fi, std::span<uint8_t> pkt, Segment& s, Nanos now);
  Verdict server_packet(uint32_t fi, Segment& s, Nanos now);
  Verdict new_connection(uint32_t fi, const Segment& syn, Nanos now);
};

// Verdicts are counted once, in Migrator::process.
Verdict Migrator::Impl::process(std::span<uint8_t> ipv4, Direction dir, Nanos now, Checksum sum) {
  Segment s;
  if (const Reason r = Segment::parse(ipv4, s); r != Reason::Count) return pass(r);
  s.set_partial(sum == Checksum::Partial);
  const bool malformed = s.options().malformed;
  if (dir == Direction::ClientToServer) {
    const uint32_t fi = table().find_by_service(s.src(), s.dst());
    if (fi != kNone) {
      table().touch(fi);
      return client_packet(fi, ipv4, s, now);
    }
    if (s.only(flag::SYN | flag::ACK | flag::RST, flag::SYN) && !malformed) {
      const uint32_t created = table().create(s.src(), s.dst());
      if (created == kNone) return pass(Reason::TableFull);
      return new_connection(created, s, now);
    }
    return pass(malformed ? Reason::Malformed : Reason::UnknownFlow);
  }
  const uint32_t fi = table().find_by_remote(s.dst(), s.src(), [&](uint32_t i) {
    return migrations.is_replay_target(i, s.src());
  });
  if (fi != kNone) {
    table().touch(fi);
    return server_packet(fi, s, now);
  }
  if (const uint32_t former = table().find_former(s.dst(), s.src()); former != kNone) {
    migrations.former_backend_spoke(former, s);
    return drop(Reason::StaleBackend);
  }
  return pass(malformed ? Reason::Malformed : Reason::UnknownFlow);
}

/// A connection starts on flow `fi` with the client's SYN.
Verdict Migrator::Impl::new_connection(uint32_t fi, const Segment& syn, Nanos now) {
  detail::record_client_syn(table().flow(fi), table().cold(fi), syn);
  migrations.opened(fi, now);
  return pass(Reason::Tracked);
}

Verdict Migrator::Impl::client_packet(uint32_t fi, std::span<uint8_t> pkt, Segment& s, Nanos now) {
  Flow& f = table().flow(fi);
  if (s.options().malformed) return f.has(detail::kMapped) ? drop(Reason::MalformedMigrated) : pass(Reason::Malformed);
  if (s.only(flag::SYN | flag::ACK | flag::RST, flag::SYN)) {
    if (f.state == FlowState::Closing && s.seq() != table().cold(fi).client_isn) {
      // A new connection on the same addresses (TIME_WAIT reuse): start over
      // on the service address.
      table().restart(fi);
      return new_connection(fi, s, now);
    }
    if (!f.has(detail::kSynAcked)) {
      detail::record_client_syn(f, table().cold(fi), s);
      return pass(Reason::Tracked);
    }
  }
  const detail::ClientStep step = detail::track_client(f, s);
  Verdict v = f.has(detail::kMapped) ? Verdict{Action::Modified, Reason::Rewritten} : pass(Reason::Tracked);
  if (detail::migrating(f.state)) v = migrations.on_client(fi, pkt, s, step, v, now);
  if (v.action != Action::Drop && f.has(detail::kMapped)) detail::rewrite_to_backend(s, detail::mapping_of(f));
  if (detail::migrating(f.state)) migrations.after_client(fi, now);
  if (f.has(detail::kEnded)) migrations.closing(fi, now);
  return v;
}

Verdict Migrator::Impl::server_packet(uint32_t fi, Segment& s, Nanos now) {
  Flow& f = table().flow(fi);
  if (migrations.replaying_to(fi, s.src())) {
    migrations.on_target(fi, s, now);
    return drop(Reason::ReplayHandshake);
  }
  if (!f.on(s.src())) {  // the service address, a former backend of the flow
    migrations.former_backend_spoke(fi, s);
    return drop(Reason::StaleBackend);
  }
  if (s.options().malformed) return f.has(detail::kMapped) ? drop(Reason::MalformedMigrated) : pass(Reason::Malformed);
  if (s.only(flag::SYN | flag::ACK, flag::SYN | flag::ACK) && !f.has(detail::kSynAcked | detail::kMapped)) {
    detail::record_server_synack(f, table().cold(fi), s);  // the first server's SYN-ACK: what it accepted
    return pass(Reason::Tracked);
  }
  const SeqNumber prev_nxt = detail::track_server(f, s);
  Verdict v = pass(Reason::Tracked);
  if (f.has(detail::kMapped)) {
    detail::rewrite_to_client(s, detail::mapping_of(f));
    v = Verdict{Action::Modified, Reason::Rewritten};
  }
  if (detail::migrating(f.state)) migrations.after_backend(fi, prev_nxt, s, now);
  if (f.has(detail::kEnded)) migrations.closing(fi, now);
  return v;
}

// ---------------------------------------------------------------------------
// Public API

Migrator::Migrator(const Config& cfg, PacketSink& sink) : impl_(std::make_unique<Impl>(cfg, sink)) {}

Migrator::~Migrator() = default;

Verdict Migrator::process(std::span<uint8_t> ipv4, Direction dir, Nanos now, Checksum sum) {
  Counters& c = impl_->shared.counters;
  ++c.packets;
  const Verdict v = impl_->process(ipv4, dir, now, sum);
  ++c.by_reason[static_cast<std::size_t>(v.reason)];
  impl_->migrations.maybe_sweep(now);
  impl_->migrations.prune();
  return v;
}

void Migrator::process_burst(std::span<BurstPacket> burst, Nanos now) {
  // A software pipeline: packet i + 2D has its flow-table slot prefetched
  // while packet i + D has its flow prefetched (the slot arrived meanwhile)
  // and packet i is processed (its flow arrived meanwhile).
  constexpr std::size_t kDistance = 8;
  constexpr std::size_t kRing = 4 * kDistance;  // > 2D: hashes of the packets in flight
  const FlowTable& table = impl_->table();
  std::array<uint32_t, kRing> hashes{};
  std::array<bool, kRing> tcp{};
  const std::size_t n = burst.size();
  for (std::size_t i = 0; i < n + 2 * kDistance; ++i) {
    if (i < n) {  // slot of packet i (a cheap look at the headers; process() checks them properly)
      const std::span<const uint8_t> b = burst[i].ipv4;
      const std::size_t r = i % kRing;
      tcp[r] = false;
      if (b.size() >= wire::ipv4::field::HEADER_LEN && (b[wire::ipv4::field::VER_IHL] >> 4) == 4 &&
          b[wire::ipv4::field::PROTOCOL] == wire::ip_proto::tcp) {
        const std::size_t hl = std::size_t{static_cast<uint8_t>(b[wire::ipv4::field::VER_IHL] & 0x0f)} * 4;
        if (hl >= wire::ipv4::field::HEADER_LEN && b.size() >= hl + 4) {
          const uint32_t src = wire::load_be32(b.data() + wire::ipv4::field::SRC);
          const uint32_t dst = wire::load_be32(b.data() + wire::ipv4::field::DST);
          const uint16_t sport = wire::load_be16(b.data() + hl + wire::tcp::field::SRC_PORT);
          const uint16_t dport = wire::load_be16(b.data() + hl + wire::tcp::field::DST_PORT);
          hashes[r] = burst[i].dir == Direction::ClientToServer ? table.hash_of(src, sport, dst, dport)
                                                                 : table.hash_of(dst, dport, src, sport);
          tcp[r] = true;
          table.prefetch_slot(hashes[r]);
        }
      }
    }
    if (i >= kDistance && i - kDistance < n) {  // flow of packet i - D
      const std::size_t r = (i - kDistance) % kRing;
      if (tcp[r]) {
        if (const Flow* f = table.candidate(hashes[r])) __builtin_prefetch(f);  // one cache line
      }
    }
    if (i >= 2 * kDistance) {  // packet i - 2D itself
      BurstPacket& pkt = burst[i - 2 * kDistance];
      pkt.verdict = process(pkt.ipv4, pkt.dir, now, pkt.checksum);
    }
  }
}

void Migrator::poll(Nanos now) { impl_->migrations.poll(now); }

Nanos Migrator::next_deadline() const { return impl_->migrations.next_deadline(); }

wire::Result<uint64_t, Refusal> Migrator::migrate_flow(const FlowKey& flow, Endpoint target, Trigger trigger,
                                                       Nanos now, bool wait_for_target) {
  const uint32_t fi = impl_->table().find_by_service(flow.client, flow.service);
  if (fi == kNone) return Refusal::UnknownFlow;
  return impl_->migrations.request_flow(fi, target, trigger, now, wait_for_target);
}

uint64_t Migrator::migrate_service(Endpoint service, Endpoint target, Trigger trigger, Nanos now,
                                   bool wait_for_target) {
  return impl_->migrations.request_service(service, target, trigger, now, wait_for_target);
}

RequestInfo Migrator::request_info(uint64_t request) const { return impl_->migrations.request_info(request); }

void Migrator::target_ready(Endpoint target, Nanos now) { impl_->migrations.target_ready(target, now); }

uint32_t Migrator::target_down(Endpoint target, Nanos now) { return impl_->migrations.target_down(target, now); }

CancelInfo Migrator::cancel(uint64_t request, Nanos now) { return impl_->migrations.cancel(request, false, now); }

CancelInfo Migrator::cancel_all(Nanos now) { return impl_->migrations.cancel(0, true, now); }

std::vector<RuleStatus> Migrator::rules() const { return impl_->migrations.rules(); }

std::vector<MigrationRecord> Migrator::pending_records() const { return impl_->migrations.pending_records(); }

Gauges Migrator::gauges() const {
  Gauges g;
  const FlowTable& t = impl_->shared.table;
  for (uint32_t i = 0; i < t.slots(); ++i) {
    const Flow& f = t.flow(i);
    if (!f.has(detail::kFree)) ++g.flows_by_state[static_cast<std::size_t>(f.state)];
  }
  impl_->migrations.gauge(g);
  return g;
}

std::vector<FlowStatus> Migrator::flows(std::size_t max) const {
  std::vector<FlowStatus> out;
  const FlowTable& t = impl_->shared.table;
  for (uint32_t i = 0; i < t.slots() && out.size() < max; ++i) {
    const Flow& f = t.flow(i);
    if (f.has(detail::kFree)) continue;
    if (auto st = status(f.key())) out.push_back(*st);
  }
  return out;
}

std::optional<FlowStatus> Migrator::status(const FlowKey& flow) const {
  const FlowTable& t = impl_->shared.table;
  const uint32_t fi = t.find_by_service(flow.client, flow.service);
  if (fi == kNone) return std::nullopt;
  const Flow& f = t.flow(fi);
  const detail::FlowCold& c = t.cold(fi);
  FlowStatus s;
  s.key = f.key();
  s.state = f.state;
  s.backend = f.backend();
  s.migrations = c.migrations;
  s.seq_delta = f.seq_delta;
  s.ts_delta = f.ts_delta;
  s.client_bytes = f.has(detail::kSynAcked) ? uint64_t{static_cast<uint32_t>(f.client_nxt - c.client_isn) - 1} : 0;
  s.requests = f.requests;
  s.segments = f.segments;
  s.queued = impl_->migrations.queued(fi);
  return s;
}

std::size_t Migrator::flow_count() const { return impl_->shared.table.live(); }
std::size_t Migrator::table_bytes() const { return impl_->shared.table.bytes(); }
const Counters& Migrator::counters() const { return impl_->shared.counters; }
const std::vector<MigrationRecord>& Migrator::records() const { return impl_->shared.records; }
void Migrator::set_observer(MigrationObserver* o) { impl_->shared.observer = o; }
const Config& Migrator::config() const { return impl_->shared.cfg; }

}  // namespace tcpmig::core
