// The experiment's applications over the TCP stack: request/response pair
// (output, framing, timestamps-off host, no allocation per request) and the
// bulk sender/sink.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "../alloc_counter.hpp"
#include "../test_output.hpp"
#include "tcpmig/apps/bulk.hpp"
#include "tcpmig/apps/request_response.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/tcp/stack.hpp"

using namespace tcpmig;
using namespace tcpmig::sim::literals;

namespace {

net::InterfaceAddress addr(const char* s) { return *net::InterfaceAddress::parse(s); }
wire::Ipv4Address ip(const char* s) { return *wire::Ipv4Address::parse(s); }

using testing::test_out_dir;

// client -- gateway(router) -- server1, like the seed's topology before migration.
struct World {
  explicit World(const tcp::TcpConfig& client_cfg = {}, const tcp::TcpConfig& server_cfg = {}, double loss = 0,
                 uint64_t seed = 1)
      : sim(seed), net(sim) {
    auto& c = net.add_host("client");
    auto& g = net.add_router("gateway");
    auto& s = net.add_host("server1");
    net::LinkParams lp;
    lp.rate_bps = 100'000'000;
    lp.delay = 1_ms;
    lp.loss = loss;
    net.connect(c, g, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
    net.connect(g, s, lp, addr("10.0.2.254/24"), addr("10.0.2.1/24"));
    client = std::make_unique<tcp::TcpStack>(c, client_cfg);
    server = std::make_unique<tcp::TcpStack>(s, server_cfg);
  }
  sim::Simulator sim;
  net::Network net;
  std::unique_ptr<tcp::TcpStack> client, server;
};

std::string run_experiment(const tcp::TcpConfig& client_cfg, const tcp::TcpConfig& server_cfg, uint32_t count,
                           std::vector<std::string>* responses = nullptr, std::vector<std::string>* requests = nullptr) {
  World w(client_cfg, server_cfg);
  std::string out;
  apps::Console console(&out);
  apps::ResponseServerConfig sc;
  sc.keep_text = true;
  apps::ResponseServer server(*w.server, sc, console);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  cc.count = count;
  cc.keep_text = true;
  apps::RequestClient client(*w.client, cc, console);
  w.sim.run();
  CHECK(client.done());
  CHECK(client.closed());
  CHECK(client.close_reason() == tcp::CloseReason::Normal);
  if (responses != nullptr) *responses = client.responses();
  if (requests != nullptr) *requests = server.requests();
  return out;
}

/// A request client of 10.0.2.1 sending `count` requests, `interval` apart.
apps::RequestClientConfig client_of(uint32_t count, sim::Duration interval) {
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  cc.count = count;
  cc.interval = interval;
  return cc;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("request/response: 10 requests over one connection, each answered, printed with time and node") {
  std::vector<std::string> responses;
  std::vector<std::string> requests;
  const std::string out = run_experiment({}, {}, 10, &responses, &requests);
  REQUIRE(responses.size() == 10);
  REQUIRE(requests.size() == 10);
  for (uint32_t i = 0; i < 10; ++i) {
    CHECK(requests[i] == "Hi, I'm Client" + std::to_string(i));
    CHECK(responses[i] == "Hello, I'm Server 1");
  }
  CHECK(count_of(out, " client sent: Hi, I'm Client") == 10);
  CHECK(count_of(out, " client received: Hello, I'm Server 1") == 10);
  CHECK(count_of(out, " server1 received: Hi, I'm Client") == 10);
  CHECK(count_of(out, " server1 connection from 10.0.1.1:") == 1);
  // One connection throughout: a single connect line.
  CHECK(count_of(out, " client connected 10.0.1.1:") == 1);
  // Lines start with the simulated time: the first request leaves after the handshake (2 RTTs of 2 hops... ~4 ms).
  CHECK(out.rfind("0.00", 0) == 0);
  CHECK(out.find("0.004") != std::string::npos);
  // Deterministic: a second run prints the same bytes.
  CHECK(run_experiment({}, {}, 10) == out);
}

TEST_CASE("request client: response bytes, first and last delivery, the longest pause, completion") {
  World w;
  apps::Console console;
  apps::ResponseServer server(*w.server, apps::ResponseServerConfig{}, console);
  apps::RequestClient client(*w.client, client_of(3, 100_ms), console);
  CHECK_FALSE(client.completed().has_value());
  w.sim.run();
  REQUIRE(client.done());
  CHECK(client.bytes_received() == 3 * std::string("Hello, I'm Server 1\n").size());
  const apps::DeliveryTimes& d = client.deliveries();
  REQUIRE(d.first.has_value());
  REQUIRE(d.last.has_value());
  // Each response comes one interval plus one round trip (2 hops of 1 ms
  // each way, plus serialization) after the one before.
  CHECK(d.max_gap > 104_ms);
  CHECK(d.max_gap < 105_ms);
  CHECK(*d.last - *d.first <= d.max_gap + d.max_gap);
  CHECK(client.completed() == d.last);  // the last response completed it
}

TEST_CASE("request/response with the seed's tcp_timestamps=0 server and client") {
  tcp::TcpConfig no_ts;
  no_ts.timestamps = false;
  std::vector<std::string> responses;
  run_experiment(no_ts, no_ts, 5, &responses);
  CHECK(responses.size() == 5);
  std::vector<std::string> r2;
  run_experiment({}, no_ts, 5, &r2);  // mixed: negotiated off
  CHECK(r2.size() == 5);
}

TEST_CASE("framing: long requests split over many segments and responses still match one per line") {
  tcp::TcpConfig small;
  small.mss = 100;
  World w(small, small);
  std::string out;
  apps::Console console(&out);
  apps::ResponseServerConfig sc;
  sc.response = std::string(250, 'R');
  sc.keep_text = true;
  apps::ResponseServer server(*w.server, sc, console);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  cc.count = 4;
  cc.keep_text = true;
  cc.interval = 10_ms;
  cc.request_prefix = std::string(300, 'q') + " #";
  apps::RequestClient client(*w.client, cc, console);
  w.sim.run();
  REQUIRE(server.requests().size() == 4);
  CHECK(server.requests()[3] == std::string(300, 'q') + " #3");
  REQUIRE(client.responses().size() == 4);
  CHECK(client.responses()[0] == std::string(250, 'R'));
  CHECK(client.socket() == nullptr);  // closed and released
}

TEST_CASE("bulk: 5 MB over a lossy path arrive verified; goodput and completion time are reported") {
  World w({}, {}, 0.01, 3);
  std::string pcap_dir = test_out_dir("apps_bulk");
  std::string err;
  REQUIRE(w.net.enable_pcap(pcap_dir, err));
  std::string out;
  apps::Console console(&out);
  apps::BulkSink sink(*w.server, apps::BulkSinkConfig{}, console);
  apps::BulkSenderConfig bc;
  bc.server = ip("10.0.2.1");
  bc.bytes = 5'000'000;
  apps::BulkSender sender(*w.client, bc, console);
  w.sim.run();
  w.net.close_pcaps();
  const apps::BulkReport& r = sink.report();
  CHECK(r.bytes == 5'000'000);
  CHECK(r.errors == 0);
  CHECK_FALSE(r.first_error.has_value());
  REQUIRE(r.finished.has_value());
  CHECK(r.goodput_bps() > 10'000'000);
  CHECK(r.goodput_bps() < 100'000'000);
  CHECK(sender.closed());
  CHECK(sender.close_reason() == tcp::CloseReason::Normal);
  CHECK(count_of(out, "server1 received 5000000 bytes, 0 wrong, in ") == 1);
  // Deliveries: the first after the handshake, the last no later than the
  // FIN; a stall (a loss repaired) is longer than one RTT (4 ms here) but
  // shorter than the transfer.
  REQUIRE(r.deliveries.first.has_value());
  REQUIRE(r.deliveries.last.has_value());
  CHECK(*r.deliveries.first > r.accepted);
  CHECK(*r.deliveries.last == r.last_byte);
  CHECK(*r.deliveries.last <= *r.finished);
  CHECK(r.deliveries.max_gap > 4_ms);
  CHECK(r.deliveries.max_gap < *r.deliveries.last - *r.deliveries.first);
  // The sender completed once its FIN was acknowledged and the sink's FIN
  // arrived: after the sink saw the sender's FIN.
  REQUIRE(sender.completed().has_value());
  CHECK(*sender.completed() > *r.finished);
  // Its retransmissions count on the client's stack though its socket is gone.
  CHECK(sender.socket() == nullptr);
  CHECK(w.client->stats().retransmits_active > 0);
  CHECK(w.client->stats().retransmits_passive == 0);
}

TEST_CASE("retransmits: a stack's totals keep the counts of sockets closed and destroyed, by active and passive open") {
  World w({}, {}, 0.02, 5);
  // Sends `total` bytes and closes (client), or reads everything and closes
  // on the FIN (server); either adds its socket's retransmits as it closes.
  struct Side : tcp::TcpEvents {
    uint64_t total = 0;        // bytes to send (0: the server)
    uint64_t queued = 0;       // bytes handed to TCP
    uint64_t retransmits = 0;  // TcpSocketStats::retransmits of closed sockets
    int closed = 0;            // sockets closed
    void pump(tcp::TcpSocket& s) {
      std::array<uint8_t, 4096> buf{};
      while (queued < total) {
        const std::size_t n = s.send({buf.data(), std::min<uint64_t>(buf.size(), total - queued)});
        if (n == 0) return;
        queued += n;
      }
      if (total > 0) s.close();
    }
    void on_accept(tcp::TcpSocket&, tcp::TcpSocket& c) override { c.set_events(this); }
    void on_connected(tcp::TcpSocket& s) override { pump(s); }
    void on_writable(tcp::TcpSocket& s) override { pump(s); }
    void on_readable(tcp::TcpSocket& s) override {
      std::array<uint8_t, 4096> buf;
      while (s.recv(buf) > 0) {
      }
    }
    void on_peer_fin(tcp::TcpSocket& s) override { s.close(); }
    void on_closed(tcp::TcpSocket& s, tcp::CloseReason) override {
      retransmits += s.stats().retransmits;
      ++closed;
      s.close();
    }
  } client, server;
  client.total = 1'000'000;
  REQUIRE(w.server->listen(5001, &server) != nullptr);
  REQUIRE(w.client->connect(ip("10.0.2.1"), 5001, &client) != nullptr);
  w.sim.run();
  CHECK(client.closed == 1);
  CHECK(server.closed == 1);
  CHECK(w.client->socket_count() == 0);  // destroyed after TIME_WAIT
  CHECK(client.retransmits > 0);         // 2% loss each way
  CHECK(w.client->stats().retransmits_active == client.retransmits);
  CHECK(w.client->stats().retransmits_passive == 0);
  CHECK(w.server->stats().retransmits_passive == server.retransmits);
  CHECK(w.server->stats().retransmits_active == 0);
}

TEST_CASE("bulk pattern: period 65521 (prime), so no power-of-two shift matches") {
  CHECK(apps::bulk_pattern(5) == apps::bulk_pattern(5 + 65521));
  for (uint64_t shift : {1ULL, 256ULL, 1448ULL, 4096ULL, 65536ULL, 1ULL << 20}) {
    CAPTURE(shift);
    int same = 0;
    for (uint64_t k = 0; k < 1000; ++k) same += apps::bulk_pattern(k) == apps::bulk_pattern(k + shift) ? 1 : 0;
    CHECK(same < 20);  // about 1000/256 by chance
  }
  std::vector<uint8_t> buf(200'000);
  apps::fill_bulk_pattern(12345, buf);
  CHECK(buf[0] == apps::bulk_pattern(12345));
  CHECK(buf[199'999] == apps::bulk_pattern(12345 + 199'999));
  CHECK(apps::matches_bulk_pattern(12345, buf));
  buf[150'000] ^= 1;
  CHECK_FALSE(apps::matches_bulk_pattern(12345, buf));
}

TEST_CASE("bulk sink: wrong bytes are counted and the first wrong offset reported") {
  World w;
  std::string out;
  apps::Console console(&out);
  apps::BulkSink sink(*w.server, apps::BulkSinkConfig{}, console);
  struct Liar : tcp::TcpEvents {
    void on_connected(tcp::TcpSocket& s) override {
      std::vector<uint8_t> data(10'000);
      apps::fill_bulk_pattern(0, data);
      data[7000] ^= 0x55;
      data[7001] ^= 0x55;
      s.send(data);
      s.close();
    }
    void on_closed(tcp::TcpSocket& s, tcp::CloseReason) override { s.close(); }
  } liar;
  w.client->connect(ip("10.0.2.1"), 5001, &liar);
  w.sim.run();
  CHECK(sink.report().bytes == 10'000);
  CHECK(sink.report().errors == 2);
  CHECK(sink.report().first_error == 7000);
  CHECK(count_of(out, "received 10000 bytes, 2 wrong") == 1);
}

TEST_CASE("request client: no server listening -> refused, printed, no request sent") {
  World w;
  std::string out;
  apps::Console console(&out);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  apps::RequestClient client(*w.client, cc, console);
  w.sim.run();
  CHECK(client.closed());
  CHECK(client.close_reason() == tcp::CloseReason::Refused);
  CHECK(client.sent() == 0);
  CHECK(count_of(out, "client connection closed (refused)") == 1);
}

TEST_CASE("a response larger than the send buffer arrives whole; CRLF lines lose the CR") {
  tcp::TcpConfig small;
  small.send_buffer = 4096;
  World w({}, small);
  std::string out;
  apps::Console console(&out);
  apps::ResponseServerConfig sc;
  sc.response = std::string(50000, 'x') + "\r";  // sent as "xxx...x\r\n"
  apps::ResponseServer server(*w.server, sc, console);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  cc.count = 3;
  cc.interval = 1_ms;
  cc.keep_text = true;
  apps::RequestClient client(*w.client, cc, console);
  w.sim.run();
  REQUIRE(client.responses().size() == 3);
  for (const auto& r : client.responses()) CHECK(r == std::string(50000, 'x'));
  CHECK(client.close_reason() == tcp::CloseReason::Normal);
  // Console lines carry the node names by default.
  CHECK(count_of(out, " server1 received: Hi, I'm Client") == 3);
  CHECK(count_of(out, " client sent: Hi, I'm Client") == 3);
}

TEST_CASE("a client with zero requests connects and closes") {
  World w;
  std::string out;
  apps::Console console(&out);
  apps::ResponseServer server(*w.server, apps::ResponseServerConfig{}, console);
  apps::RequestClientConfig cc;
  cc.server = ip("10.0.2.1");
  cc.count = 0;
  apps::RequestClient client(*w.client, cc, console);
  w.sim.run();
  CHECK(client.sent() == 0);
  CHECK(client.closed());
  CHECK(client.close_reason() == tcp::CloseReason::Normal);
  CHECK(server.connections() == 1);
  CHECK(client.completed().has_value());  // nothing to wait for
  CHECK(client.bytes_received() == 0);
  CHECK_FALSE(client.deliveries().first.has_value());
}

TEST_CASE("request/response keeping no texts: nothing allocated per request once connected; the counts are right") {
  // Quiet (a console printing nowhere, as --quiet) and printing to a file.
  for (const bool print : {false, true}) {
    CAPTURE(print);
    std::FILE* sink = print ? std::fopen("/dev/null", "w") : nullptr;
    World w;
    apps::Console console = print ? apps::Console(sink) : apps::Console();
    apps::ResponseServer server(*w.server, apps::ResponseServerConfig{}, console);
    apps::RequestClient client(*w.client, client_of(3000, 1_ms), console);
    w.sim.run_until(sim::Time::zero() + 1_s);  // connected; scratch buffers at their high-water marks
    const uint32_t sent_before = client.sent();
    const uint64_t before = testing::allocations();
    w.sim.run_until(sim::Time::zero() + 6_s);
    const uint64_t during = testing::allocations() - before;
    CHECK(client.sent() - sent_before > 500);
    CHECK(during == 0);
    w.sim.run();
    CHECK(client.done());
    CHECK(client.received() == 3000);
    CHECK(server.received() == 3000);
    CHECK(client.responses().empty());
    CHECK(server.requests().empty());
    if (sink != nullptr) std::fclose(sink);
  }
}
