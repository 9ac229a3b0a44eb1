// Migration core, rules 5-7 of migrator.hpp: steady-state rewriting after a
// migration (addresses, ports, seq/ack deltas, TSval/TSecr, SACK edges, window
// rescaling, SACK turned into NOPs), checksums equal to a full recompute,
// stale packets from a former backend, malformed packets of a migrated flow,
// and chains S1 -> S2 -> S3 and returns S1 -> S2 -> S1.
#include <doctest/doctest.h>

#include "packets.hpp"

namespace coretest {
namespace {

constexpr uint32_t kDelta = 5201U - (kS2Isn + 1);

/// Established on S1, then migrated to S2 (same options as S1 but MSS 1300).
void on_s2(Lab& lab) {
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  lab.sink.out.clear();
}

/// The flow's ts_delta.
uint32_t tsd(const Lab& lab) { return lab.status().ts_delta; }

TEST_CASE("steady-state rewriting after S1 -> S2 (rule 5)") {
  const std::vector<Row> rows = {
      // Client -> server: dst = S2, ack -= seq_delta, TSecr -= ts_delta; seq, TSval, window unchanged.
      {"client data",
       [](const Lab&) { return packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 50), 104, 7001)); },
       C2S, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kClient, kS2,
                      with_ts(seg(flag::ACK | flag::PSH, 1101, 5201 - kDelta, 50), 104, 7001 - tsd(lab)));
       }},
      // Client -> server: SACK edges (server sequence space) -= seq_delta.
      {"client ACK with two SACK blocks",
       [](const Lab&) {
         return packet(kClient, kService,
                       with_sack(with_ts(seg(flag::ACK, 1101, 5201), 104, 7001), {{5301, 5401}, {5501, 5601}}));
       },
       C2S, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kClient, kS2,
                      with_sack(with_ts(seg(flag::ACK, 1101, 5201 - kDelta), 104, 7001 - tsd(lab)),
                                {{5301 - kDelta, 5401 - kDelta}, {5501 - kDelta, 5601 - kDelta}}));
       }},
      // Client -> server without timestamps: addresses and ack only.
      {"client ACK without options",
       [](const Lab&) { return packet(kClient, kService, seg(flag::ACK, 1101, 5301)); }, C2S, Action::Modified,
       Reason::Rewritten,
       [](const Lab&, const Result& r) { check_packet(r.out, kClient, kS2, seg(flag::ACK, 1101, 5301 - kDelta)); }},
      // Client FIN: rewritten like any segment (the flow is then closing).
      {"client FIN",
       [](const Lab&) { return packet(kClient, kService, with_ts(seg(flag::ACK | flag::FIN, 1101, 5201), 104, 7001)); },
       C2S, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kClient, kS2,
                      with_ts(seg(flag::ACK | flag::FIN, 1101, 5201 - kDelta), 104, 7001 - tsd(lab)));
       }},
      // Server -> client: src = service, seq += seq_delta, TSval += ts_delta; ack, TSecr unchanged.
      {"S2 data",
       [](const Lab&) {
         return packet(kS2, kClient, with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 80), kS2Ts + 10, 103));
       },
       S2C, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kService, kClient,
                      with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 80), kS2Ts + 10 + tsd(lab), 103));
       }},
      // Server -> client: SACK edges are in the client's sequence space: unchanged.
      {"S2 ACK with a SACK block",
       [](const Lab&) {
         return packet(kS2, kClient, with_sack(with_ts(seg(flag::ACK, kS2Isn + 1, 1101), kS2Ts + 1, 103), {{1201, 1301}}));
       },
       S2C, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kService, kClient,
                      with_sack(with_ts(seg(flag::ACK, 5201, 1101), kS2Ts + 1 + tsd(lab), 103), {{1201, 1301}}));
       }},
      // Server FIN from S2.
      {"S2 FIN",
       [](const Lab&) { return packet(kS2, kClient, with_ts(seg(flag::ACK | flag::FIN, kS2Isn + 1, 1101), kS2Ts + 2, 103)); },
       S2C, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         check_packet(r.out, kService, kClient, with_ts(seg(flag::ACK | flag::FIN, 5201, 1101), kS2Ts + 2 + tsd(lab), 103));
       }},
      // Rule 5: packets from a former backend (S1) are dropped; rule 9: one
      // that carries an ACK is answered with a RST at that ACK.
      {"S1 data after the migration",
       [](const Lab&) { return packet(kService, kClient, with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 10), 7002, 103)); },
       S2C, Action::Drop, Reason::StaleBackend, nullptr,
       [](const Lab&, std::span<const Emitted> out) {
         REQUIRE(out.size() == 1);
         check_packet(out[0].bytes, kClient, kService, with_window(seg(flag::RST, 1101, 0), 0));
         CHECK(out[0].d.ttl == Lab::config().ttl);
       }},
      {"S1 RST after the migration",
       [](const Lab&) { return packet(kService, kClient, seg(flag::RST, 5201, 0)); }, S2C, Action::Drop,
       Reason::StaleBackend},
      // Rule 7: a migrated flow's packet with malformed options cannot be rewritten: dropped.
      {"client data with a malformed option",
       [](const Lab&) {
         auto p = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 10), 104, 7001));
         p[20 + 20 + 3] = 11;  // nop,nop,TS: the TS length byte
         return refill(p);
       },
       C2S, Action::Drop, Reason::MalformedMigrated},
      {"S2 data with a malformed option",
       [](const Lab&) {
         auto p = packet(kS2, kClient, with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 10), kS2Ts + 1, 103));
         p[20 + 20 + 2] = 2;  // TS kind -> MSS kind with length 10: malformed
         return refill(p);
       },
       S2C, Action::Drop, Reason::MalformedMigrated},
      // Rule 5: an incoming checksum that was wrong stays wrong.
      {"client data with a wrong TCP checksum",
       [](const Lab&) {
         auto p = packet(kClient, kService, with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 30), 104, 7001));
         p[20 + 16] ^= 0x5a;
         return p;
       },
       C2S, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         const Decoded d = decode(r.out);
         CHECK(d.ok);
         CHECK(d.ip_csum);
         CHECK_FALSE(d.tcp_csum);
         CHECK(d.dst == kS2);
         CHECK(d.tcp.ack.raw() == 5201 - kDelta);
         CHECK(d.tcp.timestamps->second == 7001 - tsd(lab));
       }},
      // Unknown option kinds are carried through untouched.
      {"client data with an unknown option",
       [](const Lab&) {
         TcpRepr t = with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 5), 104, 7001);
         const std::array<uint8_t, 4> opt{30, 4, 0xab, 0xcd};
         t.unknown_options.append(opt);
         return packet(kClient, kService, t);
       },
       C2S, Action::Modified, Reason::Rewritten,
       [](const Lab& lab, const Result& r) {
         TcpRepr t = with_ts(seg(flag::ACK | flag::PSH, 1101, 5201 - kDelta, 5), 104, 7001 - tsd(lab));
         const std::array<uint8_t, 4> opt{30, 4, 0xab, 0xcd};
         t.unknown_options.append(opt);
         check_packet(r.out, kClient, kS2, t);
       }},
  };
  run_rows(on_s2, rows);
}

TEST_CASE("rewriting survives sequence-number wrap-around") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, 0xfffffff0U, kS2Ts);  // target ISN just below 2^32
  const uint32_t delta = 5201U - 0xfffffff1U;
  CHECK(lab.status().seq_delta == delta);
  Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 0xfffffff1U, 1101, 100), kS2Ts + 1, 103), kS2);
  CHECK(r.v.action == Action::Modified);
  check_packet(r.out, kService, kClient,
               with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 100), kS2Ts + 1 + lab.status().ts_delta, 103));
  r = lab.c2s(with_ts(seg(flag::ACK, 1101, 5301), 104, 7002));
  CHECK(r.v.action == Action::Modified);
  CHECK(decode(r.out).tcp.ack.raw() == 0x00000055U);  // 0xfffffff1 + 100 wraps
}

/// Established on S1 (wscale 7), migrated to a target whose SYN-ACK is `adjust`ed.
std::function<void(Lab&)> on_target_with(std::function<void(TcpRepr&)> adjust) {
  return [adjust](Lab& lab) {
    lab.established();
    REQUIRE(lab.m.migrate_flow(kFlow, kS2, Trigger::now(), lab.now).ok());
    TcpRepr synack = lab.target_synack(kS2, kS2Isn, kS2Ts);
    adjust(synack);
    REQUIRE(lab.s2c(synack, kS2).v.action == Action::Drop);
    REQUIRE(lab.status().backend == kS2);
    lab.sink.out.clear();
  };
}

/// A server -> client ACK from S2 with window field w.
std::vector<uint8_t> s2_window(uint16_t w) {
  return packet(kS2, kClient, with_window(with_ts(seg(flag::ACK, kS2Isn + 1, 1101), kS2Ts + 1, 103), w));
}
/// A client -> server ACK with window field w.
std::vector<uint8_t> client_window(uint16_t w) {
  return packet(kClient, kService, with_window(with_ts(seg(flag::ACK, 1101, 5201), 104, 7001), w));
}
/// Row check: the window field of the output is w.
std::function<void(const Lab&, const Result&)> window_is(uint16_t w) {
  return [w](const Lab&, const Result& r) {
    const Decoded d = decode(r.out);
    CHECK(d.tcp.window == w);
    CHECK(d.tcp_csum);
  };
}

TEST_CASE("window rescaled when the target's window scale differs (rule 5)") {
  // Target shift 9, the client knows S1's 7: server windows x 4.
  run_rows(on_target_with([](TcpRepr& t) { t.window_scale = 9; }),
           {
               {"S2 window 100 at shift 9 = 400 at shift 7", [](const Lab&) { return s2_window(100); }, S2C,
                Action::Modified, Reason::Rewritten, window_is(400)},
               {"S2 window 20000 at shift 9 saturates at 65535", [](const Lab&) { return s2_window(20000); }, S2C,
                Action::Modified, Reason::Rewritten, window_is(65535)},
               {"client window untouched (the target took the client's shift)",
                [](const Lab&) { return client_window(502); }, C2S, Action::Modified, Reason::Rewritten,
                window_is(502)},
           });
  // Target shift 5: server windows / 4, rounded up, never 0 from nonzero.
  run_rows(on_target_with([](TcpRepr& t) { t.window_scale = 5; }),
           {
               {"S2 window 7 at shift 5 = ceil(1.75) = 2", [](const Lab&) { return s2_window(7); }, S2C,
                Action::Modified, Reason::Rewritten, window_is(2)},
               {"S2 window 1 at shift 5 stays 1", [](const Lab&) { return s2_window(1); }, S2C, Action::Modified,
                Reason::Rewritten, window_is(1)},
               {"S2 window 0 stays 0", [](const Lab&) { return s2_window(0); }, S2C, Action::Modified,
                Reason::Rewritten, window_is(0)},
               {"S2 window 400 at shift 5 = 100", [](const Lab&) { return s2_window(400); }, S2C, Action::Modified,
                Reason::Rewritten, window_is(100)},
           });
}

TEST_CASE("window rescaled both ways when the target refused window scaling (rule 5)") {
  run_rows(on_target_with([](TcpRepr& t) { t.window_scale.reset(); }),
           {
               {"S2 window 1000 bytes = ceil(1000 / 128) = 8 at shift 7", [](const Lab&) { return s2_window(1000); },
                S2C, Action::Modified, Reason::Rewritten, window_is(8)},
               {"S2 window 1 byte stays 1", [](const Lab&) { return s2_window(1); }, S2C, Action::Modified,
                Reason::Rewritten, window_is(1)},
               {"client window 500 at shift 7 = 64000 bytes", [](const Lab&) { return client_window(500); }, C2S,
                Action::Modified, Reason::Rewritten, window_is(64000)},
               {"client window 600 at shift 7 = 76800 bytes saturates at 65535",
                [](const Lab&) { return client_window(600); }, C2S, Action::Modified, Reason::Rewritten,
                window_is(65535)},
           });
  Lab lab;
  on_target_with([](TcpRepr& t) { t.window_scale.reset(); })(lab);
  CHECK_FALSE(lab.m.records().at(0).new_options.window_scale.has_value());
}

TEST_CASE("SACK options become NOPs when the target refused SACK (rule 5)") {
  run_rows(on_target_with([](TcpRepr& t) { t.sack_permitted = false; }),
           {
               {"client ACK with SACK: option bytes NOPed, rest rewritten",
                [](const Lab&) {
                  return packet(kClient, kService,
                                with_sack(with_ts(seg(flag::ACK, 1101, 5201), 104, 7001), {{5301, 5401}}));
                },
                C2S, Action::Modified, Reason::Rewritten,
                [](const Lab& lab, const Result& r) {
                  check_packet(r.out, kClient, kS2, with_ts(seg(flag::ACK, 1101, 5201 - kDelta), 104, 7001 - tsd(lab)));
                  // Linux layout: nop,nop,TS (12) then nop,nop,sack(10): the SACK option sits at options 14..23.
                  const std::size_t sack_at = 20 + 20 + 14;
                  for (std::size_t i = sack_at; i < sack_at + 10; ++i) CHECK(r.out[i] == 1);
                  CHECK(r.out.size() == 20 + 20 + 24);
                }},
           });
  Lab lab;
  on_target_with([](TcpRepr& t) { t.sack_permitted = false; })(lab);
  CHECK_FALSE(lab.m.records().at(0).new_options.sack_permitted);
}

TEST_CASE("chains compose: S1 -> S2 -> S3 (rule 6)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  // S2 sends 80 bytes (client view 5201..5281), the client acknowledges.
  Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 80), kS2Ts + 5, 103), kS2);
  REQUIRE(r.v.action == Action::Modified);
  const uint32_t ts2 = kS2Ts + 5 + lab.status().ts_delta;  // client view of S2's last TSval
  CHECK(decode(r.out).tcp.timestamps->first == ts2);
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK, 1101, 5281), 104, ts2)).v.action == Action::Modified);
  lab.sink.out.clear();
  lab.migrate_now(kS3, kS3Isn, kS3Ts);
  const Emitted* syn = lab.last_syn_to(kS3);
  REQUIRE(syn != nullptr);
  CHECK(syn->d.tcp.seq.raw() == 1100);
  CHECK(syn->d.src == kClient);
  CHECK(syn->d.tcp.timestamps->first == 104);
  const uint32_t delta3 = 5281U - (kS3Isn + 1);
  const core::FlowStatus st = lab.status();
  CHECK(st.migrations == 2);
  CHECK(st.seq_delta == delta3);
  CHECK(SeqNumber{kS3Ts + st.ts_delta} >= SeqNumber{ts2});
  // The RST goes to S2 (the old backend now), with the seq S2 expects.
  bool rst_to_s2 = false;
  for (const auto& e : lab.sink.out) {
    if (e.d.dst == kS2 && (e.d.tcp.flags & flag::RST) != 0) {
      rst_to_s2 = true;
      CHECK(e.d.tcp.seq.raw() == 1101);
    }
  }
  CHECK(rst_to_s2);
  const auto& rec = lab.m.records().at(1);
  CHECK(rec.from == kS2);
  CHECK(rec.to == kS3);
  CHECK(rec.seq_delta == delta3);
  // Both former backends are stale; S3 is rewritten.
  CHECK(lab.s2c(with_ts(seg(flag::ACK, kS2Isn + 81, 1101), kS2Ts + 6, 104), kS2).v.reason == Reason::StaleBackend);
  CHECK(lab.s2c(with_ts(seg(flag::ACK, 5281, 1101), 7005, 104)).v.reason == Reason::StaleBackend);
  r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, kS3Isn + 1, 1101, 10), kS3Ts + 1, 104), kS3);
  CHECK(r.v.action == Action::Modified);
  check_packet(r.out, kService, kClient,
               with_ts(seg(flag::ACK | flag::PSH, 5281, 1101, 10), kS3Ts + 1 + st.ts_delta, 104));
  r = lab.c2s(with_ts(seg(flag::ACK, 1101, 5291), 105, kS3Ts + 1 + st.ts_delta));
  check_packet(r.out, kClient, kS3, with_ts(seg(flag::ACK, 1101, kS3Isn + 11), 105, kS3Ts + 1));
}

TEST_CASE("returns compose: S1 -> S2 -> S1 (rule 6)") {
  Lab lab;
  lab.established();
  lab.migrate_now(kS2, kS2Isn, kS2Ts);
  Result r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 80), kS2Ts + 5, 103), kS2);
  const uint32_t ts2 = kS2Ts + 5 + lab.status().ts_delta;
  REQUIRE(lab.c2s(with_ts(seg(flag::ACK, 1101, 5281), 104, ts2)).v.action == Action::Modified);
  // Back to the service address itself, a new connection there (ISN 7777777, TSval 90000).
  lab.migrate_now(kService, 7777777, 90000);
  const core::FlowStatus st = lab.status();
  CHECK(st.backend == kService);
  CHECK(st.migrations == 2);
  CHECK(st.seq_delta == 5281U - 7777778U);
  // S1 is the backend again: its packets are rewritten; S2's are stale.
  r = lab.s2c(with_ts(seg(flag::ACK | flag::PSH, 7777778, 1101, 10), 90001, 104));
  CHECK(r.v.action == Action::Modified);
  check_packet(r.out, kService, kClient, with_ts(seg(flag::ACK | flag::PSH, 5281, 1101, 10), 90001 + st.ts_delta, 104));
  CHECK(lab.s2c(with_ts(seg(flag::ACK, kS2Isn + 81, 1101), kS2Ts + 6, 104), kS2).v.reason == Reason::StaleBackend);
  r = lab.c2s(with_ts(seg(flag::ACK, 1101, 5291), 105, 90001 + st.ts_delta));
  CHECK(r.v.action == Action::Modified);
  check_packet(r.out, kClient, kService, with_ts(seg(flag::ACK, 1101, 7777788), 105, 90001));
}

}  // namespace
}  // namespace coretest
