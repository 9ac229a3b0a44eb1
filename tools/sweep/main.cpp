// tcpmig-sweep: runs a scenario over a grid of parameter values and seeds,
// in-process on several threads, and writes one CSV row per run, a per-point
// summary and a description of the sweep. `tcpmig-sweep merge` joins the
// folders of a sharded sweep.
//
//   tcpmig-sweep SCENARIO.xml [--vary NAME=SPEC]... [--set NAME=VALUE]... [--seeds N] [--jobs N]
//                [--shard K/N] [--out DIR] [--metrics LIST] [--quiet]
//   tcpmig-sweep merge DIR... --out DIR
//
// Exit codes: 0 the sweep ran (runs that failed are rows with their error);
// 2 bad input (flags, specs, a parameter the scenario does not declare, a
// value a point cannot load with, shards that do not make one sweep, an
// output that cannot be written), one line on stderr, before any run starts
// and with no file written.
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "spec.hpp"
#include "sweep.hpp"
#include "tcpmig/scenario/files.hpp"

namespace {

using namespace tcpmig;

int bad_input(const std::string& message) {
  std::fprintf(stderr, "tcpmig-sweep: error: %s\n", message.c_str());
  return 2;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

/// Progress on stderr while the runs go: a bar with the rate and ETA,
/// redrawn in place on a terminal; otherwise a plain line every 10% or 10 s.
/// Wall-clock time is used here only, never in the files.
class Progress {
 public:
  Progress(uint64_t total, bool quiet) : total_(total), quiet_(quiet || total == 0), tty_(::isatty(2) == 1) {}
  void run(const std::atomic<uint64_t>& done, std::mutex& m, std::condition_variable& cv, const bool& finished) {
    if (quiet_) return;
    const auto start = std::chrono::steady_clock::now();
    auto last_line = start;
    uint64_t last_decile = 0;
    std::unique_lock lock(m);
    while (true) {
      cv.wait_for(lock, std::chrono::milliseconds(tty_ ? 200 : 1000), [&] { return finished; });
      const uint64_t d = done.load();
      const auto now = std::chrono::steady_clock::now();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double rate = elapsed > 0 ? static_cast<double>(d) / elapsed : 0;
      const std::string eta = rate > 0 ? clock_text(static_cast<double>(total_ - d) / rate) : std::string("?");
      if (tty_) {
        constexpr int kWidth = 30;
        const int fill = static_cast<int>(static_cast<double>(d) / static_cast<double>(total_) * kWidth);
        std::fprintf(stderr, "\r[%-*s] %llu/%llu runs  %.1f runs/s  ETA %s   ", kWidth, std::string(fill, '#').c_str(),
                     static_cast<unsigned long long>(d), static_cast<unsigned long long>(total_), rate, eta.c_str());
        if (finished) std::fprintf(stderr, "\n");
      } else {
        const uint64_t decile = d * 10 / total_;
        if (finished || decile > last_decile || now - last_line >= std::chrono::seconds(10)) {
          std::fprintf(stderr, "tcpmig-sweep: %llu/%llu runs, %.1f runs/s, ETA %s\n", static_cast<unsigned long long>(d),
                       static_cast<unsigned long long>(total_), rate, finished ? "0s" : eta.c_str());
          last_decile = decile;
          last_line = now;
        }
      }
      std::fflush(stderr);
      if (finished) return;
    }
  }

 private:
  uint64_t total_;
  bool quiet_;
  bool tty_;
};

int merge_main(int argc, char** argv) {
  CLI::App app{"tcpmig-sweep merge: join the shard folders of one sweep into the files the unsharded sweep writes"};
  std::vector<std::string> dirs;
  std::string out;
  app.add_option("dirs", dirs, "Shard folders (tcpmig-sweep --shard K/N --out DIR), every shard once")->required();
  app.add_option("--out", out, "Output folder")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return bad_input(std::string(e.what()) + "; expected the usage tcpmig-sweep merge --help prints");
  }
  if (out.empty()) return bad_input("--out ''; expected a folder");
  std::string error;
  const auto files = sweep::merge(dirs, error);
  if (!files) return bad_input(error);
  if (!sweep::write_files(out, *files, error)) return bad_input(error);
  std::fprintf(stderr, "tcpmig-sweep: merged %zu shards into %s\n", dirs.size(), out.c_str());
  return 0;
}

int sweep_main(int argc, char** argv) {
  std::string metric_help = "Metrics to record, comma-separated (default all):";
  for (const sweep::Metric& m : sweep::metrics()) metric_help += "\n  " + std::string(m.name) + ": " + std::string(m.meaning);
  CLI::App app{
      "tcpmig-sweep: run a scenario over a grid of parameter values and seeds, in-process on several threads\n"
      "(tcpmig-sweep merge DIR... --out DIR joins the folders of a sharded sweep)"};
  std::string scenario_path, seeds_text = "1", jobs_text, shard_text, out, metrics_text;
  std::vector<std::string> vary_args, set_args;
  bool quiet = false;
  app.add_option("scenario", scenario_path, "Scenario file (XML) with <param>s")->required();
  app.add_option("--vary", vary_args,
                 "NAME=SPEC: a <param> and its values, a list a,b,c or a range start:stop:step with units "
                 "(0ms:2s:100ms, 0%:5%:0.5%, 1:10:1); repeatable, the grid is their product")
      ->allow_extra_args(false);
  app.add_option("--set", set_args, "NAME=VALUE: a <param> fixed for the whole sweep (may be empty); repeatable")
      ->allow_extra_args(false);
  app.add_option("--seeds", seeds_text, "Seeds 1..N per grid point (default 1)");
  app.add_option("--jobs", jobs_text, "Threads (default: the number of cores)");
  app.add_option("--shard", shard_text, "K/N: run only the K-th of N interleaved parts of the grid");
  app.add_option("--out", out, "Output folder (default out/<scenario name>-sweep)");
  app.add_option("--metrics", metrics_text, metric_help);
  app.add_flag("--quiet", quiet, "No progress on stderr");
  app.set_version_flag("--version", std::string("tcpmig-sweep ") + TCPMIG_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return bad_input(std::string(e.what()) + "; expected the usage tcpmig-sweep --help prints");
  }

  // Every check before any run.
  std::string error;
  sweep::Plan plan;
  plan.tool = std::string("tcpmig-sweep ") + TCPMIG_VERSION;
  plan.scenario_path = scenario_path;
  if (app.count("--out") > 0 && out.empty()) return bad_input("--out ''; expected a folder");
  std::vector<sweep::Vary> varies;
  for (const std::string& a : vary_args) {
    auto v = sweep::parse_vary(a, error);
    if (!v) return bad_input(error);
    for (const sweep::Vary& earlier : varies) {
      if (earlier.name == v->name) return bad_input("--vary " + v->name + " twice; expected each parameter once");
    }
    varies.push_back(std::move(*v));
  }
  for (const std::string& a : set_args) {
    const std::size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) return bad_input("--set '" + a + "'; expected NAME=VALUE");
    scenario::Override o{a.substr(0, eq), a.substr(eq + 1)};
    for (const scenario::Override& earlier : plan.fixed) {
      if (earlier.name == o.name) return bad_input("--set " + o.name + " twice; expected each parameter once");
    }
    for (const sweep::Vary& v : varies) {
      if (v.name == o.name) return bad_input("--set " + o.name + " and --vary " + o.name + "; expected one or the other");
    }
    plan.fixed.push_back(std::move(o));
  }
  uint64_t seed_count = 0;
  {
    const auto [p, ec] = std::from_chars(seeds_text.data(), seeds_text.data() + seeds_text.size(), seed_count);
    if (seeds_text.empty() || ec != std::errc() || p != seeds_text.data() + seeds_text.size() || seed_count == 0 ||
        seed_count > 1'000'000) {
      return bad_input("--seeds '" + seeds_text + "'; expected a count from 1 to 1000000");
    }
  }
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  if (app.count("--jobs") > 0) {
    unsigned j = 0;
    const auto [p, ec] = std::from_chars(jobs_text.data(), jobs_text.data() + jobs_text.size(), j);
    if (jobs_text.empty() || ec != std::errc() || p != jobs_text.data() + jobs_text.size() || j == 0 || j > 1024) {
      return bad_input("--jobs '" + jobs_text + "'; expected a thread count from 1 to 1024");
    }
    jobs = j;
  }
  std::optional<sweep::Shard> shard;
  if (app.count("--shard") > 0) {
    shard = sweep::parse_shard(shard_text, error);
    if (!shard) return bad_input(error);
  }
  if (app.count("--metrics") > 0) {
    auto m = sweep::parse_metrics(metrics_text, error);
    if (!m) return bad_input(error);
    plan.metric_names = std::move(*m);
  } else {
    for (const sweep::Metric& m : sweep::metrics()) plan.metric_names.emplace_back(m.name);
  }
  uint64_t points = 1;
  for (const sweep::Vary& v : varies) {
    if (points > sweep::kMaxRuns / v.values.size()) return bad_input("the grid has too many points; expected at most " + std::to_string(sweep::kMaxRuns) + " runs");
    points *= v.values.size();
  }
  if (points > sweep::kMaxRuns / seed_count) return bad_input("the grid has too many runs; expected at most " + std::to_string(sweep::kMaxRuns));
  plan.grid = sweep::Grid(std::move(varies), seed_count);
  if (!scenario::read_input(scenario_path, {"scenario file", scenario::kMaxScenarioBytes}, plan.scenario_text, error)) {
    return bad_input(scenario_path + ": " + error);
  }

  // Which runs are ours (shard K of N: K-1, K-1+N, ...), and every point
  // loaded (each with its values, in every shard): a bad value or an
  // undeclared parameter stops the sweep here.
  const uint64_t total = plan.grid.runs();
  const uint64_t first = shard ? shard->k - 1 : 0, step = shard ? shard->n : 1;
  const uint64_t owned = first < total ? (total - first + step - 1) / step : 0;
  if (owned > sweep::kMaxOwnedRuns) {
    return bad_input("this invocation would run " + std::to_string(owned) + " runs; expected at most " +
                     std::to_string(sweep::kMaxOwnedRuns) + " (cut the sweep with --shard K/N)");
  }
  std::vector<uint64_t> indices(owned);
  for (uint64_t i = 0; i < owned; ++i) indices[i] = first + i * step;
  auto loaded = sweep::load_points(plan, jobs, error);
  if (!loaded) return bad_input(error);
  plan.scenario_name = loaded->name;
  if (out.empty()) out = "out/" + plan.scenario_name + "-sweep";
  // The output folder must be writable before hours of runs: probe it.
  {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) return bad_input("cannot create the output directory " + out + ": " + ec.message());
    if (::access(out.c_str(), W_OK) != 0) return bad_input("cannot write into the output directory " + out);
  }

  std::atomic<uint64_t> done{0};
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  Progress progress(indices.size(), quiet);
  std::vector<sweep::Row> rows;
  {
    std::thread progress_thread([&] { progress.run(done, m, cv, finished); });
    // Stops the progress display however the runs end (an exception included).
    struct Stop {
      std::mutex& m;
      std::condition_variable& cv;
      bool& finished;
      std::thread& t;
      ~Stop() {
        {
          const std::lock_guard lock(m);
          finished = true;
        }
        cv.notify_all();
        t.join();
      }
    } stop{m, cv, finished, progress_thread};
    rows = sweep::run_all(plan, *loaded, indices, jobs, done);
  }

  const std::string header = sweep::runs_csv_header(plan);
  sweep::Files files;
  files.runs = sweep::runs_csv(header, rows);
  files.summary = sweep::summary_csv(header, plan.grid.varies().size(), plan.metric_names, rows);
  files.sweep = sweep::sweep_json(plan, shard);
  if (!sweep::write_files(out, files, error)) return bad_input(error);
  std::size_t failed = 0;
  for (const sweep::Row& r : rows) failed += r.error.empty() ? 0 : 1;
  std::fprintf(stderr, "tcpmig-sweep: %zu runs (%zu with an error) written to %s\n", rows.size(), failed, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && std::string_view(argv[1]) == "merge") return merge_main(argc - 1, argv + 1);
    return sweep_main(argc, argv);
  } catch (const std::exception& e) {
    return bad_input(std::string(e.what()) + "; expected a sweep without internal errors");
  }
}
