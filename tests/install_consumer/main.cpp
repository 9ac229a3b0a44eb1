// Checks that the installed tcpmig package is usable on its own: builds a
// client SYN with the wire headers, hands it to a core::Migrator and checks
// the verdict (passed, tracked), the counters and the new flow's status.
// Exit 0 on success, 1 (with a message) otherwise.
#include <array>
#include <cstdint>
#include <cstdio>
#include <span>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace {

using namespace tcpmig;

/// Counts what the core emits (nothing, for a plain SYN).
class CountingSink final : public core::PacketSink {
 public:
  void emit(std::span<const uint8_t>, core::Direction) override { ++emitted; }
  int emitted = 0;
};

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  const core::Endpoint client{wire::Ipv4Address::from_octets(10, 0, 0, 2), 40000};
  const core::Endpoint service{wire::Ipv4Address::from_octets(10, 255, 0, 1), 80};

  wire::TcpRepr syn;
  syn.src_port = client.port;
  syn.dst_port = service.port;
  syn.seq = wire::SeqNumber{1000};
  syn.flags = wire::tcp_flag::SYN;
  syn.window = 64240;
  syn.mss = 1460;
  syn.sack_permitted = true;
  syn.timestamps = std::pair{12345U, 0U};
  syn.window_scale = 7;

  std::array<uint8_t, 128> buf{};
  wire::Ipv4Repr ip{client.ip, service.ip, wire::ip_proto::tcp, static_cast<uint16_t>(syn.buffer_len())};
  auto pkt = ip.emit(buf);
  if (!pkt || !syn.emit(pkt->payload(), client.ip, service.ip)) {
    std::printf("FAIL: cannot build the SYN\n");
    return 1;
  }
  const std::span<uint8_t> bytes = pkt->packet();

  CountingSink sink;
  core::Config cfg;
  cfg.max_flows = 16;
  core::Migrator migrator(cfg, sink);
  const core::Verdict v = migrator.process(bytes, core::Direction::ClientToServer, 1'000'000);

  std::printf("verdict %s/%s, packets %llu, flows created %llu, flows %zu, emitted %d\n",
              v.action == core::Action::Pass ? "pass" : "other", core::reason_name(v.reason),
              static_cast<unsigned long long>(migrator.counters().packets),
              static_cast<unsigned long long>(migrator.counters().flows_created), migrator.flow_count(),
              sink.emitted);
  expect(v.action == core::Action::Pass, "a SYN is passed");
  expect(v.reason == core::Reason::Tracked, "a SYN is tracked");
  expect(migrator.counters().packets == 1, "one packet counted");
  expect(migrator.counters()[core::Reason::Tracked] == 1, "one tracked packet counted");
  expect(migrator.counters().flows_created == 1, "one flow created");
  expect(migrator.flow_count() == 1, "one flow in the table");
  expect(sink.emitted == 0, "nothing emitted");
  const auto st = migrator.status(core::FlowKey{client, service});
  expect(st.has_value() && st->state == core::FlowState::SynSent, "the flow is in SynSent");
  expect(st.has_value() && st->backend == service, "the flow's backend is the service");
  return failures == 0 ? 0 : 1;
}
