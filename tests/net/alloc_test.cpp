// Steady state allocates nothing per packet or per event: after a warm-up the
// pool, the queues and the event engine have reached their high-water marks.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "../alloc_counter.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/net/probe.hpp"
#include "tcpmig/sim/simulator.hpp"


using namespace tcpmig;
using namespace tcpmig::sim::literals;

TEST_CASE("forwarding through a router and a switch allocates nothing in steady state") {
  sim::Simulator simulator(5);
  net::Network network(simulator);
  sim::TraceWriter trace;  // formatting must not allocate either once warm
  std::string error;
  REQUIRE(trace.open("/dev/null", error));
  network.set_trace(&trace);
  auto& a = network.add_host("a");
  auto& r = network.add_router("r");
  auto& sw = network.add_switch("sw");
  auto& b = network.add_host("b");
  net::LinkParams lp;
  lp.loss = 0.01;
  lp.reorder = 0.01;
  lp.duplicate = 0.01;
  network.connect(a, r, lp, *net::InterfaceAddress::parse("10.0.1.1/24"),
                  *net::InterfaceAddress::parse("10.0.1.254/24"));
  network.connect(r, sw, lp, *net::InterfaceAddress::parse("10.0.2.254/24"));
  network.connect(sw, b, lp, std::nullopt, *net::InterfaceAddress::parse("10.0.2.1/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = *wire::Ipv4Address::parse("10.0.2.1");
  cfg.count = 20000;
  cfg.interval = 50_us;
  net::UdpProber prober(a, cfg);

  // Warm-up: the engine's slots, the queues and the trace line reach their
  // high-water marks; the packet pool is sized up front, as a model would.
  network.pool().reserve(1024);
  simulator.run_until(sim::Time::zero() + 200_ms);
  const uint64_t before = testing::allocations();
  const std::size_t pool_before = network.pool().created();
  simulator.run_until(sim::Time::zero() + 900_ms);  // ~14000 more probes and echoes
  const uint64_t during = testing::allocations() - before;
  INFO("pool grew from " << pool_before << " to " << network.pool().created());
  simulator.run();
  CHECK(prober.stats().sent == 20000);
  CHECK(prober.stats().received > 18000);  // 1% loss on six crossings
  CHECK(during == 0);
}
