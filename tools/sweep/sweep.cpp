// tcpmig-sweep's work (see sweep.hpp).
#include "sweep.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "stats.hpp"
#include "tcpmig/records/json.hpp"
#include "tcpmig/scenario/files.hpp"
#include "tcpmig/scenario/units.hpp"

namespace tcpmig::sweep {

namespace {

constexpr std::array<Metric, 15> kMetrics{{
    {"outcome", false,
     "completed when every migration completed; else the outcome of the first that did not; none without any"},
    {"migrations", true, "migration records (one per flow a migration reached)"},
    {"completed", true, "migrations that completed"},
    {"switch_latency_ms", true, "trigger to switch (finished_at - triggered_at), the longest over completed migrations"},
    {"stall_ms", true, "the longest gap between two deliveries of bytes to a client application (request client)"},
    {"sink_gap_ms", true,
     "the longest gap between two deliveries to a bulk sink (an upload; a sink that continues a migrated stream "
     "counts from the earlier sink's last delivery)"},
    {"packets_held", true, "client packets the gateways held during replays, all migrations"},
    {"syns_sent", true, "replayed SYNs, retransmissions included, all migrations"},
    {"client_retransmits", true, "TCP segments retransmitted by connecting (client) sockets"},
    {"server_retransmits", true, "TCP segments retransmitted by accepted (server) sockets"},
    {"client_timeouts", true, "retransmission timeouts (RTO stalls) of connecting sockets"},
    {"server_timeouts", true, "retransmission timeouts (RTO stalls) of accepted sockets"},
    {"goodput_bps", true, "bytes the receiving applications got x 8 / (last delivery - first delivery)"},
    {"completion_ms", true, "when the last application finished; empty if a client or sender did not"},
    {"events", true, "simulator events executed"},
}};

bool receiver(const scenario::AppResult& a) {
  const std::string_view e = a.kind->element();
  return e == "request-client" || e == "bulk-sink";
}

std::string metric_value(const scenario::RunResults& r, std::string_view name) {
  using core::Outcome;
  if (name == "outcome") {
    if (r.migrations.empty()) return r.refused.empty() ? "none" : "refused";
    for (const scenario::MigrationRow& m : r.migrations) {
      if (m.record.outcome != Outcome::Completed) return core::outcome_name(m.record.outcome);
    }
    return "completed";
  }
  if (name == "migrations") return std::to_string(r.migrations.size());
  if (name == "completed" || name == "switch_latency_ms" || name == "packets_held" || name == "syns_sent") {
    uint64_t completed = 0, held = 0, syns = 0;
    std::optional<int64_t> latency;
    for (const scenario::MigrationRow& m : r.migrations) {
      held += m.record.held;
      syns += m.record.syn_sent;
      if (m.record.outcome != Outcome::Completed) continue;
      ++completed;
      if (m.record.triggered_at != core::kNever && m.record.finished_at != core::kNever) {
        latency = std::max(latency.value_or(0), m.record.finished_at - m.record.triggered_at);
      }
    }
    if (name == "completed") return std::to_string(completed);
    if (name == "packets_held") return std::to_string(held);
    if (name == "syns_sent") return std::to_string(syns);
    return latency ? scenario::format_ms(*latency) : std::string();
  }
  if (name == "stall_ms" || name == "sink_gap_ms" || name == "goodput_bps") {
    std::optional<sim::Duration> gap;
    std::optional<sim::Time> first, last;
    uint64_t bytes = 0;
    const std::string_view gap_kind = name == "stall_ms" ? "request-client" : "bulk-sink";
    for (const scenario::AppResult& a : r.apps) {
      if (!a.started || !receiver(a) || !a.first_rx) continue;
      if (a.kind->element() == gap_kind) gap = std::max(gap.value_or(sim::Duration::zero()), a.max_gap);
      first = first ? std::min(*first, *a.first_rx) : *a.first_rx;
      last = last ? std::max(*last, *a.last_rx) : *a.last_rx;
      bytes += a.bytes;
    }
    if (name != "goodput_bps") return gap ? scenario::format_ms(gap->ns()) : std::string();
    if (!first || *last <= *first) return {};
    const double bps = static_cast<double>(bytes) * 8.0 * 1e9 / static_cast<double>((*last - *first).ns());
    return std::to_string(static_cast<uint64_t>(bps));
  }
  if (name == "client_retransmits") return std::to_string(r.client_retransmits);
  if (name == "server_retransmits") return std::to_string(r.server_retransmits);
  if (name == "client_timeouts") return std::to_string(r.client_timeouts);
  if (name == "server_timeouts") return std::to_string(r.server_timeouts);
  if (name == "completion_ms") {
    std::optional<sim::Time> end;
    for (const scenario::AppResult& a : r.apps) {
      const std::string_view e = a.kind->element();
      const bool must_finish = e == "request-client" || e == "bulk-sender";
      const std::optional<sim::Time> at = a.completed;
      if (must_finish && a.started && !at) return {};
      if (at) end = end ? std::max(*end, *at) : *at;
    }
    return end ? scenario::format_ms((*end - sim::Time::zero()).ns()) : std::string();
  }
  if (name == "events") return std::to_string(r.events);
  return {};
}

/// RFC 4180: quoted when it holds a comma, quote, CR or LF.
void append_field(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += f;
    return;
  }
  out += '"';
  for (const char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_row(std::string& out, std::span<const std::string> fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) out += ',';
    append_field(out, fields[i]);
  }
  out += '\n';
}

std::optional<double> parse_double(std::string_view t) {
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_u64(std::string_view t) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

/// A CSV text's records; nullopt with `error` ("LINE: ...") on bad quoting.
std::optional<std::vector<std::pair<std::size_t, std::vector<std::string>>>> parse_csv(std::string_view text,
                                                                                       std::string& error) {
  std::vector<std::pair<std::size_t, std::vector<std::string>>> records;
  std::size_t i = 0, line = 1;
  while (i < text.size()) {
    std::vector<std::string> fields;
    const std::size_t first_line = line;
    std::string field;
    bool done = false;
    while (!done) {
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (true) {
          if (i >= text.size()) {
            error = std::to_string(first_line) + ": a quoted field never ends; expected a closing quote";
            return std::nullopt;
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n') {
          error = std::to_string(line) + ": text after a closing quote; expected ',' or the end of the line";
          return std::nullopt;
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '"') {
            error = std::to_string(line) + ": a quote inside an unquoted field; expected RFC 4180 quoting";
            return std::nullopt;
          }
          field += text[i++];
        }
      }
      fields.push_back(std::move(field));
      field.clear();
      if (i >= text.size() || text[i] == '\n') {
        done = true;
        if (i < text.size()) {
          ++i;
          ++line;
        } else {
          error = std::to_string(line) + ": the last line has no newline; expected a whole file";
          return std::nullopt;
        }
      } else {
        ++i;  // ','
      }
    }
    records.emplace_back(first_line, std::move(fields));
  }
  return records;
}

const Metric* find_metric(std::string_view name) {
  for (const Metric& m : kMetrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string values_text(const Plan& plan, uint64_t point) {
  const std::vector<std::string> v = plan.grid.values(point);
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    out += plan.grid.varies()[i].name + "=" + v[i];
  }
  return out;
}

std::optional<uint64_t> json_number(std::string_view text, std::string_view key) {
  const std::string needle = "\n  \"" + std::string(key) + "\": ";
  const std::size_t at = text.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t begin = at + needle.size();
  const std::size_t end = text.find_first_of(",\n", begin);
  return parse_u64(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
}

/// The --vary names and values of a sweep.json sweep_json wrote (one
/// `    {"name": ..., "spec": ..., "values": [...]}` line each); nullopt if malformed.
std::optional<std::vector<Vary>> json_varies(std::string_view text) {
  using records::JsonWriter;
  std::vector<Vary> out;
  std::size_t pos = 0;
  const std::string_view head = "\n    {\"name\": ";
  while ((pos = text.find(head, pos)) != std::string_view::npos) {
    pos += head.size();
    Vary v;
    auto name = JsonWriter::read_string(text, pos);
    if (!name || text.substr(pos, 10) != ", \"spec\": ") return std::nullopt;
    pos += 10;
    auto spec = JsonWriter::read_string(text, pos);
    if (!spec || text.substr(pos, 13) != ", \"values\": [") return std::nullopt;
    pos += 13;
    v.name = std::move(*name);
    v.spec = std::move(*spec);
    while (pos < text.size() && text[pos] != ']') {
      auto value = JsonWriter::read_string(text, pos);
      if (!value) return std::nullopt;
      v.values.push_back(std::move(*value));
      if (text.substr(pos, 2) == ", ") pos += 2;
    }
    if (v.values.empty()) return std::nullopt;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::span<const Metric> metrics() { return kMetrics; }

std::optional<std::vector<std::string>> parse_metrics(std::string_view list, std::string& error) {
  std::string why;
  const auto names = split_list(list, why);
  if (!names) {
    error = "--metrics '" + std::string(list) + "': " + why;
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const std::string& n : *names) {
    if (find_metric(n) == nullptr) {
      std::string known;
      for (const Metric& m : kMetrics) known += (known.empty() ? "" : ", ") + std::string(m.name);
      error = "--metrics: unknown metric '" + n + "'; expected some of " + known;
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      error = "--metrics: '" + n + "' twice; expected each metric once";
      return std::nullopt;
    }
    out.push_back(n);
  }
  return out;
}

std::vector<std::string> metric_values(const scenario::RunResults& r, std::span<const std::string> names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const std::string& n : names) out.push_back(metric_value(r, n));
  return out;
}

namespace {

std::vector<scenario::Override> overrides_at(const Plan& plan, uint64_t point) {
  std::vector<scenario::Override> ov = plan.fixed;
  const std::vector<std::string> values = plan.grid.values(point);
  for (std::size_t i = 0; i < values.size(); ++i) ov.push_back({plan.grid.varies()[i].name, values[i], "--vary"});
  return ov;
}

scenario::LoadResult load_at(const Plan& plan, uint64_t point) {
  return scenario::load_scenario(plan.scenario_text, plan.scenario_path, overrides_at(plan, point));
}

}  // namespace

std::optional<Points> load_points(const Plan& plan, unsigned jobs, std::string& error) {
  const uint64_t n = plan.grid.points();
  const bool keep = n <= kKeepPoints;
  Points points;
  if (keep) points.kept.resize(n);
  std::vector<std::pair<uint64_t, std::string>> errors;  // (point, message), any order
  std::mutex m;
  std::atomic<uint64_t> next{0};
  const auto work = [&] {
    for (uint64_t p = next++; p < n; p = next++) {
      scenario::LoadResult lr = load_at(plan, p);
      if (!lr.ok()) {
        const std::lock_guard lock(m);
        errors.emplace_back(p, lr.error->text());
        continue;
      }
      if (p == 0) points.name = lr.scenario->name;  // only one thread loads point 0
      if (keep) points.kept[p] = std::move(*lr.scenario);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::max(1u, jobs) && j < n; ++j) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (!errors.empty()) {
    const auto first = std::min_element(errors.begin(), errors.end());
    error = first->second +
            (plan.grid.varies().empty() ? "" : " (at " + values_text(plan, first->first) + ")");
    return std::nullopt;
  }
  return points;
}

std::vector<Row> run_all(const Plan& plan, const Points& points, std::span<const uint64_t> indices, unsigned jobs,
                         std::atomic<uint64_t>& done) {
  std::vector<Row> rows(indices.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    // Large grids: the point this thread loaded last (its seeds come in a row).
    std::optional<scenario::Scenario> loaded;
    uint64_t loaded_point = 0;
    for (std::size_t i = next++; i < indices.size(); i = next++) {
      Row& row = rows[i];
      row.point = indices[i] / plan.grid.seeds();
      row.seed = indices[i] % plan.grid.seeds() + 1;
      row.params = plan.grid.values(row.point);
      row.metrics.assign(plan.metric_names.size(), std::string());
      scenario::RunOptions opts;
      opts.seed = row.seed;
      opts.write_files = false;
      opts.pcap = false;
      opts.quiet = true;
      opts.console = nullptr;
      try {
        const scenario::Scenario* s = nullptr;
        if (!points.kept.empty()) {
          s = &*points.kept[row.point];
        } else {
          if (!loaded || loaded_point != row.point) {
            scenario::LoadResult lr = load_at(plan, row.point);
            if (!lr.ok()) throw std::runtime_error(lr.error->text());  // loaded before; cannot happen
            loaded = std::move(lr.scenario);
            loaded_point = row.point;
          }
          s = &*loaded;
        }
        scenario::RunResults results;
        std::string error;
        if (!scenario::run_scenario(*s, opts, results, error)) {
          row.error = error;
        } else {
          row.metrics = metric_values(results, plan.metric_names);
          for (const std::string& f : results.failures) row.error += (row.error.empty() ? "" : "; ") + f;
        }
      } catch (const std::exception& e) {
        row.error = std::string("the run stopped: ") + e.what();
      }
      ++done;
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::max(1u, jobs) && j < indices.size(); ++j) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  return rows;
}

std::string runs_csv_header(const Plan& plan) {
  std::vector<std::string> h{"point", "seed"};
  for (const Vary& v : plan.grid.varies()) h.push_back(v.name);
  for (const std::string& m : plan.metric_names) h.push_back(m);
  h.emplace_back("error");
  std::string out;
  append_row(out, h);
  return out;
}

std::string runs_csv(const std::string& header, std::span<const Row> rows) {
  std::string out = header;
  std::vector<std::string> fields;
  for (const Row& r : rows) {
    fields.clear();
    fields.push_back(std::to_string(r.point));
    fields.push_back(std::to_string(r.seed));
    fields.insert(fields.end(), r.params.begin(), r.params.end());
    fields.insert(fields.end(), r.metrics.begin(), r.metrics.end());
    fields.push_back(r.error);
    append_row(out, fields);
  }
  return out;
}

std::string summary_csv(const std::string& runs_header, std::size_t param_count, std::span<const std::string> metric_names,
                        std::span<const Row> rows) {
  std::string err;
  const auto header = parse_csv(runs_header, err);
  std::vector<std::string> h{"point"};
  for (std::size_t i = 0; i < param_count; ++i) h.push_back((*header)[0].second[2 + i]);
  for (const char* c : {"metric", "runs", "count", "mean", "stddev", "min", "median", "p95", "max", "ci95_low",
                        "ci95_high"}) {
    h.emplace_back(c);
  }
  std::string out;
  append_row(out, h);
  std::vector<double> values;
  std::vector<std::string> fields;
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin;
    while (end < rows.size() && rows[end].point == rows[begin].point) ++end;
    for (std::size_t m = 0; m < metric_names.size(); ++m) {
      const Metric* metric = find_metric(metric_names[m]);
      if (metric == nullptr || !metric->numeric) continue;
      values.clear();
      for (std::size_t r = begin; r < end; ++r) {
        if (const auto v = parse_double(rows[r].metrics[m]); v && !rows[r].metrics[m].empty()) values.push_back(*v);
      }
      const Stats s = summarize(values);
      fields.clear();
      fields.push_back(std::to_string(rows[begin].point));
      fields.insert(fields.end(), rows[begin].params.begin(), rows[begin].params.end());
      fields.push_back(metric_names[m]);
      fields.push_back(std::to_string(end - begin));
      fields.push_back(std::to_string(s.count));
      const auto num = [&](bool have, double v) { fields.push_back(have ? format_number(v) : std::string()); };
      const bool any = s.count > 0;
      num(any, s.mean);
      num(s.stddev.has_value(), s.stddev.value_or(0));
      num(any, s.min);
      num(any, s.median);
      num(any, s.p95);
      num(any, s.max);
      num(s.ci95_low.has_value(), s.ci95_low.value_or(0));
      num(s.ci95_high.has_value(), s.ci95_high.value_or(0));
      append_row(out, fields);
    }
    begin = end;
  }
  return out;
}

std::string sweep_json(const Plan& plan, const std::optional<Shard>& shard) {
  using records::JsonWriter;
  std::string o = "{\n";
  if (shard) o += "  \"shard\": \"" + std::to_string(shard->k) + "/" + std::to_string(shard->n) + "\",\n";
  const auto str = [&o](std::string_view key, std::string_view v) {
    o += "  \"" + std::string(key) + "\": ";
    JsonWriter::append_string(o, v);
    o += ",\n";
  };
  const auto num = [&o](std::string_view key, uint64_t v) {
    o += "  \"" + std::string(key) + "\": " + std::to_string(v) + ",\n";
  };
  str("tool", plan.tool);
  str("scenario", plan.scenario_name);
  str("file", std::filesystem::path(plan.scenario_path).filename().string());
  scenario::Fnv1a h;
  h.update(plan.scenario_text);
  str("scenario_fnv1a", scenario::hex16(h.value()));
  num("seeds", plan.grid.seeds());
  num("points", plan.grid.points());
  num("runs", plan.grid.runs());
  num("params", plan.grid.varies().size());
  o += "  \"set\": {";
  for (std::size_t i = 0; i < plan.fixed.size(); ++i) {
    o += i == 0 ? "" : ", ";
    JsonWriter::append_string(o, plan.fixed[i].name);
    o += ": ";
    JsonWriter::append_string(o, plan.fixed[i].value);
  }
  o += "},\n";
  o += "  \"vary\": [";
  for (std::size_t i = 0; i < plan.grid.varies().size(); ++i) {
    const Vary& v = plan.grid.varies()[i];
    o += i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ";
    JsonWriter::append_string(o, v.name);
    o += ", \"spec\": ";
    JsonWriter::append_string(o, v.spec);
    o += ", \"values\": [";
    for (std::size_t j = 0; j < v.values.size(); ++j) {
      if (j != 0) o += ", ";
      JsonWriter::append_string(o, v.values[j]);
    }
    o += "]}";
  }
  o += plan.grid.varies().empty() ? "],\n" : "\n  ],\n";
  o += "  \"metrics\": [";
  for (std::size_t i = 0; i < plan.metric_names.size(); ++i) {
    if (i != 0) o += ", ";
    JsonWriter::append_string(o, plan.metric_names[i]);
  }
  o += "]\n}\n";
  return o;
}

bool write_files(const std::string& dir, const Files& f, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create the output directory " + dir + ": " + ec.message();
    return false;
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"runs.csv", &f.runs}, {"summary.csv", &f.summary}, {"sweep.json", &f.sweep}};
  std::vector<std::string> temps;
  const auto cleanup = [&temps] {
    for (const std::string& t : temps) std::remove(t.c_str());
  };
  for (const auto& [name, text] : files) {
    const std::string tmp = dir + "/." + name + ".tmp" + std::to_string(::getpid());
    temps.push_back(tmp);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << *text;
    out.close();
    if (!out) {
      error = "cannot write " + tmp + ": " + std::strerror(errno);
      cleanup();
      return false;
    }
  }
  for (std::size_t i = 0; i < temps.size(); ++i) {
    const std::string final_path = dir + "/" + files[i].first;
    if (std::rename(temps[i].c_str(), final_path.c_str()) != 0) {
      error = "cannot create " + final_path + ": " + std::strerror(errno);
      cleanup();
      return false;
    }
  }
  return true;
}

std::optional<Files> merge(std::span<const std::string> dirs, std::string& error) {
  struct Part {
    std::string dir;
    Shard shard;
    std::string identity;
  };
  std::vector<Part> parts;
  std::string header;
  std::vector<Row> rows;
  std::size_t param_count = 0;
  std::vector<std::string> metric_names;
  uint64_t seeds = 1, runs = 0;
  Grid grid({}, 1);
  for (const std::string& dir : dirs) {
    std::string json, csv, why;
    const std::string json_path = dir + "/sweep.json", csv_path = dir + "/runs.csv";
    for (const auto& [path, text, cap] : {std::tuple{&json_path, &json, std::size_t{64} << 20},
                                          std::tuple{&csv_path, &csv, std::size_t{16} << 30}}) {
      if (!scenario::read_input(*path, {"shard file", cap}, *text, why)) {
        error = *path + ": " + why + " (is " + dir + " the --out folder of a tcpmig-sweep --shard run?)";
        return std::nullopt;
      }
    }
    // Line 2 is the shard line; the rest says which sweep it is.
    const std::size_t l1 = json.find('\n');
    const std::size_t l2 = l1 == std::string::npos ? l1 : json.find('\n', l1 + 1);
    const std::string prefix = "  \"shard\": \"";
    if (l2 == std::string::npos || json.compare(l1 + 1, prefix.size(), prefix) != 0) {
      error = json_path + ":2: no \"shard\" line; expected the sweep.json of a tcpmig-sweep --shard K/N run";
      return std::nullopt;
    }
    const std::string shard_text = json.substr(l1 + 1 + prefix.size(), l2 - l1 - 1 - prefix.size());
    std::string shard_error;
    const auto shard = parse_shard(shard_text.substr(0, shard_text.rfind('"')), shard_error);
    if (!shard || shard_text.size() < 2 || shard_text.substr(shard_text.size() - 2) != "\",") {
      error = json_path + ":2: a malformed shard line; expected   \"shard\": \"K/N\",";
      return std::nullopt;
    }
    Part part{dir, *shard, json.substr(0, l1 + 1) + json.substr(l2 + 1)};
    if (!parts.empty()) {
      if (part.identity != parts.front().identity) {
        error = json_path + ": a different sweep from " + parts.front().dir +
                "/sweep.json; expected shards of one sweep (same scenario, specs, seeds, metrics and tool)";
        return std::nullopt;
      }
      if (part.shard.n != parts.front().shard.n) {
        error = json_path + ": shard " + shard_text.substr(0, shard_text.size() - 2) + " of a sweep cut into " +
                std::to_string(part.shard.n) + " but " + parts.front().dir + " has " +
                std::to_string(parts.front().shard.n) + "; expected one cut";
        return std::nullopt;
      }
      for (const Part& p : parts) {
        if (p.shard.k == part.shard.k) {
          error = dir + ": shard " + std::to_string(part.shard.k) + " again (also " + p.dir +
                  "); expected each shard once";
          return std::nullopt;
        }
      }
    } else {
      const auto r = json_number(part.identity, "runs");
      const auto s = json_number(part.identity, "seeds");
      const auto pc = json_number(part.identity, "params");
      if (!r || !s || !pc || *s == 0) {
        error = json_path + ": no runs, seeds or params count; expected a tcpmig-sweep sweep.json";
        return std::nullopt;
      }
      runs = *r;
      seeds = *s;
      param_count = *pc;
      auto varies = json_varies(part.identity);
      if (!varies || varies->size() != param_count) {
        error = json_path + ": its \"vary\" list cannot be read; expected the sweep.json tcpmig-sweep wrote";
        return std::nullopt;
      }
      grid = Grid(std::move(*varies), seeds);
      if (grid.runs() != runs) {
        error = json_path + ": " + std::to_string(runs) + " runs but its grid has " + std::to_string(grid.runs()) +
                "; expected the sweep.json tcpmig-sweep wrote";
        return std::nullopt;
      }
    }
    // runs.csv
    const auto records = parse_csv(csv, why);
    if (!records) {
      error = csv_path + ":" + why;
      return std::nullopt;
    }
    if (records->empty()) {
      error = csv_path + ":1: an empty file; expected a header line";
      return std::nullopt;
    }
    const std::string this_header = csv.substr(0, csv.find('\n') + 1);
    if (parts.empty()) {
      header = this_header;
      const std::vector<std::string>& cols = records->front().second;
      bool names_match = cols.size() >= 3 + param_count;
      for (std::size_t i = 0; names_match && i < param_count; ++i) names_match = cols[2 + i] == grid.varies()[i].name;
      if (!names_match || cols[0] != "point" || cols[1] != "seed" || cols.back() != "error") {
        error = csv_path + ":1: an unexpected header; expected point,seed,<the sweep's params>,<metrics>,error";
        return std::nullopt;
      }
      metric_names.assign(cols.begin() + 2 + static_cast<std::ptrdiff_t>(param_count), cols.end() - 1);
      for (const std::string& m : metric_names) {
        if (find_metric(m) == nullptr) {
          error = csv_path + ":1: unknown metric column '" + m + "'; expected tcpmig-sweep's metrics";
          return std::nullopt;
        }
      }
    } else if (this_header != header) {
      error = csv_path + ":1: a header unlike " + parts.front().dir + "/runs.csv; expected shards of one sweep";
      return std::nullopt;
    }
    const std::size_t width = 3 + param_count + metric_names.size();
    uint64_t count = 0;
    for (std::size_t i = 1; i < records->size(); ++i) {
      const auto& [line, f] = (*records)[i];
      const std::string where = csv_path + ":" + std::to_string(line) + ": ";
      if (f.size() != width) {
        error = where + std::to_string(f.size()) + " fields; expected " + std::to_string(width);
        return std::nullopt;
      }
      const auto point = parse_u64(f[0]);
      const auto seed = parse_u64(f[1]);
      if (!point || !seed || *seed == 0 || *seed > seeds || *point >= runs / seeds) {
        error = where + "point '" + f[0] + "' seed '" + f[1] + "'; expected a run of this sweep";
        return std::nullopt;
      }
      const uint64_t index = *point * seeds + (*seed - 1);
      if (!part.shard.owns(index)) {
        error = where + "run " + std::to_string(index) + " does not belong to shard " + std::to_string(part.shard.k) +
                "/" + std::to_string(part.shard.n) + "; expected only the shard's own runs";
        return std::nullopt;
      }
      Row row;
      row.point = *point;
      row.seed = *seed;
      row.params.assign(f.begin() + 2, f.begin() + 2 + static_cast<std::ptrdiff_t>(param_count));
      row.metrics.assign(f.begin() + 2 + static_cast<std::ptrdiff_t>(param_count), f.end() - 1);
      row.error = f.back();
      if (row.params != grid.values(row.point)) {
        error = where + "the parameter values of point " + f[0] + " differ from the sweep's grid; expected them as "
                "sweep.json lists them";
        return std::nullopt;
      }
      for (std::size_t m = 0; m < metric_names.size(); ++m) {
        if (!row.metrics[m].empty() && find_metric(metric_names[m])->numeric && !parse_double(row.metrics[m])) {
          error = where + metric_names[m] + " '" + row.metrics[m] + "'; expected a number or nothing";
          return std::nullopt;
        }
      }
      rows.push_back(std::move(row));
      ++count;
    }
    const uint64_t expected = part.shard.k - 1 < runs ? (runs - (part.shard.k - 1) + part.shard.n - 1) / part.shard.n : 0;
    if (count != expected) {
      error = csv_path + ": " + std::to_string(count) + " runs; expected " + std::to_string(expected) + " for shard " +
              std::to_string(part.shard.k) + "/" + std::to_string(part.shard.n) + " (an unfinished shard?)";
      return std::nullopt;
    }
    parts.push_back(std::move(part));
  }
  if (parts.empty()) {
    error = "no folders to merge; expected the N shard folders of one sweep";
    return std::nullopt;
  }
  if (parts.size() != parts.front().shard.n) {
    std::string missing;
    for (uint64_t k = 1; k <= parts.front().shard.n && missing.size() < 200; ++k) {
      if (std::none_of(parts.begin(), parts.end(), [k](const Part& p) { return p.shard.k == k; })) {
        missing += (missing.empty() ? "" : ", ") + std::to_string(k);
      }
    }
    error = "shards " + missing + " of " + std::to_string(parts.front().shard.n) +
            " are missing; expected every shard of the sweep once";
    return std::nullopt;
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.point != b.point ? a.point < b.point : a.seed < b.seed; });
  // Every run exactly once (the counts per shard matched, so a repeat means
  // one is missing), and the runs of a point agree on its values.
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const Row& a = rows[i - 1];
    const Row& b = rows[i];
    if (a.point == b.point && a.seed == b.seed) {
      error = "point " + std::to_string(a.point) + " seed " + std::to_string(a.seed) +
              " appears twice in the shards; expected every run once";
      return std::nullopt;
    }
    if (a.point == b.point && a.params != b.params) {
      error = "the runs of point " + std::to_string(a.point) +
              " disagree on its parameter values; expected the same values for every seed";
      return std::nullopt;
    }
  }
  Files f;
  f.runs = runs_csv(header, rows);
  f.summary = summary_csv(header, param_count, metric_names, rows);
  f.sweep = parts.front().identity;
  return f;
}

}  // namespace tcpmig::sweep
