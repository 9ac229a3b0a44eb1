// Migrator::process_burst against process(): the same packets through one
// core by bursts and through another one by one give the same verdicts, the
// same rewritten bytes, the same emitted packets and the same counters. The
// traffic covers several flows at once, a migration completing in the middle
// of a burst, packets that are not TCP and packets too short to hash.
#include <doctest/doctest.h>

#include <vector>

#include "packets.hpp"

namespace {

using namespace coretest;

/// Client k of the test (10.0.1.k:41000+k).
Endpoint client(uint32_t k) {
  return {Ipv4Address{0x0a000100U + k}, static_cast<uint16_t>(41000 + k)};
}

/// Packets of `flows` clients: handshakes, data both ways, then (after the
/// migration request at index `migrate_at`) the target's SYN-ACK answers.
std::vector<std::pair<std::vector<uint8_t>, Direction>> traffic(uint32_t flows) {
  std::vector<std::pair<std::vector<uint8_t>, Direction>> out;
  for (uint32_t k = 0; k < flows; ++k) {
    out.emplace_back(packet(client(k), kService, client_syn(kClientIsn + k)), C2S);
    out.emplace_back(packet(kService, client(k), server_synack(kS1Isn + k, kClientIsn + k + 1)), S2C);
    out.emplace_back(packet(client(k), kService, with_ts(seg(flag::ACK, kClientIsn + k + 1, kS1Isn + k + 1), 101, 7000)),
                     C2S);
  }
  for (uint32_t round = 0; round < 3; ++round) {
    for (uint32_t k = 0; k < flows; ++k) {
      const uint32_t c = kClientIsn + k + 1 + round * 10, s = kS1Isn + k + 1 + round * 20;
      out.emplace_back(packet(client(k), kService, with_ts(seg(flag::ACK | flag::PSH, c, s, 10), 101 + round, 7000)),
                       C2S);
      out.emplace_back(packet(kService, client(k), with_ts(seg(flag::ACK | flag::PSH, s, c + 10, 20), 7001 + round,
                                                          101 + round)),
                       S2C);
    }
  }
  out.emplace_back(std::vector<uint8_t>{0x45, 0, 0}, C2S);  // too short to hash or parse
  std::vector<uint8_t> udp = packet(client(0), kService, seg(flag::ACK, 1, 1));
  udp[9] = 17;  // not TCP (checksums do not matter: it passes untouched)
  out.emplace_back(udp, S2C);
  return out;
}

}  // namespace

TEST_CASE("process_burst gives exactly what process() gives, packet for packet") {
  constexpr uint32_t kFlows = 12;
  Lab one, many;
  const auto pkts = traffic(kFlows);
  // Migrate every flow to S2 now: each replays at its next quiescent point.
  auto run = [&](Lab& lab, bool burst) {
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<core::Verdict> verdicts;
    std::vector<core::BurstPacket> b;
    std::vector<std::vector<uint8_t>> copies;
    auto flush = [&] {
      if (burst) lab.m.process_burst(b, lab.now);
      for (std::size_t i = 0; i < b.size(); ++i) {
        verdicts.push_back(burst ? b[i].verdict : lab.m.process(b[i].ipv4, b[i].dir, lab.now));
        bytes.emplace_back(b[i].ipv4.begin(), b[i].ipv4.end());
      }
      b.clear();
    };
    copies.reserve(pkts.size());
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      copies.push_back(pkts[i].first);
      b.push_back({copies.back(), pkts[i].second, core::Checksum::Complete, {}});
      if (b.size() == 7) flush();  // bursts that straddle the handshakes and the data
      if (i == 3 * kFlows + 5) {
        flush();
        lab.m.migrate_service(kService, kS2, core::Trigger::now(), lab.now);
      }
    }
    flush();
    return std::pair{bytes, verdicts};
  };
  const auto [bytes1, verdicts1] = run(one, false);
  const auto [bytes2, verdicts2] = run(many, true);
  REQUIRE(verdicts1.size() == verdicts2.size());
  for (std::size_t i = 0; i < verdicts1.size(); ++i) {
    CAPTURE(i);
    CHECK(verdicts1[i].action == verdicts2[i].action);
    CHECK(verdicts1[i].reason == verdicts2[i].reason);
    CHECK(bytes1[i] == bytes2[i]);
  }
  REQUIRE(one.sink.out.size() == many.sink.out.size());
  CHECK(one.sink.out.size() >= kFlows / 2);  // replayed SYNs of the flows that reached a quiescent point
  for (std::size_t i = 0; i < one.sink.out.size(); ++i) CHECK(one.sink.out[i].bytes == many.sink.out[i].bytes);
  CHECK(one.m.counters().by_reason == many.m.counters().by_reason);
  CHECK(one.m.counters()[core::Reason::Tracked] > 0);
  CHECK(one.m.counters()[core::Reason::NotTcp] == 1);
  CHECK(one.m.counters()[core::Reason::NotIpv4] == 1);
  CHECK(one.m.records().size() == kFlows);
}
