// The run report: the text summary tcpmig-sim prints and summary.json
// (see include/tcpmig/scenario/runner.hpp).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tcpmig/records/json.hpp"
#include "tcpmig/records/migration.hpp"
#include "tcpmig/scenario/runner.hpp"
#include "tcpmig/scenario/units.hpp"

namespace tcpmig::scenario {

namespace {

/// Records shown one by one before the aggregate, when there are many.
constexpr std::size_t kFirstShown = 3;
/// More records than this are summarised.
constexpr std::size_t kAllShownUpTo = 10;

std::string at_text(core::Nanos ns) {
  if (ns == core::kNever) return "-";
  std::string s;
  sim::append_time(s, sim::Time::from_ns(ns));
  return s;
}

/// b - a in ms, or "-" when either is never.
std::string span_ms(core::Nanos a, core::Nanos b) {
  if (a == core::kNever || b == core::kNever) return "-";
  return format_ms(b - a);
}


void print_record(std::FILE* out, const MigrationRow& row) {
  const core::MigrationRecord& r = row.record;
  const std::string refusal =
      r.outcome == core::Outcome::Refused ? std::string(" (") + core::refusal_name(r.refusal) + ")" : std::string();
  std::fprintf(out, "%s #%" PRIu64 "%s%s: client %s -> %s, moved %s -> %s: %s%s\n", row.gateway.c_str(), r.id,
               row.migration.empty() ? "" : " ", row.migration.c_str(), core::endpoint_text(r.flow.client).c_str(),
               core::endpoint_text(r.flow.service).c_str(), core::endpoint_text(r.from).c_str(),
               core::endpoint_text(r.to).c_str(), core::outcome_name(r.outcome), refusal.c_str());
  std::fprintf(out, "  trigger %s; triggered at %s, safe point after %s ms, replay RTT %s ms, finished at %s\n",
               core::trigger_text(r.trigger).c_str(), at_text(r.triggered_at).c_str(),
               span_ms(r.triggered_at, r.safe_point_at).c_str(), format_ms(r.replay_rtt()).c_str(),
               at_text(r.finished_at).c_str());
  const std::string resets =
      r.target_resets == 0 ? std::string() : ", stale target connection reset " + std::to_string(r.target_resets) + "x";
  std::fprintf(out, "  SYNs sent %u, packets held %u (%u dropped), client-visible stall %s ms, seq delta %u, ts delta %u%s\n",
               r.syn_sent, r.held, r.hold_dropped,
               r.finished_at == core::kNever && r.first_hold_at != core::kNever ? "-" : format_ms(r.client_stall()).c_str(),
               r.seq_delta, r.ts_delta, resets.c_str());
  std::fprintf(out, "  options: client [%s], old [%s], new [%s]\n", core::options_text(r.client_options).c_str(),
               core::options_text(r.old_options).c_str(), core::options_text(r.new_options).c_str());
}

/// "min / median / max ms (n)" of the values (lower median), or "-".
std::string min_median_max(std::vector<int64_t> v) {
  if (v.empty()) return "- (none)";
  std::sort(v.begin(), v.end());
  return format_ms(v.front()) + " / " + format_ms(v[(v.size() - 1) / 2]) + " / " + format_ms(v.back()) + " ms (" +
         std::to_string(v.size()) + ")";
}

void print_aggregate(std::FILE* out, const std::vector<MigrationRow>& rows) {
  std::fprintf(out, "... %zu more; all %zu migrations:\n", rows.size() - kFirstShown, rows.size());
  std::string outcomes;
  for (int o = 0; o < static_cast<int>(core::Outcome::Count); ++o) {
    const auto oc = static_cast<core::Outcome>(o);
    const auto n = std::count_if(rows.begin(), rows.end(), [&](const MigrationRow& r) { return r.record.outcome == oc; });
    if (n == 0) continue;
    if (!outcomes.empty()) outcomes += ", ";
    outcomes += std::string(core::outcome_name(oc)) + " " + std::to_string(n);
  }
  std::fprintf(out, "  outcomes: %s\n", outcomes.c_str());
  std::vector<int64_t> rtt, stall;
  for (const MigrationRow& r : rows) {
    if (r.record.replay_rtt() != core::kNever) rtt.push_back(r.record.replay_rtt());
    if (r.record.finished_at != core::kNever) stall.push_back(r.record.client_stall());
  }
  std::fprintf(out, "  replay RTT min / median / max: %s\n", min_median_max(rtt).c_str());
  std::fprintf(out, "  client-visible stall min / median / max: %s\n", min_median_max(stall).c_str());
}

void print_counters(std::FILE* out, const GatewayResult& g) {
  const core::Counters& c = g.counters;
  std::fprintf(out,
               "gateway %s: %" PRIu64 " packets, %" PRIu64 " flows created, %" PRIu64 " expired, %zu in the table; "
               "migrations %" PRIu64 " requested, %" PRIu64 " completed, %" PRIu64 " aborted; %" PRIu64
               " replayed SYNs, %" PRIu64 " resets sent\n",
               g.name.c_str(), c.packets, c.flows_created, c.flows_expired, g.flows, c.migrations_requested,
               c.migrations_completed, c.migrations_aborted, c.syn_sent, c.resets_sent);
  std::string reasons;
  for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
    if (c.by_reason[i] == 0) continue;
    if (!reasons.empty()) reasons += ", ";
    reasons += std::string(core::reason_name(static_cast<core::Reason>(i))) + " " + std::to_string(c.by_reason[i]);
  }
  std::fprintf(out, "  packets by verdict: %s\n", reasons.empty() ? "none" : reasons.c_str());
}

void print_app(std::FILE* out, const AppResult& a) {
  const std::string kind(a.kind->element());
  const std::string what = a.started ? a.kind->summary(a) : "never started (its host never booted)";
  std::fprintf(out, "%s %s: %s\n", kind.c_str(), a.name.c_str(), what.c_str());
}

}  // namespace

std::string format_ms(int64_t ns) {
  if (ns == core::kNever) return "-";
  const bool negative = ns < 0;
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const uint64_t us = mag / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%03" PRIu64, negative ? "-" : "", us / 1000, us % 1000);
  return buf;
}

void print_summary(std::FILE* out, const Scenario& s, const RunResults& r, bool quiet) {
  std::fprintf(out, "--- migrations\n");
  if (r.migrations.empty()) std::fprintf(out, "none\n");
  const bool many = r.migrations.size() > kAllShownUpTo;
  for (std::size_t i = 0; i < r.migrations.size() && (!many || i < kFirstShown); ++i) print_record(out, r.migrations[i]);
  if (many) print_aggregate(out, r.migrations);
  for (const RefusedRequest& q : r.refused) {
    std::fprintf(out, "migration %s: refused at %s (%s)\n", q.migration.c_str(), at_text(q.at.ns()).c_str(),
                 core::refusal_name(q.reason));
  }
  for (const GatewayResult& g : r.gateways) print_counters(out, g);
  if (!quiet && !r.apps.empty()) {
    std::fprintf(out, "--- apps\n");
    for (const AppResult& a : r.apps) print_app(out, a);
  }
  std::fprintf(out, "--- run\n");
  std::fprintf(out, "scenario %s, seed %" PRIu64 ", %" PRIu64 " events, ended at %s\n", s.name.c_str(), r.seed,
               r.events, at_text(r.end_time.ns()).c_str());
  if (r.trace_fingerprint) {
    std::fprintf(out, "trace fingerprint %s (%" PRIu64 " lines)\n", hex16(*r.trace_fingerprint).c_str(),
                 r.trace_lines);
  } else {
    std::fprintf(out, "trace fingerprint - (no trace)\n");
  }
  for (const std::string& f : r.failures) std::fprintf(out, "expectation failed: %s\n", f.c_str());
}

std::string summary_json(const Scenario& s, const RunResults& r) {
  JsonWriter w;
  w.begin_object();
  w.key("scenario");
  w.value(s.name);
  w.key("file");
  w.value(std::filesystem::path(s.file).filename().string());
  w.key("seed");
  w.value(r.seed);
  w.key("params");
  w.begin_object();
  for (const Param& p : s.params) {
    w.key(p.name);
    w.value(p.value);
  }
  w.end_object();
  w.key("events");
  w.value(r.events);
  records::write_time(w, "end_time_ns", r.end_time.ns());
  w.key("trace_lines");
  w.value(r.trace_lines);
  w.key("trace_fingerprint");
  if (r.trace_fingerprint) {
    w.value(hex16(*r.trace_fingerprint));
  } else {
    w.null();
  }

  w.key("migrations");
  w.begin_array();
  for (const MigrationRow& row : r.migrations) {
    const core::MigrationRecord& m = row.record;
    w.begin_object();
    w.key("gateway");
    w.value(row.gateway);
    w.key("migration");
    if (row.migration.empty()) {
      w.null();
    } else {
      w.value(row.migration);
    }
    records::write_migration_fields(w, m);
    w.end_object();
  }
  w.end_array();

  w.key("refused");
  w.begin_array();
  for (const RefusedRequest& q : r.refused) {
    w.begin_object();
    w.key("migration");
    w.value(q.migration);
    records::write_time(w, "at_ns", q.at.ns());
    w.key("reason");
    w.value(std::string_view(core::refusal_name(q.reason)));
    w.end_object();
  }
  w.end_array();

  w.key("gateways");
  w.begin_array();
  for (const GatewayResult& g : r.gateways) {
    const core::Counters& c = g.counters;
    w.begin_object();
    w.key("name");
    w.value(g.name);
    w.key("packets");
    w.value(c.packets);
    w.key("flows_created");
    w.value(c.flows_created);
    w.key("flows_expired");
    w.value(c.flows_expired);
    w.key("flows_in_table");
    w.value(uint64_t{g.flows});
    w.key("syn_sent");
    w.value(c.syn_sent);
    w.key("resets_sent");
    w.value(c.resets_sent);
    w.key("stale_resets");
    w.value(c.stale_resets);
    w.key("target_resets");
    w.value(c.target_resets);
    w.key("migrations_requested");
    w.value(c.migrations_requested);
    w.key("migrations_completed");
    w.value(c.migrations_completed);
    w.key("migrations_aborted");
    w.value(c.migrations_aborted);
    w.key("by_reason");
    w.begin_object();
    for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
      w.key(core::reason_name(static_cast<core::Reason>(i)));
      w.value(c.by_reason[i]);
    }
    w.end_object();
    w.end_object();
  }
  w.end_array();

  w.key("apps");
  w.begin_array();
  for (const AppResult& a : r.apps) {
    w.begin_object();
    w.key("type");
    w.value(a.kind->element());
    w.key("node");
    w.value(a.node);
    w.key("name");
    w.value(a.name);
    w.key("started");
    w.value(a.started);
    a.kind->json(w, a);
    w.end_object();
  }
  w.end_array();

  w.key("tcp");
  w.begin_object();
  w.key("client_retransmits");
  w.value(r.client_retransmits);
  w.key("server_retransmits");
  w.value(r.server_retransmits);
  w.key("client_timeouts");
  w.value(r.client_timeouts);
  w.key("server_timeouts");
  w.value(r.server_timeouts);
  w.end_object();

  w.key("failures");
  w.begin_array();
  for (const std::string& f : r.failures) w.value(f);
  w.end_array();
  w.end_object();
  return w.text();
}

}  // namespace tcpmig::scenario
