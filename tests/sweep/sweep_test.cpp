// tcpmig-sweep's parts: specs, the grid, shards, statistics, the files, merge.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "spec.hpp"
#include "stats.hpp"
#include "sweep.hpp"

namespace {

using namespace tcpmig::sweep;

const std::string kSource = TCPMIG_SOURCE_DIR;

std::vector<std::string> expand(std::string_view spec) {
  std::string error;
  auto v = expand_spec(spec, error);
  REQUIRE_MESSAGE(v.has_value(), error);
  return *v;
}

std::string expand_error(std::string_view spec) {
  std::string error;
  CHECK_FALSE(expand_spec(spec, error).has_value());
  return error;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Plan mid_stream_plan(std::vector<Vary> varies, uint64_t seeds) {
  Plan plan;
  plan.scenario_path = kSource + "/scenarios/sweep_migration_timing.xml";
  plan.scenario_text = read(plan.scenario_path);
  plan.scenario_name = "sweep_migration_timing";
  plan.tool = "tcpmig-sweep test";
  plan.grid = Grid(std::move(varies), seeds);
  for (const Metric& m : metrics()) plan.metric_names.emplace_back(m.name);
  return plan;
}

Vary vary(std::string_view arg) {
  std::string error;
  auto v = parse_vary(arg, error);
  REQUIRE_MESSAGE(v.has_value(), error);
  return *v;
}

/// The three files of `plan`'s runs in `shard` (all when nullopt), with `jobs` threads.
Files sweep_files(const Plan& plan, std::optional<Shard> shard, unsigned jobs) {
  std::vector<uint64_t> indices;
  for (uint64_t i = 0; i < plan.grid.runs(); ++i) {
    if (!shard || shard->owns(i)) indices.push_back(i);
  }
  std::string error;
  auto points = load_points(plan, jobs, error);
  REQUIRE_MESSAGE(points.has_value(), error);
  std::atomic<uint64_t> done{0};
  const std::vector<Row> rows = run_all(plan, *points, indices, jobs, done);
  CHECK(done.load() == indices.size());
  const std::string header = runs_csv_header(plan);
  return {runs_csv(header, rows), summary_csv(header, plan.grid.varies().size(), plan.metric_names, rows),
          sweep_json(plan, shard)};
}

}  // namespace

TEST_CASE("lists keep their values as written") {
  CHECK(expand("a,b,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(expand("10.0.2.20:80") == std::vector<std::string>{"10.0.2.20:80"});  // one ':' is a value, not a range
  CHECK(expand("2%") == std::vector<std::string>{"2%"});
  CHECK(expand_error("a,,b").find("empty value") != std::string::npos);
  CHECK(expand_error("").find("empty") != std::string::npos);
}

TEST_CASE("ranges count exactly in the finest unit written") {
  CHECK(expand("0ms:2s:500ms") == std::vector<std::string>{"0ms", "500ms", "1000ms", "1500ms", "2000ms"});
  CHECK(expand("0%:1%:0.25%") == std::vector<std::string>{"0%", "0.25%", "0.5%", "0.75%", "1%"});
  CHECK(expand("1:4:1") == std::vector<std::string>{"1", "2", "3", "4"});
  CHECK(expand("0.1:0.3:0.1") == std::vector<std::string>{"0.1", "0.2", "0.3"});  // no 0.30000000000000004
  CHECK(expand("1.5ms:3ms:500us") == std::vector<std::string>{"1500us", "2000us", "2500us", "3000us"});
  CHECK(expand("1:10:4") == std::vector<std::string>{"1", "5", "9"});  // stop is not reached: not included
  CHECK(expand("10Mbps:30Mbps:10Mbps") == std::vector<std::string>{"10Mbps", "20Mbps", "30Mbps"});
  CHECK(expand("1KiB:3KiB:1KiB") == std::vector<std::string>{"1KiB", "2KiB", "3KiB"});
  CHECK(expand("5:5:1") == std::vector<std::string>{"5"});
}

TEST_CASE("bad ranges say what is wrong") {
  CHECK(expand_error("0:2s:100ms").find("mixes") != std::string::npos);
  CHECK(expand_error("0ms:2s:0ms").find("step 0") != std::string::npos);
  CHECK(expand_error("2s:1s:1ms").find("starts after it stops") != std::string::npos);
  CHECK(expand_error("0ms:2x:1ms").find("not a number with a unit") != std::string::npos);
  CHECK(expand_error("-1:2:1").find("not a number with a unit") != std::string::npos);
  CHECK(expand_error("0ns:1000s:1ns").find("at most") != std::string::npos);
  // 2^64 values: the count must not wrap to 0.
  CHECK(expand_error("0ns:18446744073709551615ns:1ns").find("at most") != std::string::npos);
  std::string error;
  CHECK_FALSE(parse_vary("=1,2", error).has_value());
  CHECK(error.find("NAME=SPEC") != std::string::npos);
  CHECK_FALSE(parse_vary("loss", error).has_value());
}

TEST_CASE("the grid: the first --vary changes slowest") {
  const Grid g({vary("a=1,2"), vary("b=x,y,z")}, 2);
  CHECK(g.points() == 6);
  CHECK(g.runs() == 12);
  CHECK(g.values(0) == std::vector<std::string>{"1", "x"});
  CHECK(g.values(2) == std::vector<std::string>{"1", "z"});
  CHECK(g.values(3) == std::vector<std::string>{"2", "x"});
  CHECK(Grid({}, 3).points() == 1);
}

TEST_CASE("shards take turns and cover every run once") {
  std::string error;
  const auto s = parse_shard("2/3", error);
  REQUIRE(s.has_value());
  CHECK(s->owns(1));
  CHECK(s->owns(4));
  CHECK_FALSE(s->owns(0));
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3", ""}) {
    CHECK_FALSE(parse_shard(bad, error).has_value());
    CHECK(error.find("K/N") != std::string::npos);
  }
}

TEST_CASE("statistics") {
  const std::vector<double> v{1, 2, 3, 4, 10};
  const Stats s = summarize(v);
  CHECK(s.count == 5);
  CHECK(s.mean == doctest::Approx(4));
  CHECK(s.median == 3);
  CHECK(s.min == 1);
  CHECK(s.max == 10);
  CHECK(s.p95 == doctest::Approx(8.8));  // 4 + 0.8 * (10 - 4)
  CHECK(*s.stddev == doctest::Approx(3.5355339));
  CHECK(*s.ci95_low == doctest::Approx(4 - 2.776445 * 3.5355339 / std::sqrt(5.0)));
  const Stats one = summarize(std::vector<double>{7});
  CHECK(one.median == 7);
  CHECK(one.p95 == 7);
  CHECK_FALSE(one.stddev.has_value());
  CHECK(summarize(std::vector<double>{}).count == 0);
  CHECK(summarize(std::vector<double>{1, 2}).median == 1.5);
  CHECK(t975(1) == doctest::Approx(12.706205));
  CHECK(t975(40) == doctest::Approx(2.021075).epsilon(1e-5));
  CHECK(t975(120) == doctest::Approx(1.979930).epsilon(1e-5));
  CHECK(format_number(12.5) == "12.5");
  CHECK(format_number(3) == "3");
  CHECK(format_number(-0.0000001) == "0");
  CHECK(format_number(1.0 / 3) == "0.333333");
  CHECK(format_number(1e20) == "100000000000000000000");
}

TEST_CASE("metrics: --metrics takes known names once") {
  std::string error;
  CHECK(parse_metrics("stall_ms,outcome", error) == std::vector<std::string>{"stall_ms", "outcome"});
  CHECK_FALSE(parse_metrics("stall_ms,nope", error).has_value());
  CHECK(error.find("unknown metric 'nope'") != std::string::npos);
  CHECK_FALSE(parse_metrics("stall_ms,stall_ms", error).has_value());
  CHECK_FALSE(parse_metrics("", error).has_value());
}

TEST_CASE("a sweep of the seed experiment: the numbers a user checks") {
  const Plan plan = mid_stream_plan({vary("after=1,3")}, 2);
  const Files f = sweep_files(plan, std::nullopt, 2);
  std::istringstream lines(f.runs);
  std::string header, line;
  std::getline(lines, header);
  CHECK(header ==
        "point,seed,after,outcome,migrations,completed,switch_latency_ms,stall_ms,sink_gap_ms,packets_held,syns_sent,"
        "client_retransmits,server_retransmits,client_timeouts,server_timeouts,goodput_bps,completion_ms,events,error");
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    CHECK(line.find(",completed,1,1,") != std::string::npos);  // one migration, completed
    CHECK(line.back() == ',');                                 // no error
  }
  CHECK(rows == 4);
  // One summary row per point and numeric metric.
  CHECK(f.summary.rfind("point,after,metric,runs,count,mean,stddev,min,median,p95,max,ci95_low,ci95_high\n", 0) == 0);
  CHECK(f.summary.find("\n0,1,completed,2,2,1,0,1,1,1,1,1,1\n") != std::string::npos);
  CHECK(f.sweep.find("\"runs\": 4,") != std::string::npos);
}

TEST_CASE("the same sweep with 1 and 2 threads gives the same files") {
  const Plan plan = mid_stream_plan({vary("after=1:3:1"), vary("loss=0%,2%")}, 2);
  const Files one = sweep_files(plan, std::nullopt, 1);
  const Files two = sweep_files(plan, std::nullopt, 2);
  CHECK(one.runs == two.runs);
  CHECK(one.summary == two.summary);
  CHECK(one.sweep == two.sweep);
}

TEST_CASE("shards merged are the unsharded sweep; bad merges are refused") {
  const Plan plan = mid_stream_plan({vary("after=1,2"), vary("delay=1ms,5ms")}, 2);
  const Files whole = sweep_files(plan, std::nullopt, 2);
  const std::filesystem::path dir = std::filesystem::path(std::getenv("TCPMIG_TEST_OUT") ? std::getenv("TCPMIG_TEST_OUT") : "/tmp") / "sweep-merge";
  std::filesystem::remove_all(dir);
  std::vector<std::string> dirs;
  std::string error;
  for (uint64_t k = 1; k <= 3; ++k) {
    const Files part = sweep_files(plan, Shard{k, 3}, 1);
    dirs.push_back((dir / ("shard-" + std::to_string(k))).string());
    REQUIRE(write_files(dirs.back(), part, error));
  }
  // Given in any order.
  const std::vector<std::string> shuffled{dirs[2], dirs[0], dirs[1]};
  const auto merged = merge(shuffled, error);
  REQUIRE_MESSAGE(merged.has_value(), error);
  CHECK(merged->runs == whole.runs);
  CHECK(merged->summary == whole.summary);
  CHECK(merged->sweep == whole.sweep);

  // A missing shard, a shard twice, a shard of another sweep, a cut-short runs.csv.
  CHECK_FALSE(merge(std::vector<std::string>{dirs[0], dirs[1]}, error).has_value());
  CHECK(error.find("shards 3 of 3 are missing") != std::string::npos);
  CHECK_FALSE(merge(std::vector<std::string>{dirs[0], dirs[1], dirs[1]}, error).has_value());
  CHECK(error.find("again") != std::string::npos);
  const Plan other = mid_stream_plan({vary("after=1,2"), vary("delay=1ms,9ms")}, 2);
  const std::string other_dir = (dir / "other").string();
  REQUIRE(write_files(other_dir, sweep_files(other, Shard{3, 3}, 1), error));
  CHECK_FALSE(merge(std::vector<std::string>{dirs[0], dirs[1], other_dir}, error).has_value());
  CHECK(error.find("a different sweep") != std::string::npos);
  {
    std::string runs = read(std::filesystem::path(dirs[1]) / "runs.csv");
    runs.erase(runs.rfind('\n', runs.size() - 2) + 1);  // the last row gone
    std::ofstream(std::filesystem::path(dirs[1]) / "runs.csv", std::ios::binary | std::ios::trunc) << runs;
  }
  CHECK_FALSE(merge(dirs, error).has_value());
  CHECK(error.find("unfinished shard") != std::string::npos);
  CHECK_FALSE(merge(std::vector<std::string>{(dir / "nowhere").string()}, error).has_value());
  CHECK(error.find("sweep.json") != std::string::npos);
  // The unsharded files are not a shard.
  REQUIRE(write_files((dir / "whole").string(), whole, error));
  CHECK_FALSE(merge(std::vector<std::string>{(dir / "whole").string()}, error).has_value());
  CHECK(error.find("shard") != std::string::npos);
}

TEST_CASE("a shard without runs, and names that use a parameter, still merge") {
  // sweep_migration_timing with trigger=at: the defaults alone do not load
  // (after="" must come with trigger=at), so the name comes from point 0.
  Plan plan = mid_stream_plan({vary("at=500ms,1s")}, 1);
  plan.fixed = {{"trigger", "at"}, {"after", ""}};
  const Files whole = sweep_files(plan, std::nullopt, 1);
  const std::filesystem::path dir =
      std::filesystem::path(std::getenv("TCPMIG_TEST_OUT") ? std::getenv("TCPMIG_TEST_OUT") : "/tmp") / "sweep-empty-shard";
  std::filesystem::remove_all(dir);
  std::vector<std::string> dirs;
  std::string error;
  for (uint64_t k = 1; k <= 3; ++k) {  // shard 3 of 3 has no run
    dirs.push_back((dir / std::to_string(k)).string());
    REQUIRE(write_files(dirs.back(), sweep_files(plan, Shard{k, 3}, 1), error));
  }
  CHECK(whole.sweep.find("\"scenario\": \"sweep_migration_timing\"") != std::string::npos);
  const auto merged = merge(dirs, error);
  REQUIRE_MESSAGE(merged.has_value(), error);
  CHECK(merged->runs == whole.runs);
  CHECK(merged->sweep == whole.sweep);
  // A row repeated in place of another is refused.
  std::string runs = read(std::filesystem::path(dirs[0]) / "runs.csv");
  const std::string row = runs.substr(runs.find('\n') + 1);
  std::ofstream(std::filesystem::path(dirs[1]) / "runs.csv", std::ios::binary | std::ios::trunc)
      << runs.substr(0, runs.find('\n') + 1) << "1" << row.substr(1);
  CHECK_FALSE(merge(dirs, error).has_value());
}

TEST_CASE("grids beyond kKeepPoints load each point again when its runs come") {
  const Plan plan = mid_stream_plan({vary("requests=1:" + std::to_string(kKeepPoints + 1) + ":1")}, 1);
  std::string error;
  const auto points = load_points(plan, 2, error);
  REQUIRE_MESSAGE(points.has_value(), error);
  CHECK(points->kept.empty());
  CHECK(points->name == "sweep_migration_timing");
  const std::vector<uint64_t> indices{0, 1, kKeepPoints};
  std::atomic<uint64_t> done{0};
  const std::vector<Row> rows = run_all(plan, *points, indices, 2, done);
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].params == std::vector<std::string>{std::to_string(kKeepPoints + 1)});
  CHECK(rows[2].error.empty());
  CHECK(rows[2].metrics[0] == "completed");
}

TEST_CASE("every point loads before a run: a bad value names the point") {
  Plan plan = mid_stream_plan({vary("after=1,2"), vary("loss=0%,120%")}, 1);
  std::string error;
  CHECK_FALSE(load_points(plan, 2, error).has_value());
  CHECK(error.find("sweep_migration_timing.xml:") != std::string::npos);
  CHECK(error.find("(at after=1, loss=120%)") != std::string::npos);
  plan = mid_stream_plan({vary("nope=1,2")}, 1);
  CHECK_FALSE(load_points(plan, 1, error).has_value());
  CHECK(error.find("--vary nope=1 names no parameter") != std::string::npos);
}
