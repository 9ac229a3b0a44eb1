// Wire-layer micro-benchmarks: parse and emit of a full-size TCP frame, and the
// Internet checksum (full and RFC 1624 incremental).
//
// Run: tcpmig-bench --benchmark_filter='Wire|Checksum'
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/frame.hpp"

namespace {

using namespace tcpmig::wire;

/// The headers of a 1514-byte data frame with timestamps (1448 payload bytes),
/// as Linux sends in bulk transfer.
struct BulkFrame {
  EthernetRepr eth{MacAddress{{2, 0, 0, 0, 0, 2}}, MacAddress{{2, 0, 0, 0, 0, 1}}, ethertype::ipv4};
  Ipv4Repr ip{Ipv4Address::from_octets(10, 99, 0, 2), Ipv4Address::from_octets(10, 99, 0, 1), ip_proto::tcp, 0};
  std::vector<std::uint8_t> payload = std::vector<std::uint8_t>(1448, 'x');
  TcpRepr tcp;

  BulkFrame() {
    tcp.src_port = 80;
    tcp.dst_port = 40000;
    tcp.seq = SeqNumber{3125585181U};
    tcp.ack = SeqNumber{3991910264U};
    tcp.flags = tcp_flag::ACK;
    tcp.window = 64;
    tcp.timestamps = std::pair{3562641857U, 355620603U};
    tcp.payload = payload;
  }
};

void WireParseTcp(benchmark::State& state) {
  BulkFrame f;
  std::array<std::uint8_t, 1514> frame{};
  if (!emit_tcp_frame(frame, f.eth, f.ip, f.tcp)) {
    state.SkipWithError("emit failed");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    auto info = classify_frame(frame);
    auto seg = ConstTcpSegment::check(info->l4);
    auto tcp = TcpRepr::parse(*seg, info->ipv4->src(), info->ipv4->dst());
    benchmark::DoNotOptimize(tcp);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(WireParseTcp);

void WireEmitTcp(benchmark::State& state) {
  BulkFrame f;
  std::array<std::uint8_t, 1514> frame{};
  for (auto _ : state) {
    auto len = emit_tcp_frame(frame, f.eth, f.ip, f.tcp);
    benchmark::DoNotOptimize(len);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(WireEmitTcp);

void ChecksumFull(benchmark::State& state) {
  std::vector<std::uint8_t> data(static_cast<std::size_t>(state.range(0)));
  std::uint32_t x = 12345;
  for (auto& b : data) b = static_cast<std::uint8_t>(x = x * 1103515245U + 12345U);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(internet_checksum(data));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(ChecksumFull)->Arg(64)->Arg(1500);

void ChecksumIncremental(benchmark::State& state) {
  std::uint16_t checksum = 0x1c46;
  std::uint32_t value = 0x12345678;
  for (auto _ : state) {
    const std::uint32_t next = value + 1448;  // a sequence number moving on
    checksum = checksum_update32(checksum, value, next);
    value = next;
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ChecksumIncremental);

}  // namespace
