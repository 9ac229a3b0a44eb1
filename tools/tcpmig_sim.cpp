// tcpmig-sim: runs one XML scenario in the deterministic simulator. Prints the
// applications' console lines as they happen, then a migration summary, and
// writes one pcap per interface, the text trace and summary.json.
//
//   tcpmig-sim SCENARIO.xml [--seed N] [--set NAME=VALUE]... [--out DIR] [--no-pcap]
//              [--trace FILE|-] [--until TIME] [--quiet] [--expect-trace FILE]
//              [--write-fingerprint FILE] [--version] [--help]
//
// Everything is checked before anything is written: a bad flag, scenario or
// output path exits 2 and creates nothing. Exit codes: 0 success; 1 an
// expectation failed (--expect-trace differs, a migration did not end as its
// `expect` says, a client missed responses, a bulk sink got wrong or missing
// bytes); 2 bad input (flags, scenario, unwritable output).
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
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

/// True when the directory that would hold `path` exists.
bool parent_exists(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path parent = p.parent_path();
  std::error_code ec;
  return parent.empty() || std::filesystem::is_directory(parent, ec);
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
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
  app.add_option("--write-fingerprint", write_fingerprint, "Write the trace fingerprint file to FILE");
  app.set_version_flag("--version", std::string("tcpmig-sim ") + TCPMIG_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return bad_input(std::string(e.what()) + "; expected the usage tcpmig-sim --help prints");
  }

  // Every check before anything is written.
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
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "tcpmig-sim: error: --set %s; expected NAME=VALUE\n", s.c_str());
      return 2;
    }
    overrides.push_back(scenario::Override{s.substr(0, eq), s.substr(eq + 1)});
  }
  opts.pcap = !no_pcap;
  opts.quiet = quiet;
  if (!until_text.empty()) {
    const auto d = scenario::parse_duration(until_text);
    if (!d) {
      std::fprintf(stderr, "tcpmig-sim: error: --until %s; expected a duration such as 5s or 250ms\n",
                   until_text.c_str());
      return 2;
    }
    opts.until = sim::Time::zero() + *d;
  }
  std::string expected_trace;
  std::optional<uint64_t> expected_fingerprint;
  if (!expect_trace.empty()) {
    std::string error;
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
  for (const std::string* path : {&trace_copy, &write_fingerprint}) {
    if (!path->empty() && *path != "-" && !parent_exists(*path)) {
      std::fprintf(stderr, "tcpmig-sim: error: %s: no such directory; expected a file in an existing directory\n",
                   path->c_str());
      return 2;
    }
  }
  const scenario::LoadResult loaded = scenario::load_scenario_file(scenario_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error->text().c_str());
    return 2;
  }
  const scenario::Scenario& s = *loaded.scenario;
  opts.out_dir = out_dir.empty() ? "out/" + s.name : out_dir;
  opts.force_trace = !trace_copy.empty() || !expect_trace.empty() || !write_fingerprint.empty();
  {
    std::error_code ec;
    const auto st = std::filesystem::status(opts.out_dir, ec);
    if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
      std::fprintf(stderr, "tcpmig-sim: error: --out %s is not a directory; expected a directory path\n",
                   opts.out_dir.c_str());
      return 2;
    }
  }

  // Run (creates the output directory).
  scenario::RunResults results;
  std::string error;
  if (!scenario::run_scenario(s, opts, results, error)) {
    std::fflush(stdout);
    std::fprintf(stderr, "tcpmig-sim: error: %s\n", error.c_str());
    return 2;
  }
  scenario::print_summary(stdout, s, results, quiet);
  if (!quiet) std::printf("outputs in %s/\n", opts.out_dir.c_str());
  std::fflush(stdout);

  int rc = results.failures.empty() ? 0 : 1;
  for (const std::string& f : results.failures) std::fprintf(stderr, "tcpmig-sim: expectation failed: %s\n", f.c_str());

  if (!trace_copy.empty() || (!expect_trace.empty() && !expected_fingerprint)) {
    bool ok = false;
    const std::string got = read_file(results.trace_path, ok);
    if (!ok) {
      std::fprintf(stderr, "tcpmig-sim: error: cannot read back %s\n", results.trace_path.c_str());
      return 2;
    }
    if (trace_copy == "-") {
      std::fwrite(got.data(), 1, got.size(), stdout);
      std::fflush(stdout);
    } else if (!trace_copy.empty() && !write_text(trace_copy, got)) {
      std::fprintf(stderr, "tcpmig-sim: error: cannot write %s\n", trace_copy.c_str());
      return 2;
    }
    if (!expect_trace.empty() && !expected_fingerprint) {
      if (got != expected_trace) {
        std::fprintf(stderr, "tcpmig-sim: trace differs from %s\n", expect_trace.c_str());
        print_first_difference(expected_trace, got);
        rc = 1;
      } else {
        std::fprintf(stderr, "tcpmig-sim: trace matches %s\n", expect_trace.c_str());
      }
    }
  }
  if (!write_fingerprint.empty()) {
    const std::string text =
        std::string(kFingerprintHeader) + "\n" + scenario::hex16(results.trace_fingerprint.value_or(0)) + "\n";
    if (write_fingerprint == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (!write_text(write_fingerprint, text)) {
      std::fprintf(stderr, "tcpmig-sim: error: cannot write %s\n", write_fingerprint.c_str());
      return 2;
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
