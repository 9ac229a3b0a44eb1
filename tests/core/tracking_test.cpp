// Migration core, rules 1, 7 and 8 of migrator.hpp: tracking of handshakes
// (flows, recorded options, counts), packets passed unchanged with their
// reason (unknown flows, not IPv4, fragments, not TCP, truncated or malformed
// headers and options), the table limit and status().
#include <doctest/doctest.h>

#include "packets.hpp"

namespace coretest {
namespace {

/// Bytes of the standard client SYN with one byte changed.
std::vector<uint8_t> syn_with(std::size_t offset, uint8_t value) {
  auto p = packet(kClient, kService, client_syn());
  p[offset] = value;
  return p;
}

TEST_CASE("bad and unknown packets pass unchanged with their reason (rules 1, 7)") {
  const std::vector<Row> rows = {
      // Rule 1: TCP of a connection whose handshake was not seen passes, unknown_flow.
      {"data of an unknown flow", [](const Lab&) { return packet(kClient, kService, seg(flag::ACK, 1, 2, 10)); },
       C2S, Action::Pass, Reason::UnknownFlow},
      // Rule 1: a SYN-ACK without the client's SYN creates nothing.
      {"SYN-ACK of an unknown flow", [](const Lab&) { return packet(kService, kClient, server_synack()); }, S2C,
       Action::Pass, Reason::UnknownFlow},
      // Rule 1: a SYN in the server-to-client direction is not a client SYN.
      {"SYN travelling server to client", [](const Lab&) { return packet(kService, kClient, client_syn()); }, S2C,
       Action::Pass, Reason::UnknownFlow},
      // Rule 7 / Reason::NotIpv4: version 6.
      {"IP version 6", [](const Lab&) { return syn_with(0, 0x65); }, C2S, Action::Pass, Reason::NotIpv4},
      // Rule 7 / Reason::NotIpv4: shorter than an IPv4 header.
      {"12 bytes", [](const Lab&) { return std::vector<uint8_t>(12, 0x45); }, C2S, Action::Pass, Reason::NotIpv4},
      // Rule 7 / Reason::NotIpv4: empty.
      {"0 bytes", [](const Lab&) { return std::vector<uint8_t>{}; }, C2S, Action::Pass, Reason::NotIpv4},
      // Rule 7 / Reason::Fragment: MF set (first fragment of a SYN).
      {"IPv4 first fragment", [](const Lab&) { return syn_with(6, 0x20); }, C2S, Action::Pass, Reason::Fragment},
      // Rule 7 / Reason::Fragment: non-zero offset.
      {"IPv4 later fragment", [](const Lab&) { return syn_with(7, 0x10); }, C2S, Action::Pass, Reason::Fragment},
      // Rule 7 / Reason::NotTcp: protocol UDP.
      {"UDP", [](const Lab&) { return syn_with(9, wire::ip_proto::udp); }, C2S, Action::Pass, Reason::NotTcp},
      // Rule 7 / Reason::Malformed: IHL 4 (< 5).
      {"IHL 4", [](const Lab&) { return syn_with(0, 0x44); }, C2S, Action::Pass, Reason::Malformed},
      // Rule 7 / Reason::Malformed (reading: a total length past the buffer is a malformed IPv4 header).
      {"total length past the buffer",
       [](const Lab&) {
         auto p = syn_with(2, 0x7f);
         return p;
       },
       C2S, Action::Pass, Reason::Malformed},
      // Rule 7: truncated TCP header (IPv4 payload of 10 bytes).
      {"TCP header truncated",
       [](const Lab&) {
         auto p = packet(kClient, kService, client_syn());
         p.resize(30);
         p[2] = 0;
         p[3] = 30;
         return p;
       },
       C2S, Action::Pass, Reason::Malformed},
      // Rule 7: TCP data offset 4 (< 5).
      {"TCP data offset 4", [](const Lab&) { return syn_with(20 + 12, 0x40); }, C2S, Action::Pass, Reason::Malformed},
      // Rule 7: a SYN whose options are malformed (MSS of length 3) creates no flow.
      {"SYN with malformed options",
       [](const Lab&) {
         auto p = packet(kClient, kService, client_syn());
         p[20 + 21] = 3;  // MSS length 4 -> 3
         return p;
       },
       C2S, Action::Pass, Reason::Malformed},
  };
  run_rows([](Lab&) {}, rows);

  Lab lab;
  for (const Row& row : rows) (void)lab.process(row.input(lab), row.dir);
  CHECK(lab.m.flow_count() == 0);
  CHECK(lab.m.counters().flows_created == 0);
  CHECK(lab.m.counters().packets == rows.size());
  CHECK(lab.m.counters()[Reason::NotIpv4] == 3);
  CHECK(lab.m.counters()[Reason::Fragment] == 2);
  CHECK(lab.m.counters()[Reason::NotTcp] == 1);
  CHECK(lab.m.counters()[Reason::Malformed] == 5);
  CHECK(lab.m.counters()[Reason::UnknownFlow] == 3);
}

TEST_CASE("a client SYN creates a flow with its options; the SYN-ACK records the server's (rule 1)") {
  Lab lab;
  // SYN: passed, tracked, state SynSent, backend = the service.
  Result r = lab.c2s(client_syn());
  CHECK(r.v.action == Action::Pass);
  CHECK(r.v.reason == Reason::Tracked);
  CHECK(lab.m.flow_count() == 1);
  CHECK(lab.m.counters().flows_created == 1);
  core::FlowStatus st = lab.status();
  CHECK(st.key == kFlow);
  CHECK(st.state == core::FlowState::SynSent);
  CHECK(st.backend == kService);
  CHECK(st.migrations == 0);
  CHECK(st.seq_delta == 0);
  CHECK(st.ts_delta == 0);
  // SYN-ACK: passed, Established.
  r = lab.s2c(server_synack());
  CHECK(r.v.action == Action::Pass);
  CHECK(r.v.reason == Reason::Tracked);
  CHECK(lab.status().state == core::FlowState::Established);
  r = lab.c2s(with_ts(seg(flag::ACK, 1001, 5001), 101, 7000));
  CHECK(r.v.action == Action::Pass);
  CHECK(r.v.reason == Reason::Tracked);
  lab.exchange();
  st = lab.status();
  CHECK(st.state == core::FlowState::Established);
  CHECK(st.client_bytes == 100);
  CHECK(st.segments == 1);
  CHECK(st.requests == 1);
  CHECK(lab.m.counters()[Reason::Tracked] == 6);
  CHECK(lab.m.counters().packets == 6);
  CHECK(lab.sink.out.empty());

  // The options recorded are those of the client's SYN and the server's SYN-ACK
  // (seen through the record of a migration).
  REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
  REQUIRE(lab.m.records().size() == 1);
  const auto& rec = lab.m.records()[0];
  CHECK(rec.client_options == core::TcpOptions{1460, 7, true, true});
  CHECK(rec.old_options == core::TcpOptions{1400, 7, true, true});
}

TEST_CASE("a SYN to another service or from another port is another flow; a repeated SYN is not a new flow") {
  Lab lab;
  CHECK(lab.c2s(client_syn()).v.reason == Reason::Tracked);
  CHECK(lab.c2s(client_syn()).v.reason == Reason::Tracked);  // retransmitted SYN
  CHECK(lab.m.flow_count() == 1);
  CHECK(lab.c2s(client_syn(), kClient2).v.reason == Reason::Tracked);
  CHECK(lab.c2s(client_syn(), kClient, kS2).v.reason == Reason::Tracked);
  CHECK(lab.m.flow_count() == 3);
  CHECK(lab.m.status(FlowKey{kClient, kS2}).has_value());
  CHECK(lab.m.status(kFlow2).has_value());
  CHECK_FALSE(lab.m.status(FlowKey{kClient, kS3}).has_value());
}

TEST_CASE("a full table passes new SYNs untracked (rule 8)") {
  core::Config cfg = Lab::config();
  cfg.max_flows = 2;
  Lab lab(cfg);
  CHECK(lab.c2s(client_syn()).v.reason == Reason::Tracked);
  CHECK(lab.c2s(client_syn(), kClient2).v.reason == Reason::Tracked);
  const Endpoint third{Ipv4Address{0x0a000009}, 40009};
  const auto in = packet(third, kService, client_syn());
  const Result r = lab.process(in, C2S);
  CHECK(r.v.action == Action::Pass);
  CHECK(r.v.reason == Reason::TableFull);
  CHECK(r.out == in);
  CHECK(lab.m.flow_count() == 2);
  CHECK(lab.m.counters()[Reason::TableFull] == 1);
  CHECK(lab.m.counters().flows_created == 2);
  CHECK_FALSE(lab.m.status(FlowKey{third, kService}).has_value());
  // The untracked flow's later packets are unknown.
  CHECK(lab.c2s(seg(flag::ACK, 1001, 5001), third).v.reason == Reason::UnknownFlow);
  CHECK(lab.m.table_bytes() > 0);
}

TEST_CASE("the flow table costs at most 128 bytes per flow (DESIGN.md section 9)") {
  core::Config cfg = Lab::config();
  cfg.max_flows = 1 << 16;
  Lab lab(cfg);
  CHECK(lab.m.table_bytes() <= 128U * cfg.max_flows);
}

TEST_CASE("a tracked flow's packet with malformed options passes before a migration (rule 7)") {
  const std::vector<Row> rows = {
      {"data with a timestamps option of length 9",
       [](const Lab&) {
         auto p = packet(kClient, kService, with_ts(seg(flag::ACK, 1101, 5201, 10), 104, 7001));
         p[20 + 20 + 3] = 9;  // nop,nop,TS: the TS length byte
         return refill(p);
       },
       C2S, Action::Pass, Reason::Malformed},
      {"server data with an option running past the header",
       [](const Lab&) {
         auto p = packet(kService, kClient, with_ts(seg(flag::ACK, 5201, 1101, 10), 7002, 103));
         p[20 + 20 + 3] = 40;
         return refill(p);
       },
       S2C, Action::Pass, Reason::Malformed},
  };
  run_rows([](Lab& lab) { lab.established(); }, rows);
}

}  // namespace
}  // namespace coretest
