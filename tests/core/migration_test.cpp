// Migration core, rules 2-4 of migrator.hpp: triggers (now, at a time, after
// requests / segments / bytes, waiting for the target), safe points
// (ClientData with the held packet_m, Quiescent), the replayed SYN, its
// retransmission and the aborts (timeout, RST, refused timestamps), the
// completion (third ACK, held packets released rewritten, RST to the old
// backend), hold overflow, records and observer calls.
#include <doctest/doctest.h>

#include "packets.hpp"

namespace coretest {
namespace {

constexpr uint32_t kDelta = 5201U - (kS2Isn + 1);  // client view 5201 = S2's 900001 + delta

/// Checks the replayed SYN: client -> target, seq = cut - 1, the options the
/// old server accepted with the client's values, TSval = client's latest,
/// TSecr 0 (RFC 7323: SHOULD be 0 without ACK), TTL = Config::ttl.
void check_replayed_syn(const Lab& lab, const Emitted& e, Endpoint target, uint32_t cut, uint32_t tsval) {
  CHECK(e.dir == C2S);
  TcpRepr want = seg(flag::SYN, cut - 1, 0);
  want.mss = 1460;
  want.window_scale = 7;
  want.sack_permitted = true;
  want.timestamps = std::pair{tsval, 0U};
  want.window = e.d.tcp.window;  // the window of the replayed SYN is not specified
  want.ack = e.d.tcp.ack;        // nor its ack field (ACK is off)
  check_packet(e.bytes, kClient, target, want);
  CHECK(e.d.ttl == lab.cfg.ttl);
}

TEST_CASE("Trigger::now on a quiescent flow sends the replayed SYN at once (rules 2, 3 Quiescent, 4)") {
  Lab lab;
  CountingObserver obs;
  lab.m.set_observer(&obs);
  lab.established();
  auto id = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE(id.ok());
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 103);
  CHECK(lab.status().state == core::FlowState::Replaying);
  CHECK(lab.m.counters().syn_sent == 1);
  CHECK(lab.m.counters().migrations_requested == 1);
  CHECK(lab.m.next_deadline() == lab.now + lab.cfg.replay_rto);
  REQUIRE(lab.m.records().size() == 1);
  const auto& rec = lab.m.records()[0];
  CHECK(rec.id == *id);
  CHECK(rec.flow == kFlow);
  CHECK(rec.from == kService);
  CHECK(rec.to == kS2);
  CHECK(rec.trigger.kind == Trigger::Kind::Now);
  CHECK(rec.outcome == core::Outcome::Pending);
  CHECK(rec.requested_at == kStart);
  CHECK(rec.triggered_at == kStart);
  CHECK(rec.safe_point_at == kStart);
  CHECK(rec.synack_at == core::kNever);
  CHECK(rec.finished_at == core::kNever);
  CHECK(rec.first_hold_at == core::kNever);
  CHECK(rec.syn_sent == 1);
  CHECK(rec.cut == 1101);
  CHECK(rec.replay_rtt() == core::kNever);
  CHECK(obs.triggered == std::vector<uint64_t>{*id});
  CHECK(obs.finished.empty());
}

TEST_CASE("the target's SYN-ACK completes the migration: third ACK, RST to the old backend (rule 4)") {
  Lab lab;
  CountingObserver obs;
  lab.m.set_observer(&obs);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  lab.now += 2'000'000;
  const std::size_t before = lab.sink.out.size();
  TcpRepr synack = lab.target_synack(kS2, kS2Isn, kS2Ts);
  const Result r = lab.s2c(synack, kS2);
  CHECK(r.v.action == Action::Drop);
  CHECK(r.v.reason == Reason::ReplayHandshake);
  REQUIRE(lab.sink.out.size() == before + 2);
  // Third ACK: client -> S2, seq = cut, ack = target ISN + 1, TS client's latest / target's TSval.
  const Emitted& ack = lab.sink.out[before];
  CHECK(ack.dir == C2S);
  check_packet(ack.bytes, kClient, kS2, with_ts(seg(flag::ACK, 1101, kS2Isn + 1), 103, kS2Ts));
  // RST to the old backend with the sequence number it expects (its rcv_nxt, 1101).
  const Emitted& rst = lab.sink.out[before + 1];
  CHECK(rst.dir == C2S);
  CHECK(rst.d.src == kClient);
  CHECK(rst.d.dst == kService);
  CHECK((rst.d.tcp.flags & flag::RST) != 0);
  CHECK((rst.d.tcp.flags & (flag::SYN | flag::FIN)) == 0);
  CHECK(rst.d.tcp.seq.raw() == 1101);
  CHECK(rst.d.ip_csum);
  CHECK(rst.d.tcp_csum);

  const core::FlowStatus st = lab.status();
  CHECK(st.backend == kS2);
  CHECK(st.migrations == 1);
  CHECK(st.state == core::FlowState::Established);
  CHECK(st.seq_delta == kDelta);
  // The target's TSval in the client's view does not go back (PAWS).
  CHECK(SeqNumber{kS2Ts + st.ts_delta} >= SeqNumber{7001});

  const auto& rec = lab.m.records().at(0);
  CHECK(rec.outcome == core::Outcome::Completed);
  CHECK(rec.synack_at == kStart + 2'000'000);
  CHECK(rec.finished_at == kStart + 2'000'000);
  CHECK(rec.replay_rtt() == 2'000'000);
  CHECK(rec.client_stall() == 0);
  CHECK(rec.held == 0);
  CHECK(rec.seq_delta == kDelta);
  CHECK(rec.ts_delta == st.ts_delta);
  CHECK(rec.client_options == core::TcpOptions{1460, 7, true, true});
  CHECK(rec.old_options == core::TcpOptions{1400, 7, true, true});
  CHECK(rec.new_options == core::TcpOptions{1300, 7, true, true});
  CHECK(lab.m.counters().migrations_completed == 1);
  CHECK(lab.m.counters().migrations_aborted == 0);
  CHECK(lab.m.counters().resets_sent == 1);
  CHECK(lab.m.counters()[Reason::ReplayHandshake] == 1);
  CHECK(obs.finished == std::vector<uint64_t>{rec.id});
  CHECK(lab.m.next_deadline() == core::kNever);
}

TEST_CASE("reset_old_backend = false sends no RST to the old backend (rule 4)") {
  core::Config cfg = Lab::config();
  cfg.reset_old_backend = false;
  Lab lab(cfg);
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  REQUIRE(lab.sink.out.size() == 2);  // SYN, third ACK
  CHECK((lab.sink.out[1].d.tcp.flags & flag::RST) == 0);
  CHECK(lab.m.counters().resets_sent == 0);
}

TEST_CASE("ClientData safe point: after 1 request, the next request is packet_m, held; cut = its seq (rule 3)") {
  Lab lab;
  lab.handshake();
  auto id = lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(1), lab.now);
  REQUIRE(id.ok());
  CHECK(lab.status().state == core::FlowState::Armed);
  CHECK(lab.m.records().at(0).triggered_at == core::kNever);
  // Request 1 goes to S1 and fires the trigger.
  lab.now += 1'000'000;
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 100), 102, 7000)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  CHECK(lab.m.records().at(0).triggered_at == kStart + 1'000'000);
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5001, 1101, 200), 7001, 102)).v.reason == Reason::Tracked);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1101, 5201), 103, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.sink.out.empty());
  // Request 2 (packet_m): held, and everything before it is acknowledged: the replay starts.
  lab.now += 1'000'000;
  const auto request2 = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001));
  const Result r = lab.process(request2, C2S);
  CHECK(r.v.action == Action::Drop);
  CHECK(r.v.reason == Reason::Held);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 104);
  CHECK(lab.status().state == core::FlowState::Replaying);
  const Nanos held_at = lab.now;
  // The target answers: third ACK, then the held request rewritten, then the RST to S1.
  lab.now += 3'000'000;
  CHECK(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  REQUIRE(lab.sink.out.size() == 4);
  check_packet(lab.sink.out[1].bytes, kClient, kS2, with_ts(seg(flag::ACK, 1101, kS2Isn + 1), 104, kS2Ts));
  const uint32_t ts_delta = lab.status().ts_delta;
  CHECK(lab.sink.out[2].dir == C2S);
  check_packet(lab.sink.out[2].bytes, kClient, kS2,
               with_ts(seg(flag::ACK | flag::PSH, 1101, 5201 - kDelta, 50), 104, 7001 - ts_delta));
  CHECK(lab.sink.out[3].d.dst == kService);
  CHECK((lab.sink.out[3].d.tcp.flags & flag::RST) != 0);
  CHECK(lab.sink.out[3].d.tcp.seq.raw() == 1101);
  const auto& rec = lab.m.records().at(0);
  CHECK(rec.outcome == core::Outcome::Completed);
  CHECK(rec.cut == 1101);
  CHECK(rec.held == 1);
  CHECK(rec.first_hold_at == held_at);
  CHECK(rec.safe_point_at == held_at);
  CHECK(rec.client_stall() == 3'000'000);
  CHECK(rec.replay_rtt() == 3'000'000);
  CHECK(rec.trigger.kind == Trigger::Kind::AfterRequests);
  CHECK(rec.trigger.count == 1);
}

TEST_CASE("ClientData: packet_m waits until the old backend acknowledges; retransmissions below the cut go to it") {
  Lab lab;
  lab.handshake();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_segments(1), lab.now).ok());
  const auto seg1 = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 100), 102, 7000));
  CHECK(lab.process(seg1, C2S).v.reason == Reason::Tracked);  // fires the trigger
  // Segment 2 is new data after the trigger: the cut (1101), held; S1 has not acknowledged 1101 yet.
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5001, 50), 103, 7000)).v.reason == Reason::Held);
  CHECK(lab.sink.out.empty());
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  // The client retransmits segment 1 (below the cut): to S1, unchanged.
  const Result re = lab.process(seg1, C2S);
  CHECK(re.v.action == Action::Pass);
  CHECK(re.v.reason == Reason::Tracked);
  CHECK(re.out == seg1);
  // S1 acknowledges 1101: the replay starts (SYN seq 1100).
  CHECK(lab.s2c(with_ts(seg(flag::ACK, 5001, 1101), 7001, 102)).v.action == Action::Pass);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 103);
  // While replaying, every client packet is held.
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1151, 5001), 104, 7001)).v.reason == Reason::Held);
  CHECK(lab.m.records().at(0).held == 2);
}

TEST_CASE("Quiescent: Trigger::now with unacknowledged data waits for the acknowledgment (rule 3)") {
  Lab lab;
  lab.handshake();
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 100), 102, 7000)).v.action == Action::Pass);
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  CHECK(lab.sink.out.empty());
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  // S1 sends data and acknowledges everything: the client's data is acked but S1's is not.
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5001, 1101, 200), 7001, 102)).v.action == Action::Pass);
  CHECK(lab.sink.out.empty());
  // The client acknowledges S1's data: both directions quiet, cut = 1101.
  lab.now += 1000;
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1101, 5201), 103, 7001)).v.action == Action::Pass);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 103);
  CHECK(lab.m.records().at(0).safe_point_at == kStart + 1000);
  CHECK(lab.m.records().at(0).triggered_at == kStart);
}

TEST_CASE("Trigger::at_time fires at poll(time) (rule 2)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::at_time(kStart + 500'000'000), lab.now).ok());
  CHECK(lab.status().state == core::FlowState::Armed);
  CHECK(lab.m.next_deadline() == kStart + 500'000'000);
  lab.advance(499'999'999);
  CHECK(lab.sink.out.empty());
  lab.advance(1);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 103);
  CHECK(lab.m.records().at(0).triggered_at == kStart + 500'000'000);
  CHECK(lab.m.records().at(0).trigger.kind == Trigger::Kind::AtTime);
}

TEST_CASE("Trigger::after_bytes counts client payload bytes; the next new data is the cut (rules 2, 3)") {
  Lab lab;
  lab.handshake();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_bytes(150), lab.now).ok());
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 100), 102, 7000)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::Armed);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5001, 100), 103, 7000)).v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  CHECK(lab.status().client_bytes == 200);
  CHECK(lab.s2c(with_ts(seg(flag::ACK, 5001, 1201), 7001, 103)).v.reason == Reason::Tracked);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1201, 5001, 10), 104, 7001)).v.reason == Reason::Held);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1201, 104);
}

TEST_CASE("requests: client data after server data (or the first) is one request (rule 2)") {
  Lab lab;
  lab.handshake();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(2), lab.now).ok());
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 10), 102, 7000)).v.reason == Reason::Tracked);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1011, 5001, 10), 102, 7000)).v.reason == Reason::Tracked);
  CHECK(lab.status().requests == 1);
  CHECK(lab.status().segments == 2);
  CHECK(lab.status().state == core::FlowState::Armed);
  CHECK(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5001, 1021, 30), 7001, 102)).v.reason == Reason::Tracked);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1021, 5031), 103, 7001)).v.reason == Reason::Tracked);  // no data
  CHECK(lab.status().requests == 1);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1021, 5031, 10), 104, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.status().requests == 2);
  CHECK(lab.status().segments == 3);
  CHECK(lab.status().client_bytes == 30);
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  // A retransmission is not new data.
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5031, 10), 105, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.status().segments == 3);
  CHECK(lab.status().client_bytes == 30);
}

TEST_CASE("the replayed SYN is retransmitted after replay_rto, doubling; no answer after the last retry aborts") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  const Nanos rto = lab.cfg.replay_rto;
  lab.now += 50'000'000;
  const auto held = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 20), 104, 7001));
  CHECK(lab.process(held, C2S).v.reason == Reason::Held);
  // SYNs at 0, rto, 3 rto, 7 rto (3 retries); abort at 15 rto.
  const Nanos times[] = {rto, 3 * rto, 7 * rto};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(lab.m.next_deadline() == kStart + times[i]);
    lab.now = kStart + times[i] - 1;
    lab.m.poll(lab.now);
    CHECK(lab.syns_to(kS2) == i + 1);
    lab.now += 1;
    lab.m.poll(lab.now);
    REQUIRE(lab.syns_to(kS2) == i + 2);
    check_replayed_syn(lab, *lab.last_syn_to(kS2), kS2, 1101, 103);
  }
  CHECK(lab.m.records().at(0).syn_sent == 4);
  CHECK(lab.m.counters().syn_sent == 4);
  // Reading: after the last retry the core waits one more doubled timeout (8 rto) before aborting.
  CHECK(lab.m.next_deadline() == kStart + 15 * rto);
  const std::size_t before = lab.sink.out.size();
  lab.now = kStart + 15 * rto;
  lab.m.poll(lab.now);
  const auto& rec = lab.m.records().at(0);
  CHECK(rec.outcome == core::Outcome::AbortedTimeout);
  CHECK(rec.finished_at == kStart + 15 * rto);
  CHECK(rec.synack_at == core::kNever);
  CHECK(rec.replay_rtt() == core::kNever);
  CHECK(rec.client_stall() == 15 * rto - 50'000'000);
  CHECK(lab.syns_to(kS2) == 4);
  // The held packet goes to the old backend unchanged. (Not in the rules: a
  // RST to the silent target, for a half-open connection there, is accepted.)
  int released = 0;
  for (std::size_t i = before; i < lab.sink.out.size(); ++i) {
    const Emitted& e = lab.sink.out[i];
    if (e.bytes == held) {
      ++released;
      CHECK(e.dir == C2S);
    } else {
      CHECK(e.d.dst == kS2);
      CHECK(e.d.tcp.flags == flag::RST);
      CHECK(e.d.tcp.seq.raw() == 1101);
    }
  }
  CHECK(released == 1);
  const core::FlowStatus st = lab.status();
  CHECK(st.backend == kService);
  CHECK(st.migrations == 0);
  CHECK(st.state == core::FlowState::Established);
  CHECK(lab.m.counters().migrations_aborted == 1);
  CHECK(lab.m.next_deadline() == core::kNever);
  // The flow goes on with S1.
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 1121, 5201), 105, 7001)).v.reason == Reason::Tracked);
}

TEST_CASE("a RST from the target aborts; held packets go to the old backend unchanged (rule 4)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  const auto held = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 20), 104, 7001));
  CHECK(lab.process(held, C2S).v.reason == Reason::Held);
  const std::size_t before = lab.sink.out.size();
  const Result r = lab.s2c(seg(flag::RST | flag::ACK, 0, 1101), kS2);
  CHECK(r.v.action == Action::Drop);
  CHECK(r.v.reason == Reason::ReplayHandshake);
  REQUIRE(lab.sink.out.size() == before + 1);
  CHECK(lab.sink.out[before].bytes == held);
  CHECK(lab.m.records().at(0).outcome == core::Outcome::AbortedRst);
  CHECK(lab.m.counters().resets_sent == 0);
  CHECK(lab.status().backend == kService);
  CHECK(lab.status().state == core::FlowState::Established);
  CHECK(lab.m.next_deadline() == core::kNever);
}

TEST_CASE("a SYN-ACK without timestamps when the client uses them aborts with a RST to the target (rule 4)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  const auto held = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 20), 104, 7001));
  CHECK(lab.process(held, C2S).v.reason == Reason::Held);
  TcpRepr synack = lab.target_synack(kS2, kS2Isn, kS2Ts);
  synack.timestamps.reset();
  const std::size_t before = lab.sink.out.size();
  const Result r = lab.s2c(synack, kS2);
  CHECK(r.v.action == Action::Drop);
  CHECK(r.v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records().at(0).outcome == core::Outcome::AbortedOptions);
  bool rst_to_target = false;
  bool released = false;
  for (std::size_t i = before; i < lab.sink.out.size(); ++i) {
    const Emitted& e = lab.sink.out[i];
    if (e.d.dst == kS2 && (e.d.tcp.flags & flag::RST) != 0) {
      rst_to_target = true;
      CHECK(e.d.src == kClient);
      CHECK(e.d.tcp.seq.raw() == 1101);  // the SYN-ACK's ack
      CHECK(e.d.tcp_csum);
    }
    if (e.bytes == held) released = true;
  }
  CHECK(rst_to_target);
  CHECK(released);
  CHECK(lab.m.counters().resets_sent == 1);
  CHECK(lab.status().backend == kService);
}

TEST_CASE("a SYN-ACK whose ack is not the cut does not complete the migration (rule 4: ack == cut)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  TcpRepr synack = lab.target_synack(kS2, kS2Isn, kS2Ts);
  synack.ack = SeqNumber{5555};
  (void)lab.s2c(synack, kS2);
  CHECK(lab.status().state == core::FlowState::Replaying);
  CHECK(lab.status().backend == kService);
  CHECK(lab.m.records().at(0).outcome == core::Outcome::Pending);
}

TEST_CASE("hold_packets bounds the hold queue; more are dropped (hold_overflow)") {
  core::Config cfg = Lab::config();
  cfg.hold_packets = 2;
  Lab lab(cfg);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 10), 104, 7001)).v.reason == Reason::Held);
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1111, 5201, 10), 104, 7001)).v.reason == Reason::Held);
  const Result r = lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1121, 5201, 10), 104, 7001));
  CHECK(r.v.action == Action::Drop);
  CHECK(r.v.reason == Reason::HoldOverflow);
  CHECK(lab.m.counters()[Reason::HoldOverflow] == 1);
  CHECK(lab.m.counters()[Reason::Held] == 2);
  CHECK(lab.m.records().at(0).held == 2);
  CHECK(lab.m.records().at(0).hold_dropped == 1);
  // Completion releases the two held packets, in order, rewritten.
  const std::size_t before = lab.sink.out.size();
  CHECK(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  REQUIRE(lab.sink.out.size() == before + 4);  // ACK, 2 held, RST
  CHECK(lab.sink.out[before + 1].d.tcp.seq.raw() == 1101);
  CHECK(lab.sink.out[before + 2].d.tcp.seq.raw() == 1111);
  CHECK(lab.sink.out[before + 1].d.dst == kS2);
  CHECK(lab.sink.out[before + 2].d.tcp.ack.raw() == 5201 - kDelta);
}

TEST_CASE("wait_for_target: the migration waits in WaitTarget until target_ready names the target (rule 2)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now, true).ok());
  CHECK(lab.status().state == core::FlowState::WaitTarget);
  CHECK(lab.sink.out.empty());
  lab.m.target_ready(kS3, lab.now);
  CHECK(lab.sink.out.empty());
  lab.now += 7'000'000;
  lab.m.target_ready(kS2, lab.now);
  REQUIRE(lab.sink.out.size() == 1);
  check_replayed_syn(lab, lab.sink.out[0], kS2, 1101, 103);
  CHECK(lab.m.records().at(0).safe_point_at == kStart + 7'000'000);
  CHECK(lab.m.records().at(0).triggered_at == kStart);
}

TEST_CASE("a flow that saw a FIN before its replay is not migrated (aborted, flow closing)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(5), lab.now).ok());
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)).v.action == Action::Pass);
  CHECK(lab.m.records().at(0).outcome == core::Outcome::AbortedClosing);
  CHECK(lab.m.records().at(0).finished_at == kStart);
  CHECK(lab.status().state == core::FlowState::Closing);
  CHECK(lab.sink.out.empty());
  CHECK(lab.m.counters().migrations_aborted == 1);
}

TEST_CASE("migrate_service applies to present flows and, for count triggers, to later ones (rule 2)") {
  Lab lab;
  lab.established();
  // Second flow, same service.
  CHECK(lab.c2s(client_syn(2000, 500), kClient2).v.action == Action::Pass);
  CHECK(lab.s2c(server_synack(6000, 2001, 8000, 500), kService, kClient2).v.action == Action::Pass);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 2001, 6001), 501, 8000), kClient2).v.action == Action::Pass);
  lab.m.migrate_service(kService, kS2, Trigger::now(), lab.now);
  CHECK(lab.syns_to(kS2) == 2);
  REQUIRE(lab.m.records().size() == 2);
  CHECK(lab.m.records()[0].id < lab.m.records()[1].id);
  // A time-trigger rule does not apply to a flow opened after it.
  const Endpoint third{Ipv4Address{0x0a000004}, 40004};
  CHECK(lab.c2s(client_syn(3000, 600), third).v.action == Action::Pass);
  CHECK(lab.s2c(server_synack(7000, 3001, 9000, 600), kService, third).v.action == Action::Pass);
  CHECK(lab.c2s(with_ts(seg(flag::ACK, 3001, 7001), 601, 9000), third).v.action == Action::Pass);
  CHECK(lab.m.records().size() == 2);
  CHECK(lab.status(FlowKey{third, kService}).state == core::FlowState::Established);

  // A count-trigger rule applies to a flow opened afterwards when its own count is reached.
  Lab lab2;
  lab2.m.migrate_service(kService, kS2, Trigger::after_segments(1), lab2.now);
  lab2.handshake();
  CHECK(lab2.status().state == core::FlowState::Armed);
  CHECK(lab2.c2s(with_ts(seg(flag::ACK | flag::PSH, 1001, 5001, 10), 102, 7000)).v.reason == Reason::Tracked);
  CHECK(lab2.status().state == core::FlowState::WaitSafePoint);
  CHECK(lab2.s2c(with_ts(seg(flag::ACK, 5001, 1011), 7001, 102)).v.reason == Reason::Tracked);
  CHECK(lab2.c2s(with_ts(seg(flag::ACK | flag::PSH, 1011, 5001, 10), 103, 7001)).v.reason == Reason::Held);
  CHECK(lab2.syns_to(kS2) == 1);
  REQUIRE(lab2.m.records().size() == 1);
  CHECK(lab2.m.records()[0].flow == kFlow);
}

TEST_CASE("migrate_service leaves flows already on the target alone") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  const std::size_t records = lab.m.records().size();
  const std::size_t emitted = lab.sink.out.size();
  lab.m.migrate_service(kService, kS2, Trigger::now(), lab.now);
  CHECK(lab.m.records().size() == records);
  CHECK(lab.sink.out.size() == emitted);
}

}  // namespace
}  // namespace coretest
