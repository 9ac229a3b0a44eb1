// Rule 10 of core/migrator.hpp: what a gateway that runs for months needs.
// Idle flows expire, records and rules stay bounded and can be listed and
// cancelled, a target can be marked down, the flow hash is keyed, partial
// checksums stay partial, and the host can read what the core holds now.
#include <algorithm>

#include "flow_table.hpp"
#include "packets.hpp"
#include "segment.hpp"

namespace coretest {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

core::Config short_timeouts() {
  core::Config c = Lab::config();
  c.idle_timeout = 30 * kSecond;
  c.syn_timeout = 5 * kSecond;
  c.sweep_interval = kSecond;
  return c;
}

/// Advances in one-second steps, polling (as a host does at least every sweep_interval).
void wait(Lab& lab, Nanos total) {
  for (Nanos t = 0; t < total; t += kSecond) lab.advance(kSecond);
}

TEST_CASE("an idle established flow leaves after idle_timeout; one with traffic stays (rule 10)") {
  Lab lab(short_timeouts());
  lab.established();
  lab.c2s(with_ts(seg(flag::SYN, 7000, 0), 1, 0), kClient2);  // a second flow, kept busy below
  lab.s2c(with_ts(seg(flag::SYN | flag::ACK, 9000, 7001), 1, 1), kService, kClient2);
  REQUIRE(lab.m.flow_count() == 2);
  for (int i = 0; i < 40; ++i) {
    lab.advance(kSecond);
    lab.c2s(seg(flag::ACK, 7001, 9001), kClient2);  // traffic on flow 2 only
    if (i == 28) CHECK(lab.m.status(kFlow).has_value());  // never before its timeout
  }
  CHECK_FALSE(lab.m.status(kFlow).has_value());
  CHECK(lab.m.status(kFlow2).has_value());
  CHECK(lab.m.counters().flows_idle == 1);
  CHECK(lab.m.counters().flows_expired == 1);
  // The expired flow's packets are unknown now and pass unchanged.
  CHECK(lab.c2s(seg(flag::ACK, 1101, 5201)).v.reason == Reason::UnknownFlow);
}

TEST_CASE("a SYN never answered leaves after syn_timeout, long before idle_timeout (rule 10)") {
  Lab lab(short_timeouts());
  REQUIRE(lab.c2s(client_syn()).v.reason == Reason::Tracked);
  wait(lab, 4 * kSecond);
  CHECK(lab.m.status(kFlow).has_value());
  wait(lab, 3 * kSecond);
  CHECK_FALSE(lab.m.status(kFlow).has_value());
  CHECK(lab.m.counters().flows_idle == 1);
}

TEST_CASE("an armed migration of a flow that goes idle ends aborted-idle, its queue too (rule 10)") {
  Lab lab(short_timeouts());
  CountingObserver obs;
  lab.m.set_observer(&obs);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(5), lab.now).ok());
  REQUIRE(lab.m.migrate_flow(kFlow, kS3, Trigger::now(), lab.now).ok());  // queued
  wait(lab, 32 * kSecond);
  CHECK_FALSE(lab.m.status(kFlow).has_value());
  CHECK(lab.m.records()[0].outcome == core::Outcome::AbortedIdle);
  CHECK(lab.m.records()[1].outcome == core::Outcome::AbortedIdle);
  CHECK(obs.finished.size() == 2);
  CHECK(std::string(core::outcome_name(core::Outcome::AbortedIdle)) == "aborted-idle");
}

TEST_CASE("a flow whose replay is under way is not expired; its own timers end it (rule 10)") {
  core::Config cfg = short_timeouts();
  cfg.idle_timeout = 10 * kSecond;
  cfg.replay_rto = 20 * kSecond;  // the replay outlasts the idle timeout
  cfg.replay_retries = 0;
  Lab lab(cfg);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  wait(lab, 15 * kSecond);
  REQUIRE(lab.m.status(kFlow).has_value());  // idle 15 s > 10 s, but replaying
  CHECK(lab.status().state == core::FlowState::Replaying);
  CHECK(lab.m.records()[0].outcome == core::Outcome::Pending);
  wait(lab, 6 * kSecond);
  CHECK(lab.m.records()[0].outcome == core::Outcome::AbortedTimeout);
  wait(lab, 30 * kSecond);  // idle again, not replaying: it goes
  CHECK_FALSE(lab.m.status(kFlow).has_value());
}

TEST_CASE("a SYN-ACK the client never acknowledges leaves after syn_timeout: a SYN flood cannot hold the table (rule 10)") {
  Lab lab(short_timeouts());
  REQUIRE(lab.c2s(client_syn()).v.reason == Reason::Tracked);
  REQUIRE(lab.s2c(server_synack()).v.reason == Reason::Tracked);
  wait(lab, 8 * kSecond);
  CHECK_FALSE(lab.m.status(kFlow).has_value());
  // Acknowledged, the same flow would stay for the idle timeout.
  lab.handshake();
  wait(lab, 8 * kSecond);
  CHECK(lab.m.status(kFlow).has_value());
}

TEST_CASE("without keep_records, finished records go to the observer and their slots are reused (rule 10)") {
  core::Config cfg = Lab::config();
  cfg.keep_records = false;
  Lab lab(cfg);
  std::vector<core::MigrationRecord> seen;
  struct Keep final : core::MigrationObserver {
    std::vector<core::MigrationRecord>* out;
    void on_finished(const core::MigrationRecord& r) override { out->push_back(r); }
  } keep;
  keep.out = &seen;
  lab.m.set_observer(&keep);
  lab.established();
  // Back and forth 50 times: 50 records, each finished before the next.
  Endpoint to = kS2;
  uint32_t isn = kS2Isn;
  for (int i = 0; i < 50; ++i) {
    lab.migrate_now(to, isn, kS2Ts + static_cast<uint32_t>(i));
    to = to == kS2 ? kS3 : kS2;
    isn += 100000;
  }
  REQUIRE(seen.size() == 50);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].id == i);
    CHECK(seen[i].outcome == core::Outcome::Completed);
  }
  CHECK(lab.m.records().size() == 1);  // one slot, reused
  CHECK(lab.m.pending_records().empty());
  // A pending one is listed with its own id.
  const auto id = lab.m.migrate_flow(kFlow, to, Trigger::after_requests(9), lab.now);
  REQUIRE(id.ok());
  CHECK(*id == 50);
  const auto pending = lab.m.pending_records();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == 50);
  CHECK(pending[0].to == to);
}

TEST_CASE("rules() lists service rules in precedence order; cancel() ends one, cancel_all() the rest (rule 10)") {
  Lab lab;
  CountingObserver obs;
  lab.m.set_observer(&obs);
  const uint64_t first = lab.m.migrate_service(kService, kS2, Trigger::after_requests(1), lab.now);
  const uint64_t later = lab.m.migrate_service(kService, kS3, Trigger::at_time(lab.now + kSecond), lab.now);
  const uint64_t now_rule = lab.m.migrate_service(kService, kS3, Trigger::now(), lab.now);
  auto rules = lab.m.rules();
  REQUIRE(rules.size() == 2);  // a `now` request reaches the flows present and is done
  CHECK(rules[0].request == first);
  CHECK(rules[0].target == kS2);
  CHECK(rules[0].trigger.kind == Trigger::Kind::AfterRequests);
  CHECK(rules[1].request == later);
  CHECK(now_rule == later + 1);
  // A new flow gets the count rule's migration (armed), and it is cancelled
  // with its rule: the flow stays where it is and carries on.
  lab.handshake();
  REQUIRE(lab.m.records().size() == 1);
  CHECK(lab.status().state == core::FlowState::Armed);
  const core::CancelInfo c = lab.m.cancel(first, lab.now);
  CHECK(c.rule);
  CHECK(c.migrations == 1);
  CHECK(lab.m.records()[0].outcome == core::Outcome::Cancelled);
  CHECK(lab.status().state == core::FlowState::Established);
  CHECK(lab.m.counters().migrations_cancelled == 1);
  CHECK(obs.finished == std::vector<uint64_t>{0});
  lab.exchange();
  CHECK(lab.status().backend == kService);
  // Cancelling an unknown or finished request changes nothing.
  const core::CancelInfo none = lab.m.cancel(first, lab.now);
  CHECK_FALSE(none.rule);
  CHECK(none.migrations == 0);
  // cancel_all: the time rule never fires.
  const core::CancelInfo all = lab.m.cancel_all(lab.now);
  CHECK(all.rule);
  CHECK(lab.m.rules().empty());
  wait(lab, 2 * kSecond);
  CHECK(lab.m.records().size() == 1);
  CHECK(lab.status().backend == kService);
}

TEST_CASE("cancel() of a migration holding client data releases the data to the old backend (rule 10)") {
  Lab lab;
  lab.established();
  // Count trigger: the next request is the cut and is held until S1's bytes are acknowledged.
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(1), lab.now).ok());
  REQUIRE(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 10), 7002, 103)).v.action == Action::Pass);
  const Result req = lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7002));
  REQUIRE(req.v.reason == Reason::Held);
  CHECK(lab.m.gauges().held == 1);
  const std::size_t before = lab.sink.out.size();
  const core::CancelInfo c = lab.m.cancel(0, lab.now);
  CHECK(c.migrations == 1);
  REQUIRE(lab.sink.out.size() > before);
  const Emitted& released = lab.sink.out.back();
  CHECK(released.d.dst == kService);
  CHECK(released.d.tcp.seq == wire::SeqNumber{1101});
  CHECK(released.d.data.size() == 50);
  CHECK(lab.m.gauges().held == 0);
  CHECK(lab.m.records()[0].outcome == core::Outcome::Cancelled);
}

TEST_CASE("target_down aborts migrations waiting for it and refuses new ones until target_ready (rule 10)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now, /*wait_for_target=*/true).ok());
  CHECK(lab.status().state == core::FlowState::WaitTarget);
  CHECK(lab.m.target_down(kS2, lab.now) == 1);
  CHECK(lab.m.records()[0].outcome == core::Outcome::AbortedTargetDown);
  CHECK(lab.status().state == core::FlowState::Established);
  const auto refused = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == core::Refusal::TargetDown);
  CHECK(std::string(core::refusal_name(core::Refusal::TargetDown)) == "target-down");
  // A service rule reaching the flow meanwhile gets a refused record.
  lab.m.migrate_service(kService, kS2, Trigger::now(), lab.now);
  CHECK(lab.m.records().back().outcome == core::Outcome::Refused);
  CHECK(lab.m.records().back().refusal == core::Refusal::TargetDown);
  lab.m.target_ready(kS2, lab.now);
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  CHECK(lab.status().backend == kS2);
}

TEST_CASE("each refusal and outcome has its own name") {
  std::vector<std::string> names;
  for (int r = 0; r < static_cast<int>(core::Refusal::Count); ++r) {
    names.emplace_back(core::refusal_name(static_cast<core::Refusal>(r)));
  }
  for (int o = 0; o < static_cast<int>(core::Outcome::Count); ++o) {
    names.emplace_back(core::outcome_name(static_cast<core::Outcome>(o)));
  }
  for (const std::string& n : names) CHECK(n != "?");
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}

TEST_CASE("the flow hash is keyed: other seeds place keys elsewhere, verdicts do not change (rule 10)") {
  using core::detail::HashKeys;
  using core::detail::PairKey;
  const HashKeys a(1), b(2);
  int same = 0;
  for (uint16_t port = 1000; port < 2000; ++port) {
    const PairKey k{0x0a000002, 0x0aff0001, port, 80};
    if ((core::detail::hash_key(k, a) & 0xffff) == (core::detail::hash_key(k, b) & 0xffff)) ++same;
  }
  CHECK(same < 5);  // about 1000 / 65536 expected by chance
  // Ports an attacker picks so that they collide under one seed spread out under another.
  std::vector<uint16_t> colliding;
  for (uint32_t port = 1; port < 65536 && colliding.size() < 32; ++port) {
    const PairKey k{0x0a000002, 0x0aff0001, static_cast<uint16_t>(port), 80};
    if ((core::detail::hash_key(k, a) & 0x3ff) == 0) colliding.push_back(static_cast<uint16_t>(port));
  }
  REQUIRE(colliding.size() == 32);
  std::vector<uint32_t> homes;
  for (const uint16_t port : colliding) {
    homes.push_back(core::detail::hash_key(PairKey{0x0a000002, 0x0aff0001, port, 80}, b) & 0x3ff);
  }
  std::sort(homes.begin(), homes.end());
  CHECK(std::unique(homes.begin(), homes.end()) - homes.begin() >= 28);
  // Same traffic, two seeds: same verdicts and bytes.
  for (const uint64_t seed : {uint64_t{0}, uint64_t{0xdeadbeefcafef00d}}) {
    core::Config cfg = Lab::config();
    cfg.hash_seed = seed;
    Lab lab(cfg);
    lab.established();
    lab.migrate_now(kS2, kS2Isn, kS2Ts);
    const Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 10), kS2Ts + 1, 103), kS2);
    CHECK(r.v.reason == Reason::Rewritten);
    check_packet(r.out, kService, kClient, with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 10), 7002, 103));
  }
}

/// `full` with its TCP checksum replaced by the pseudo-header sum only (what Linux leaves for the NIC).
std::vector<uint8_t> partial_of(std::vector<uint8_t> full) {
  auto ip = wire::Ipv4Packet::check(full);
  REQUIRE(ip.ok());
  auto s = wire::TcpSegment::check(ip->payload());
  REQUIRE(s.ok());
  const auto len = static_cast<uint16_t>(s->buffer().size());
  const uint16_t sum = wire::checksum_fold(wire::pseudo_header_sum(ip->src(), ip->dst(), wire::ip_proto::tcp, len));
  wire::store_be16(s->buffer().data() + wire::tcp::field::CHECKSUM, sum);
  return full;
}

TEST_CASE("a partial checksum stays partial through a rewrite; completing it gives the full checksum (rule 10)") {
  for (const Direction dir : {C2S, S2C}) {
    CAPTURE(static_cast<int>(dir));
    Lab full;
    Lab part;
    for (Lab* lab : {&full, &part}) {
      lab->established();
      lab->migrate_now(kS2, kS2Isn, kS2Ts);
    }
    const std::vector<uint8_t> in =
        dir == C2S ? packet(kClient, kService,
                            with_sack(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 300), 104, 7001), {{5301, 5401}}))
                   : packet(kS2, kClient, with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 700), kS2Ts + 1, 103));
    std::vector<uint8_t> a = in;
    std::vector<uint8_t> b = partial_of(in);
    REQUIRE(full.m.process(a, dir, full.now).reason == Reason::Rewritten);
    REQUIRE(part.m.process(b, dir, part.now, core::Checksum::Partial).reason == Reason::Rewritten);
    // b still holds a pseudo-header sum: the one of its new addresses.
    CHECK(b == partial_of(a));
    core::detail::Segment s;
    REQUIRE(core::detail::Segment::parse(b, s) == Reason::Count);
    s.complete_checksum();
    CHECK(b == a);
    check_checksums_recomputed(a);
  }
}

TEST_CASE("a held packet with a partial checksum is released with a full one (rule 10)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());  // replaying
  std::vector<uint8_t> held = partial_of(packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 40), 104, 7001)));
  REQUIRE(lab.m.process(held, C2S, lab.now, core::Checksum::Partial).reason == Reason::Held);
  REQUIRE(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  const auto released = std::find_if(lab.sink.out.begin(), lab.sink.out.end(),
                                     [](const Emitted& e) { return e.d.ok && e.d.data.size() == 40; });
  REQUIRE(released != lab.sink.out.end());
  CHECK(released->d.dst == kS2);
  CHECK(released->d.tcp_csum);
  CHECK(released->d.ip_csum);
}

TEST_CASE("counters and gauges: packets emitted, held now, flows per state (rule 10)") {
  Lab lab;
  lab.established();
  lab.c2s(client_syn(7000), kClient2);  // a half-open second flow
  auto g = lab.m.gauges();
  CHECK(g.flows_by_state[static_cast<std::size_t>(core::FlowState::Established)] == 1);
  CHECK(g.flows_by_state[static_cast<std::size_t>(core::FlowState::SynSent)] == 1);
  CHECK(g.held == 0);
  CHECK(g.pending == 0);
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 10), 104, 7001));
  g = lab.m.gauges();
  CHECK(g.flows_by_state[static_cast<std::size_t>(core::FlowState::Replaying)] == 1);
  CHECK(g.held == 1);
  CHECK(g.pending == 1);
  CHECK(lab.m.counters().emitted == lab.sink.out.size());
  REQUIRE(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.counters().emitted == lab.sink.out.size());  // SYN, third ACK, released request, RST to S1
  CHECK(lab.m.counters().emitted == 4);
  const auto flows = lab.m.flows(10);
  REQUIRE(flows.size() == 2);
  CHECK(flows[0].key == kFlow);
  CHECK(flows[0].backend == kS2);
  CHECK(lab.m.flows(1).size() == 1);
}

TEST_CASE("the flow budget: at most 128 bytes a flow with the last-seen tick") {
  core::Config cfg;
  cfg.max_flows = 1'000'000;
  RecordingSink sink;
  const core::Migrator m(cfg, sink);
  CHECK(static_cast<double>(m.table_bytes()) / cfg.max_flows <= 128.0);
}

}  // namespace
}  // namespace coretest
