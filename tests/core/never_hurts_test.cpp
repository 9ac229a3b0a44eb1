// Rule 9 of core/migrator.hpp: a migration never hurts the connection it
// moves. Each case is a class of defect found by hostile testing; each failed
// before its fix.
#include "packets.hpp"

namespace coretest {
namespace {

/// Every RST the core emitted in `out` goes to an endpoint other than `backend`.
void check_no_rst_to(std::span<const Emitted> out, Endpoint backend) {
  for (const Emitted& e : out) {
    if (e.d.ok && (e.d.tcp.flags & flag::RST) != 0) CHECK(!(e.d.dst == backend));
  }
}

/// The emitted packets from index `from` on.
std::span<const Emitted> since(const Lab& lab, std::size_t from) {
  return {lab.sink.out.data() + from, lab.sink.out.size() - from};
}

TEST_CASE("a service rule whose target is the service address leaves new flows alone (rule 9)") {
  // Before: the rule armed every new flow, replayed a SYN to the server that
  // held the live connection (challenge ACKs), and the abort reset it.
  Lab lab;
  const uint64_t request = lab.m.migrate_service(kService, kService, Trigger::after_requests(1), lab.now);
  lab.established();
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)).v.reason == Reason::Tracked);
  CHECK(lab.sink.out.empty());  // no replayed SYN, no RST
  CHECK(lab.m.records().empty());
  CHECK(lab.status().state == core::FlowState::Established);
  CHECK(lab.m.request_info(request).on_target == 1);
}

TEST_CASE("a packet from a former backend is answered with a RST at its ACK (rule 9)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);  // the RST to S1 it sends is lost
  const std::size_t before = lab.sink.out.size();
  // S1 still holds the connection and retransmits its last segment.
  const Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5001, 1101, 200), 7100, 103));
  CHECK(r.v.reason == Reason::StaleBackend);
  const auto out = since(lab, before);
  REQUIRE(out.size() == 1);
  CHECK(out[0].d.src == kClient);
  CHECK(out[0].d.dst == kService);
  CHECK(out[0].d.tcp.flags == flag::RST);
  CHECK(out[0].d.tcp.seq.raw() == 1101);  // S1's RCV.NXT: an exact RST
  CHECK(lab.m.counters().stale_resets == 1);
  // Its own RSTs are not answered.
  CHECK(lab.s2c(seg(flag::RST, 5201, 0)).v.reason == Reason::StaleBackend);
  CHECK(lab.sink.out.size() == before + 1);
  check_no_rst_to(lab.sink.out, kS2);

  // A former backend that is not the service address: S1 -> S2 -> S3, S2 speaks.
  Lab chain;
  chain.established();
  chain.migrate_now(kS2, kS2Isn, kS2Ts);
  chain.migrate_now(kS3, kS3Isn, kS3Ts);
  const std::size_t mark = chain.sink.out.size();
  CHECK(chain.s2c(seg(flag::ACK, kS2Isn + 1, 1101), kS2).v.reason == Reason::StaleBackend);
  REQUIRE(chain.sink.out.size() == mark + 1);
  CHECK(chain.sink.out.back().d.dst == kS2);
  CHECK(chain.sink.out.back().d.tcp.seq.raw() == 1101);
  check_no_rst_to(chain.sink.out, kS3);

  // reset_old_backend = false: the operator wants old connections left alone.
  core::Config cfg = Lab::config();
  cfg.reset_old_backend = false;
  Lab quiet(cfg);
  quiet.established();
  quiet.migrate_now(kS2, kS2Isn, kS2Ts);
  const std::size_t n = quiet.sink.out.size();
  CHECK(quiet.s2c(seg(flag::ACK, 5201, 1101)).v.reason == Reason::StaleBackend);
  CHECK(quiet.sink.out.size() == n);
}

TEST_CASE("a return migration completes when the old server kept its connection: challenge ACK, RST, SYN (rule 9)") {
  // S1 -> S2 with the RST to S1 lost, one more exchange on S2, then back to
  // S1, which still holds the connection and answers the replayed SYN with a
  // challenge ACK (RFC 5961 4.2). Before: the ACK was swallowed, the SYN timed
  // out and the client stalled.
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  // A request and its response through S2 (client view: 1101..1151, 5201..5231).
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)).v.action == Action::Modified);
  const uint32_t s2_resp = kS2Isn + 1;
  REQUIRE(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, s2_resp, 1151, 30), kS2Ts + 1, 104), kS2).v.action ==
          Action::Modified);
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK, 1151, 5231), 105, 7002)).v.action == Action::Modified);
  REQUIRE(lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now).ok());
  const Emitted* syn = lab.last_syn_to(kService);
  REQUIRE(syn != nullptr);
  CHECK(syn->d.tcp.seq.raw() == 1150);  // cut 1151 - 1
  const std::size_t before = lab.sink.out.size();
  // The challenge ACK: S1's own numbers (it stopped at 5201 / 1101).
  const Result r = lab.s2c(with_ts(seg(flag::ACK, 5201, 1101), 7200, 103));
  CHECK(r.v.reason == Reason::ReplayHandshake);
  const auto out = since(lab, before);
  REQUIRE(out.size() == 2);
  CHECK(out[0].d.dst == kService);
  CHECK(out[0].d.tcp.flags == flag::RST);
  CHECK(out[0].d.tcp.seq.raw() == 1101);
  CHECK(out[1].d.dst == kService);
  CHECK(out[1].d.tcp.flags == flag::SYN);  // again, at once
  CHECK(out[1].d.tcp.seq.raw() == 1150);
  CHECK(lab.m.counters().target_resets == 1);
  CHECK(lab.m.records().back().target_resets == 1);
  CHECK(lab.m.records().back().syn_sent == 2);
  // One retransmission timer runs, the second SYN's (200 ms), not the first's (100 ms).
  lab.advance(Lab::config().replay_rto);
  CHECK(lab.sink.out.size() == before + 2);
  // S1, now in LISTEN, answers the SYN: the migration completes.
  const Result done = lab.s2c(lab.target_synack(kService, 777777, 8000));
  CHECK(done.v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records().back().outcome == core::Outcome::Completed);
  CHECK(lab.status().backend == kService);
}

TEST_CASE("a pure ACK after an upstream loss does not hide the retransmitted request (rule 9)") {
  // Request 2 (1101..1201) is lost before the gateway; the client's next
  // segment is a pure ACK with seq 1201. Before: that ACK moved the client's
  // highest sequence number to 1201, so the retransmitted request 2 was not
  // new data: not counted, never the trigger, and the cut came one request late.
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(2), lab.now).ok());
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK, 1201, 5201), 104, 7001)).v.action == Action::Pass);
  CHECK(lab.status().requests == 1);
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 100), 105, 7001)).v.action == Action::Pass);
  CHECK(lab.status().requests == 2);
  CHECK(lab.status().state == core::FlowState::WaitSafePoint);
  CHECK(lab.status().client_bytes == 200);
  // The server's answer, acknowledged; the next request is the cut.
  REQUIRE(lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 5201, 1201, 100), 7002, 105)).v.action == Action::Pass);
  const Result cut = lab.c2s(with_ts(seg(flag::ACK | flag::PSH, 1201, 5301, 100), 106, 7002));
  CHECK(cut.v.reason == Reason::Held);
  REQUIRE(lab.last_syn_to(kS2) != nullptr);
  CHECK(lab.last_syn_to(kS2)->d.tcp.seq.raw() == 1200);
}

}  // namespace
}  // namespace coretest

namespace coretest {
namespace {

TEST_CASE("S1 -> S2 -> S1 asked at once: the RST to S1 goes before the SYN that returns to it (rule 9)") {
  // Before: the queued return began inside the completion, so its SYN reached
  // S1 before the RST that ends S1's old connection: a challenge ACK and an
  // extra round trip (a full replay_rto if S1 rate-limits them).
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  REQUIRE(lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now).ok());  // queued
  const std::size_t before = lab.sink.out.size();
  REQUIRE(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  const auto out = since(lab, before);
  REQUIRE(out.size() == 3);
  CHECK(out[0].d.dst == kS2);  // the third ACK
  CHECK(out[0].d.tcp.flags == flag::ACK);
  CHECK(out[1].d.dst == kService);  // S1's old connection ends ...
  CHECK(out[1].d.tcp.flags == flag::RST);
  CHECK(out[1].d.tcp.seq.raw() == 1101);
  CHECK(out[2].d.dst == kService);  // ... before the return's SYN
  CHECK(out[2].d.tcp.flags == flag::SYN);
  CHECK(out[2].d.tcp.seq.raw() == 1100);
}

TEST_CASE("a challenge ACK is answered once per SYN sent: a copy cannot reset the new half-open connection (rule 9)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);  // the RST to S1 is lost
  REQUIRE(lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now).ok());
  const TcpRepr challenge = with_ts(seg(flag::ACK, 5201, 1101), 7200, 103);
  std::size_t mark = lab.sink.out.size();
  CHECK(lab.s2c(challenge).v.reason == Reason::ReplayHandshake);
  CHECK(lab.sink.out.size() == mark + 2);  // RST, SYN
  // A copy (or S1's answer to the second SYN before the RST reached it): nothing.
  mark = lab.sink.out.size();
  CHECK(lab.s2c(challenge).v.reason == Reason::ReplayHandshake);
  CHECK(lab.sink.out.size() == mark);
  CHECK(lab.m.records().back().target_resets == 1);
  // The retransmission timer sends the next SYN; a challenge ACK to it is answered again.
  lab.advance(2 * Lab::config().replay_rto);
  CHECK(lab.m.records().back().syn_sent == 3);
  mark = lab.sink.out.size();
  CHECK(lab.s2c(challenge).v.reason == Reason::ReplayHandshake);
  CHECK(lab.sink.out.size() == mark + 2);
  CHECK(lab.m.records().back().target_resets == 2);
}

}  // namespace
}  // namespace coretest
