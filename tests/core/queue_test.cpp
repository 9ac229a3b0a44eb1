// Rule 2 of core/migrator.hpp: one migration per flow at a time; a second
// request for a busy flow (by flow or by service) queues behind it and begins
// when it ends, never dropped silently; each refusal has its own name.
#include "packets.hpp"

namespace coretest {
namespace {

TEST_CASE("a second migrate_flow queues and begins when the first completes (rule 2)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());  // replaying to S2
  const auto second = lab.m.migrate_flow(kFlow, kS3, Trigger::now(), lab.now);
  REQUIRE(second.ok());
  CHECK(lab.status().queued == 1);
  CHECK(lab.m.records().at(*second).outcome == core::Outcome::Pending);
  CHECK(lab.m.records().at(*second).triggered_at == core::kNever);
  CHECK(lab.syns_to(kS3) == 0);
  // S2 answers: the first completes, the second begins at once (quiescent) from S2.
  REQUIRE(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records().at(0).outcome == core::Outcome::Completed);
  CHECK(lab.m.records().at(*second).triggered_at == lab.now);
  CHECK(lab.m.records().at(*second).from == kS2);
  CHECK(lab.syns_to(kS3) == 1);
  CHECK(lab.status().queued == 0);
  REQUIRE(lab.s2c(lab.target_synack(kS3, kS3Isn, kS3Ts), kS3).v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records().at(*second).outcome == core::Outcome::Completed);
  CHECK(lab.status().backend == kS3);
}

TEST_CASE("a service request reaching a busy flow queues it; the record says so (rule 2)") {
  // Before: the busy flow was skipped silently and the request had no record.
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(5), lab.now).ok());
  const uint64_t request = lab.m.migrate_service(kService, kS3, Trigger::now(), lab.now);
  CHECK(lab.m.request_info(request).records == 1);
  REQUIRE(lab.m.records().size() == 2);
  CHECK(lab.m.records()[1].request == request);
  CHECK(lab.m.records()[1].outcome == core::Outcome::Pending);
  CHECK(lab.status().queued == 1);
  // A FIN ends both: the armed one and the queued one abort (flow closing).
  CHECK(lab.c2s(with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)).v.action == Action::Pass);
  CHECK(lab.m.records()[0].outcome == core::Outcome::AbortedClosing);
  CHECK(lab.m.records()[1].outcome == core::Outcome::AbortedClosing);
  CHECK(lab.m.counters().migrations_aborted == 2);
}

TEST_CASE("queued requests: same target as the last queued is refused, the queue is bounded (rule 2, 9)") {
  core::Config cfg = Lab::config();
  cfg.max_queued = 1;
  Lab lab(cfg);
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::after_requests(5), lab.now).ok());
  auto r = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::SameBackend);
  REQUIRE(lab.m.migrate_flow(kFlow, kS3, Trigger::now(), lab.now).ok());
  r = lab.m.migrate_flow(kFlow, kService, Trigger::now(), lab.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == core::Refusal::QueueFull);
  // A service request finding the queue full leaves a refused record.
  const uint64_t request = lab.m.migrate_service(kService, kS2, Trigger::now(), lab.now);
  REQUIRE(lab.m.records().size() == 3);
  CHECK(lab.m.records()[2].request == request);
  CHECK(lab.m.records()[2].outcome == core::Outcome::Refused);
  CHECK(lab.m.records()[2].refusal == core::Refusal::QueueFull);
  CHECK(std::string(core::refusal_name(core::Refusal::QueueFull)) == "queue-full");
}

TEST_CASE("a queued migration whose target is the backend by then ends refused; the next one begins (rule 9)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());  // replaying to S2
  // Service requests are not compared with the queue when made: to S2 again, then to S3.
  const uint64_t again = lab.m.migrate_service(kService, kS2, Trigger::now(), lab.now);
  const uint64_t onward = lab.m.migrate_service(kService, kS3, Trigger::now(), lab.now);
  CHECK(lab.status().queued == 2);
  REQUIRE(lab.s2c(lab.target_synack(kS2, kS2Isn, kS2Ts), kS2).v.reason == Reason::ReplayHandshake);
  // On S2: the request to S2 ends refused (same backend), the one to S3 begins.
  REQUIRE(lab.m.records().size() == 3);
  CHECK(lab.m.records()[1].request == again);
  CHECK(lab.m.records()[1].outcome == core::Outcome::Refused);
  CHECK(lab.m.records()[1].refusal == core::Refusal::SameBackend);
  CHECK(lab.m.records()[2].request == onward);
  CHECK(lab.m.records()[2].triggered_at == lab.now);
  CHECK(lab.status().state == core::FlowState::Replaying);
  CHECK(lab.syns_to(kS3) == 1);
  CHECK(lab.syns_to(kS2) == 1);
}

TEST_CASE("a queued request to the backend the flow reaches first is refused when its turn comes (rule 9)") {
  Lab lab;
  lab.established();
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  const auto a = lab.m.migrate_flow(kFlow, kS3, Trigger::now(), lab.now);
  const auto b = lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now);  // S2 after S3: fine when asked
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // S2 refuses the first replay: the flow stays on S1; S3's begins.
  const Emitted* syn = lab.last_syn_to(kS2);
  REQUIRE(syn != nullptr);
  REQUIRE(lab.s2c(seg(flag::RST | flag::ACK, 0, syn->d.tcp.seq.raw() + 1), kS2).v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records()[0].outcome == core::Outcome::AbortedRst);
  CHECK(lab.syns_to(kS3) == 1);
  REQUIRE(lab.s2c(lab.target_synack(kS3, kS3Isn, kS3Ts), kS3).v.reason == Reason::ReplayHandshake);
  CHECK(lab.m.records()[*a].outcome == core::Outcome::Completed);
  // Then S2's: from S3, a real move.
  CHECK(lab.m.records()[*b].from == kS3);
  CHECK(lab.syns_to(kS2) == 2);
}

}  // namespace
}  // namespace coretest
