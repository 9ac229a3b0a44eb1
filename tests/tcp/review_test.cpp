// Regression tests for defects found by code review: segment sizing against
// the MTU and the packet buffer, ACK-loop rate limiting, SACK scoreboard
// reneging, timestamp RTT samples, TS.Recent updates, RFC 6582 `recover`
// after an RTO, event delivery after close(), the RTO formula and the peer's
// window during retransmission.
#include <doctest/doctest.h>

#include "tcp_lab.hpp"

using namespace tcplab;
using H = Harness;

namespace {
constexpr uint32_t L = Harness::kLocalIsn;
constexpr uint32_t R = Harness::kRemoteIsn;

std::vector<uint8_t> bytes(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = pattern(k);
  return v;
}

// Active open; the SYN-ACK carries `mss`, and timestamps/SACK when asked.
TcpSocket* open_peer(Harness& h, std::optional<uint16_t> mss, bool ts, bool sack) {
  TcpSocket* s = h.syn_sent();
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
  sa.mss = mss;
  sa.sack_permitted = sack;
  if (ts) sa.timestamps = std::pair<uint32_t, uint32_t>{100, 1};
  h.send(sa);
  h.recv();
  REQUIRE(s->state() == TcpState::Established);
  return s;
}

TcpConfig ts_sack_cfg() {
  TcpConfig c = Harness::plain();
  c.timestamps = true;
  c.sack = true;
  return c;
}

// Largest frame and IP packet among the segments the harness captured (consumes them).
struct Sizes {
  std::size_t max_frame = 0;
  std::size_t max_payload = 0;
  std::size_t count = 0;
};
Sizes drain_sizes(Harness& h) {
  Sizes z;
  while (!h.out.empty()) {
    z.max_frame = std::max<std::size_t>(z.max_frame, h.out.front()->size());
    Seg s = h.recv();
    z.max_payload = std::max(z.max_payload, s.payload.size());
    ++z.count;
  }
  return z;
}

uint64_t drops(net::Node& n, net::DropReason r) {
  uint64_t d = 0;
  for (const auto& i : n.interfaces()) d += i->stats().drops[static_cast<std::size_t>(r)];
  return d;
}

/// Sends `total` pattern bytes, reads everything, shuts down when done sending.
struct Duplex : Recorder {
  uint64_t total = 0;
  uint64_t sent = 0;
  void pump(TcpSocket& s) {
    uint8_t buf[8192];
    while (sent < total) {
      const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(sizeof buf, total - sent));
      for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(sent + i);
      const std::size_t took = s.send({buf, n});
      sent += took;
      if (took < n) return;
    }
    s.shutdown();
  }
  void on_connected(TcpSocket& s) override {
    Recorder::on_connected(s);
    pump(s);
  }
  void on_accept(TcpSocket& l, TcpSocket& c) override {
    Recorder::on_accept(l, c);
    pump(c);
  }
  void on_writable(TcpSocket& s) override {
    Recorder::on_writable(s);
    pump(s);
  }
  [[nodiscard]] bool intact(uint64_t n) const {
    if (data.size() != n) return false;
    for (uint64_t k = 0; k < n; ++k) {
      if (data[k] != pattern(k)) return false;
    }
    return true;
  }
};
/// A buggy middlebox in front of a node's TCP: adds `seq_shift` to the
/// sequence number and `ack_shift` to the acknowledgment number of every
/// segment arriving while `on`.
struct Rewriter : net::IpHandler {
  Rewriter(net::Node& node, net::IpHandler& next) : node_(node), next_(next) {
    node_.set_ip_handler(wire::ip_proto::tcp, this);
  }
  ~Rewriter() override { node_.set_ip_handler(wire::ip_proto::tcp, &next_); }
  Rewriter(const Rewriter&) = delete;
  Rewriter& operator=(const Rewriter&) = delete;
  void on_tx_complete(net::Interface& out, const net::Packet& p) override { next_.on_tx_complete(out, p); }
  void receive_ipv4(net::Interface& in, net::PacketPtr p) override {
    ++seen;
    if (!on) {
      next_.receive_ipv4(in, std::move(p));
      return;
    }
    auto info = wire::classify_frame(p->bytes());
    REQUIRE(info.ok());
    auto seg = wire::ConstTcpSegment::check(info->l4);
    REQUIRE(seg.ok());
    auto r = wire::TcpRepr::parse(*seg, info->ipv4->src(), info->ipv4->dst());
    REQUIRE(r.ok());
    wire::TcpRepr t = *r;
    t.seq = t.seq + seq_shift;
    t.ack = t.ack + ack_shift;
    net::PacketPtr q = node_.network().pool().allocate();
    wire::Ipv4Repr iph{};
    iph.src = info->ipv4->src();
    iph.dst = info->ipv4->dst();
    auto len = wire::emit_tcp_frame(q->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, iph, t);
    REQUIRE(len.ok());
    q->set_size(static_cast<uint32_t>(*len));
    next_.receive_ipv4(in, std::move(q));
  }
  net::Node& node_;
  net::IpHandler& next_;
  bool on = false;
  uint32_t seq_shift = 0;
  uint32_t ack_shift = 0;
  uint64_t seen = 0;
};
}  // namespace

// ---- finding 1: peer MSS below the option length, oversized local MSS

TEST_CASE("review 1: a peer MSS of 8 with timestamps gives small segments, never past the packet buffer") {
  Harness h(ts_sack_cfg());
  TcpSocket* s = open_peer(h, 8, true, false);
  // Linux clamps the peer's MSS to 88 (TCP_MIN_MSS); minus 12 option bytes.
  CHECK(s->snd_mss() == 76);
  CHECK(s->cwnd() <= 10 * 88);
  s->send(bytes(20'000));
  const Sizes z = drain_sizes(h);
  CHECK(z.count >= 1);
  CHECK(z.max_payload <= 76);
  CHECK(z.max_frame <= net::Packet::capacity);
}

TEST_CASE("review 1: a peer MSS of 0 (no timestamps) is clamped, not used as is") {
  Harness h;
  TcpSocket* s = open_peer(h, 0, false, false);
  CHECK(s->snd_mss() == 88);
  s->send(bytes(5'000));
  const Sizes z = drain_sizes(h);
  CHECK(z.count >= 1);
  CHECK(z.max_payload <= 88);
}

TEST_CASE("review 1: a 9000-byte interface MTU or a large configured MSS never overflows the packet buffer") {
  for (const bool jumbo_mtu : {true, false}) {
    CAPTURE(jumbo_mtu);
    TcpConfig cfg = ts_sack_cfg();
    if (!jumbo_mtu) cfg.mss = 9000;
    Harness h(cfg);
    if (jumbo_mtu) h.host->interface(0).set_mtu(9000);
    TcpSocket* s = h.stack->connect(ip("10.0.0.2"), H::kRemotePort, &h.app, H::kLocalPort);
    REQUIRE(s != nullptr);
    Seg syn = h.recv();
    REQUIRE(syn.tcp.mss.has_value());
    // What fits in a packet buffer: 1536 - 14 (Ethernet) - 20 (IP) - 20 (TCP).
    CHECK(*syn.tcp.mss <= net::Packet::capacity - 54);
    wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
    sa.mss = 8960;
    sa.timestamps = std::pair<uint32_t, uint32_t>{100, 1};
    h.send(sa);
    h.recv();
    REQUIRE(s->state() == TcpState::Established);
    s->send(bytes(30'000));
    const Sizes z = drain_sizes(h);
    CHECK(z.count >= 1);
    CHECK(z.max_frame <= net::Packet::capacity);
  }
}

// ---- finding 2: SACK / D-SACK options must come out of the payload

TEST_CASE("review 2: data segments carrying SACK blocks still fit the 1500-byte MTU") {
  Harness h(ts_sack_cfg());
  TcpSocket* s = open_peer(h, 1460, true, true);
  REQUIRE(s->snd_mss() == 1448);
  // Peer data with holes: we will report three SACK blocks (and a D-SACK).
  const auto d = bytes(100);
  for (uint32_t off : {100U, 300U, 500U, 300U}) {
    wire::TcpRepr seg = H::seg(R + 1 + off, L + 1, flag::ACK);
    seg.timestamps = std::pair<uint32_t, uint32_t>{200, 1};
    seg.payload = d;
    h.send(seg);
  }
  h.out.clear();
  s->send(bytes(20'000));
  const Sizes z = drain_sizes(h);
  CHECK(z.count >= 2);
  CHECK(z.max_frame <= 1500 + 14);
  CHECK(z.max_payload <= 1448);
}

TEST_CASE("review 2: a single D-SACK with timestamps keeps a full data segment within the MTU") {
  Harness h(ts_sack_cfg());
  TcpSocket* s = open_peer(h, 1460, true, true);
  wire::TcpRepr seg = H::seg(R + 1, L + 1, flag::ACK);
  seg.timestamps = std::pair<uint32_t, uint32_t>{200, 1};
  const auto d = bytes(100);
  seg.payload = d;
  h.send(seg);
  s->send(bytes(30 * 1448));
  h.out.clear();
  // The duplicate acknowledges two of our segments: the data it lets out
  // carries the D-SACK block.
  seg.ack = SeqNumber{L + 1 + 2 * 1448};
  h.send(seg);
  const Sizes z = drain_sizes(h);
  CHECK(z.count >= 1);
  CHECK(z.max_frame <= 1500 + 14);
}

TEST_CASE("review 2: two-way lossy, reordering bulk transfer over the real MTU path: no TooBig drop, every byte arrives") {
  net::LinkParams lp = Lab::default_link();
  lp.loss = 0.02;
  lp.reorder = 0.02;
  Lab lab({}, {}, lp, 7);
  constexpr uint64_t kBytes = 400'000;
  Duplex server_app;
  server_app.total = kBytes;
  Duplex client_app;
  client_app.total = kBytes;
  lab.sstack->listen(80, &server_app);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  lab.sim.run_until(lab.sim.now() + 600_s);
  CHECK(drops(*lab.client, net::DropReason::TooBig) == 0);
  CHECK(drops(*lab.server, net::DropReason::TooBig) == 0);
  CHECK(drops(*lab.router, net::DropReason::TooBig) == 0);
  CHECK(client_app.intact(kBytes));
  CHECK(server_app.intact(kBytes));
  CHECK(client_app.saw("peer_fin"));
  CHECK(server_app.saw("peer_fin"));
  c->close();
  if (server_app.child != nullptr) server_app.child->close();
  lab.sim.run();
}

// ---- finding 3: ACK loops between stacks that disagree

TEST_CASE("review 3: two stacks whose sequence numbers disagree exchange at most a few ACKs per second") {
  Lab lab;
  Recorder server_app;
  Recorder client_app;
  lab.sstack->listen(80, &server_app);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  lab.sim.run_until(lab.sim.now() + 100_ms);
  REQUIRE(c->state() == TcpState::Established);
  REQUIRE(server_app.child != nullptr);
  // A broken gateway: the server sees the client's bytes 1e9 further on, the
  // client sees acknowledgments 1e9 beyond what it sent.
  Rewriter at_server(*lab.server, *lab.sfilter);
  Rewriter at_client(*lab.client, *lab.cfilter);
  at_server.on = at_client.on = true;
  at_server.seq_shift = 1'000'000'000;
  at_client.ack_shift = 1'000'000'000;
  const auto d = bytes(100);
  c->send(d);
  const uint64_t before = lab.cstack->stats().segs_out + lab.sstack->stats().segs_out;
  lab.sim.run_until(lab.sim.now() + 10_s);
  const uint64_t exchanged = lab.cstack->stats().segs_out + lab.sstack->stats().segs_out - before;
  // 500 ms between such ACKs per socket (Linux tcp_invalid_ratelimit), plus
  // the client's data retransmissions.
  CHECK(exchanged <= 2 * 20 + 12);
  c->abort();
  server_app.child->abort();
  lab.sim.run();
}

TEST_CASE("review 3: out-of-window segments are answered at most once per tcp_invalid_ratelimit") {
  Harness h;
  h.established();
  for (int i = 0; i < 10; ++i) h.send(H::seg(R + 1 + 100'000, L + 1, flag::ACK));
  CHECK(h.out.size() == 1);
  h.out.clear();
  h.advance(499_ms);
  h.send(H::seg(R + 1 + 100'000, L + 1, flag::ACK));
  h.recv_nothing();
  h.advance(1_ms);
  h.send(H::seg(R + 1 + 100'000, L + 1, flag::ACK));
  CHECK(h.out.size() == 1);
  h.out.clear();
  // Segments with data are not rate limited (they are not part of an ACK loop).
  wire::TcpRepr old = H::seg(R + 1 - 200, L + 1, flag::ACK);
  const auto d = bytes(100);
  old.payload = d;
  h.send(old);
  h.send(old);
  CHECK(h.out.size() == 2);
}

// ---- finding 4: SACK reneging

TEST_CASE("review 4: a bogus SACK block does not stall the transfer after an RTO") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  Harness h(cfg);
  TcpSocket* s = open_peer(h, 1000, false, true);
  REQUIRE(s->sack_enabled());
  s->send(bytes(10'000));
  for (int i = 0; i < 10; ++i) h.recv();
  // The peer claims [3000, 10000) but never keeps it (a reneging receiver,
  // or a middlebox that mangled the block).
  wire::TcpRepr a = H::seg(R + 1, L + 1 + 2000, flag::ACK);
  a.sack_blocks[a.sack_count++] = {SeqNumber{L + 1 + 3000}, SeqNumber{L + 1 + 10'000}};
  h.send(a);
  Seg rx = h.recv();  // the hole is resent
  CHECK(rx.tcp.seq.raw() == L + 1 + 2000);
  h.send(H::seg(R + 1, L + 1 + 3000, flag::ACK));  // no SACK any more
  h.out.clear();
  // Within a few RTOs the sender must resend what the peer actually lacks.
  std::vector<Seg> resent;
  for (int i = 0; i < 40 && s->snd_una() != s->snd_nxt(); ++i) {
    h.advance(250_ms);
    while (!h.out.empty()) {
      Seg d = h.recv();
      if (d.payload.empty()) continue;
      resent.push_back(d);
      // The peer now really receives the data and acknowledges it.
      h.send(H::seg(R + 1, static_cast<uint32_t>(d.tcp.seq.raw() + d.payload.size()), flag::ACK));
    }
  }
  REQUIRE_FALSE(resent.empty());
  CHECK(resent.front().tcp.seq.raw() == L + 1 + 3000);
  CHECK(s->snd_una().raw() == L + 1 + 10'000);
  CHECK(s->stats().timeouts <= 3);
}

// ---- finding 5: timestamp RTT samples

TEST_CASE("review 5: an echoed timestamp from the future or from before the connection gives no RTT sample") {
  for (const int64_t skew : {int64_t{5}, int64_t{-1'000'000}}) {
    CAPTURE(skew);
    TcpConfig cfg = Harness::plain();
    cfg.timestamps = true;
    Harness h(cfg);
    h.advance(2_s);
    TcpSocket* s = h.syn_sent();
    h.advance(1_s);  // the SYN is retransmitted: the RTT must come from TSecr
    Seg syn = h.recv();
    REQUIRE(syn.has(flag::SYN));
    REQUIRE(syn.tcp.timestamps.has_value());
    wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
    sa.timestamps = std::pair<uint32_t, uint32_t>{100, static_cast<uint32_t>(syn.tcp.timestamps->first + skew)};
    h.send(sa);
    REQUIRE(s->state() == TcpState::Established);
    CHECK(s->stats().rtt_samples == 0);
    CHECK(s->rto() == 3_s);  // RFC 6298 5.7, no sample taken
    CHECK(s->srtt() < 1_s);
  }
}

// ---- finding 6: TS.Recent only from acceptable segments

TEST_CASE("review 6: a blind SYN or an ACK of unsent data with a huge TSval does not make genuine segments fail PAWS") {
  for (const bool syn : {true, false}) {
    CAPTURE(syn);
    TcpConfig cfg = Harness::plain();
    cfg.timestamps = true;
    Harness h(cfg);
    TcpSocket* s = open_peer(h, 1000, true, false);
    wire::TcpRepr blind = syn ? H::seg(R + 1, 0, flag::SYN) : H::seg(R + 1, L + 5000, flag::ACK);
    blind.timestamps = std::pair<uint32_t, uint32_t>{2'000'000'000, 0};
    h.send(blind);
    h.out.clear();
    wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK);
    d.timestamps = std::pair<uint32_t, uint32_t>{200, 1};
    const auto payload = bytes(10);
    d.payload = payload;
    h.send(d);
    CHECK(s->stats().paws_drops == 0);
    CHECK(h.app.data.size() == 10);
  }
}

// ---- finding 7: RFC 6582 `recover` after an RTO

TEST_CASE("review 7: an ACK of everything sent before an RTO re-enables fast retransmit") {
  Harness h;
  TcpSocket* s = open_peer(h, 1000, false, false);
  s->send(bytes(3000));
  for (int i = 0; i < 3; ++i) h.recv();
  h.advance(1_s);  // RTO: go back to snd_una
  REQUIRE(s->stats().timeouts >= 1);
  h.out.clear();
  const uint32_t all = static_cast<uint32_t>(s->snd_nxt().raw());
  h.send(H::seg(R + 1, all, flag::ACK));  // acknowledges exactly `recover`
  REQUIRE(s->snd_una() == s->snd_nxt());
  h.out.clear();
  s->send(bytes(5000));
  h.out.clear();
  REQUIRE(s->snd_nxt() != s->snd_una());
  for (int i = 0; i < 3; ++i) h.send(H::seg(R + 1, all, flag::ACK));
  CHECK(s->stats().fast_retransmits == 1);
  bool resent = false;
  while (!h.out.empty()) {
    const bool hit = h.recv().tcp.seq.raw() == all;
    resent = resent || hit;
  }
  CHECK(resent);
}

// ---- finding 10: no callbacks but on_closed after close() inside a callback

TEST_CASE("review 10: close() inside on_readable stops on_peer_fin and on_writable for that batch") {
  Harness h;
  TcpSocket* s = open_peer(h, 1000, false, false);
  struct Closer : Recorder {
    void on_readable(TcpSocket& sock) override {
      Recorder::on_readable(sock);  // drains: close() then sends a FIN, no RST
      sock.close();
    }
  } app;
  s->set_events(&app);
  // A short send() leaves want_writable set; the ACK below frees space.
  const auto big = bytes(200'000);
  REQUIRE(s->send(big) < big.size());
  while (!h.out.empty()) h.recv();
  wire::TcpRepr d = H::seg(R + 1, L + 1 + 5000, flag::ACK | flag::FIN);
  const auto payload = bytes(10);
  d.payload = payload;
  h.send(d);
  CHECK(app.saw("readable"));
  CHECK_FALSE(app.saw("peer_fin"));
  CHECK_FALSE(app.saw("writable"));
}

// ---- finding 8: Linux's RTO formula

TEST_CASE("review 8: RTO = SRTT + max(4 RTTVAR, rto_min), as Linux") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.advance(10_ms);
  h.send(H::seg(R, L + 1, flag::SYN | flag::ACK));
  REQUIRE(s->state() == TcpState::Established);
  REQUIRE(s->stats().rtt_samples == 1);
  // First sample 10 ms: SRTT 10, RTTVAR 5: 10 + max(20, 200) = 210 ms.
  CHECK(s->srtt() == 10_ms);
  CHECK(s->rto() == 210_ms);
}

// ---- finding 9: retransmissions respect the peer's window

TEST_CASE("review 9: SACK recovery with a shrunk window resends only the head beyond it") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  Harness h(cfg);
  TcpSocket* s = open_peer(h, 1000, false, true);
  s->send(bytes(10'000));
  for (int i = 0; i < 10; ++i) h.recv();
  // Three holes (0, 2000, 4000); the peer's window shrank to 2000 bytes.
  wire::TcpRepr a = H::seg(R + 1, L + 1, flag::ACK, 2000);
  a.sack_blocks[a.sack_count++] = {SeqNumber{L + 1 + 1000}, SeqNumber{L + 1 + 2000}};
  a.sack_blocks[a.sack_count++] = {SeqNumber{L + 1 + 3000}, SeqNumber{L + 1 + 4000}};
  a.sack_blocks[a.sack_count++] = {SeqNumber{L + 1 + 5000}, SeqNumber{L + 1 + 10'000}};
  h.send(a);
  REQUIRE(s->ca_state() == tcp::CaState::Recovery);
  std::vector<Seg> sent;
  while (!h.out.empty()) sent.push_back(h.recv());
  REQUIRE_FALSE(sent.empty());
  CHECK(sent.front().tcp.seq.raw() == L + 1);
  for (const Seg& d : sent) {
    const uint64_t end = d.tcp.seq.raw() + d.payload.size();
    const bool head = d.tcp.seq.raw() == L + 1;
    CHECK((head || end <= uint64_t{L} + 1 + 2000));
  }
  CHECK(sent.size() == 1);  // the hole at 2000 starts at the window's edge
}

// ---- finding 11: smaller RFC / Linux deviations

TEST_CASE("review 11: an ACK exactly MAX.SND.WND + 1 below SND.UNA gets a challenge ACK (RFC 5961 5.2)") {
  Harness h;
  TcpSocket* s = h.established();
  REQUIRE(s->stats().challenge_acks == 0);
  h.send(H::seg(R + 1, L + 1 - 65535 - 1, flag::ACK));
  CHECK(s->stats().challenge_acks == 1);
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 1);
}

TEST_CASE("review 11: LISTEN discards a SYN+FIN (Linux)") {
  Harness h;
  h.listen();
  h.send(H::seg(R, 0, flag::SYN | flag::FIN));
  h.recv_nothing();
  CHECK(h.stack->connection_count() == 0);
}

TEST_CASE("review 11: a RST at rcv_nxt - 1 resets CLOSE-WAIT, CLOSING and LAST-ACK (Linux tcp_reset_check)") {
  for (const int which : {0, 1, 2}) {
    CAPTURE(which);
    Harness h;
    TcpSocket* s = which == 0 ? h.close_wait() : which == 1 ? h.closing() : h.last_ack();
    h.send(H::seg(R + 1, 0, flag::RST));
    CHECK(s->state() == TcpState::Closed);
  }
}

TEST_CASE("review 11: after an idle period longer than the RTO, cwnd restarts from the initial window (Linux tcp_slow_start_after_idle)") {
  for (const bool restart : {true, false}) {
    CAPTURE(restart);
    TcpConfig cfg = Harness::plain();
    cfg.slow_start_after_idle = restart;
    Harness h(cfg);
    TcpSocket* s = open_peer(h, 1000, false, false);
    s->send(bytes(10'000));
    for (int i = 0; i < 10; ++i) h.recv();
    h.send(H::seg(R + 1, L + 1 + 10'000, flag::ACK));
    REQUIRE(s->cwnd() == 20'000);
    h.out.clear();
    h.advance(5_s);
    s->send(bytes(30'000));
    std::size_t segs = 0;
    while (!h.out.empty()) segs += h.recv().payload.empty() ? 0 : 1;
    CHECK(segs == (restart ? 10U : 20U));
  }
}

TEST_CASE("review 11: data and FIN in a SYN-ACK are queued, not dropped") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK | flag::FIN);
  const auto d = bytes(10);
  sa.payload = d;
  h.send(sa);
  REQUIRE(s->state() == TcpState::CloseWait);
  CHECK(h.app.data.size() == 10);
  CHECK(s->peer_closed());
  CHECK(s->rcv_nxt().raw() == R + 1 + 10 + 1);
  h.advance(200_ms);
  bool acked = false;
  while (!h.out.empty()) {
    const bool hit = h.recv().tcp.ack.raw() == R + 12;
    acked = acked || hit;
  }
  CHECK(acked);
}
