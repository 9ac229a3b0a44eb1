// The scenario runner (see include/tcpmig/scenario/runner.hpp for the rules).
#include "tcpmig/scenario/runner.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "tcpmig/apps/console.hpp"
#include "tcpmig/gateway/gateway.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/scenario/units.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace tcpmig::scenario {

namespace {

std::string time_text(sim::Time t) {
  std::string s;
  sim::append_time(s, t);
  return s;
}

/// Sets `error` for an output that cannot be written ("<what was found>") and returns false.
bool output_error(std::string& error, const std::string& found) {
  error = found + "; expected a writable output directory";
  return false;
}

class Run;

/// Forwards one gateway's migration events to the run.
class GatewayObserver final : public core::MigrationObserver {
 public:
  GatewayObserver(Run& run, std::size_t node_index) : run_(&run), node_(node_index) {}
  void on_triggered(const core::MigrationRecord& r) override;
  void on_finished(const core::MigrationRecord& r) override;

 private:
  Run* run_;          // the run it reports to
  std::size_t node_;  // index of the gateway in Scenario::nodes
};


/// What an application kind gets to start an entry (app_kind.hpp).
class StartContext final : public AppContext {
 public:
  StartContext(Run& run, tcp::TcpStack& stack, sim::Time base) : run_(run), stack_(stack), base_(base) {}
  tcp::TcpStack& stack() override { return stack_; }
  apps::Console& console() override;
  sim::Time base() const override { return base_; }
  AppInstance* instance(std::size_t app_index) override;
  void fail(const AppSpec& spec, const std::string& found, const std::string& expected) override;

 private:
  Run& run_;              // the run
  tcp::TcpStack& stack_;  // the host's stack
  sim::Time base_;        // when the host's apps start
};

/// One simulation built from a scenario. Members are declared so that they
/// are destroyed in a safe order: apps, then stacks, then the network, then
/// the trace and the simulator.
class Run {
 public:
  Run(const Scenario& s, const RunOptions& o)
      : s_(s),
        o_(o),
        sim_(o.seed),
        net_(sim_),
        console_(o.quiet ? apps::Console() : apps::Console(o.console)) {
    for (std::size_t i = 0; i < s.nodes.size(); ++i) node_at_.emplace(s.nodes[i].name, i);
    links_at_.resize(s.nodes.size());
    for (std::size_t l = 0; l < s.links.size(); ++l) {
      links_at_[node_index(s.links[l].a)].push_back(l);
      links_at_[node_index(s.links[l].b)].push_back(l);
    }
  }

  bool execute(RunResults& results, std::string& error);
  [[nodiscard]] std::vector<std::string> files() const;
  void on_triggered(std::size_t gw, const core::MigrationRecord& r);
  void on_finished(std::size_t gw, const core::MigrationRecord& r);
  apps::Console& console() { return console_; }
  AppInstance* app_instance(std::size_t i) { return i < apps_.size() ? apps_[i].get() : nullptr; }
  void fail_app(const AppSpec& spec, const std::string& found, const std::string& expected);

 private:
  struct NodeRuntime {
    net::Node* node = nullptr;                       // in the network once added
    gateway::GatewayNode* gateway = nullptr;         // set for gateways
    std::unique_ptr<tcp::TcpStack> stack;            // hosts, once booted
    std::unique_ptr<GatewayObserver> observer;       // gateways
    bool join_scheduled = false;                     // runtime host: join event pending or done
    bool booted = false;                             // runtime host: apps started
  };

  void add_node(std::size_t i);
  void add_link(std::size_t i);
  void mark_client_facing(net::Interface& iface);
  void start_host(std::size_t i);
  void start_apps(const std::string& node, sim::Time base);
  void join_runtime_host(std::size_t i);
  void join_runtime_link(std::size_t l);
  void boot_runtime_host(std::size_t i);
  void request_migration(std::size_t m);
  void fail_runtime(const std::string& message);
  [[nodiscard]] std::size_t node_index(const std::string& name) const;
  std::string match_migration(const std::string& gw, const core::MigrationRecord& r) const;
  void collect(RunResults& results);
  void check_expectations(RunResults& results) const;
  [[nodiscard]] std::string why_no_record(std::size_t mi, const RunResults& results) const;

  const Scenario& s_;                         // what to build
  RunOptions o_;                              // how to run
  sim::Simulator sim_;                        // the engine
  sim::TraceWriter trace_;                    // trace.txt
  net::Network net_;                          // the topology (uses trace_)
  apps::Console console_;                     // app lines (stdout unless quiet)
  std::vector<NodeRuntime> nodes_;            // by Scenario::nodes index
  std::map<std::string, std::size_t, std::less<>> node_at_;  // node name -> Scenario::nodes index
  std::vector<std::vector<std::size_t>> links_at_;           // links of each node, in document order
  std::vector<bool> linked_;                  // by Scenario::links index: link exists
  std::vector<bool> link_due_;                // by Scenario::links index: a runtime link's add-at has come
  std::vector<std::unique_ptr<AppInstance>> apps_;  // by Scenario::apps index, once started
  std::vector<RefusedRequest> refused_;       // refused flow requests
  /// (gateway, request number the core gave the request) -> migration name:
  /// how every record is traced back to its <migration>.
  std::map<std::pair<std::string, uint64_t>, std::string> requests_;
  /// By Scenario::migrations index: the request number its gateway gave it, once requested.
  std::vector<std::optional<uint64_t>> request_of_;
  std::string runtime_error_;                 // first error while running (exit 2)
  std::ofstream summary_;                     // summary.json, opened before the run
  std::vector<std::string> files_;            // trace.txt and summary.json once opened
  bool pcap_ = false;                         // pcaps enabled: one file per interface
  std::string line_;                          // scratch for console lines
};

void GatewayObserver::on_triggered(const core::MigrationRecord& r) { run_->on_triggered(node_, r); }
void GatewayObserver::on_finished(const core::MigrationRecord& r) { run_->on_finished(node_, r); }

std::size_t Run::node_index(const std::string& name) const {
  const auto it = node_at_.find(name);
  return it == node_at_.end() ? s_.nodes.size() : it->second;
}

void Run::fail_runtime(const std::string& message) {
  if (runtime_error_.empty()) runtime_error_ = message;
  sim_.stop();
}

void Run::add_node(std::size_t i) {
  const NodeSpec& n = s_.nodes[i];
  NodeRuntime& rt = nodes_[i];
  switch (n.type) {
    case NodeType::Host: rt.node = &net_.add_host(n.name); break;
    case NodeType::Router: rt.node = &net_.add_router(n.name); break;
    case NodeType::Switch:
    case NodeType::Count: rt.node = &net_.add_switch(n.name); break;
    case NodeType::Gateway: {
      auto& gw = net_.add_node<gateway::GatewayNode>(n.name, n.gateway);
      rt.node = &gw;
      rt.gateway = &gw;
      rt.observer = std::make_unique<GatewayObserver>(*this, i);
      gw.migrator().set_observer(rt.observer.get());
      break;
    }
  }
}

void Run::mark_client_facing(net::Interface& iface) {
  const std::size_t gi = node_index(iface.node().name());
  if (gi >= nodes_.size() || nodes_[gi].gateway == nullptr || iface.peer() == nullptr) return;
  const auto& cf = s_.nodes[gi].client_facing;
  if (std::find(cf.begin(), cf.end(), iface.peer()->node().name()) != cf.end()) {
    nodes_[gi].gateway->set_client_facing(iface);
  }
}

void Run::add_link(std::size_t i) {
  if (linked_[i]) return;
  const LinkSpec& l = s_.links[i];
  if (l.add_at && !link_due_[i]) return;
  net::Node* a = nodes_[node_index(l.a)].node;
  net::Node* b = nodes_[node_index(l.b)].node;
  if (a == nullptr || b == nullptr) return;
  net::Interface& ia = a->add_interface(l.a_addr);
  net::Interface& ib = b->add_interface(l.b_addr);
  ia.set_mtu(l.mtu);
  ib.set_mtu(l.mtu);
  net_.connect(ia, ib, l.ab, l.ba);
  linked_[i] = true;
  mark_client_facing(ia);
  mark_client_facing(ib);
  if (l.add_at) console_.line(sim_.now(), l.a, "link to " + l.b + " is up");
}

apps::Console& StartContext::console() { return run_.console(); }
AppInstance* StartContext::instance(std::size_t app_index) { return run_.app_instance(app_index); }
void StartContext::fail(const AppSpec& spec, const std::string& found, const std::string& expected) {
  run_.fail_app(spec, found, expected);
}

void Run::fail_app(const AppSpec& a, const std::string& found, const std::string& expected) {
  fail_runtime(s_.file + ":" + std::to_string(a.pos.line) + ":" + std::to_string(a.pos.column) + ": error: " + found +
               " at " + time_text(sim_.now()) + "; expected " + expected);
}

void Run::start_apps(const std::string& node, sim::Time base) {
  StartContext ctx(*this, *nodes_[node_index(node)].stack, base);
  for (std::size_t i = 0; i < s_.apps.size(); ++i) {
    const AppSpec& a = s_.apps[i];
    if (a.node == node) apps_[i] = a.kind->start(a, ctx);
  }
}

void Run::start_host(std::size_t i) {
  nodes_[i].stack = std::make_unique<tcp::TcpStack>(*nodes_[i].node, s_.nodes[i].tcp);
}

void Run::join_runtime_host(std::size_t i) {
  const NodeSpec& n = s_.nodes[i];
  try {
    add_node(i);
    for (const std::size_t l : links_at_[i]) add_link(l);  // only its own links can appear
  } catch (const std::invalid_argument& ex) {
    fail_runtime(s_.file + ":" + std::to_string(n.pos.line) + ":" + std::to_string(n.pos.column) +
                 ": error: host " + n.name + " could not join the network at " + time_text(sim_.now()) + " (" +
                 ex.what() + "); expected a topology that accepts it");
    return;
  }
  line_ = "joins the network";
  if (n.boot_delay > sim::Duration::zero()) {
    line_ += "; up after ";
    sim::append_duration(line_, n.boot_delay);
    line_ += " s";
  }
  console_.line(sim_.now(), n.name, line_);
  sim_.schedule_in(n.boot_delay, [this, i] { boot_runtime_host(i); });
}

void Run::join_runtime_link(std::size_t li) {
  // The path a joining host takes: add_link() creates the link if both its
  // ends exist; the network recomputes routes before the next lookup.
  const LinkSpec& l = s_.links[li];
  link_due_[li] = true;
  try {
    add_link(li);
  } catch (const std::invalid_argument& ex) {
    fail_runtime(s_.file + ":" + std::to_string(l.pos.line) + ":" + std::to_string(l.pos.column) + ": error: link " +
                 l.a + " -- " + l.b + " could not be created at " + time_text(sim_.now()) + " (" + ex.what() +
                 "); expected a topology that accepts it");
    return;
  }
  if (!linked_[li]) {
    fail_runtime(s_.file + ":" + std::to_string(l.pos.line) + ":" + std::to_string(l.pos.column) + ": error: link " +
                 l.a + " -- " + l.b + " has an end that is not in the network at " + time_text(sim_.now()) +
                 "; expected both ends present at its add-at");
  }
}

void Run::boot_runtime_host(std::size_t i) {
  const NodeSpec& n = s_.nodes[i];
  start_host(i);
  nodes_[i].booted = true;
  console_.line(sim_.now(), n.name, "is up");
  start_apps(n.name, sim_.now());
  for (const MigrationSpec& m : s_.migrations) {
    if (m.provisioned_by != n.name) continue;
    gateway::GatewayNode& gw = *nodes_[node_index(m.gateway)].gateway;
    gw.migrator().target_ready(m.target, sim_.now().ns());
    gw.reschedule();
  }
}

void Run::request_migration(std::size_t mi) {
  const MigrationSpec& m = s_.migrations[mi];
  gateway::GatewayNode& gw = *nodes_[node_index(m.gateway)].gateway;
  const bool wait = !m.provisioned_by.empty();
  const core::Nanos now = sim_.now().ns();
  if (m.flow_client) {
    const auto r = gw.migrator().migrate_flow(core::FlowKey{*m.flow_client, m.service}, m.target, m.trigger, now, wait);
    if (r) {
      const uint64_t request = gw.migrator().records().at(*r).request;
      requests_[{m.gateway, request}] = m.name;
      request_of_[mi] = request;
    } else {
      refused_.push_back(RefusedRequest{m.name, sim_.now(), r.error()});
      console_.line(sim_.now(), m.gateway,
                    "migration " + m.name + " refused: flow " + core::endpoint_text(*m.flow_client) + " -> " +
                        core::endpoint_text(m.service) + ": " + core::refusal_name(r.error()));
    }
  } else {
    const uint64_t request = gw.migrator().migrate_service(m.service, m.target, m.trigger, now, wait);
    requests_[{m.gateway, request}] = m.name;
    request_of_[mi] = request;
  }
  gw.reschedule();
}

void Run::on_triggered(std::size_t gw, const core::MigrationRecord& r) {
  const std::string& gw_name = s_.nodes[gw].name;
  console_.line(sim_.now(), gw_name,
                "migration " + std::to_string(r.id) + " triggered (" + core::trigger_text(r.trigger) + "): client " +
                    core::endpoint_text(r.flow.client) + ", " + core::endpoint_text(r.from) + " -> " +
                    core::endpoint_text(r.to));
  // A target provisioned on trigger joins now, in an event of its own.
  for (const MigrationSpec& m : s_.migrations) {
    if (m.gateway != gw_name || m.provisioned_by.empty() || !(m.target == r.to)) continue;
    const std::size_t h = node_index(m.provisioned_by);
    if (nodes_[h].join_scheduled) continue;
    nodes_[h].join_scheduled = true;
    sim_.schedule_in(sim::Duration::zero(), [this, h] { join_runtime_host(h); });
  }
}

void Run::on_finished(std::size_t gw, const core::MigrationRecord& r) {
  std::string text = "migration " + std::to_string(r.id) + " " + core::outcome_name(r.outcome) + ": " +
                     core::endpoint_text(r.flow.client) + " ";
  text += r.outcome == core::Outcome::Completed ? "now on " + core::endpoint_text(r.to)
                                                : "stays on " + core::endpoint_text(r.from);
  console_.line(sim_.now(), s_.nodes[gw].name, text);
}

std::string Run::match_migration(const std::string& gw, const core::MigrationRecord& r) const {
  const auto it = requests_.find({gw, r.request});
  return it == requests_.end() ? std::string{} : it->second;
}

bool Run::execute(RunResults& results, std::string& error) {
  const std::string& dir = o_.out_dir;
  if (o_.write_files) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return output_error(error, "cannot create the output directory " + dir + ": " + ec.message());
  }
  const bool want_trace = o_.write_files && (s_.outputs.trace || o_.force_trace);
  const std::string trace_path = dir + "/trace.txt";
  if (want_trace) {
    if (!trace_.open(trace_path, error)) return output_error(error, "cannot create " + error);
    files_.push_back(trace_path);
    net_.set_trace(&trace_);
  }
  pcap_ = o_.write_files && o_.pcap && s_.outputs.pcap;
  if (pcap_ && !net_.enable_pcap(dir, error)) return output_error(error, "cannot create " + error);

  // Nodes present from the start, their links, stacks and apps; then the
  // runtime hosts' and runtime links' timers and the migration requests.
  nodes_.resize(s_.nodes.size());
  linked_.assign(s_.links.size(), false);
  link_due_.assign(s_.links.size(), false);
  apps_.resize(s_.apps.size());
  request_of_.assign(s_.migrations.size(), std::nullopt);
  try {
    for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
      if (!s_.nodes[i].runtime()) add_node(i);
    }
    for (std::size_t l = 0; l < s_.links.size(); ++l) add_link(l);
  } catch (const std::invalid_argument& ex) {
    error = s_.file + ": error: the topology was rejected while building it (" + ex.what() +
            "); expected a topology the network model accepts";
    return false;
  }
  // Every output is open before the simulation runs (pcaps of runtime hosts
  // open when they join).
  if (!net_.pcap_error().empty()) return output_error(error, "cannot create " + net_.pcap_error());
  const std::string summary_path = dir + "/summary.json";
  const bool want_summary = o_.write_files && s_.outputs.summary;
  if (want_summary) {
    summary_.open(summary_path, std::ios::binary | std::ios::trunc);
    if (!summary_) return output_error(error, "cannot create " + summary_path + ": " + std::strerror(errno));
    files_.push_back(summary_path);
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (s_.nodes[i].type == NodeType::Host && !s_.nodes[i].runtime()) start_host(i);
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (s_.nodes[i].type == NodeType::Host && !s_.nodes[i].runtime()) start_apps(s_.nodes[i].name, sim::Time::zero());
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (!s_.nodes[i].add_at) continue;
    nodes_[i].join_scheduled = true;
    sim_.schedule_at(sim::Time::zero() + *s_.nodes[i].add_at, [this, i] { join_runtime_host(i); });
  }
  // Runtime links after the hosts: at equal times the host joins first.
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    if (!s_.links[i].add_at) continue;
    sim_.schedule_at(sim::Time::zero() + *s_.links[i].add_at, [this, i] { join_runtime_link(i); });
  }
  for (std::size_t m = 0; m < s_.migrations.size(); ++m) {
    if (s_.migrations[m].request_at == sim::Duration::zero()) {
      request_migration(m);
    } else {
      sim_.schedule_at(sim::Time::zero() + s_.migrations[m].request_at, [this, m] { request_migration(m); });
    }
  }

  if (o_.until) {
    sim_.run_until(*o_.until);
  } else {
    sim_.run();
  }
  if (o_.console != nullptr) std::fflush(o_.console);

  net_.close_pcaps();
  trace_.close();
  if (!runtime_error_.empty()) {
    error = runtime_error_;
    return false;
  }
  if (!net_.pcap_error().empty()) return output_error(error, net_.pcap_error());
  if (want_trace && !trace_.ok()) return output_error(error, trace_path + ": write failed");

  results.seed = o_.seed;
  results.events = sim_.events_executed();
  results.end_time = sim_.now();
  if (want_trace) {
    results.trace_lines = trace_.lines();
    results.trace_path = trace_path;
    std::ifstream in(trace_path, std::ios::binary);
    if (!in) return output_error(error, "cannot read back " + trace_path);
    Fnv1a h;
    std::array<char, 65536> chunk{};
    while (in) {
      in.read(chunk.data(), chunk.size());
      h.update(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())));
    }
    results.trace_fingerprint = h.value();
  }
  collect(results);
  check_expectations(results);

  if (want_summary) {
    summary_ << summary_json(s_, results);
    summary_.close();
    if (!summary_) return output_error(error, summary_path + ": write failed");
  }
  return true;
}

std::vector<std::string> Run::files() const {
  std::vector<std::string> files = files_;
  const std::vector<std::string> pcaps = net_.pcap_paths();  // only those it could open
  files.insert(files.end(), pcaps.begin(), pcaps.end());
  return files;
}

void Run::collect(RunResults& results) {
  results.refused = refused_;
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    const gateway::GatewayNode* gw = nodes_[i].gateway;
    if (gw == nullptr) continue;
    results.gateways.push_back(GatewayResult{s_.nodes[i].name, gw->migrator().counters(), gw->migrator().flow_count()});
    for (const core::MigrationRecord& r : gw->migrator().records()) {
      results.migrations.push_back(MigrationRow{s_.nodes[i].name, match_migration(s_.nodes[i].name, r), r});
    }
  }
  for (std::size_t i = 0; i < s_.apps.size(); ++i) s_.apps[i].kind->collect(s_.apps[i], apps_[i].get(), results.apps);
  for (const NodeRuntime& n : nodes_) {
    if (n.stack == nullptr) continue;  // not a host, or never booted
    results.client_retransmits += n.stack->stats().retransmits_active;
    results.server_retransmits += n.stack->stats().retransmits_passive;
    results.client_timeouts += n.stack->stats().timeouts_active;
    results.server_timeouts += n.stack->stats().timeouts_passive;
  }
}

/// Why a migration has no record, for the failure line.
std::string Run::why_no_record(std::size_t mi, const RunResults& results) const {
  const MigrationSpec& m = s_.migrations[mi];
  for (const RefusedRequest& r : results.refused) {
    if (r.migration == m.name) return std::string(" was refused by the gateway (") + core::refusal_name(r.reason) + ")";
  }
  if (!request_of_[mi]) return " was never requested (the run ended before its request-at)";
  const core::RequestInfo info =
      nodes_[node_index(m.gateway)].gateway->migrator().request_info(*request_of_[mi]);
  if (info.on_target > 0) {
    return " never started: the " + std::to_string(info.on_target) + " flow(s) of its service were on its target";
  }
  if (info.closing > 0) {
    return " never started: the " + std::to_string(info.closing) + " flow(s) of its service were closing";
  }
  return " never started (no flow of its service)";
}

void Run::check_expectations(RunResults& results) const {
  for (std::size_t mi = 0; mi < s_.migrations.size(); ++mi) {
    const MigrationSpec& m = s_.migrations[mi];
    if (m.expect == Expect::Any) continue;
    bool any = false;
    for (const MigrationRow& row : results.migrations) {
      if (row.migration != m.name) continue;
      any = true;
      const core::Outcome o = row.record.outcome;
      const bool ok = m.expect == Expect::Completed
                          ? o == core::Outcome::Completed
                          : o != core::Outcome::Completed && o != core::Outcome::Pending;
      if (!ok) {
        results.failures.push_back("migration " + m.name + " (" + row.gateway + " #" + std::to_string(row.record.id) +
                                   ", client " + core::endpoint_text(row.record.flow.client) + ") ended " +
                                   core::outcome_name(o) + "; expected " + expect_name(m.expect));
      }
    }
    // A flow request refused when made did not migrate: like a record ended
    // refused, that is what "aborted" asks for.
    const bool refused = std::any_of(results.refused.begin(), results.refused.end(),
                                     [&](const RefusedRequest& r) { return r.migration == m.name; });
    if (!any && !(refused && m.expect == Expect::Aborted)) {
      results.failures.push_back("migration " + m.name + why_no_record(mi, results) + "; expected " +
                                 expect_name(m.expect));
    }
  }
  for (const AppResult& a : results.apps) a.kind->expect(a, results.failures);
}

}  // namespace

bool run_scenario(const Scenario& s, const RunOptions& opts, RunResults& results, std::string& error) {
  results = RunResults{};
  auto run = std::make_unique<Run>(s, opts);
  bool ok = false;
  try {
    ok = run->execute(results, error);
  } catch (const std::exception& e) {  // e.g. out of memory in an event: still exit 2 with the files listed
    error = std::string("the run stopped (") + e.what() + "); expected a run without internal errors";
  }
  results.files = run->files();
  return ok;
}

}  // namespace tcpmig::scenario
