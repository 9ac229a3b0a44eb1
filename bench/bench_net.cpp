// Network substrate benchmarks: frames forwarded through a router per second.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>

#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace {

using namespace tcpmig;

// Counts and discards UDP packets delivered to a host.
class Sink final : public net::IpHandler {
 public:
  void receive_ipv4(net::Interface&, net::PacketPtr) override { ++received; }
  uint64_t received = 0;
};

// a -> router -> b, 10 Gbit/s links with 10 us delay; each iteration queues a
// batch of 1000 1500-byte UDP frames at a and runs until b has them all. Every
// frame is transmitted twice, received twice and forwarded once, with TTL and
// checksum update, route lookup and MAC rewrite at the router.
void RouterForward(benchmark::State& state) {
  sim::Simulator simulator(1);
  net::Network network(simulator);
  auto& a = network.add_host("a");
  auto& r = network.add_router("r");
  auto& b = network.add_host("b");
  net::LinkParams lp;
  lp.rate_bps = 10'000'000'000;
  lp.delay = sim::Duration::microseconds(10);
  lp.queue_packets = 0;
  network.connect(a, r, lp, *net::InterfaceAddress::parse("10.0.1.1/24"),
                  *net::InterfaceAddress::parse("10.0.1.254/24"));
  network.connect(r, b, lp, *net::InterfaceAddress::parse("10.0.2.254/24"),
                  *net::InterfaceAddress::parse("10.0.2.1/24"));
  Sink sink;
  b.set_ip_handler(wire::ip_proto::udp, &sink);

  std::array<uint8_t, 1472> payload{};
  std::array<uint8_t, net::Packet::capacity> frame{};
  wire::Ipv4Repr ip{};
  ip.src = *wire::Ipv4Address::parse("10.0.1.1");
  ip.dst = *wire::Ipv4Address::parse("10.0.2.1");
  ip.protocol = wire::ip_proto::udp;
  const auto len = *wire::emit_udp_frame(frame, wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, ip,
                                         wire::UdpRepr{1000, 2000, payload});
  constexpr int batch = 1000;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      net::PacketPtr p = network.pool().allocate();
      std::memcpy(p->buffer().data(), frame.data(), len);
      p->set_size(static_cast<uint32_t>(len));
      a.send_ipv4(std::move(p));
    }
    simulator.run();
  }
  state.SetItemsProcessed(static_cast<int64_t>(sink.received));
  state.counters["pool_packets"] = static_cast<double>(network.pool().created());
}
BENCHMARK(RouterForward);

}  // namespace
