// tcpmig-sim: runs one XML scenario in the deterministic simulator. Prints the
// applications' console lines as they happen, then a migration summary, and
// writes one pcap per interface, the text trace and summary.json.
//
//   tcpmig-sim SCENARIO.xml [--seed N] [--set NAME=VALUE]... [--out DIR] [--no-pcap]
//              [--trace FILE|-] [--until TIME] [--quiet] [--expect-trace FILE]
//              [--write-fingerprint FILE] [--version] [--help]
//
// Every input is checked, and every output created or opened, before the
// simulation runs. Exit codes: 0 success; 1 an expectation failed
// (--expect-trace differs, a migration did not end as its `expect` says, a
// client missed responses, a bulk sink got wrong or missing bytes); 2 bad
// input (flags, inputs, scenario, an output that cannot be written, a
// topology that fails while running), reported in one line on stderr. On
// exit 2 everything this invocation created, or had begun to overwrite, is
// removed (tcpmig/scenario/files.hpp).
#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "tcpmig/scenario/files.hpp"
#include "tcpmig/scenario/runner.hpp"
#include "tcpmig/scenario/scenario.hpp"
#include "tcpmig/scenario/units.hpp"

namespace {

using namespace tcpmig;

constexpr std::string_view kFingerprintHeader = "# tcpmig trace fingerprint";

/// Prints "tcpmig-sim: error: MESSAGE" (after what stdout holds) and returns exit code 2.
int bad_input(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "tcpmig-sim: error: %s\n", message.c_str());
  return 2;
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ok = ok && !in.bad();
  return text;
}

/// Prints the first line where two traces differ.
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

/// The first line of `text` without its "\n" or "\r\n"; removes it from `text`.
std::string_view take_line(std::string_view& text) {
  const auto nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

/// The fingerprint in what follows the header line of a fingerprint file: 16
/// hex digits, then nothing but line ends.
std::optional<uint64_t> parse_fingerprint(std::string_view rest) {
  const std::string_view digits = take_line(rest);
  if (digits.size() != 16 || rest.find_first_not_of("\r\n") != std::string_view::npos) return std::nullopt;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

int run(int argc, char** argv) {
  CLI::App app{"tcpmig-sim: run a transparent TCP migration scenario in the deterministic simulator"};
  std::string scenario_path;
  std::string seed_text;
  std::vector<std::string> sets;
  std::string out_dir;
  bool no_pcap = false;
  std::string trace_copy;
  std::string until_text;
  bool quiet = false;
  std::string expect_trace;
  std::string write_fingerprint;
  app.add_option("scenario", scenario_path, "Scenario file (XML)")->required();
  app.add_option("--seed", seed_text, "Seed of every random stream, 0 to 2^64-1 (default 1)");
  app.add_option("--set", sets, "Override a scenario parameter: NAME=VALUE (repeatable)");
  app.add_option("--out", out_dir, "Output directory (default out/<scenario name>)");
  app.add_flag("--no-pcap", no_pcap, "Do not write pcaps");
  app.add_option("--trace", trace_copy, "Also copy the text trace to FILE ('-' for stdout)");
  app.add_option("--until", until_text, "Stop at this simulated time (e.g. 5s)");
  app.add_flag("--quiet", quiet, "Print no application lines; only the migration summary and errors");
  app.add_option("--expect-trace", expect_trace,
                 "Compare the trace with FILE (a trace, or a fingerprint file); exit 1 if it differs");
  app.add_option("--write-fingerprint", write_fingerprint, "Write the trace fingerprint file to FILE ('-' for stdout)");
  app.set_version_flag("--version", std::string("tcpmig-sim ") + TCPMIG_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return bad_input(std::string(e.what()) + "; expected the usage tcpmig-sim --help prints");
  }

  // Every check before anything is created.
  if (scenario_path.empty()) return bad_input("an empty scenario path; expected a scenario file");
  for (const auto& [flag, value] : {std::pair{"--out", &out_dir}, std::pair{"--trace", &trace_copy},
                                    std::pair{"--expect-trace", &expect_trace},
                                    std::pair{"--write-fingerprint", &write_fingerprint}}) {
    if (app.count(flag) > 0 && value->empty()) return bad_input(std::string(flag) + " ''; expected a path");
  }
  scenario::RunOptions opts;
  if (app.count("--seed") > 0) {
    const auto seed = scenario::parse_uint(seed_text, std::numeric_limits<uint64_t>::max());
    if (!seed) {
      return bad_input("--seed '" + seed_text + "'; expected a decimal integer from 0 to 18446744073709551615");
    }
    opts.seed = *seed;
  }
  std::vector<scenario::Override> overrides;
  for (const std::string& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return bad_input("--set " + s + "; expected NAME=VALUE");
    overrides.push_back(scenario::Override{s.substr(0, eq), s.substr(eq + 1)});
  }
  opts.pcap = !no_pcap;
  opts.quiet = quiet;
  if (!until_text.empty()) {
    const auto d = scenario::parse_duration(until_text);
    if (!d) return bad_input("--until " + until_text + "; expected a duration such as 5s or 250ms");
    opts.until = sim::Time::zero() + *d;
  }
  std::string expected_trace;
  std::optional<uint64_t> expected_fingerprint;
  std::string error;
  if (!expect_trace.empty()) {
    const scenario::InputKind kind{"trace or fingerprint file", scenario::kMaxExpectedTraceBytes};
    if (!scenario::read_input(expect_trace, kind, expected_trace, error)) {
      return bad_input("--expect-trace " + expect_trace + ": " + error);
    }
    std::string_view rest = expected_trace;
    if (take_line(rest) == kFingerprintHeader) {
      expected_fingerprint = parse_fingerprint(rest);
      if (!expected_fingerprint) {
        return bad_input("--expect-trace " + expect_trace +
                         ": a fingerprint file without 16 hex digits on its second line; expected the file "
                         "--write-fingerprint writes");
      }
    }
  }
  const scenario::LoadResult loaded = scenario::load_scenario_file(scenario_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error->text().c_str());
    return 2;
  }
  const scenario::Scenario& s = *loaded.scenario;
  if (out_dir.empty()) out_dir = "out/" + s.name;
  opts.out_dir = out_dir;
  opts.force_trace = !trace_copy.empty() || !expect_trace.empty() || !write_fingerprint.empty();

  // Outputs, created or opened before the run; each removes what it created
  // when this function returns without keeping it.
  scenario::OutputDir out;
  if (!out.open(out_dir, error)) return bad_input("--out " + out_dir + ": " + error);
  scenario::OutputFile trace_file;
  scenario::OutputFile fingerprint_file;
  for (const auto& [flag, path, file] : {std::tuple{"--trace", &trace_copy, &trace_file},
                                         std::tuple{"--write-fingerprint", &write_fingerprint, &fingerprint_file}}) {
    if (!path->empty() && *path != "-" && !file->open(*path, error)) {
      return bad_input(std::string(flag) + " " + *path + ": " + error);
    }
  }

  // Run. A broken stdout pipe becomes a failed write (exit 2), not a signal
  // that would leave the outputs behind.
  std::signal(SIGPIPE, SIG_IGN);
  scenario::RunResults results;
  const bool ran = scenario::run_scenario(s, opts, results, error);
  out.add_files(results.files);
  if (!ran) {
    // A scenario error found while running is reported like one found while
    // loading (FILE:LINE:COLUMN: error: ...), other errors with the prefix.
    if (error.rfind(s.file + ":", 0) != 0) return bad_input(error);
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }

  // The files named on the command line, then stdout; the outputs are kept
  // only when all of them were written.
  std::string got;
  const bool compare_trace = !expect_trace.empty() && !expected_fingerprint;
  if (!trace_copy.empty() || compare_trace) {
    bool ok = false;
    got = read_file(results.trace_path, ok);
    if (!ok) return bad_input("cannot read back " + results.trace_path + "; expected a readable output directory");
  }
  const std::string fingerprint_text =
      std::string(kFingerprintHeader) + "\n" + scenario::hex16(results.trace_fingerprint.value_or(0)) + "\n";
  if (!trace_copy.empty() && trace_copy != "-" && !trace_file.write(got, error)) {
    return bad_input("--trace " + trace_copy + ": " + error);
  }
  if (!write_fingerprint.empty() && write_fingerprint != "-" && !fingerprint_file.write(fingerprint_text, error)) {
    return bad_input("--write-fingerprint " + write_fingerprint + ": " + error);
  }
  scenario::print_summary(stdout, s, results, quiet);
  if (!quiet) std::printf("outputs in %s/\n", out_dir.c_str());
  if (trace_copy == "-") std::fwrite(got.data(), 1, got.size(), stdout);
  if (write_fingerprint == "-") std::fwrite(fingerprint_text.data(), 1, fingerprint_text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    return bad_input("cannot write to stdout; expected a writable standard output");
  }
  out.keep();
  trace_file.keep();
  fingerprint_file.keep();

  // Expectations.
  int rc = results.failures.empty() ? 0 : 1;
  for (const std::string& f : results.failures) std::fprintf(stderr, "tcpmig-sim: expectation failed: %s\n", f.c_str());
  if (compare_trace) {
    if (got != expected_trace) {
      std::fprintf(stderr, "tcpmig-sim: trace differs from %s\n", expect_trace.c_str());
      print_first_difference(expected_trace, got);
      rc = 1;
    } else {
      std::fprintf(stderr, "tcpmig-sim: trace matches %s\n", expect_trace.c_str());
    }
  }
  if (expected_fingerprint) {
    if (results.trace_fingerprint != expected_fingerprint) {
      std::fprintf(stderr, "tcpmig-sim: trace fingerprint %s differs from %s in %s\n",
                   scenario::hex16(results.trace_fingerprint.value_or(0)).c_str(),
                   scenario::hex16(*expected_fingerprint).c_str(), expect_trace.c_str());
      rc = 1;
    } else {
      std::fprintf(stderr, "tcpmig-sim: trace fingerprint matches %s\n", expect_trace.c_str());
    }
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Outputs opened before the exception are removed as run() unwinds.
    return bad_input(std::string(e.what()) + "; expected a run without internal errors");
  }
}
