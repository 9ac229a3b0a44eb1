// tcpmig-demo: a small simulated network written to pcaps and a text trace.
// client1 runs the seed experiment's request/response exchange with server1
// over TCP (10 requests on one connection; no migration yet), and client2
// sends UDP probes to server2, which joins the network while the simulation
// runs. It shows forwarding through a router, learning switches, a lossy
// access link, TCP recovering from loss, and routes following a topology
// change.
//
// Topology (addresses in brackets):
//
//   client1 [10.0.1.1] --\                         /-- server1 [10.0.2.10]
//                         gw [10.0.1.254 | 10.0.2.254] -- sw
//   client2 [10.0.1.2] --/   (via sw0)              \-- server2 [10.0.2.20]  (added at t = 50 ms)
//
// Exit codes: 0 success, 1 an expectation failed (--expect-trace differs),
// 2 bad command line or an output file cannot be created.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "tcpmig/apps/console.hpp"
#include "tcpmig/apps/request_response.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/net/probe.hpp"
#include "tcpmig/tcp/stack.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/sim/trace.hpp"

namespace {

using namespace tcpmig;
using namespace tcpmig::sim::literals;

net::InterfaceAddress addr(const char* text) { return *net::InterfaceAddress::parse(text); }

std::string ms(sim::Duration d) {
  // Milliseconds with three decimals, from integer nanoseconds.
  const int64_t us = d.ns() / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(us / 1000),
                static_cast<long long>(us % 1000));
  return buf;
}

void report(const char* who, const char* dst, const net::ProbeStats& s) {
  std::printf("%s -> %s: %u sent, %u answered, %u duplicate, %u out of order", who, dst, s.sent,
              s.received, s.duplicates, s.out_of_order);
  if (s.received > 0) {
    std::printf(", rtt min/avg/max %s/%s/%s ms", ms(s.rtt_min).c_str(),
                ms(s.rtt_sum / s.received).c_str(), ms(s.rtt_max).c_str());
  }
  std::printf("\n");
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Prints the first line where two traces differ.
void print_first_difference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return;
    if (!ha || !hb || la != lb) {
      std::fprintf(stderr, "line %d:\n  expected: %s\n  got:      %s\n", line, ha ? la.c_str() : "<end>",
                   hb ? lb.c_str() : "<end>");
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tcpmig-demo: a small simulated network with UDP probes, pcaps and a text trace"};
  std::string out_dir = "out/demo";
  uint64_t seed = 1;
  std::string trace_path;
  std::string expect_trace;
  bool no_pcap = false;
  double loss_percent = 2.0;
  uint32_t count = 20;
  app.add_option("--out", out_dir, "Directory for pcaps and the trace (created if missing)");
  app.add_option("--seed", seed, "Seed of every random stream");
  app.add_option("--trace", trace_path, "Also write the text trace to FILE ('-' for stdout)");
  app.add_option("--expect-trace", expect_trace, "Compare the trace with FILE; exit 1 if it differs");
  app.add_option("--loss", loss_percent, "Loss on the client links, percent")->check(CLI::Range(0.0, 100.0));
  app.add_option("--count", count, "Probes per client")->check(CLI::Range(1u, 1000000u));
  app.add_flag("--no-pcap", no_pcap, "Do not write pcaps");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "tcpmig-demo: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 2;
  }

  sim::Simulator simulator(seed);
  net::Network network(simulator);
  sim::TraceWriter trace;
  std::string error;
  const std::string trace_file = out_dir + "/trace.txt";
  if (!trace.open(trace_file, error)) {
    std::fprintf(stderr, "tcpmig-demo: %s\n", error.c_str());
    return 2;
  }
  network.set_trace(&trace);

  net::Node& client1 = network.add_host("client1");
  net::Node& client2 = network.add_host("client2");
  net::Node& gw = network.add_router("gw");
  net::Switch& sw = network.add_switch("sw");
  net::Switch& sw0 = network.add_switch("sw0");
  net::Node& server1 = network.add_host("server1");

  net::LinkParams access;
  access.rate_bps = 100'000'000;
  access.delay = 1_ms;
  access.loss = loss_percent / 100.0;
  net::LinkParams lan;
  lan.rate_bps = 1'000'000'000;
  lan.delay = 100_us;

  network.connect(client1, sw0, access, addr("10.0.1.1/24"));
  network.connect(client2, sw0, access, addr("10.0.1.2/24"));
  network.connect(sw0, gw, lan, std::nullopt, addr("10.0.1.254/24"));
  network.connect(gw, sw, lan, addr("10.0.2.254/24"));
  network.connect(sw, server1, lan, std::nullopt, addr("10.0.2.10/24"));

  if (!no_pcap && !network.enable_pcap(out_dir, error)) {
    std::fprintf(stderr, "tcpmig-demo: %s\n", error.c_str());
    return 2;
  }

  // The experiment's pair over TCP, printing like the seed's terminals.
  apps::Console console(stdout);
  tcp::TcpStack client1_tcp(client1);
  tcp::TcpStack server1_tcp(server1);
  apps::ResponseServerConfig server_cfg;
  server_cfg.name = "server1";
  apps::ResponseServer server(server1_tcp, server_cfg, console);
  apps::RequestClientConfig client_cfg;
  client_cfg.server = *wire::Ipv4Address::parse("10.0.2.10");
  client_cfg.count = 10;
  client_cfg.interval = 20_ms;
  client_cfg.name = "client1";
  apps::RequestClient client(client1_tcp, client_cfg, console);

  net::ProbeConfig p2;
  p2.dst = *wire::Ipv4Address::parse("10.0.2.20");
  p2.count = count;
  p2.interval = 5_ms;
  p2.start = sim::Time::zero() + 2_ms;
  net::UdpProber prober2(client2, p2);

  // server2 boots at t = 50 ms: a new host and link while the simulation runs.
  std::unique_ptr<net::UdpEcho> echo2;
  simulator.schedule_at(sim::Time::zero() + 50_ms, [&] {
    net::Node& server2 = network.add_host("server2");
    network.connect(sw, server2, lan, std::nullopt, addr("10.0.2.20/24"));
    echo2 = std::make_unique<net::UdpEcho>(server2, 7);
    std::printf("%s server2 joins the network at 10.0.2.20\n", [&] {
      std::string t;
      sim::append_time(t, simulator.now());
      return t;
    }().c_str());
  });

  simulator.run();
  network.close_pcaps();
  trace.close();
  if (!network.pcap_error().empty()) {
    std::fprintf(stderr, "tcpmig-demo: %s\n", network.pcap_error().c_str());
    return 2;
  }
  if (!trace.ok()) {
    std::fprintf(stderr, "tcpmig-demo: %s: write failed\n", trace_file.c_str());
    return 2;
  }

  std::printf("client1 <-> 10.0.2.10:80 (server1): %u requests sent, %zu responses, connection %s\n",
              client.sent(), client.responses().size(),
              client.closed() ? tcp::close_reason_name(client.close_reason()) : "open");
  report("client2", "10.0.2.20 (server2)", prober2.stats());
  std::printf("%llu events, %llu trace lines, pcaps and trace in %s/\n",
              static_cast<unsigned long long>(simulator.events_executed()),
              static_cast<unsigned long long>(trace.lines()), out_dir.c_str());

  bool ok = true;
  const std::string got = read_file(trace_file, ok);
  if (!trace_path.empty()) {
    if (trace_path == "-") {
      std::fwrite(got.data(), 1, got.size(), stdout);
    } else {
      std::ofstream f(trace_path, std::ios::binary);
      f << got;
      if (!f) {
        std::fprintf(stderr, "tcpmig-demo: cannot write %s\n", trace_path.c_str());
        return 2;
      }
    }
  }
  if (!expect_trace.empty()) {
    const std::string want = read_file(expect_trace, ok);
    if (!ok) {
      std::fprintf(stderr, "tcpmig-demo: cannot read %s\n", expect_trace.c_str());
      return 2;
    }
    if (want != got) {
      std::fprintf(stderr, "tcpmig-demo: trace differs from %s\n", expect_trace.c_str());
      print_first_difference(want, got);
      return 1;
    }
    std::printf("trace matches %s\n", expect_trace.c_str());
  }
  return 0;
}
