// The client-data safe point while the old server is still busy, and the
// ways a replay ends early: rule 3's "the old backend keeps getting what it
// needs" and rule 4's aborts (old backend moves on during the replay, a
// migration to where the flow already is, a zero linger with a replay under
// way).
#include <doctest/doctest.h>

#include "packets.hpp"

using namespace coretest;

namespace {

/// Armed for a count trigger that fires at the next request (the standard
/// flow has made one request).
void armed(Lab& lab) {
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(2), lab.now).ok());
}

}  // namespace

TEST_CASE("a client-data cut while the old server still sends: pure ACKs pass, new ACKs are forwarded") {
  Lab lab;
  armed(lab);
  // Request 2 fires the trigger (it goes to S1); S1 answers with two segments.
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5201, 1151, 100), 7002, 104)).v.action == Action::Pass);
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5301, 1151, 100), 7002, 104)).v.action == Action::Pass);
  // Request 3 arrives when the client has acknowledged only S1's first
  // segment: it is the cut and is held; its ACK reaches S1 as a pure ACK.
  const std::size_t before = lab.sink.out.size();
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1151, 5301, 30), 105, 7002)).v.reason == Reason::Held);
  REQUIRE(lab.sink.out.size() == before + 1);
  const Emitted& fwd = lab.sink.out.back();
  CHECK(fwd.d.dst == kService);
  CHECK(fwd.d.tcp.flags == flag::ACK);
  CHECK(fwd.d.tcp.seq.raw() == 1151);  // the cut: S1's RCV.NXT
  CHECK(fwd.d.tcp.ack.raw() == 5301);
  CHECK(fwd.d.tcp.payload.empty());
  REQUIRE(fwd.d.tcp.timestamps);
  CHECK(fwd.d.tcp.timestamps->first == 105);
  check_checksums_recomputed(fwd.bytes);
  CHECK(lab.syns_to(kS2) == 0);  // S1's second segment is not acknowledged yet
  // The client's pure ACK of it passes to S1 unchanged, and that is the safe point.
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1181, 5401), 106, 7002)).v.reason == Reason::Tracked);
  CHECK(lab.syns_to(kS2) == 1);  // everything before the cut acknowledged both ways: the replay starts
  const Emitted* syn = lab.last_syn_to(kS2);
  REQUIRE(syn != nullptr);
  CHECK(syn->d.tcp.seq.raw() == 1150);
}

TEST_CASE("a held segment that straddles the cut: the bytes before the cut still reach the old server") {
  Lab lab;
  armed(lab);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)).v.reason == Reason::Tracked);
  // Request 2 ([1101, 1151)) is lost after the gateway; request 3 becomes the cut at 1151.
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1151, 5201, 30), 105, 7001)).v.reason == Reason::Held);
  // The client retransmits 2 and 3 in one segment [1101, 1181): held, and [1101, 1151) goes to S1.
  const std::size_t before = lab.sink.out.size();
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 80), 106, 7001)).v.reason == Reason::Held);
  REQUIRE(lab.sink.out.size() == before + 1);
  const Emitted& part = lab.sink.out.back();
  CHECK(part.d.dst == kService);
  CHECK(part.d.tcp.seq.raw() == 1101);
  CHECK(part.d.tcp.payload.size() == 50);
  CHECK(std::equal(part.d.tcp.payload.begin(), part.d.tcp.payload.end(), payload(80).begin()));
  check_checksums_recomputed(part.bytes);
  // S1 acknowledges up to the cut and answers: once the client acknowledges, the replay starts.
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5201, 1151, 10), 7002, 106)).v.action == Action::Pass);
  CHECK(lab.syns_to(kS2) == 0);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1181, 5211), 107, 7002)).v.reason == Reason::Tracked);
  CHECK(lab.syns_to(kS2) == 1);
}

TEST_CASE("the old server sends new data during the replay: the migration aborts and the flow stays") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  REQUIRE(lab.syns_to(kS2) == 1);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 10), 104, 7001)).v.reason == Reason::Held);
  const std::size_t before = lab.sink.out.size();
  const Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 20), 7002, 103));
  CHECK(r.v.action == Action::Pass);  // it still reaches the client
  const auto& rec = lab.m.records().back();
  CHECK(rec.outcome == core::Outcome::AbortedServer);
  CHECK(lab.status().backend == kService);
  CHECK(lab.status().state == core::FlowState::Established);
  // A RST to the target (seq = cut), then the held request to S1.
  REQUIRE(lab.sink.out.size() == before + 2);
  CHECK(lab.sink.out[before].d.dst == kS2);
  CHECK(lab.sink.out[before].d.tcp.flags == flag::RST);
  CHECK(lab.sink.out[before].d.tcp.seq.raw() == 1101);
  CHECK(lab.sink.out[before + 1].d.dst == kService);
  CHECK(lab.sink.out[before + 1].d.tcp.payload.size() == 10);
  // The target's late SYN-ACK is no longer the flow's business.
  CHECK(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::UnknownFlow);
}

TEST_CASE("migrating a flow to the backend it is on is refused (same-backend, rule 9)") {
  Lab lab;
  lab.established();
  auto r = lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::SameBackend);
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  r = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::SameBackend);
  CHECK(lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now).ok());
}

TEST_CASE("close_linger 0 with a replay under way: poll ends and the flow goes once the replay ends") {
  core::Config cfg = Lab::config();
  cfg.close_linger = 0;
  Lab lab(cfg);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  CHECK(lab.c2s(seg(flag::RST, 1101, 0)).v.reason == Reason::Held);  // the client resets: held too
  lab.advance(1);
  lab.advance(1);
  CHECK(lab.m.flow_count() == 1);  // kept while the replay runs
  CHECK(lab.m.next_deadline() != core::kNever);
  lab.advance(10'000'000'000);  // the replay times out; then the flow expires
  CHECK(lab.m.records().back().outcome == core::Outcome::AbortedTimeout);
  CHECK(lab.m.flow_count() == 0);
}
