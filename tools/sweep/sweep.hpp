// tcpmig-sweep's work: the metrics of one run, running a grid of runs on
// threads, the three files a sweep writes, and merging shards.
//
// Place in the layers: tools/sweep, on scenario loading (tcpmig_scenario).
// Rules (README.md, "Sweeps", says the same for users):
// - Metrics are read from the run's RunResults, the numbers summary.json
//   holds (metrics() lists them with their meaning). A metric a run has no
//   value for is an empty field.
// - runs.csv: `point,seed,<param>...,<metric>...,error`, one row per run in
//   run-index order; `error` is empty, or why the run failed (then the
//   metrics are empty), or the expectations the run missed (metrics filled).
// - summary.csv: `point,<param>...,metric,runs,count,mean,stddev,min,median,
//   p95,max,ci95_low,ci95_high`, per point and numeric metric, computed from
//   the runs.csv fields as written (so merged shards give the same numbers).
// - sweep.json: what was swept (tool, scenario, its FNV-1a, seeds, points,
//   runs, params, --set values, vary specs and values, metrics); a shard's file has one
//   more line, `  "shard": "K/N",`, second.
// - Same inputs => byte-identical files, whatever --jobs: every run is a
//   pure function of (scenario, point, seed) and rows are written in order.
// - merge: every shard 1..N of one sweep exactly once (same sweep.json but
//   for the shard line, same runs.csv header, each shard's rows exactly the
//   runs it owns) gives the files the unsharded sweep writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spec.hpp"
#include "tcpmig/scenario/runner.hpp"
#include "tcpmig/scenario/scenario.hpp"

namespace tcpmig::sweep {

/// A metric a sweep can record.
struct Metric {
  std::string_view name;
  bool numeric;             ///< summarised in summary.csv
  std::string_view meaning; ///< one line for --help and the README
};
/// Every metric, in their column order.
std::span<const Metric> metrics();
/// Parses `--metrics a,b,c` (known names, no repeats); nullopt with `error`.
std::optional<std::vector<std::string>> parse_metrics(std::string_view list, std::string& error);
/// The values of `names` for one run, as CSV field text.
std::vector<std::string> metric_values(const scenario::RunResults& r, std::span<const std::string> names);

/// One run's row.
struct Row {
  uint64_t point = 0;
  uint64_t seed = 1;
  std::vector<std::string> params;   ///< values of the varied params at the point
  std::vector<std::string> metrics;  ///< in the sweep's metric order
  std::string error;
};

/// What a sweep is: the scenario and the grid.
struct Plan {
  std::string scenario_text;           ///< the file's bytes
  std::string scenario_path;           ///< as given (error messages)
  std::string scenario_name;           ///< <scenario name>
  std::string tool;                    ///< "tcpmig-sweep VERSION"
  std::vector<scenario::Override> fixed;  ///< --set: the same at every point
  Grid grid{{}, 1};
  std::vector<std::string> metric_names;
};

/// Grids of up to this many points keep every loaded scenario for the runs;
/// larger ones load a point again when a thread reaches it (memory stays
/// flat: a loaded scenario is a few KiB).
inline constexpr uint64_t kKeepPoints = 4096;

/// The scenarios of a grid, loaded (and so checked) at every point.
struct Points {
  std::string name;                                  ///< <scenario name> at point 0 (names may use ${param})
  std::vector<std::optional<scenario::Scenario>> kept;  ///< by point; empty beyond kKeepPoints
};

/// Loads the scenario at every point (overrides = --set and the point's
/// values), on `jobs` threads, keeping them when the grid is small; nullopt,
/// with one error line, at the first point that does not load.
std::optional<Points> load_points(const Plan& plan, unsigned jobs, std::string& error);

/// Runs `indices` (run indices, ascending) on `jobs` threads; `done` counts
/// finished runs for a progress display. Rows come back in `indices` order.
std::vector<Row> run_all(const Plan& plan, const Points& points, std::span<const uint64_t> indices, unsigned jobs,
                         std::atomic<uint64_t>& done);

/// The file texts.
std::string runs_csv_header(const Plan& plan);
std::string runs_csv(const std::string& header, std::span<const Row> rows);
std::string summary_csv(const std::string& runs_header, std::size_t param_count, std::span<const std::string> metric_names,
                        std::span<const Row> rows);
std::string sweep_json(const Plan& plan, const std::optional<Shard>& shard);

/// The three files of a sweep (or a shard), as texts.
struct Files {
  std::string runs, summary, sweep;
};
/// Writes them into `dir` (created with its parents): each to a temporary
/// name first, then renamed, so a reader never sees half a file; false with
/// `error`. (The three renames are not one step: if a later one fails, the
/// earlier files are already the new ones.)
bool write_files(const std::string& dir, const Files& f, std::string& error);

/// Merges shard folders into the unsharded sweep's files; nullopt with one
/// error line ("DIR/runs.csv:LINE: ...").
std::optional<Files> merge(std::span<const std::string> dirs, std::string& error);

}  // namespace tcpmig::sweep
