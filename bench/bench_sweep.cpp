// Sweeps (tools/sweep): runs of the seed experiment (scenarios/
// sweep_migration_timing.xml, no pcaps), in-process with 1 and 2 threads
// (tcpmig-sweep --jobs), against launching tcpmig-sim once per run as a
// script would (posix_spawn, then wait; it writes its trace and summary.json
// as it always does, pcaps off). Figures are runs per second (items/s);
// real time, since the threads share it.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "sweep.hpp"
#include "tcpmig/scenario/files.hpp"

extern char** environ;

namespace {

using namespace tcpmig;

constexpr uint64_t kRuns = 16;  // seeds 1..16 of one point per iteration

sweep::Plan plan() {
  sweep::Plan p;
  p.scenario_path = std::string(TCPMIG_SOURCE_DIR) + "/scenarios/sweep_migration_timing.xml";
  std::string error;
  if (!scenario::read_input(p.scenario_path, {"scenario file", scenario::kMaxScenarioBytes}, p.scenario_text, error)) {
    p.scenario_text.clear();  // load_points then reports it
  }
  p.grid = sweep::Grid({}, kRuns);
  for (const sweep::Metric& m : sweep::metrics()) p.metric_names.emplace_back(m.name);
  return p;
}

void SweepInProcess(benchmark::State& state) {
  const sweep::Plan p = plan();
  std::string error;
  const auto points = sweep::load_points(p, 1, error);
  if (!points) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<uint64_t> indices(kRuns);
  for (uint64_t i = 0; i < kRuns; ++i) indices[i] = i;
  const auto jobs = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    std::atomic<uint64_t> done{0};
    auto rows = sweep::run_all(p, *points, indices, jobs, done);
    benchmark::DoNotOptimize(rows.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kRuns));
}
BENCHMARK(SweepInProcess)->Arg(1)->Arg(2)->ArgName("jobs")->UseRealTime()->Unit(benchmark::kMillisecond);

void SweepSpawnSim(benchmark::State& state) {
  const std::string scenario = std::string(TCPMIG_SOURCE_DIR) + "/scenarios/sweep_migration_timing.xml";
  const std::string out = (std::filesystem::temp_directory_path() / "tcpmig-bench-spawn").string();
  for (auto _ : state) {
    for (uint64_t seed = 1; seed <= kRuns; ++seed) {
      std::vector<std::string> args{TCPMIG_SIM_PATH, scenario, "--seed", std::to_string(seed), "--no-pcap",
                                    "--quiet", "--out", out};
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = 0;
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      int status = 0;
      if (rc != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        state.SkipWithError("tcpmig-sim failed");
        return;
      }
    }
  }
  std::filesystem::remove_all(out);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kRuns));
}
BENCHMARK(SweepSpawnSim)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
