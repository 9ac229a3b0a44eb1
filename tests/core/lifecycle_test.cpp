// Migration core, flow life and the query API of migrator.hpp: FIN/RST make a
// flow Closing and it is forgotten close_linger later (rule 8); migrate_flow
// errors; status(), counters(), names and texts; no allocation per packet in
// steady state.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "../alloc_counter.hpp"
#include "packets.hpp"

namespace coretest {
namespace {

TEST_CASE("both FINs acknowledged: Closing, forgotten close_linger later (rule 8)") {
  Lab lab;
  lab.established();
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::Closing);
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::FIN, 5201, 1102), 7002, 104)).v.reason == Reason::Tracked);
  lab.now += 5'000'000;
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1102, 5202), 105, 7002)).v.reason == Reason::Tracked);
  const Nanos closed_at = lab.now;
  CHECK(lab.m.next_deadline() == closed_at + lab.cfg.close_linger);
  lab.now = closed_at + lab.cfg.close_linger - 1;
  lab.m.poll(lab.now);
  CHECK(lab.m.flow_count() == 1);
  lab.now += 1;
  lab.m.poll(lab.now);
  CHECK(lab.m.flow_count() == 0);
  CHECK_FALSE(lab.m.status(kFlow).has_value());
  CHECK(lab.m.counters().flows_expired == 1);
  CHECK(lab.m.next_deadline() == core::kNever);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1102, 5202), 106, 7002)).v.reason == Reason::UnknownFlow);
}

TEST_CASE("one FIN only: the flow is Closing but not forgotten (rule 8)") {
  Lab lab;
  lab.established();
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.s2c(with_ts(seg(flag::ACK, 5201, 1102), 7002, 104)).v.reason == Reason::Tracked);
  lab.advance(10 * lab.cfg.close_linger);
  CHECK(lab.m.flow_count() == 1);
  CHECK(lab.status().state == core::FlowState::Closing);
}

TEST_CASE("a RST: Closing, forgotten close_linger later (rule 8)") {
  Lab lab;
  lab.established();
  CHECK(lab.s2c(seg(flag::RST, 5201, 0)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::Closing);
  CHECK(lab.m.next_deadline() == kStart + lab.cfg.close_linger);
  lab.advance(lab.cfg.close_linger);
  CHECK(lab.m.flow_count() == 0);
  CHECK(lab.m.counters().flows_expired == 1);
}

TEST_CASE("FIN and RST of a migrated flow make it Closing too (rule 8)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  CHECK(lab.s2c(seg(flag::RST, kS2Isn + 1, 0), kS2).v.action == Action::Modified);
  CHECK(lab.status().state == core::FlowState::Closing);
  lab.advance(lab.cfg.close_linger);
  CHECK(lab.m.flow_count() == 0);
}

TEST_CASE("migrate_flow refuses unknown and closing flows, each with its own refusal; a busy flow queues (rule 2)") {
  Lab lab;
  auto r = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::UnknownFlow);
  REQUIRE(lab.c2s(client_syn()).v.action == Action::Pass);
  r = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::HandshakeIncomplete);
  REQUIRE(lab.s2c(server_synack()).v.action == Action::Pass);
  lab.exchange();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(3), lab.now).ok());
  r = lab.m.migrate_flow(kFlow, kS3, Trigger::now(), lab.now);
  REQUIRE(r.ok());  // queued behind the first
  CHECK(lab.m.records().size() == 2);
  CHECK(lab.m.records()[1].outcome == core::Outcome::Pending);
  CHECK(lab.status().queued == 1);

  Lab closing;
  closing.established();
  CHECK(closing.c2s(with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)).v.action == Action::Pass);
  r = closing.m.migrate_flow(kFlow, kS2, Trigger::now(), closing.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::Closing);
  CHECK(closing.m.records().empty());
  CHECK(closing.m.counters().migrations_requested == 0);
}

TEST_CASE("migration ids are in request order and a flow migrates again after completing") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  auto id2 = lab.m.migrate_flow(kFlow, kS3, Trigger::at_time(lab.now + 1000), lab.now);
  REQUIRE(id2.ok());
  CHECK(*id2 > lab.m.records().at(0).id);
  CHECK(lab.m.records().at(1).id == *id2);
  CHECK(lab.m.records().at(1).from == kS2);
  CHECK(lab.m.counters().migrations_requested == 2);
}

TEST_CASE("counters: one reason per process() call; packets counts every call") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  (void)lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 10), 104, 7001));
  (void)lab.s2c(with_ts(seg(flag::ACK, 5201, 1111), 7002, 104));  // stale
  (void)lab.s2c(with_ts(seg(flag::ACK, kS2Isn + 1, 1111), kS2Ts + 1, 104), kS2);
  (void)lab.process(std::vector<uint8_t>(3, 0), C2S);
  const core::Counters& c = lab.m.counters();
  CHECK(c.packets == 11);
  uint64_t sum = 0;
  for (uint64_t n : c.by_reason) sum += n;
  // Reading: every call is counted under exactly one reason.
  CHECK(sum == c.packets);
  CHECK(c[Reason::Tracked] == 6);
  CHECK(c[Reason::ReplayHandshake] == 1);
  CHECK(c[Reason::Rewritten] == 2);
  CHECK(c[Reason::StaleBackend] == 1);
  CHECK(c[Reason::NotIpv4] == 1);
  CHECK(c.flows_created == 1);
  CHECK(c.syn_sent == 1);
  CHECK(c.migrations_requested == 1);
  CHECK(c.migrations_completed == 1);
}

TEST_CASE("names and texts") {
  CHECK(std::string(core::reason_name(Reason::HoldOverflow)) == "hold-overflow");
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(Reason::Count); ++i) {
    const std::string n = core::reason_name(static_cast<Reason>(i));
    CHECK_FALSE(n.empty());
    names.insert(n);
  }
  CHECK(names.size() == static_cast<std::size_t>(Reason::Count));
  CHECK(core::trigger_text(Trigger::now()) == "now");
  CHECK(core::trigger_text(Trigger::at_time(1'500'000'000)) == "at 1.5s");
  CHECK(core::trigger_text(Trigger::after_requests(2)) == "after 2 requests");
  CHECK(core::options_text(core::TcpOptions{1460, 7, true, true}) == "mss 1460, wscale 7, sackOK, TS");
  CHECK(core::options_text(core::TcpOptions{}) == "none");
  CHECK(core::endpoint_text(kService) == "10.255.0.1:80");
  CHECK(std::string(core::flow_state_name(core::FlowState::Replaying)).size() > 0);
  CHECK(std::string(core::outcome_name(core::Outcome::AbortedTimeout)).size() > 0);
}

TEST_CASE("no allocation per packet in steady state (rule 8)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  // 100 copies of a client and a server packet, built before counting.
  std::vector<std::vector<uint8_t>> c(100, packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)));
  std::vector<std::vector<uint8_t>> s(100, packet(kS2, kClient, with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1151, 50), kS2Ts + 1, 104)));
  int modified = 0;
  const uint64_t start = tcpmig::testing::allocations();
  for (std::size_t i = 0; i < c.size(); ++i) {
    modified += lab.m.process(c[i], C2S, lab.now).action == Action::Modified ? 1 : 0;
    modified += lab.m.process(s[i], S2C, lab.now).action == Action::Modified ? 1 : 0;
  }
  CHECK(tcpmig::testing::allocations() == start);
  CHECK(modified == 200);
}

}  // namespace
}  // namespace coretest
