// The scenario runner (see include/tcpmig/scenario/runner.hpp for the rules).
#include "tcpmig/scenario/runner.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "tcpmig/apps/bulk.hpp"
#include "tcpmig/apps/console.hpp"
#include "tcpmig/apps/request_response.hpp"
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

/// The live objects of one application entry.
struct AppRuntime {
  const AppSpec* spec = nullptr;                                 // its description
  std::vector<std::unique_ptr<apps::RequestClient>> clients;     // request-client instances
  std::vector<std::string> client_names;                        // their console labels
  std::unique_ptr<apps::ResponseServer> server;                  // response-server
  std::unique_ptr<apps::BulkSender> sender;                      // bulk-sender
  std::unique_ptr<apps::BulkSink> sink;                          // bulk-sink
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
        console_(o.quiet ? apps::Console() : apps::Console(o.console)) {}

  bool execute(RunResults& results, std::string& error);
  void on_triggered(std::size_t gw, const core::MigrationRecord& r);
  void on_finished(std::size_t gw, const core::MigrationRecord& r);

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
  void add_links();
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

  const Scenario& s_;                         // what to build
  RunOptions o_;                              // how to run
  sim::Simulator sim_;                        // the engine
  sim::TraceWriter trace_;                    // trace.txt
  net::Network net_;                          // the topology (uses trace_)
  apps::Console console_;                     // app lines (stdout unless quiet)
  std::vector<NodeRuntime> nodes_;            // by Scenario::nodes index
  std::vector<bool> linked_;                  // by Scenario::links index: link exists
  std::vector<bool> link_due_;                // by Scenario::links index: a runtime link's add-at has come
  std::vector<AppRuntime> apps_;              // by Scenario::apps index
  std::vector<RefusedRequest> refused_;       // refused flow requests
  /// (gateway, request number the core gave the request) -> migration name:
  /// how every record is traced back to its <migration>.
  std::map<std::pair<std::string, uint64_t>, std::string> requests_;
  std::string runtime_error_;                 // first error while running (exit 2)
  std::string line_;                          // scratch for console lines
};

void GatewayObserver::on_triggered(const core::MigrationRecord& r) { run_->on_triggered(node_, r); }
void GatewayObserver::on_finished(const core::MigrationRecord& r) { run_->on_finished(node_, r); }

std::size_t Run::node_index(const std::string& name) const {
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (s_.nodes[i].name == name) return i;
  }
  return s_.nodes.size();
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
    case NodeType::Switch: rt.node = &net_.add_switch(n.name); break;
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

void Run::add_links() {
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    if (linked_[i]) continue;
    const LinkSpec& l = s_.links[i];
    if (l.add_at && !link_due_[i]) continue;
    net::Node* a = nodes_[node_index(l.a)].node;
    net::Node* b = nodes_[node_index(l.b)].node;
    if (a == nullptr || b == nullptr) continue;
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
}

void Run::start_apps(const std::string& node, sim::Time base) {
  tcp::TcpStack& stack = *nodes_[node_index(node)].stack;
  for (std::size_t i = 0; i < s_.apps.size(); ++i) {
    const AppSpec& a = s_.apps[i];
    if (a.node != node) continue;
    AppRuntime& rt = apps_[i];
    switch (a.kind) {
      case AppKind::ResponseServer:
        rt.server = std::make_unique<apps::ResponseServer>(stack, a.server, console_);
        break;
      case AppKind::RequestClient:
        for (uint32_t k = 0; k < a.instances; ++k) {
          apps::RequestClientConfig cfg = a.client;
          const std::string label = cfg.name.empty() ? node : cfg.name;
          cfg.name = a.instances == 1 ? label : label + "/" + std::to_string(k);
          cfg.start = base + a.client.start.since_start();
          rt.client_names.push_back(cfg.name);
          rt.clients.push_back(std::make_unique<apps::RequestClient>(stack, cfg, console_));
        }
        break;
      case AppKind::BulkSender: {
        apps::BulkSenderConfig cfg = a.sender;
        cfg.start = base + a.sender.start.since_start();
        rt.sender = std::make_unique<apps::BulkSender>(stack, cfg, console_);
        break;
      }
      case AppKind::BulkSink: {
        apps::BulkSinkConfig cfg = a.sink;
        if (a.continues) {
          cfg.continues = apps_[*a.continues].sink.get();
          if (cfg.continues == nullptr) {
            fail_runtime(s_.file + ":" + std::to_string(a.pos.line) + ":" + std::to_string(a.pos.column) +
                         ": error: the sink it continues has not started at " + time_text(sim_.now()) +
                         "; expected the continued sink's host to start first");
          }
        }
        rt.sink = std::make_unique<apps::BulkSink>(stack, cfg, console_);
        break;
      }
    }
  }
}

void Run::start_host(std::size_t i) {
  nodes_[i].stack = std::make_unique<tcp::TcpStack>(*nodes_[i].node, s_.nodes[i].tcp);
}

void Run::join_runtime_host(std::size_t i) {
  const NodeSpec& n = s_.nodes[i];
  try {
    add_node(i);
    add_links();
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
  // The path a joining host takes: add_links() creates every link whose ends
  // exist and that is due; the network recomputes routes before the next lookup.
  const LinkSpec& l = s_.links[li];
  link_due_[li] = true;
  try {
    add_links();
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
    if (r) requests_[{m.gateway, gw.migrator().records().at(*r).request}] = m.name;
    if (!r) {
      refused_.push_back(RefusedRequest{m.name, sim_.now()});
      console_.line(sim_.now(), m.gateway,
                    "migration " + m.name + " refused: flow " + core::endpoint_text(*m.flow_client) + " -> " +
                        core::endpoint_text(m.service) + " is not tracked or is busy");
    }
  } else {
    requests_[{m.gateway, gw.migrator().migrate_service(m.service, m.target, m.trigger, now, wait)}] = m.name;
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
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create the output directory " + dir + ": " + ec.message();
    return false;
  }
  const bool want_trace = s_.outputs.trace || o_.force_trace;
  const std::string trace_path = dir + "/trace.txt";
  if (want_trace) {
    if (!trace_.open(trace_path, error)) return false;
    net_.set_trace(&trace_);
  }
  if (o_.pcap && s_.outputs.pcap && !net_.enable_pcap(dir, error)) return false;

  // Nodes present from the start, their links, stacks and apps; then the
  // runtime hosts' and runtime links' timers and the migration requests.
  nodes_.resize(s_.nodes.size());
  linked_.assign(s_.links.size(), false);
  link_due_.assign(s_.links.size(), false);
  apps_.resize(s_.apps.size());
  for (std::size_t i = 0; i < s_.apps.size(); ++i) apps_[i].spec = &s_.apps[i];
  try {
    for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
      if (!s_.nodes[i].runtime()) add_node(i);
    }
    add_links();
  } catch (const std::invalid_argument& ex) {
    error = s_.file + ": error: the topology was rejected while building it (" + ex.what() +
            "); expected a topology the network model accepts";
    return false;
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
  if (!net_.pcap_error().empty()) {
    error = net_.pcap_error();
    return false;
  }
  if (want_trace && !trace_.ok()) {
    error = trace_path + ": write failed";
    return false;
  }

  results.seed = o_.seed;
  results.events = sim_.events_executed();
  results.end_time = sim_.now();
  if (want_trace) {
    results.trace_lines = trace_.lines();
    results.trace_path = trace_path;
    std::ifstream in(trace_path, std::ios::binary);
    if (!in) {
      error = "cannot read back " + trace_path;
      return false;
    }
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

  if (s_.outputs.summary) {
    const std::string path = dir + "/summary.json";
    const std::string json = summary_json(s_, results);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << json;
    f.flush();
    if (!f) {
      error = "cannot write " + path;
      return false;
    }
  }
  return true;
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
  for (const AppRuntime& rt : apps_) {
    const AppSpec& a = *rt.spec;
    AppResult base;
    base.kind = a.kind;
    base.node = a.node;
    switch (a.kind) {
      case AppKind::RequestClient: {
        const std::string label = a.client.name.empty() ? a.node : a.client.name;
        for (uint32_t k = 0; k < a.instances; ++k) {
          AppResult r = base;
          r.name = a.instances == 1 ? label : label + "/" + std::to_string(k);
          r.expected = a.expect_responses;
          r.has_expected = true;
          if (k < rt.clients.size()) {
            const apps::RequestClient& c = *rt.clients[k];
            r.started = true;
            r.sent = c.sent();
            r.responses = c.received();
            if (c.closed()) r.closed = c.close_reason();
          }
          results.apps.push_back(r);
        }
        break;
      }
      case AppKind::ResponseServer:
        base.name = a.server.name.empty() ? a.node : a.server.name;
        if (rt.server) {
          base.started = true;
          base.requests = rt.server->received();
          base.connections = rt.server->connections();
        }
        results.apps.push_back(base);
        break;
      case AppKind::BulkSender:
        base.name = a.sender.name.empty() ? a.node : a.sender.name;
        if (rt.sender) {
          base.started = true;
          base.sent = rt.sender->queued();
          if (rt.sender->closed()) base.closed = rt.sender->close_reason();
        }
        results.apps.push_back(base);
        break;
      case AppKind::BulkSink:
        base.name = a.sink.name.empty() ? a.node : a.sink.name;
        if (a.expect_bytes) {
          base.has_expected = true;
          base.expected = *a.expect_bytes;
        }
        if (rt.sink) {
          const apps::BulkReport& rep = rt.sink->report();
          base.started = true;
          base.bytes = rep.bytes;
          base.errors = rep.errors;
          base.goodput_bps = rep.goodput_bps();
          base.finished = rep.finished;
        }
        results.apps.push_back(base);
        break;
    }
  }
}

void Run::check_expectations(RunResults& results) const {
  for (const MigrationSpec& m : s_.migrations) {
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
    if (!any) {
      bool refused = false;
      for (const RefusedRequest& r : results.refused) refused = refused || r.migration == m.name;
      results.failures.push_back("migration " + m.name +
                                 (refused ? std::string(" was refused by the gateway (flow not tracked)")
                                          : std::string(" never started (no flow of its service)")) +
                                 "; expected " + expect_name(m.expect));
    }
  }
  for (const AppResult& a : results.apps) {
    if (a.kind == AppKind::RequestClient && a.responses < a.expected) {
      results.failures.push_back("request-client " + a.name + " got " + std::to_string(a.responses) + " of " +
                                 std::to_string(a.expected) + " expected responses" +
                                 (a.started ? "" : " (its host never started)"));
    }
    if (a.kind == AppKind::BulkSink) {
      if (a.errors > 0) {
        results.failures.push_back("bulk-sink " + a.name + " received " + std::to_string(a.errors) +
                                   " bytes that differ from the sent stream");
      }
      if (a.has_expected && a.bytes != a.expected) {
        results.failures.push_back("bulk-sink " + a.name + " received " + std::to_string(a.bytes) + " bytes; expected " +
                                   std::to_string(a.expected));
      }
    }
  }
}

}  // namespace

bool run_scenario(const Scenario& s, const RunOptions& opts, RunResults& results, std::string& error) {
  results = RunResults{};
  auto run = std::make_unique<Run>(s, opts);
  return run->execute(results, error);
}

}  // namespace tcpmig::scenario
