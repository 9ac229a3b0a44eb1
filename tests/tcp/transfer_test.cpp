// End-to-end transfers client -> router -> server: clean, lossy (every k-th
// packet dropped in each direction), reordered, duplicated, option matrix,
// sequence wraparound, simultaneous open/close, pcaps and trace determinism.
#include <doctest/doctest.h>

#include "tcp_lab.hpp"

using namespace tcplab;

TEST_CASE("a clean 1 MB transfer arrives intact, without retransmission, and both sides close normally") {
  Lab lab;
  const TransferResult r = transfer(lab, 1'000'000);
  CHECK(r.intact);
  CHECK(r.client_closed == tcp::CloseReason::Normal);
  CHECK(r.server_closed == tcp::CloseReason::Normal);
  CHECK(r.client_ts);
  CHECK(r.client_sack);
  CHECK(r.client_ws);
  CHECK(r.server_ts);
  CHECK(lab.cstack->connection_count() == 0);  // TIME_WAIT ended
  CHECK(lab.sstack->connection_count() == 0);
  CHECK(lab.cstack->socket_count() == 0);
  CHECK(lab.sstack->socket_count() == 1);  // the listener
}

namespace {

TcpConfig no_options() {
  TcpConfig c;
  c.timestamps = false;
  c.sack = false;
  c.window_scaling = false;
  return c;
}

// Packets a clean transfer of `bytes` delivers to the client and the server.
std::pair<uint64_t, uint64_t> packet_counts(const TcpConfig& cfg, uint64_t bytes) {
  Lab lab(cfg, cfg);
  const TransferResult r = transfer(lab, bytes);
  REQUIRE(r.intact);
  return {lab.cfilter->seen, lab.sfilter->seen};
}

void drop_every_k(const TcpConfig& cfg, uint64_t bytes) {
  const auto [to_client, to_server] = packet_counts(cfg, bytes);
  REQUIRE(to_client > 5);
  REQUIRE(to_server > 10);
  for (int dir = 0; dir < 2; ++dir) {
    const uint64_t n = dir == 0 ? to_server : to_client;
    for (uint64_t k = 1; k <= n; ++k) {
      CAPTURE(dir);
      CAPTURE(k);
      Lab lab(cfg, cfg);
      const TransferResult r = transfer(lab, bytes, [&](Lab& l) {
        (dir == 0 ? l.sfilter : l.cfilter)->drop_index = k;
      });
      CHECK(r.intact);
      CHECK((dir == 0 ? lab.sfilter : lab.cfilter)->dropped == 1);
      CHECK(r.client_closed == tcp::CloseReason::Normal);
      CHECK(r.server_closed == tcp::CloseReason::Normal);
      CHECK(lab.cstack->connection_count() == 0);
      CHECK(lab.sstack->connection_count() == 0);
    }
  }
}

}  // namespace

TEST_CASE("dropping the k-th packet of a 20 KB transfer, for every k, each direction (SACK + timestamps)") {
  drop_every_k(TcpConfig{}, 20'000);
}

TEST_CASE("dropping the k-th packet of a 20 KB transfer, for every k, each direction (NewReno, no options)") {
  drop_every_k(no_options(), 20'000);
}

TEST_CASE("dropping the k-th packet of a 200 KB transfer in flight exercises fast recovery") {
  for (const bool sack : {true, false}) {
    TcpConfig cfg;
    cfg.sack = sack;
    for (uint64_t k : {20, 40, 60, 80, 100, 120}) {
      CAPTURE(sack);
      CAPTURE(k);
      Lab lab(cfg, cfg);
      const TransferResult r = transfer(lab, 200'000, [&](Lab& l) { l.sfilter->drop_index = k; });
      CHECK(r.intact);
      CHECK(r.client_closed == tcp::CloseReason::Normal);
    }
  }
}

TEST_CASE("reordering and duplication on both links: every byte exactly once, in order") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    for (const bool sack : {true, false}) {
      CAPTURE(seed);
      CAPTURE(sack);
      net::LinkParams lp = Lab::default_link();
      lp.reorder = 0.05;
      lp.reorder_delay = 3_ms;
      lp.duplicate = 0.05;
      TcpConfig cfg;
      cfg.sack = sack;
      Lab lab(cfg, cfg, lp, seed);
      const TransferResult r = transfer(lab, 300'000);
      CHECK(r.intact);
      CHECK(r.client_closed == tcp::CloseReason::Normal);
      CHECK(r.server_closed == tcp::CloseReason::Normal);
    }
  }
}

TEST_CASE("random loss with reordering and duplication: intact for several seeds") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (const bool sack : {true, false}) {
      CAPTURE(seed);
      CAPTURE(sack);
      net::LinkParams lp = Lab::default_link();
      lp.loss = 0.03;
      lp.reorder = 0.02;
      lp.duplicate = 0.02;
      TcpConfig cfg;
      cfg.sack = sack;
      Lab lab(cfg, cfg, lp, seed);
      const TransferResult r = transfer(lab, 300'000);
      CHECK(r.intact);
      CHECK(r.client_closed == tcp::CloseReason::Normal);
    }
  }
}

TEST_CASE("CUBIC senders: random loss, intact for several seeds") {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    net::LinkParams lp = Lab::default_link();
    lp.loss = 0.02;
    TcpConfig cfg;
    cfg.congestion_control = "cubic";
    Lab lab(cfg, cfg, lp, seed);
    const TransferResult r = transfer(lab, 500'000);
    CHECK(r.intact);
    CHECK(r.client_closed == tcp::CloseReason::Normal);
  }
}

TEST_CASE("every on/off combination of timestamps, SACK and window scaling on each side") {
  for (unsigned mask = 0; mask < 64; ++mask) {
    TcpConfig c;
    TcpConfig s;
    c.timestamps = (mask & 1) != 0;
    c.sack = (mask & 2) != 0;
    c.window_scaling = (mask & 4) != 0;
    s.timestamps = (mask & 8) != 0;
    s.sack = (mask & 16) != 0;
    s.window_scaling = (mask & 32) != 0;
    CAPTURE(mask);
    net::LinkParams lp = Lab::default_link();
    lp.loss = 0.02;
    Lab lab(c, s, lp, mask + 1);
    const TransferResult r = transfer(lab, 100'000);
    CHECK(r.intact);
    CHECK(r.client_ts == (c.timestamps && s.timestamps));
    CHECK(r.server_ts == (c.timestamps && s.timestamps));
    CHECK(r.client_sack == (c.sack && s.sack));
    CHECK(r.server_sack == (c.sack && s.sack));
    CHECK(r.client_ws == (c.window_scaling && s.window_scaling));
    CHECK(r.server_ws == (c.window_scaling && s.window_scaling));
    CHECK(r.client_closed == tcp::CloseReason::Normal);
  }
}

TEST_CASE("initial sequence numbers a few KB below 2^32: the transfer wraps and stays correct") {
  for (const bool sack : {true, false}) {
    CAPTURE(sack);
    TcpConfig cfg;
    cfg.sack = sack;
    cfg.isn = 0xffff'ffffU - 3000;
    net::LinkParams lp = Lab::default_link();
    lp.loss = 0.02;
    Lab lab(cfg, cfg, lp, 7);
    Recorder server_app;
    Sender client_app;
    client_app.total = 200'000;
    client_app.close_when_done = false;
    lab.sstack->listen(80, &server_app);
    TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
    REQUIRE(c != nullptr);
    lab.sim.run_until(sim::Time::from_ns(5'000'000'000));
    CHECK(c->iss().raw() == 0xffff'ffffU - 3000);
    CHECK(c->snd_una().raw() == static_cast<uint32_t>(0xffff'ffffU - 3000 + 1 + 200'000));
    CHECK(c->snd_una().raw() < 300'000);  // wrapped
    REQUIRE(server_app.data.size() == 200'000);
    bool ok = true;
    for (std::size_t k = 0; k < server_app.data.size(); ++k) ok = ok && server_app.data[k] == pattern(k);
    CHECK(ok);
  }
}

TEST_CASE("simultaneous open: two connects crossing become one connection") {
  Lab lab;
  Recorder a;
  Recorder b;
  TcpSocket* ca = lab.cstack->connect(ip("10.0.2.1"), 5000, &a, 6000);
  TcpSocket* cb = lab.sstack->connect(ip("10.0.1.1"), 6000, &b, 5000);
  REQUIRE(ca != nullptr);
  REQUIRE(cb != nullptr);
  lab.sim.run_until(sim::Time::from_ns(100'000'000));
  CHECK(ca->state() == TcpState::Established);
  CHECK(cb->state() == TcpState::Established);
  CHECK(a.saw("connected"));
  CHECK(b.saw("connected"));
  const uint8_t hello[] = {'h', 'i'};
  CHECK(ca->send(hello) == 2);
  CHECK(cb->send(hello) == 2);
  lab.sim.run_until(sim::Time::from_ns(200'000'000));
  CHECK(a.data.size() == 2);
  CHECK(b.data.size() == 2);
  // Simultaneous close: both FINs cross, both sides pass through CLOSING.
  ca->close();
  cb->close();
  CHECK(ca->state() == TcpState::FinWait1);
  lab.sim.run_until(lab.sim.now() + 50_ms);
  CHECK(ca->state() == TcpState::TimeWait);
  CHECK(cb->state() == TcpState::TimeWait);
  CHECK(a.closed == tcp::CloseReason::Normal);
  CHECK(b.closed == tcp::CloseReason::Normal);
  lab.sim.run();
  CHECK(lab.cstack->socket_count() == 0);
  CHECK(lab.sstack->socket_count() == 0);
}

TEST_CASE("half-close: the server keeps sending after the client's FIN") {
  Lab lab;
  Recorder client_app;
  struct Server : Recorder {
    void on_peer_fin(TcpSocket& s) override {
      Recorder::on_peer_fin(s);
      std::vector<uint8_t> reply(50'000);
      for (std::size_t k = 0; k < reply.size(); ++k) reply[k] = pattern(k);
      CHECK(s.send(reply) == reply.size());
      s.close();
    }
  } server_app;
  lab.sstack->listen(80, &server_app);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  lab.sim.run_until(sim::Time::from_ns(20'000'000));
  const uint8_t req[] = {'G', 'O'};
  c->send(req);
  c->shutdown();
  lab.sim.run_until(sim::Time::from_ns(500'000'000));
  CHECK(server_app.data.size() == 2);
  CHECK(client_app.data.size() == 50'000);
  CHECK(client_app.saw("peer_fin"));
  CHECK(c->state() == TcpState::TimeWait);
  c->close();
  lab.sim.run();
  CHECK(lab.cstack->socket_count() == 0);
}

TEST_CASE("a lossy bulk transfer: pcaps for tshark, and an identical trace on a second run") {
  auto run = [](const std::string& pcap_dir) {
    net::LinkParams lp = Lab::default_link();
    lp.loss = 0.01;
    Lab lab({}, {}, lp, 42);
    sim::TraceWriter trace;
    trace.capture_to_string();
    lab.net.set_trace(&trace);
    if (!pcap_dir.empty()) {
      std::string err;
      REQUIRE(lab.net.enable_pcap(pcap_dir, err));
    }
    const TransferResult r = transfer(lab, 1'000'000);
    CHECK(r.intact);
    CHECK(r.client_closed == tcp::CloseReason::Normal);
    CHECK(r.server_closed == tcp::CloseReason::Normal);
    lab.net.close_pcaps();
    lab.net.set_trace(nullptr);
    return trace.text();
  };
  const std::string first = run(test_out_dir("tcp_lossy_bulk"));
  const std::string second = run("");
  CHECK(first.size() > 100'000);
  CHECK(first.find("drop:loss") != std::string::npos);
  CHECK(first == second);
}

TEST_CASE("a slow reader with an 8 KB buffer: zero windows, persist probes, window updates, all bytes intact") {
  TcpConfig server_cfg;
  server_cfg.recv_buffer = 8192;
  Lab lab({}, server_cfg);
  struct SlowReader : Recorder {
    TcpSocket* conn = nullptr;
    void on_accept(TcpSocket& l, TcpSocket& c) override {
      Recorder::on_accept(l, c);
      conn = &c;
    }
  } server_app;
  server_app.read_enabled = false;
  Sender client_app;
  client_app.total = 100'000;
  lab.sstack->listen(80, &server_app);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  // Read 3000 bytes every 300 ms: slower than one RTO, so the sender sees zero windows.
  struct Tick {
    sim::Simulator* sim;
    SlowReader* app;
    int left;
    void operator()() const {
      if (app->conn != nullptr) {
        uint8_t buf[3000];
        const std::size_t n = app->conn->recv(buf);
        app->data.insert(app->data.end(), buf, buf + n);
      }
      if (left > 0) sim->schedule_in(300_ms, Tick{sim, app, left - 1});
    }
  };
  lab.sim.schedule_in(300_ms, Tick{&lab.sim, &server_app, 200});
  lab.sim.run_until(sim::Time::from_ns(60'000'000'000));
  REQUIRE(server_app.data.size() == 100'000);
  bool ok = true;
  for (std::size_t k = 0; k < server_app.data.size(); ++k) ok = ok && server_app.data[k] == pattern(k);
  CHECK(ok);
  CHECK(c->stats().zero_window_probes > 0);
  CHECK(c->stats().timeouts == 0);  // zero windows are probed, not treated as loss
}

TEST_CASE("a receive buffer below one MSS or one window-scale unit still carries a bulk transfer, byte-exact") {
  // Linux never gives a socket less than tcp_rmem[0] (4096 bytes) and never
  // scales its window away: such buffers are raised, so the window opens (a
  // SYN window rounded down to whole MSS, or a window under one scale unit,
  // would be zero for ever).
  struct Case {
    uint32_t recv_buffer;
    bool window_scaling;
    uint32_t scale_space;  // 1 GiB: shift 14, a 16 KiB unit
  };
  for (const Case k : {Case{1, true, 6291456}, Case{1000, true, 6291456}, Case{1000, false, 6291456},
                       Case{1460, true, 6291456}, Case{2000, true, 6291456}, Case{8192, true, 1U << 30}}) {
    CAPTURE(k.recv_buffer);
    CAPTURE(k.window_scaling);
    CAPTURE(k.scale_space);
    TcpConfig server_cfg;
    server_cfg.recv_buffer = k.recv_buffer;
    server_cfg.window_scaling = k.window_scaling;
    server_cfg.window_scale_space = k.scale_space;
    Lab lab({}, server_cfg);
    const TransferResult r = transfer(lab, 100'000, {}, sim::Time::zero() + 60_s);
    CHECK(r.client_closed == tcp::CloseReason::Normal);
    CHECK(r.server_closed == tcp::CloseReason::Normal);
    CHECK(r.closed < sim::Time::zero() + 2_s);  // about 40 windows of 2-4 KB, 5 ms apart
    CHECK(r.received.size() == 100'000);
    CHECK(r.intact);
  }
}

TEST_CASE("a send buffer of a few bytes is raised like Linux's tcp_wmem[0]: the transfer does not crawl") {
  // Before: with a 1-byte send buffer every segment carried one byte behind
  // Nagle and the delayed ACK, and 20 KB took over 600 simulated seconds.
  for (const uint32_t send_buffer : {1U, 100U, 4095U}) {
    CAPTURE(send_buffer);
    TcpConfig client_cfg;
    client_cfg.send_buffer = send_buffer;
    Lab lab(client_cfg, {});
    const TransferResult r = transfer(lab, 100'000, {}, sim::Time::zero() + 60_s);
    CHECK(r.client_closed == tcp::CloseReason::Normal);
    CHECK(r.closed < sim::Time::zero() + 2_s);
    CHECK(r.received.size() == 100'000);
    CHECK(r.intact);
  }
}

namespace {
// An upload of `bytes` over `lab` run in 1 ms steps (each step calls
// `each_ms`) until it has arrived or 20 s passed; the client's socket stats
// at the end, and whether every byte arrived intact.
struct Upload {
  tcp::TcpSocketStats stats;
  bool intact = false;
};
Upload upload(Lab& lab, uint64_t bytes, const std::function<void()>& each_ms = {}) {
  Recorder server_app;
  server_app.close_on_fin = true;
  Sender client_app;
  client_app.total = bytes;
  lab.sstack->listen(80, &server_app);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  while (server_app.data.size() < bytes && lab.sim.now() < sim::Time::zero() + 20_s) {
    lab.sim.run_until(lab.sim.now() + 1_ms);
    if (each_ms) each_ms();
  }
  Upload u;
  u.stats = c->stats();
  u.intact = server_app.data.size() == bytes;
  for (std::size_t i = 0; u.intact && i < server_app.data.size(); ++i) u.intact = server_app.data[i] == pattern(i);
  lab.sim.run();
  return u;
}
}  // namespace

TEST_CASE("TCP small queues: a sender on a slow link keeps its own queue short; without them it fills it") {
  net::LinkParams lp = Lab::default_link();
  lp.rate_bps = 10'000'000;
  lp.queue_packets = 1000;
  for (const uint32_t limit : {1'048'576U, 0U}) {
    CAPTURE(limit);
    TcpConfig cfg;
    cfg.limit_output_bytes = limit;
    Lab lab(cfg, {}, lp);
    std::size_t most = 0;  // frames waiting on the client's link at most
    const Upload u = upload(lab, 2'000'000, [&] { most = std::max(most, lab.client->interface(0).link()->queued(0)); });
    CHECK(u.intact);
    if (limit != 0) {
      // About 1 ms of the pacing rate (a few segments), never the queue.
      CHECK(most <= 8);
      CHECK(u.stats.tsq_throttled > 0);
    } else {
      CHECK(most > 30);  // a window's worth of frames sits in the host's queue
    }
  }
}

TEST_CASE("a frame the host's own full queue drops is local congestion: cwnd is cut and the data resent") {
  net::LinkParams lp = Lab::default_link();
  lp.rate_bps = 10'000'000;
  lp.queue_packets = 20;
  for (const uint32_t limit : {0U, 1'048'576U}) {
    CAPTURE(limit);
    TcpConfig cfg;
    cfg.limit_output_bytes = limit;      // 0: no small queues, the sender overfills its queue
    cfg.congestion_control = "newreno";  // slow start without HyStart overshoots
    Lab lab(cfg, {}, lp);
    const Upload u = upload(lab, 1'000'000);
    CHECK(u.intact);
    CHECK(u.stats.timeouts == 0);
    if (limit == 0) {
      CHECK(u.stats.local_drops > 0);  // found at once and resent, never waited for
      CHECK(u.stats.retransmits >= u.stats.local_drops);
    } else {
      CHECK(u.stats.local_drops == 0);  // small queues: nothing dropped at home
    }
  }
}
