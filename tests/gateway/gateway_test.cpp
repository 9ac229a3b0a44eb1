// The simulated gateway end to end: real TCP stacks on client and servers,
// the migration core in the gateway node between them. What a user checks:
// the client gets every reply, from the right server, over one connection;
// a migrated bulk upload arrives byte-exact; aborted migrations leave the
// flow working on the old server; random loss and migration times never
// lose or duplicate a byte.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tcpmig/apps/bulk.hpp"
#include "tcpmig/apps/console.hpp"
#include "tcpmig/apps/request_response.hpp"
#include "tcpmig/gateway/gateway.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/tcp/stack.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/tcp.hpp"
#include "../test_output.hpp"

namespace {

using namespace tcpmig;
using namespace tcpmig::sim::literals;

net::InterfaceAddress addr(const char* text) { return *net::InterfaceAddress::parse(text); }
wire::Ipv4Address ip(const char* text) { return *wire::Ipv4Address::parse(text); }
core::Endpoint ep(const char* text, uint16_t port) { return {ip(text), port}; }

// client [10.0.1.1] -- gw -- sw -- server1 [10.0.2.10], server2 [10.0.2.20], server3 [10.0.2.30]
struct Lab {
  explicit Lab(uint64_t seed, double loss = 0, tcp::TcpConfig client_cfg = {}, tcp::TcpConfig s2_cfg = {},
               core::Config gw_cfg = {})
      : sim(seed), net(sim), console(&lines) {
    net.set_trace(&trace);
    trace.capture_to_string();
    client = &net.add_host("client");
    gw = &net.add_node<gateway::GatewayNode>("gw", gw_cfg);
    sw = &net.add_switch("sw");
    net::LinkParams access;
    access.rate_bps = 100'000'000;
    access.delay = 2_ms;
    access.loss = loss;
    access.queue_packets = 1000;
    net::LinkParams lan;
    lan.rate_bps = 1'000'000'000;
    lan.delay = 100_us;
    lan.queue_packets = 1000;
    lan.loss = loss;
    net.connect(*client, *gw, access, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
    gw->set_client_facing(gw->interface(0));
    net.connect(*gw, *sw, lan, addr("10.0.2.254/24"));
    server1 = &add_server("server1", "10.0.2.10/24", {});
    server2 = &add_server("server2", "10.0.2.20/24", s2_cfg);
    server3 = &add_server("server3", "10.0.2.30/24", {});
    client_tcp = std::make_unique<tcp::TcpStack>(*client, client_cfg);
  }

  net::Node& add_server(const char* name, const char* a, const tcp::TcpConfig& cfg) {
    net::Node& n = net.add_host(name);
    net::LinkParams lan;
    lan.rate_bps = 1'000'000'000;
    lan.delay = 100_us;
    lan.queue_packets = 1000;
    net.connect(*sw, n, lan, std::nullopt, addr(a));
    stacks.push_back(std::make_unique<tcp::TcpStack>(n, cfg));
    return n;
  }
  tcp::TcpStack& stack_of(int server) { return *stacks.at(static_cast<std::size_t>(server - 1)); }

  void migrate(core::Trigger trigger, const char* to, uint16_t port = 80) {
    gw->migrator().migrate_service(ep("10.0.2.10", port), ep(to, port), trigger, sim.now().ns());
    gw->reschedule();
  }

  sim::Simulator sim;
  net::Network net;
  sim::TraceWriter trace;
  std::string lines;
  apps::Console console;
  net::Node* client;
  gateway::GatewayNode* gw;
  net::Switch* sw;
  net::Node *server1, *server2, *server3;
  std::vector<std::unique_ptr<tcp::TcpStack>> stacks;
  std::unique_ptr<tcp::TcpStack> client_tcp;
};

struct RequestPair {
  RequestPair(Lab& lab, uint32_t count, sim::Duration interval) {
    for (int s = 1; s <= 3; ++s) {
      apps::ResponseServerConfig sc;
      sc.response = "Hello, I'm Server " + std::to_string(s);
      sc.keep_text = true;
      servers.push_back(std::make_unique<apps::ResponseServer>(lab.stack_of(s), sc, lab.console));
    }
    apps::RequestClientConfig cc;
    cc.server = ip("10.0.2.10");
    cc.count = count;
    cc.interval = interval;
    cc.keep_text = true;
    client = std::make_unique<apps::RequestClient>(*lab.client_tcp, cc, lab.console);
  }
  std::vector<std::unique_ptr<apps::ResponseServer>> servers;
  std::unique_ptr<apps::RequestClient> client;
};

/// An upload of `bytes` from the client to server 1's port 5001, migrated to
/// server 2 after `after` bytes; server 2's sink continues server 1's stream.
struct MigratedUpload {
  MigratedUpload(Lab& lab, uint64_t bytes, uint64_t after)
      : sink1(lab.stack_of(1), {}, lab.console),
        sink2(lab.stack_of(2), continuing(sink1), lab.console),
        sender(*lab.client_tcp, sender_config(bytes), lab.console) {
    lab.gw->migrator().migrate_service(ep("10.0.2.10", 5001), ep("10.0.2.20", 5001), core::Trigger::after_bytes(after),
                                       0);
  }
  static apps::BulkSinkConfig continuing(const apps::BulkSink& before) {
    apps::BulkSinkConfig c;
    c.continues = &before;
    return c;
  }
  static apps::BulkSenderConfig sender_config(uint64_t bytes) {
    apps::BulkSenderConfig c;
    c.server = ip("10.0.2.10");
    c.bytes = bytes;
    return c;
  }
  apps::BulkSink sink1;
  apps::BulkSink sink2;
  apps::BulkSender sender;
};

size_t count_of(const std::vector<std::string>& v, const std::string& s) {
  size_t n = 0;
  for (const auto& x : v) n += x == s ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("the seed experiment: 2 replies from server 1, then 8 from server 2, one connection") {
  for (bool timestamps : {false, true}) {
    CAPTURE(timestamps);
    tcp::TcpConfig client_cfg;
    client_cfg.timestamps = timestamps;
    Lab lab(7, 0, client_cfg);
    RequestPair apps(lab, 10, 100_ms);
    lab.migrate(core::Trigger::after_requests(2), "10.0.2.20");
    lab.sim.run();
    const auto& r = apps.client->responses();
    REQUIRE(r.size() == 10);
    for (size_t i = 0; i < 10; ++i) CHECK(r[i] == (i < 2 ? "Hello, I'm Server 1" : "Hello, I'm Server 2"));
    CHECK(apps.client->closed());
    CHECK(apps.client->close_reason() == tcp::CloseReason::Normal);
    CHECK(apps.servers[0]->requests().size() == 2);
    CHECK(apps.servers[1]->requests().size() == 8);
    CHECK(apps.servers[1]->requests().front() == "Hi, I'm Client2");
    CHECK(apps.servers[0]->connections() == 1);
    CHECK(apps.servers[1]->connections() == 1);
    const auto& recs = lab.gw->migrator().records();
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].outcome == core::Outcome::Completed);
    CHECK(recs[0].syn_sent == 1);
    CHECK(recs[0].held >= 1);
    CHECK(recs[0].new_options.timestamps == timestamps);
    const auto& c = lab.gw->migrator().counters();
    CHECK(c[core::Reason::HoldOverflow] == 0);
    CHECK(c.resets_sent == 1);
  }
}

TEST_CASE("runtime host: server 2 joins the network when the migration triggers") {
  // Like the scenario: server 2 does not exist until the trigger; the
  // migration waits for it (wait_for_target) and proceeds once it has booted.
  sim::Simulator sim(3);
  net::Network net(sim);
  std::string text;
  apps::Console console(&text);
  net::Node& client = net.add_host("client");
  auto& gw = net.add_node<gateway::GatewayNode>("gw");
  net::Switch& sw = net.add_switch("sw");
  net::Node& s1 = net.add_host("server1");
  net::LinkParams lp;
  net.connect(client, gw, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
  gw.set_client_facing(gw.interface(0));
  net.connect(gw, sw, lp, addr("10.0.2.254/24"));
  net.connect(sw, s1, lp, std::nullopt, addr("10.0.2.10/24"));
  tcp::TcpStack ctcp(client), s1tcp(s1);
  apps::ResponseServer srv1(s1tcp, {}, console);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.10");
  cc.count = 6;
  cc.interval = 50_ms;
  cc.keep_text = true;
  apps::RequestClient cli(ctcp, cc, console);
  std::unique_ptr<tcp::TcpStack> s2tcp;
  std::unique_ptr<apps::ResponseServer> srv2;

  struct Provision : core::MigrationObserver {
    std::function<void()> fn;
    void on_triggered(const core::MigrationRecord&) override { fn(); }
  } obs;
  // Provisioning runs in events of its own: never inside the core's callback.
  auto boot = [&] {
    apps::ResponseServerConfig sc;
    sc.response = "Hello, I'm Server 2";
    srv2 = std::make_unique<apps::ResponseServer>(*s2tcp, sc, console);
    gw.migrator().target_ready(ep("10.0.2.20", 80), sim.now().ns());
    gw.reschedule();
  };
  auto add = [&] {
    net::Node& s2 = net.add_host("server2");
    net.connect(sw, s2, lp, std::nullopt, addr("10.0.2.20/24"));
    s2tcp = std::make_unique<tcp::TcpStack>(s2);
    sim.schedule_in(10_ms, [b = &boot] { (*b)(); });
  };
  obs.fn = [&] { sim.schedule_in(0_ns, [a = &add] { (*a)(); }); };
  gw.migrator().set_observer(&obs);
  gw.migrator().migrate_service(ep("10.0.2.10", 80), ep("10.0.2.20", 80), core::Trigger::after_requests(2), 0,
                                true);
  sim.run();
  REQUIRE(cli.responses().size() == 6);
  CHECK(count_of(cli.responses(), "Hello, I'm Server 1") == 2);
  CHECK(count_of(cli.responses(), "Hello, I'm Server 2") == 4);
  REQUIRE(srv2 != nullptr);
  CHECK(srv2->connections() == 1);
}

TEST_CASE("a bulk upload migrated mid-stream arrives byte-exact across the two servers") {
  for (uint64_t seed : {1, 2, 3}) {
    for (double loss : {0.0, 0.01}) {
      CAPTURE(seed);
      CAPTURE(loss);
      Lab lab(seed, loss);
      MigratedUpload up(lab, 3'000'000, 1'000'000);
      const apps::BulkSink& sink1 = up.sink1;
      const apps::BulkSink& sink2 = up.sink2;
      const apps::BulkSender& sender = up.sender;
      lab.sim.run();
      const auto& recs = lab.gw->migrator().records();
      REQUIRE(recs.size() == 1);
      CHECK(recs[0].outcome == core::Outcome::Completed);
      if (loss == 0) {
        // Without loss nothing waits for a retransmission: the drain and the
        // replay take a few round trips of 4.4 ms, plus at most one delayed
        // ACK (40 ms) when the last segment before the hold was an odd one
        // (server 1 then acknowledges it only when its delayed-ACK timer fires).
        CHECK(recs[0].client_stall() < 60'000'000);
        CHECK(lab.client_tcp->stats().resets_sent == 0);
      }
      CHECK(sink1.report().errors == 0);
      CHECK(sink2.report().errors == 0);
      CHECK(sink1.report().bytes >= 1'000'000);
      CHECK(sink1.report().bytes + sink2.report().bytes == 3'000'000);
      CHECK(sink2.report().finished.has_value());
      CHECK(sender.closed());
      CHECK(sender.close_reason() == tcp::CloseReason::Normal);
    }
  }
}

TEST_CASE("server 2 with another window scale and no SACK: the transfer still completes byte-exact") {
  tcp::TcpConfig s2;
  s2.sack = false;
  s2.window_scale_space = 65535 * 4;  // shift 2 instead of 7
  Lab lab(5, 0.01, {}, s2);
  MigratedUpload up(lab, 2'000'000, 500'000);
  const apps::BulkSink& sink1 = up.sink1;
  const apps::BulkSink& sink2 = up.sink2;
  const apps::BulkSender& sender = up.sender;
  lab.sim.run();
  const auto& rec = lab.gw->migrator().records().at(0);
  CHECK(rec.outcome == core::Outcome::Completed);
  CHECK_FALSE(rec.new_options.sack_permitted);
  CHECK(rec.new_options.window_scale == std::optional<uint8_t>(2));
  CHECK(rec.old_options.window_scale == std::optional<uint8_t>(7));
  CHECK(sink1.report().bytes + sink2.report().bytes == 2'000'000);
  CHECK(sink2.report().errors == 0);
  CHECK(sender.close_reason() == tcp::CloseReason::Normal);
}

TEST_CASE("S1 -> S2 -> S1 and S1 -> S2 -> S3: chained migrations compose") {
  for (const char* last : {"10.0.2.10", "10.0.2.30"}) {
    CAPTURE(last);
    tcp::TcpConfig cc;
    Lab lab(11, 0, cc);
    RequestPair apps(lab, 9, 100_ms);
    lab.migrate(core::Trigger::after_requests(3), "10.0.2.20");
    lab.sim.schedule_at(sim::Time::zero() + 550_ms, [&] {
      auto r = lab.gw->migrator().migrate_flow(
          {{ip("10.0.1.1"), apps.client->socket()->tuple().local_port}, ep("10.0.2.10", 80)}, ep(last, 80),
          core::Trigger::after_requests(6), lab.sim.now().ns());
      REQUIRE(r.ok());
      lab.gw->reschedule();
    });
    lab.sim.run();
    const auto& r = apps.client->responses();
    REQUIRE(r.size() == 9);
    const std::string third = std::string(last) == "10.0.2.10" ? "Hello, I'm Server 1" : "Hello, I'm Server 3";
    for (size_t i = 0; i < 9; ++i) {
      CAPTURE(i);
      CHECK(r[i] == (i < 3 ? "Hello, I'm Server 1" : i < 6 ? "Hello, I'm Server 2" : third));
    }
    CHECK(apps.client->close_reason() == tcp::CloseReason::Normal);
    REQUIRE(lab.gw->migrator().records().size() == 2);
    CHECK(lab.gw->migrator().records()[1].outcome == core::Outcome::Completed);
  }
}

TEST_CASE("target answers the replayed SYN with RST: the migration aborts, the flow stays on server 1") {
  Lab lab(2);
  RequestPair apps(lab, 5, 100_ms);
  // Nothing listens on port 81 of server 2: its stack answers with RST.
  lab.gw->migrator().migrate_service(ep("10.0.2.10", 80), ep("10.0.2.20", 81), core::Trigger::after_requests(2), 0);
  lab.sim.run();
  REQUIRE(apps.client->responses().size() == 5);
  CHECK(count_of(apps.client->responses(), "Hello, I'm Server 1") == 5);
  CHECK(apps.client->close_reason() == tcp::CloseReason::Normal);
  CHECK(lab.gw->migrator().records().at(0).outcome == core::Outcome::AbortedRst);
}

TEST_CASE("unreachable target: the replayed SYN is retried, then the migration aborts") {
  core::Config gc;
  gc.replay_rto = 200'000'000;  // 200 ms
  gc.replay_retries = 2;
  Lab lab(2, 0, {}, {}, gc);
  RequestPair apps(lab, 5, 100_ms);
  lab.gw->migrator().migrate_service(ep("10.0.2.10", 80), ep("10.0.2.99", 80), core::Trigger::after_requests(2), 0);
  lab.sim.run();
  REQUIRE(apps.client->responses().size() == 5);
  CHECK(count_of(apps.client->responses(), "Hello, I'm Server 1") == 5);
  CHECK(apps.client->close_reason() == tcp::CloseReason::Normal);
  const auto& rec = lab.gw->migrator().records().at(0);
  CHECK(rec.outcome == core::Outcome::AbortedTimeout);
  CHECK(rec.syn_sent == 3);
  CHECK(rec.finished_at - rec.safe_point_at == 200'000'000 + 400'000'000 + 800'000'000);
}

TEST_CASE("property: random flows, loss, seeds and migration points never lose or duplicate a byte") {
  // Each run: one to three concurrent bulk uploads (ports 5001..) through a
  // lossy path, each migrated S1 -> S2 after its own random byte count and
  // sometimes again S2 -> S3; for every flow the three sinks together hold
  // exactly its stream.
  struct Upload {
    uint16_t port = 0;
    uint64_t total = 0, first = 0, second = 0;
    bool chain = false;
    std::unique_ptr<apps::BulkSink> sink1, sink2, sink3;
    std::unique_ptr<apps::BulkSender> sender;
  };
  struct Chain : core::MigrationObserver {
    Lab* lab = nullptr;
    std::vector<Upload>* uploads = nullptr;
    void on_finished(const core::MigrationRecord& r) override {
      if (r.outcome != core::Outcome::Completed || r.to.ip.value != ip("10.0.2.20").value) return;
      for (Upload& u : *uploads) {
        if (u.port != r.flow.service.port || !u.chain) continue;
        // Not from inside the core: in an event of its own.
        lab->sim.schedule_in(0_ns, [this, flow = r.flow, next = u.second] {
          (void)lab->gw->migrator().migrate_flow(flow, {ip("10.0.2.30"), flow.service.port},
                                                 core::Trigger::after_bytes(next), lab->sim.now().ns());
          lab->gw->reschedule();
        });
      }
    }
  };
  sim::Rng pick(2024);
  for (int run = 0; run < 12; ++run) {
    const uint64_t seed = pick.next_u64() % 1000;
    const double loss = static_cast<double>(pick.next_u64() % 4) / 100.0;  // 0..3 %
    const auto count = static_cast<std::size_t>(1 + pick.next_u64() % 3);
    CAPTURE(run);
    CAPTURE(seed);
    CAPTURE(loss);
    CAPTURE(count);
    Lab lab(seed, loss);
    std::vector<Upload> uploads(count);
    for (std::size_t k = 0; k < count; ++k) {
      Upload& u = uploads[k];
      u.port = static_cast<uint16_t>(5001 + k);
      u.total = 300'000 + pick.next_u64() % 600'000;
      u.first = 1 + pick.next_u64() % (u.total / 2);
      u.second = u.first + (u.total - u.first) / 2;
      u.chain = pick.next_u64() % 2 == 0;
      apps::BulkSinkConfig c1;
      c1.port = u.port;
      u.sink1 = std::make_unique<apps::BulkSink>(lab.stack_of(1), c1, lab.console);
      apps::BulkSinkConfig c2 = c1;
      c2.continues = u.sink1.get();
      u.sink2 = std::make_unique<apps::BulkSink>(lab.stack_of(2), c2, lab.console);
      apps::BulkSinkConfig c3 = c1;
      c3.continues = u.sink2.get();
      u.sink3 = std::make_unique<apps::BulkSink>(lab.stack_of(3), c3, lab.console);
      apps::BulkSenderConfig bc;
      bc.server = ip("10.0.2.10");
      bc.port = u.port;
      bc.bytes = u.total;
      bc.start = sim::Time::zero() + sim::Duration::milliseconds(static_cast<int64_t>(pick.next_u64() % 20));
      u.sender = std::make_unique<apps::BulkSender>(*lab.client_tcp, bc, lab.console);
      lab.gw->migrator().migrate_service(ep("10.0.2.10", u.port), ep("10.0.2.20", u.port),
                                         core::Trigger::after_bytes(u.first), 0);
    }
    Chain obs;
    obs.lab = &lab;
    obs.uploads = &uploads;
    lab.gw->migrator().set_observer(&obs);
    lab.sim.run();
    std::size_t migrations = 0;
    for (const Upload& u : uploads) {
      CAPTURE(u.port);
      CAPTURE(u.total);
      CAPTURE(u.first);
      CAPTURE(u.chain);
      CHECK(u.sink1->report().errors == 0);
      CHECK(u.sink2->report().errors == 0);
      CHECK(u.sink3->report().errors == 0);
      CHECK(u.sink1->report().bytes + u.sink2->report().bytes + u.sink3->report().bytes == u.total);
      CHECK(u.sender->close_reason() == tcp::CloseReason::Normal);
      CHECK(u.sink1->report().bytes >= u.first);
      CHECK(u.sink2->report().bytes > 0);
      CHECK((u.sink3->report().bytes > 0) == u.chain);
      migrations += u.chain ? 2 : 1;
    }
    CHECK(lab.gw->migrator().records().size() == migrations);
    for (const auto& r : lab.gw->migrator().records()) CHECK(r.outcome == core::Outcome::Completed);
  }
}

TEST_CASE("the same run twice gives the same trace") {
  std::string first;
  for (int i = 0; i < 2; ++i) {
    Lab lab(9, 0.02);
    RequestPair apps(lab, 10, 50_ms);
    lab.migrate(core::Trigger::after_requests(2), "10.0.2.20");
    lab.sim.run();
    CHECK(apps.client->responses().size() == 10);
    if (i == 0) {
      first = lab.trace.text();
    } else {
      CHECK(lab.trace.text() == first);
    }
  }
}

TEST_CASE("pcaps of a migration are written for every interface") {
  const std::string dir = tcpmig::testing::test_out_dir("gateway");
  Lab lab(4, 0.02);
  std::string error;
  REQUIRE(lab.net.enable_pcap(dir, error));
  RequestPair apps(lab, 10, 50_ms);
  lab.migrate(core::Trigger::after_requests(2), "10.0.2.20");
  lab.sim.run();
  lab.net.close_pcaps();
  CHECK(lab.net.pcap_error().empty());
  CHECK(apps.client->responses().size() == 10);
}

namespace {

/// The TCP segment an Ethernet frame carries, if any.
wire::Result<wire::ConstTcpSegment> tcp_in(std::span<const uint8_t> frame) {
  auto eth = wire::ConstEthernetFrame::check(frame);
  if (!eth) return eth.error();
  auto ip4 = wire::ConstIpv4Packet::check(eth->payload());
  if (!ip4) return ip4.error();
  if (ip4->protocol() != wire::ip_proto::tcp) return wire::Error::Unsupported;
  return wire::ConstTcpSegment::check(ip4->payload());
}

/// Drops the first TCP RST the interface receives (the gateway's RST to the
/// old server, lost on the way).
class DropFirstRst final : public net::ErrorModel {
 public:
  bool corrupt(uint64_t, std::span<const uint8_t> frame) override {
    if (dropped_) return false;
    auto seg = tcp_in(frame);
    if (!seg || !seg->has_flags(wire::tcp_flag::RST)) return false;
    dropped_ = true;
    return true;
  }
  bool dropped() const { return dropped_; }

 private:
  bool dropped_ = false;
};

/// Drops the first frame the interface receives whose TCP payload is `text`.
class DropPayload final : public net::ErrorModel {
 public:
  explicit DropPayload(std::string text) : text_(std::move(text)) {}
  bool corrupt(uint64_t, std::span<const uint8_t> frame) override {
    if (dropped_) return false;
    auto seg = tcp_in(frame);
    if (!seg) return false;
    const auto p = seg->payload();
    if (std::string(p.begin(), p.end()).find(text_) == std::string::npos) return false;
    dropped_ = true;
    return true;
  }
  bool dropped() const { return dropped_; }

 private:
  std::string text_;
  bool dropped_ = false;
};

/// The replies a client got, in order, by server number (1, 2, 3).
std::vector<int> servers_of(const std::vector<std::string>& responses) {
  std::vector<int> out;
  for (const std::string& r : responses) out.push_back(r.back() - '0');
  return out;
}

}  // namespace

TEST_CASE("rule 9: a return migration completes after the RST to the old server was lost, with and without loss") {
  // S1 -> S2 after 3 requests, queued behind it S2 -> S1 after 6, both
  // requested at the start. The gateway's RST to S1 is lost, so S1 still
  // holds the connection when the flow comes back: its challenge ACK gives
  // the gateway the sequence number of a valid RST, and the SYN goes again.
  // Before: the challenge ACK was swallowed, the replay timed out and the
  // client stalled for seconds (or the flow stayed on S2).
  for (const double loss : {0.0, 0.02}) {
    for (const uint64_t seed : {1, 2, 3, 4, 5}) {
      if (loss == 0 && seed > 1) continue;
      CAPTURE(loss);
      CAPTURE(seed);
      Lab lab(seed, loss);
      DropFirstRst lose_rst;
      lab.server1->interface(0).set_error_model(&lose_rst);
      RequestPair apps(lab, 9, 100_ms);
      lab.migrate(core::Trigger::after_requests(3), "10.0.2.20");
      lab.migrate(core::Trigger::after_requests(6), "10.0.2.10");
      lab.sim.run();
      CHECK(lose_rst.dropped());
      REQUIRE(apps.client->responses().size() == 9);
      CHECK(servers_of(apps.client->responses()) == std::vector<int>{1, 1, 1, 2, 2, 2, 1, 1, 1});
      CHECK(apps.client->close_reason() == tcp::CloseReason::Normal);
      const auto& recs = lab.gw->migrator().records();
      REQUIRE(recs.size() == 2);
      CHECK(recs[0].outcome == core::Outcome::Completed);
      CHECK(recs[1].outcome == core::Outcome::Completed);
      CHECK(recs[1].requested_at == recs[0].requested_at);  // both reached the flow when it opened
      // The stale connection was cleared by a RST at its own ACK, not by timeouts.
      CHECK(recs[1].target_resets >= 1);
      CHECK(recs[1].client_stall() < 1'000'000'000);
      CHECK(apps.servers[0]->connections() == 2);
    }
  }
}

TEST_CASE("rule 9: a request lost before the gateway is still counted; the cut stays at request 3") {
  // Request 3 ("Hi, I'm Client2", counted from 0) is lost on the client's
  // link. It carried the only acknowledgment of reply 2, so server 1
  // retransmits reply 2 and the client answers with a duplicate ACK whose
  // seq is past the lost request, before its own retransmission. Before:
  // that pure ACK made the retransmitted request look old, it was not
  // counted, and the cut came one request late (3 replies from server 1).
  for (const double loss : {0.0, 0.02}) {
    for (const uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
      if (loss == 0 && seed > 1) continue;
      CAPTURE(loss);
      CAPTURE(seed);
      Lab lab(seed, loss);
      DropPayload lose("Hi, I'm Client2");
      lab.gw->interface(0).set_error_model(&lose);
      RequestPair apps(lab, 10, 0_ms);  // each request at once: it acknowledges the reply
      lab.migrate(core::Trigger::after_requests(2), "10.0.2.20");
      lab.sim.run();
      CHECK(lose.dropped());
      REQUIRE(apps.client->responses().size() == 10);
      CHECK(servers_of(apps.client->responses()) == std::vector<int>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2});
      CHECK(lab.gw->migrator().records().at(0).outcome == core::Outcome::Completed);
    }
  }
}
