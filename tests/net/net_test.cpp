// Network substrate: links, queues, impairments, switching, routing, runtime
// topology changes, pcaps and traces, checked end to end with the UDP probes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

#include "../test_output.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/net/probe.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"

using namespace tcpmig;
using namespace tcpmig::sim::literals;
using net::InterfaceAddress;
using wire::Ipv4Address;

namespace {

InterfaceAddress addr(const char* s) { return *InterfaceAddress::parse(s); }
Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

using testing::test_out_dir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A simulator, a network and an in-memory trace.
struct Lab {
  explicit Lab(uint64_t seed = 1) : sim(seed), net(sim) {
    trace.capture_to_string();
    net.set_trace(&trace);
  }
  sim::Simulator sim;
  sim::TraceWriter trace;
  net::Network net;
};

// a (10.0.1.1) -- r (router) -- b (10.0.2.1), both links with `lp`.
struct Chain {
  Chain(Lab& lab, const net::LinkParams& lp)
      : a(lab.net.add_host("a")), r(lab.net.add_router("r")), b(lab.net.add_host("b")) {
    lab.net.connect(a, r, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
    lab.net.connect(r, b, lp, addr("10.0.2.254/24"), addr("10.0.2.1/24"));
  }
  net::Node& a;
  net::Node& r;
  net::Node& b;
};

// Frame length of a probe with `payload` bytes: Ethernet + IPv4 + UDP headers.
constexpr uint64_t probe_frame(uint64_t payload) { return 14 + 20 + 8 + payload; }

}  // namespace

TEST_CASE("serialization time is ceil(bytes * 8e9 / rate) in integer ns") {
  CHECK(net::serialization_time(1500, 100'000'000).ns() == 120'000);
  CHECK(net::serialization_time(1, 3).ns() == 2'666'666'667);  // 8e9/3 rounded up
  CHECK(net::serialization_time(1514, 0).ns() == 0);           // rate 0: instant
  CHECK(net::serialization_time(125, 1'000'000'000).ns() == 1'000);
}

TEST_CASE("interface addresses parse strictly") {
  CHECK(InterfaceAddress::parse("10.0.0.1/24").has_value());
  CHECK(InterfaceAddress::parse("10.0.0.1/32")->prefix_len == 32);
  CHECK_FALSE(InterfaceAddress::parse("10.0.0.1").has_value());
  CHECK_FALSE(InterfaceAddress::parse("10.0.0.1/33").has_value());
  CHECK_FALSE(InterfaceAddress::parse("10.0.0.1/").has_value());
  CHECK_FALSE(InterfaceAddress::parse("10.0.0/24").has_value());
  CHECK(addr("10.0.0.1/24").contains(ip("10.0.0.200")));
  CHECK_FALSE(addr("10.0.0.1/24").contains(ip("10.0.1.1")));
}

TEST_CASE("probe round trip over one link takes exactly 2 x (delay + serialization)") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  net::LinkParams lp;
  lp.rate_bps = 100'000'000;
  lp.delay = 1_ms;
  lab.net.connect(a, b, lp, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = 5;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  const auto& s = prober.stats();
  CHECK(s.sent == 5);
  CHECK(s.received == 5);
  const int64_t one_way = 1'000'000 + net::serialization_time(probe_frame(64), lp.rate_bps).ns();
  CHECK(s.rtt_min.ns() == 2 * one_way);
  CHECK(s.rtt_max.ns() == 2 * one_way);
  CHECK(echo.echoed() == 5);
  // Four trace lines per probe: tx and rx each way.
  CHECK(lab.trace.lines() == 20);
}

TEST_CASE("a router decrements TTL, rewrites MACs and forwards; the RTT counts every hop") {
  Lab lab;
  net::LinkParams lp;
  lp.rate_bps = 1'000'000'000;
  lp.delay = 10_us;
  Chain chain(lab, lp);
  auto& [a, r, b] = chain;
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.2.1");
  cfg.count = 3;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 3);
  const int64_t hop = 10'000 + net::serialization_time(probe_frame(64), lp.rate_bps).ns();
  CHECK(prober.stats().rtt_min.ns() == 4 * hop);

  // The route table of a: the on-link subnet, and 10.0.2.0/24 via the router.
  const auto& routes = a.routes();
  REQUIRE(routes.size() == 2);
  bool via_router = false;
  for (const auto& rt : routes) {
    if (rt.prefix.contains(ip("10.0.2.1"))) via_router = rt.gateway == ip("10.0.1.254");
  }
  CHECK(via_router);
  CHECK(r.interface(0).stats().rx_packets == 3);
  CHECK(r.interface(1).stats().tx_packets == 3);
}

TEST_CASE("TTL 1 is dropped by the router with reason ttl-expired") {
  Lab lab;
  Chain chain(lab, net::LinkParams{});
  auto& [a, r, b] = chain;
  net::PacketPtr p = lab.net.pool().allocate();
  wire::Ipv4Repr iph{};
  iph.src = ip("10.0.1.1");
  iph.dst = ip("10.0.2.1");
  iph.protocol = wire::ip_proto::udp;
  iph.ttl = 1;
  const uint8_t payload[4] = {1, 2, 3, 4};
  auto len = wire::emit_udp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, iph,
                                  wire::UdpRepr{1000, 2000, payload});
  REQUIRE(len.ok());
  p->set_size(static_cast<uint32_t>(*len));
  a.send_ipv4(std::move(p));
  lab.sim.run();
  CHECK(r.interface(0).stats().drops[static_cast<size_t>(net::DropReason::TtlExpired)] == 1);
  CHECK(lab.trace.text().find(" r eth0 drop:ttl-expired 10.0.1.1.1000 > 10.0.2.1.2000: UDP, length 4") !=
        std::string::npos);
}

TEST_CASE("drop-tail queue: a burst beyond the packet limit is dropped at the sender") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  net::LinkParams lp;
  lp.rate_bps = 1'000'000;  // 1 Mbit/s: a 106-byte frame takes 848 us
  lp.queue_packets = 4;
  lab.net.connect(a, b, lp, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = 20;
  cfg.interval = 1_us;  // much faster than the link
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  // One on the wire + four queued survive the burst.
  CHECK(prober.stats().received == 5);
  CHECK(a.interface(0).stats().drops[static_cast<size_t>(net::DropReason::QueueFull)] == 15);
}

TEST_CASE("drop-tail queue with a byte limit") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  net::LinkParams lp;
  lp.rate_bps = 1'000'000;
  lp.queue_packets = 0;
  lp.queue_bytes = 3 * probe_frame(64);  // room for three frames
  lab.net.connect(a, b, lp, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = 10;
  cfg.interval = 1_us;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 4);
}

namespace {
struct LossyRun {
  net::ProbeStats stats;
  std::string trace;
};
LossyRun lossy_run(uint64_t seed, double loss, double dup, double reorder, uint32_t count) {
  Lab lab(seed);
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  net::LinkParams lp;
  lp.rate_bps = 100'000'000;
  lp.delay = 1_ms;
  lp.loss = loss;
  lp.duplicate = dup;
  lp.reorder = reorder;
  lp.reorder_delay = 500_us;
  lp.queue_packets = 0;
  lab.net.connect(a, b, lp, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = count;
  cfg.interval = 100_us;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  return {prober.stats(), lab.trace.text()};
}
}  // namespace

TEST_CASE("seeded loss: the rate is close to the setting, and the seed fixes the outcome") {
  const auto r1 = lossy_run(7, 0.10, 0, 0, 5000);
  // Each probe crosses the link twice: P(answer) = 0.9^2 = 0.81.
  CHECK(r1.stats.received > 3900);
  CHECK(r1.stats.received < 4200);
  const auto r2 = lossy_run(7, 0.10, 0, 0, 5000);
  CHECK(r1.stats.received == r2.stats.received);
  CHECK(r1.trace == r2.trace);
  const auto r3 = lossy_run(8, 0.10, 0, 0, 5000);
  CHECK(r3.trace != r1.trace);
}

TEST_CASE("duplication delivers extra copies; reordering lets later frames overtake") {
  const auto dup = lossy_run(3, 0, 0.2, 0, 2000);
  CHECK(dup.stats.received == 2000);
  CHECK(dup.stats.duplicates > 300);
  const auto reo = lossy_run(3, 0, 0, 0.2, 2000);
  CHECK(reo.stats.received == 2000);
  CHECK(reo.stats.duplicates == 0);
  CHECK(reo.stats.out_of_order > 100);
}

TEST_CASE("a learning switch floods unknown destinations, then forwards to one port") {
  Lab lab;
  auto& sw = lab.net.add_switch("sw");
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  auto& c = lab.net.add_host("c");
  net::LinkParams lp;
  lab.net.connect(a, sw, lp, addr("10.0.0.1/24"));
  lab.net.connect(b, sw, lp, addr("10.0.0.2/24"));
  lab.net.connect(c, sw, lp, addr("10.0.0.3/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = 3;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 3);
  CHECK(sw.table_size() == 2);
  // Only the very first frame (b's MAC not yet learned) was flooded to c.
  CHECK(c.interface(0).stats().rx_packets == 1);
  CHECK(c.interface(0).stats().drops[static_cast<size_t>(net::DropReason::NotForUs)] == 1);
}

TEST_CASE("routes cross a chain of routers; a multi-homed host never forwards") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& r1 = lab.net.add_router("r1");
  auto& r2 = lab.net.add_router("r2");
  auto& b = lab.net.add_host("b");
  auto& h = lab.net.add_host("h");  // two interfaces, not a router
  net::LinkParams lp;
  lab.net.connect(a, r1, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
  lab.net.connect(r1, r2, lp, addr("10.0.12.1/30"), addr("10.0.12.2/30"));
  lab.net.connect(r2, b, lp, addr("10.0.2.254/24"), addr("10.0.2.1/24"));
  // a second path a <-> b through the host h must not be used.
  lab.net.connect(a, h, lp, addr("10.0.3.1/24"), addr("10.0.3.2/24"));
  lab.net.connect(h, b, lp, addr("10.0.4.1/24"), addr("10.0.4.2/24"));
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.2.1");
  cfg.count = 2;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 2);
  CHECK(h.interface(0).stats().rx_packets == 0);
  CHECK(r2.interface(0).stats().rx_packets == 2);
  // r1 reaches b's subnet via r2.
  bool via_r2 = false;
  for (const auto& rt : r1.routes()) {
    if (rt.prefix.contains(ip("10.0.2.1"))) via_r2 = rt.gateway == ip("10.0.12.2");
  }
  CHECK(via_r2);
}

TEST_CASE("a host added while the simulation runs becomes reachable; before, no-neighbour") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& r = lab.net.add_router("r");
  auto& sw = lab.net.add_switch("sw");
  net::LinkParams lp;
  lp.delay = 100_us;
  lab.net.connect(a, r, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
  lab.net.connect(r, sw, lp, addr("10.0.2.254/24"));
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.2.1");  // a host that appears later on the switch
  cfg.count = 10;
  cfg.interval = 10_ms;
  net::UdpProber prober(a, cfg);
  std::unique_ptr<net::UdpEcho> echo;
  lab.sim.schedule_at(sim::Time::zero() + 45_ms, [&] {
    auto& late = lab.net.add_host("late");
    lab.net.connect(late, sw, lp, addr("10.0.2.1/24"));
    echo = std::make_unique<net::UdpEcho>(late, 7);
  });
  lab.sim.run();
  // Probes 0..4 left at 0..40 ms: the router cannot resolve 10.0.2.1 yet.
  CHECK(r.interface(0).stats().drops[static_cast<size_t>(net::DropReason::NoNeighbour)] == 5);
  CHECK(prober.stats().received == 5);
  CHECK(lab.trace.text().find("drop:no-neighbour") != std::string::npos);
}

TEST_CASE("the same lossy network twice gives byte-identical traces and pcaps") {
  auto run = [](const std::string& dir) {
    Lab lab(42);
    auto& a = lab.net.add_host("a");
    auto& r = lab.net.add_router("r");
    auto& sw = lab.net.add_switch("sw");
    auto& b = lab.net.add_host("b");
    auto& c = lab.net.add_host("c");
    net::LinkParams lossy;
    lossy.loss = 0.05;
    lossy.reorder = 0.05;
    lossy.duplicate = 0.02;
    lossy.rate_bps = 10'000'000;
    net::LinkParams lan;
    lan.rate_bps = 1'000'000'000;
    lan.delay = 50_us;
    lab.net.connect(a, r, lossy, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
    lab.net.connect(r, sw, lan, addr("10.0.2.254/24"));
    lab.net.connect(sw, b, lan, std::nullopt, addr("10.0.2.1/24"));
    lab.net.connect(sw, c, lan, std::nullopt, addr("10.0.2.2/24"));
    std::string error;
    REQUIRE(lab.net.enable_pcap(dir, error));
    net::UdpEcho echo_b(b, 7);
    net::UdpEcho echo_c(c, 7);
    net::ProbeConfig cfg;
    cfg.dst = ip("10.0.2.1");
    cfg.count = 300;
    cfg.interval = 200_us;
    cfg.payload_len = 1000;
    net::UdpProber prober(a, cfg);
    lab.sim.run();
    lab.net.close_pcaps();
    return lab.trace.text();
  };
  const std::string d1 = test_out_dir("determinism-1");
  const std::string d2 = test_out_dir("determinism-2");
  const std::string t1 = run(d1);
  const std::string t2 = run(d2);
  CHECK(t1 == t2);
  CHECK(t1.find("drop:loss") != std::string::npos);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(d1)) {
    const auto name = e.path().filename().string();
    CHECK(slurp(d1 + "/" + name) == slurp(d2 + "/" + name));
    CHECK(std::filesystem::file_size(e.path()) > 24);  // more than the header
    ++files;
  }
  CHECK(files == 8);  // one per interface: a, r x2, sw x3, b, c
}

TEST_CASE("a list error model drops exactly the listed received frames") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  lab.net.connect(a, b, net::LinkParams{}, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  net::ListErrorModel drop_at_b({0, 3});
  b.interface(0).set_error_model(&drop_at_b);
  net::UdpEcho echo(b, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.2");
  cfg.count = 6;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 4);
  CHECK(echo.echoed() == 4);
  CHECK(b.interface(0).stats().drops[static_cast<size_t>(net::DropReason::ErrorModel)] == 2);
  CHECK(b.interface(0).stats().rx_packets == 4);
  CHECK(lab.trace.text().find(" b eth0 drop:error-model 10.0.0.1.40000 > 10.0.0.2.7: UDP") != std::string::npos);
}

TEST_CASE("building a bad topology throws with a message naming the problem") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  CHECK_THROWS_WITH_AS(lab.net.add_host("a"), "duplicate node name 'a'", std::invalid_argument);
  CHECK_THROWS_AS(lab.net.add_host(""), std::invalid_argument);
  CHECK_THROWS_AS(lab.net.add_host("bad name"), std::invalid_argument);
  CHECK_THROWS_AS(lab.net.add_host("a/b"), std::invalid_argument);
  auto& b = lab.net.add_host("b");
  a.add_interface(addr("10.0.0.1/24"));
  CHECK_THROWS_WITH_AS(b.add_interface(addr("10.0.0.1/24")),
                       "address 10.0.0.1 of b is already used by a:eth0", std::invalid_argument);
  auto& ib = b.add_interface(addr("10.0.0.2/24"));
  net::LinkParams bad;
  bad.loss = 1.5;
  CHECK_THROWS_AS(lab.net.connect(a.interface(0), ib, bad), std::invalid_argument);
  bad = net::LinkParams{};
  bad.delay = sim::Duration::nanoseconds(-1);
  CHECK_THROWS_AS(lab.net.connect(a.interface(0), ib, bad), std::invalid_argument);
  lab.net.connect(a.interface(0), ib, net::LinkParams{});
  CHECK_THROWS_WITH_AS(lab.net.connect(a.interface(0), ib, net::LinkParams{}),
                       "link a:eth0 - b:eth0: interface already linked", std::invalid_argument);
  auto& s1 = lab.net.add_switch("s1");
  auto& s2 = lab.net.add_switch("s2");
  auto& s3 = lab.net.add_switch("s3");
  lab.net.connect(s1, s2, net::LinkParams{});
  lab.net.connect(s2, s3, net::LinkParams{});
  CHECK_THROWS_AS(lab.net.connect(s3, s1, net::LinkParams{}), std::invalid_argument);
}

TEST_CASE("no ARP: an address on another segment does not resolve, even in the same subnet") {
  Lab lab;
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  auto& c = lab.net.add_host("c");
  lab.net.connect(a, b, net::LinkParams{}, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  c.add_interface(addr("10.0.0.3/24"));  // same subnet, not linked anywhere
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.0.3");
  cfg.count = 1;
  net::UdpProber prober(a, cfg);
  lab.sim.run();
  CHECK(a.interface(0).stats().drops[static_cast<size_t>(net::DropReason::NoNeighbour)] == 1);
  CHECK(b.interface(0).stats().rx_packets == 0);
}

TEST_CASE("routers forward only frames sent to their MAC, and only via segments they have an address on") {
  Lab lab;
  auto& sw = lab.net.add_switch("sw");
  auto& x = lab.net.add_host("x");
  auto& r1 = lab.net.add_router("r1");  // on sw without an address: not a gateway there
  auto& r2 = lab.net.add_router("r2");
  auto& d = lab.net.add_host("d");
  net::LinkParams lp;
  lab.net.connect(x, sw, lp, addr("10.0.1.1/24"));
  lab.net.connect(r1, sw, lp);
  lab.net.connect(r2, sw, lp, addr("10.0.1.254/24"));
  auto& s2 = lab.net.add_switch("s2");
  lab.net.connect(r1, s2, lp, addr("10.0.2.253/24"));
  lab.net.connect(r2, s2, lp, addr("10.0.2.254/24"));
  lab.net.connect(d, s2, lp, addr("10.0.2.1/24"));
  net::UdpEcho echo(d, 7);
  net::ProbeConfig cfg;
  cfg.dst = ip("10.0.2.1");
  cfg.count = 3;
  net::UdpProber prober(x, cfg);
  lab.sim.run();
  CHECK(prober.stats().received == 3);
  CHECK(prober.stats().duplicates == 0);
  // r1 saw the flooded first frame on sw but did not forward it.
  CHECK(r1.interface(1).stats().tx_packets == 0);
  bool via_r2 = false;
  for (const auto& rt : x.routes()) {
    if (rt.prefix.contains(ip("10.0.2.1"))) via_r2 = rt.gateway == ip("10.0.1.254");
  }
  CHECK(via_r2);
}

TEST_CASE("pcap_paths lists only the pcaps it could open (what a failed run may remove)") {
  // Before, a failed run removed <node>-<iface>.pcap for every interface,
  // including a file it had never opened.
  const std::string dir = tcpmig::testing::test_out_dir("net/pcap-paths");
  std::filesystem::create_directories(dir + "/b-eth0.pcap");  // in the way: cannot be opened as a file
  Lab lab(1);
  auto& a = lab.net.add_host("a");
  auto& b = lab.net.add_host("b");
  lab.net.connect(a, b, net::LinkParams{}, addr("10.0.0.1/24"), addr("10.0.0.2/24"));
  std::string error;
  CHECK_FALSE(lab.net.enable_pcap(dir, error));
  CHECK(error.find("b-eth0.pcap") != std::string::npos);
  CHECK(lab.net.pcap_paths() == std::vector<std::string>{dir + "/a-eth0.pcap"});
  lab.net.close_pcaps();
  std::filesystem::remove_all(dir);
}
