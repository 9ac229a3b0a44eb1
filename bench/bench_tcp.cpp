// TCP bulk-transfer benchmarks: the DESIGN.md section 9 figure "TCP bulk
// transfer, client-router-server".
//
// TcpBulk: 100 MB from client to server through one router over two
// 100 Mbit/s, 1 ms point-to-point links (drop-tail 100 packets), MSS 1448
// (1460 minus timestamps), NewReno (+ SACK, the Linux default), tracing and
// pcap off. items_per_second = data segments delivered to the server's TCP per
// wall-clock second. peak_rss_MB is the process's peak resident set (getrusage
// ru_maxrss), so run one benchmark per process for a clean figure:
//   build/tcp/bench/tcpmig-bench --benchmark_filter='^TcpBulk$'
// TcpBulkPcap: the same run writing one pcap per interface (4 files of about
// 100 MB each, in a temporary directory removed afterwards).
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "tcpmig/apps/bulk.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace {

using namespace tcpmig;

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct BulkRun {
  uint64_t data_segments = 0;  // delivered to the server's TCP
  uint64_t bytes = 0;          // verified at the sink
  uint64_t errors = 0;
  int64_t sim_ns = 0;
};

BulkRun run_bulk(uint64_t bytes, const std::string& pcap_dir) {
  sim::Simulator simulator(1);
  net::Network network(simulator);
  auto& client = network.add_host("client");
  auto& router = network.add_router("router");
  auto& server = network.add_host("server");
  net::LinkParams lp;
  lp.rate_bps = 100'000'000;
  lp.delay = sim::Duration::milliseconds(1);
  lp.queue_packets = 100;
  network.connect(client, router, lp, *net::InterfaceAddress::parse("10.0.1.1/24"),
                  *net::InterfaceAddress::parse("10.0.1.254/24"));
  network.connect(router, server, lp, *net::InterfaceAddress::parse("10.0.2.254/24"),
                  *net::InterfaceAddress::parse("10.0.2.1/24"));
  if (!pcap_dir.empty()) {
    std::string err;
    if (!network.enable_pcap(pcap_dir, err)) return {};
  }
  tcp::TcpConfig cfg;
  cfg.mss = 1460;  // 1448 payload bytes with timestamps
  tcp::TcpStack cstack(client, cfg);
  tcp::TcpStack sstack(server, cfg);
  apps::Console quiet;
  apps::BulkSink sink(sstack, apps::BulkSinkConfig{}, quiet);
  apps::BulkSenderConfig bc;
  bc.server = *wire::Ipv4Address::parse("10.0.2.1");
  bc.bytes = bytes;
  apps::BulkSender sender(cstack, bc, quiet);
  simulator.run();
  network.close_pcaps();
  BulkRun r;
  r.data_segments = sstack.stats().data_segs_in;
  r.bytes = sink.report().bytes;
  r.errors = sink.report().errors;
  r.sim_ns = sink.report().last_byte.ns();
  return r;
}

void report(benchmark::State& state, const BulkRun& last, uint64_t segments, uint64_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(segments));
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["sim_seconds"] = static_cast<double>(last.sim_ns) / 1e9;
  state.counters["goodput_Mbps"] = last.sim_ns > 0 ? static_cast<double>(last.bytes) * 8e3 / static_cast<double>(last.sim_ns) : 0;
  if (last.bytes != bytes || last.errors != 0) state.SkipWithError("bulk transfer incomplete or corrupt");
}

constexpr uint64_t kBytes = 100'000'000;

void TcpBulk(benchmark::State& state) {
  BulkRun last;
  uint64_t segments = 0;
  for (auto _ : state) {
    last = run_bulk(kBytes, "");
    segments += last.data_segments;
  }
  report(state, last, segments, kBytes);
}
BENCHMARK(TcpBulk)->Unit(benchmark::kMillisecond);

void TcpBulkPcap(benchmark::State& state) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tcpmig-bench-pcap-" + std::to_string(::getpid()))).string();
  BulkRun last;
  uint64_t segments = 0;
  for (auto _ : state) {
    std::filesystem::create_directories(dir);
    last = run_bulk(kBytes, dir);
    segments += last.data_segments;
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  report(state, last, segments, kBytes);
}
BENCHMARK(TcpBulkPcap)->Unit(benchmark::kMillisecond);

}  // namespace
