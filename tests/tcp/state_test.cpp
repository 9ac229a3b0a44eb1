// Per-state tables (RFC 9293 3.10.7 + RFC 5961): one crafted segment into a
// socket in a known state, the segments it answers with, the state after.
// Peer 10.0.0.2:4000 (ISN 5000) talks to the stack on 10.0.0.1:80 (ISN 1000);
// no timestamps, SACK or window scaling unless a test turns them on.
#include <doctest/doctest.h>

#include "tcp_lab.hpp"
#include "tcpmig/tcp/congestion.hpp"

using namespace tcplab;
using H = Harness;

namespace {
constexpr uint32_t L = Harness::kLocalIsn;   // our ISN
constexpr uint32_t R = Harness::kRemoteIsn;  // the peer's ISN
// What a congestion controller sees (the fields the tests set).
tcpmig::tcp::CongestionView cc_view(uint32_t mss, uint32_t flight, tcpmig::sim::Time now, tcpmig::sim::Duration srtt) {
  tcpmig::tcp::CongestionView v;
  v.mss = mss;
  v.flight = flight;
  v.now = now;
  v.srtt = srtt;
  return v;
}
}  // namespace

// ------------------------------------------------------------------ CLOSED

TEST_CASE("CLOSED (no socket): SYN -> RST,ACK ack=seq+1; ACK -> RST seq=ack; RST -> nothing") {
  Harness h;
  h.send(H::seg(R, 0, flag::SYN));
  Seg rst = h.recv();
  CHECK(rst.tcp.flags == (flag::RST | flag::ACK));
  CHECK(rst.tcp.seq.raw() == 0);
  CHECK(rst.tcp.ack.raw() == R + 1);
  h.send(H::seg(R, 777, flag::ACK));
  rst = h.recv();
  CHECK(rst.tcp.flags == flag::RST);
  CHECK(rst.tcp.seq.raw() == 777);
  h.send(H::seg(R, 777, flag::RST));
  h.recv_nothing();
  CHECK(h.stack->stats().no_socket == 3);
}

// ------------------------------------------------------------------ LISTEN

TEST_CASE("LISTEN: SYN -> SYN-ACK with our options, child in SYN-RECEIVED") {
  Harness h;
  TcpSocket* l = h.listen();
  wire::TcpRepr syn = H::seg(R, 0, flag::SYN);
  syn.mss = 1200;
  h.send(syn);
  Seg sa = h.recv();
  CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
  CHECK(sa.tcp.seq.raw() == L);
  CHECK(sa.tcp.ack.raw() == R + 1);
  CHECK(sa.tcp.mss == 1460);
  CHECK_FALSE(sa.tcp.window_scale.has_value());  // the peer offered none
  CHECK_FALSE(sa.tcp.timestamps.has_value());
  CHECK(sa.tcp.window == 64240);  // Linux: 65535 rounded down to MSS multiples
  TcpSocket* c = h.stack->find({ip("10.0.0.1"), 80, ip("10.0.0.2"), 4000});
  REQUIRE(c != nullptr);
  CHECK(c->state() == TcpState::SynReceived);
  CHECK(c->snd_mss() == 1200);
  CHECK(l->state() == TcpState::Listen);
  h.recv_nothing();
}

TEST_CASE("LISTEN: ACK -> RST seq=ack; RST and bare data -> nothing") {
  Harness h;
  h.listen();
  h.send(H::seg(R, 4242, flag::ACK));
  Seg rst = h.recv();
  CHECK(rst.tcp.flags == flag::RST);
  CHECK(rst.tcp.seq.raw() == 4242);
  h.send(H::seg(R, 0, flag::RST));
  h.recv_nothing();
  h.send(H::seg(R, 0, 0));
  h.recv_nothing();
  CHECK(h.stack->connection_count() == 0);
}

TEST_CASE("LISTEN: the backlog bounds half-open connections; extra SYNs are dropped") {
  Harness h;
  h.stack->listen(80, &h.app, 2);
  for (uint16_t port = 4000; port < 4004; ++port) {
    wire::TcpRepr syn = H::seg(R, 0, flag::SYN);
    syn.src_port = port;
    h.send(syn);
  }
  CHECK(h.stack->connection_count() == 2);
  CHECK(h.stack->stats().listen_overflow == 2);
  CHECK(h.out.size() == 2);
}

TEST_CASE("LISTEN: options offered are echoed only when enabled here") {
  Harness h(TcpConfig{});  // Linux defaults: TS, SACK, window scaling on
  h.listen();
  wire::TcpRepr syn = H::seg(R, 0, flag::SYN);
  syn.mss = 1460;
  syn.window_scale = 7;
  syn.sack_permitted = true;
  syn.timestamps = std::pair{12345U, 0U};
  h.send(syn);
  Seg sa = h.recv();
  CHECK(sa.tcp.window_scale == 7);  // 6 MiB of window space -> shift 7, like Linux
  CHECK(sa.tcp.sack_permitted);
  REQUIRE(sa.tcp.timestamps.has_value());
  CHECK(sa.tcp.timestamps->second == 12345U);
  TcpSocket* c = h.stack->find({ip("10.0.0.1"), 80, ip("10.0.0.2"), 4000});
  REQUIRE(c != nullptr);
  CHECK(c->snd_mss() == 1448);  // 1460 - 12 bytes of timestamps
}

// ------------------------------------------------------------------ SYN-SENT

TEST_CASE("SYN-SENT: the SYN carries MSS; SYN-ACK -> ACK, ESTABLISHED, on_connected") {
  Harness h;
  TcpSocket* s = h.stack->connect(ip("10.0.0.2"), 4000, &h.app, 80);
  Seg syn = h.recv();
  CHECK(syn.tcp.flags == flag::SYN);
  CHECK(syn.tcp.seq.raw() == L);
  CHECK(syn.tcp.mss == 1460);
  CHECK(s->state() == TcpState::SynSent);
  h.send(H::seg(R, L + 1, flag::SYN | flag::ACK));
  Seg ack = h.recv();
  CHECK(ack.tcp.flags == flag::ACK);
  CHECK(ack.tcp.seq.raw() == L + 1);
  CHECK(ack.tcp.ack.raw() == R + 1);
  CHECK(s->state() == TcpState::Established);
  CHECK(h.app.saw("connected"));
  CHECK(s->snd_mss() == 536);  // no MSS option from the peer: RFC 9293 default
}

TEST_CASE("SYN-SENT: RST with an acceptable ACK -> CLOSED (refused); without ACK -> ignored") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.send(H::seg(0, 0, flag::RST));
  h.recv_nothing();
  CHECK(s->state() == TcpState::SynSent);
  h.send(H::seg(0, L + 1, flag::RST | flag::ACK));
  h.recv_nothing();
  CHECK(s->state() == TcpState::Closed);
  CHECK(h.app.closed == tcp::CloseReason::Refused);
}

TEST_CASE("SYN-SENT: an unacceptable ACK -> RST seq=ack, state unchanged") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.send(H::seg(R, L + 50, flag::SYN | flag::ACK));
  Seg rst = h.recv();
  CHECK(rst.tcp.flags == flag::RST);
  CHECK(rst.tcp.seq.raw() == L + 50);
  CHECK(s->state() == TcpState::SynSent);
}

TEST_CASE("SYN-SENT: a bare SYN (simultaneous open) -> SYN-ACK, SYN-RECEIVED; its ACK -> ESTABLISHED") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.send(H::seg(R, 0, flag::SYN));
  Seg sa = h.recv();
  CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
  CHECK(sa.tcp.seq.raw() == L);
  CHECK(sa.tcp.ack.raw() == R + 1);
  CHECK(s->state() == TcpState::SynReceived);
  h.send(H::seg(R, L + 1, flag::SYN | flag::ACK));  // the peer's SYN-ACK
  CHECK(s->state() == TcpState::Established);
  CHECK(h.app.saw("connected"));
}

TEST_CASE("SYN-SENT: the SYN is retransmitted with exponential backoff, then connect fails (timeout)") {
  TcpConfig cfg = Harness::plain();
  cfg.syn_retries = 3;
  Harness h(cfg);
  TcpSocket* s = h.syn_sent();
  const int64_t expected[] = {1, 2, 4};  // seconds between SYNs: 1 s initial RTO, doubling
  for (int64_t gap : expected) {
    h.advance(sim::Duration::seconds(gap) - 1_ns);
    h.recv_nothing();
    h.advance(1_ns);
    Seg syn = h.recv();
    CHECK(syn.tcp.flags == flag::SYN);
    CHECK(syn.tcp.seq.raw() == L);
  }
  h.advance(8_s);
  h.recv_nothing();
  CHECK(s->state() == TcpState::Closed);
  CHECK(h.app.closed == tcp::CloseReason::Timeout);
}

// ------------------------------------------------------------------ SYN-RECEIVED

TEST_CASE("SYN-RECEIVED: the handshake ACK -> ESTABLISHED and the listener's on_accept") {
  Harness h;
  TcpSocket* c = h.syn_received();
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  h.recv_nothing();
  CHECK(c->state() == TcpState::Established);
  CHECK(h.app.saw("accept"));
  CHECK(h.app.child == c);
}

TEST_CASE("SYN-RECEIVED: a bad ACK -> RST seq=ack; an exact RST removes the child silently") {
  Harness h;
  TcpSocket* c = h.syn_received();
  h.send(H::seg(R + 1, L + 99, flag::ACK));
  Seg rst = h.recv();
  CHECK(rst.tcp.flags == flag::RST);
  CHECK(rst.tcp.seq.raw() == L + 99);
  CHECK(c->state() == TcpState::SynReceived);
  h.send(H::seg(R + 1, 0, flag::RST));
  h.recv_nothing();
  CHECK(h.stack->connection_count() == 0);
  CHECK(h.app.log.empty());
}

TEST_CASE("SYN-RECEIVED: a repeated SYN -> the SYN-ACK again; silence -> SYN-ACK retransmitted") {
  Harness h;
  h.syn_received();
  h.send(H::seg(R, 0, flag::SYN));
  Seg sa = h.recv();
  CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
  CHECK(sa.tcp.seq.raw() == L);
  h.advance(1_s);
  sa = h.recv();
  CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
}

// ------------------------------------------------------------------ ESTABLISHED

TEST_CASE("ESTABLISHED: quick-ACK mode acknowledges the first segments at once, until the connection turns interactive") {
  Harness h;
  TcpSocket* s = h.established();
  const uint8_t q[] = {'q', '\n'};
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK | flag::PSH);
  d.payload = q;
  h.send(d);
  Seg a = h.recv();  // immediate (Linux tcp_incr_quickack on the first data)
  CHECK(a.tcp.ack.raw() == R + 3);
  CHECK(a.payload.empty());
  // We answer within 40 ms of receiving: pingpong mode, later ACKs wait and ride on data.
  h.advance(1_ms);
  const uint8_t reply[] = {'r', '\n'};
  s->send(reply);
  CHECK(h.recv().payload.size() == 2);
  d = H::seg(R + 3, L + 3, flag::ACK | flag::PSH);
  d.payload = q;
  h.send(d);
  h.recv_nothing();
  s->send(reply);
  Seg piggy = h.recv();
  CHECK(piggy.payload.size() == 2);
  CHECK(piggy.tcp.ack.raw() == R + 5);
}

TEST_CASE("ESTABLISHED (quick-ACK off): one small segment -> delayed ACK after 40 ms; two full segments -> ACK at once") {
  TcpConfig cfg = Harness::plain();
  cfg.quickack = false;
  Harness h(cfg);
  TcpSocket* s = h.established();
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK | flag::PSH);
  const uint8_t hi[] = {'h', 'i', '\n'};
  d.payload = hi;
  h.send(d);
  h.recv_nothing();
  CHECK(h.app.data.size() == 3);
  h.advance(40_ms - 1_ns);
  h.recv_nothing();
  h.advance(1_ns);
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 4);

  std::vector<uint8_t> full(536, 'x');  // the peer sent no MSS: 536
  d = H::seg(R + 4, L + 1, flag::ACK);
  d.payload = full;
  h.send(d);
  h.recv_nothing();
  d.seq = SeqNumber{R + 4 + 536};
  h.send(d);
  a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 4 + 2 * 536);
  CHECK(s->rcv_nxt().raw() == R + 4 + 2 * 536);
}

TEST_CASE("ESTABLISHED: out-of-order data -> immediate duplicate ACK; the hole filled -> ACK of all") {
  Harness h;
  h.established();
  const uint8_t a[] = {'a', 'a'};
  const uint8_t b[] = {'b', 'b'};
  wire::TcpRepr d = H::seg(R + 3, L + 1, flag::ACK);
  d.payload = b;
  h.send(d);
  Seg dup = h.recv();
  CHECK(dup.tcp.ack.raw() == R + 1);
  CHECK(h.app.data.empty());
  d = H::seg(R + 1, L + 1, flag::ACK);
  d.payload = a;
  h.send(d);
  Seg all = h.recv();
  CHECK(all.tcp.ack.raw() == R + 5);
  CHECK(std::string(h.app.data.begin(), h.app.data.end()) == "aabb");
}

TEST_CASE("ESTABLISHED with SACK: out-of-order data is reported in SACK blocks, newest first") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  Harness h(cfg);
  TcpSocket* s = h.syn_sent();
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
  sa.sack_permitted = true;
  h.send(sa);
  h.recv();
  REQUIRE(s->sack_enabled());
  const uint8_t x[] = {'x', 'x'};
  wire::TcpRepr d = H::seg(R + 11, L + 1, flag::ACK);
  d.payload = x;
  h.send(d);
  Seg a1 = h.recv();
  REQUIRE(a1.tcp.sack_count == 1);
  CHECK(a1.tcp.sack_blocks[0].first.raw() == R + 11);
  CHECK(a1.tcp.sack_blocks[0].second.raw() == R + 13);
  d.seq = SeqNumber{R + 21};
  h.send(d);
  Seg a2 = h.recv();
  REQUIRE(a2.tcp.sack_count == 2);
  CHECK(a2.tcp.sack_blocks[0].first.raw() == R + 21);
  CHECK(a2.tcp.sack_blocks[1].first.raw() == R + 11);
}

TEST_CASE("ESTABLISHED: FIN -> CLOSE-WAIT, on_peer_fin, ACK delayed 40 ms; later data from us still flows") {
  Harness h;
  TcpSocket* s = h.established();
  h.send(H::seg(R + 1, L + 1, flag::FIN | flag::ACK));
  h.recv_nothing();
  h.advance(40_ms);
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 2);
  CHECK(s->state() == TcpState::CloseWait);
  CHECK(h.app.saw("peer_fin"));
  const uint8_t bye[] = {'b', 'y', 'e'};
  CHECK(s->send(bye) == 3);
  Seg d = h.recv();
  CHECK(d.payload.size() == 3);
  CHECK(d.tcp.seq.raw() == L + 1);
}

TEST_CASE("ESTABLISHED: RST at rcv_nxt -> CLOSED (reset); in window but not exact -> challenge ACK; outside -> nothing") {
  Harness h;
  TcpSocket* s = h.established();
  h.send(H::seg(R + 100, 0, flag::RST));
  Seg ch = h.recv();
  CHECK(ch.tcp.flags == flag::ACK);
  CHECK(ch.tcp.ack.raw() == R + 1);
  CHECK(s->state() == TcpState::Established);
  CHECK(s->stats().challenge_acks == 1);
  h.send(H::seg(R + 10'000'000, 0, flag::RST));
  h.recv_nothing();
  CHECK(s->state() == TcpState::Established);
  h.send(H::seg(R + 1, 0, flag::RST));
  h.recv_nothing();
  CHECK(s->state() == TcpState::Closed);
  CHECK(h.app.closed == tcp::CloseReason::Reset);
}

TEST_CASE("ESTABLISHED: SYN -> challenge ACK (RFC 5961 4); ACK of unsent data -> ACK, ignored") {
  Harness h;
  TcpSocket* s = h.established();
  h.send(H::seg(R + 1, 0, flag::SYN));
  Seg ch = h.recv();
  CHECK(ch.tcp.flags == flag::ACK);
  CHECK(s->state() == TcpState::Established);
  h.send(H::seg(R + 1, L + 500, flag::ACK));
  h.recv_nothing();  // within tcp_invalid_ratelimit (500 ms) of the challenge ACK
  h.advance(500_ms);
  h.send(H::seg(R + 1, L + 500, flag::ACK));
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 1);
  CHECK(s->snd_una().raw() == L + 1);
}

TEST_CASE("ESTABLISHED: an old duplicate segment -> ACK with the current rcv_nxt") {
  Harness h;
  h.established();
  const uint8_t a[] = {'a'};
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK);
  d.payload = a;
  h.send(d);
  h.advance(40_ms);
  h.recv();
  h.send(d);  // again
  Seg dup = h.recv();
  CHECK(dup.tcp.ack.raw() == R + 2);
  CHECK(h.app.data.size() == 1);
}

TEST_CASE("ESTABLISHED: Nagle holds a second small segment until the first is acknowledged; TCP_NODELAY does not") {
  Harness h;
  TcpSocket* s = h.established();
  const uint8_t one[] = {'1'};
  s->send(one);
  Seg first = h.recv();
  CHECK(first.payload.size() == 1);
  s->send(one);
  s->send(one);
  h.recv_nothing();
  h.send(H::seg(R + 1, L + 2, flag::ACK));
  Seg second = h.recv();
  CHECK(second.payload.size() == 2);
  CHECK(second.tcp.seq.raw() == L + 2);
  s->set_nodelay(true);
  s->send(one);
  CHECK(h.recv().payload.size() == 1);
  s->send(one);
  CHECK(h.recv().payload.size() == 1);
}

TEST_CASE("ESTABLISHED: data is retransmitted after the RTO, with backoff, and the connection times out") {
  TcpConfig cfg = Harness::plain();
  cfg.retries = 2;
  Harness h(cfg);
  TcpSocket* s = h.established();
  const uint8_t x[] = {'x', 'y'};
  s->send(x);
  h.recv();
  // The handshake measured an RTT of 0 ns here, so RTO = rto_min = 200 ms.
  CHECK(s->rto() == 200_ms);
  h.advance(200_ms);
  Seg r1 = h.recv();
  CHECK(r1.tcp.seq.raw() == L + 1);
  CHECK(r1.payload.size() == 2);
  h.advance(400_ms);
  Seg r2 = h.recv();
  CHECK(r2.tcp.seq.raw() == L + 1);
  CHECK(s->cwnd() == s->snd_mss());  // loss window
  h.advance(800_ms);
  h.recv_nothing();
  CHECK(s->state() == TcpState::Closed);
  CHECK(h.app.closed == tcp::CloseReason::Timeout);
}

TEST_CASE("ESTABLISHED: zero window -> nothing sent, persist probes with seq = snd_una - 1; window opens -> data") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.send(H::seg(R, L + 1, flag::SYN | flag::ACK, 0));
  h.recv();
  REQUIRE(s->snd_wnd() == 0);
  const uint8_t msg[] = {'h', 'e', 'l', 'l', 'o'};
  CHECK(s->send(msg) == 5);
  h.recv_nothing();
  CHECK(std::holds_alternative<tcp::timer::Persist>(s->timer_state()));
  h.advance(s->rto());
  Seg probe = h.recv();
  CHECK(probe.tcp.seq.raw() == L);  // snd_una - 1
  CHECK(probe.payload.empty());
  // The answer keeps the window closed: the next probe comes after twice the time.
  h.send(H::seg(R + 1, L + 1, flag::ACK, 0));
  h.recv_nothing();
  h.advance(2 * s->rto() - 1_ns);
  h.recv_nothing();
  h.advance(1_ns);
  CHECK(h.recv().tcp.seq.raw() == L);
  CHECK(s->stats().zero_window_probes == 2);
  // The window opens: the data goes at once.
  h.send(H::seg(R + 1, L + 1, flag::ACK, 1000));
  Seg d = h.recv();
  CHECK(d.tcp.seq.raw() == L + 1);
  CHECK(d.payload.size() == 5);
}

TEST_CASE("ESTABLISHED as receiver: a full buffer advertises zero, reading reopens it with a window update") {
  TcpConfig cfg = Harness::plain();
  cfg.recv_buffer = 4096;
  Harness h(cfg);
  h.app.read_enabled = false;
  TcpSocket* s = h.established();
  std::vector<uint8_t> chunk(536, 'z');
  uint32_t seq = R + 1;
  for (int i = 0; i < 7; ++i) {
    wire::TcpRepr d = H::seg(seq, L + 1, flag::ACK);
    d.payload = chunk;
    h.send(d);
    seq += 536;
  }
  h.out.clear();
  h.advance(40_ms);
  h.out.clear();
  // 3752 of 4096 bytes buffered. An earlier ACK promised room up to 344 bytes
  // further, and a window never shrinks: still 344 (not yet zero).
  CHECK(s->rcv_wnd() == 344);
  wire::TcpRepr d = H::seg(seq, L + 1, flag::ACK);
  d.payload = chunk;
  h.send(d);  // 344 of its 536 bytes fit
  seq += 344;
  h.advance(40_ms);
  h.out.clear();
  CHECK(s->rcv_wnd() == 0);
  d.seq = SeqNumber{seq};
  h.send(d);  // beyond the window: dropped, answered with the window
  Seg a = h.recv();
  CHECK(a.tcp.window == 0);
  CHECK(a.tcp.ack.raw() == seq);
  uint8_t buf[4096];
  CHECK(s->recv(buf) == 4096);
  Seg update = h.recv();
  // The window offered is capped by rcv_ssthresh, which grew only while the
  // buffer had room (Linux tcp_grow_window): 2920 from the SYN (4096 rounded
  // down to the MSS), + 640 with the first segment (the space left then).
  CHECK(update.tcp.window == 3560);
}

// ------------------------------------------------------------------ FIN-WAIT-1 / 2, CLOSING, TIME-WAIT

TEST_CASE("FIN-WAIT-1: the ACK of our FIN -> FIN-WAIT-2; data still received (half-close)") {
  Harness h;
  TcpSocket* s = h.fin_wait1();
  h.send(H::seg(R + 1, L + 2, flag::ACK));
  CHECK(s->state() == TcpState::FinWait2);
  const uint8_t x[] = {'x'};
  wire::TcpRepr d = H::seg(R + 1, L + 2, flag::ACK | flag::PSH);
  d.payload = x;
  h.send(d);
  CHECK(h.app.data.size() == 1);
}

TEST_CASE("FIN-WAIT-1: the peer's FIN without our ACK -> CLOSING; FIN+ACK -> TIME-WAIT") {
  {
    Harness h;
    h.closing();
  }
  Harness h;
  TcpSocket* s = h.fin_wait1();
  h.send(H::seg(R + 1, L + 2, flag::FIN | flag::ACK));
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 2);
  CHECK(s->state() == TcpState::TimeWait);
  CHECK(h.app.closed == tcp::CloseReason::Normal);
}

TEST_CASE("FIN-WAIT-1: the FIN is retransmitted when not acknowledged") {
  Harness h;
  TcpSocket* s = h.fin_wait1();
  h.advance(s->rto());
  Seg f = h.recv();
  CHECK(f.has(flag::FIN));
  CHECK(f.tcp.seq.raw() == L + 1);
}

TEST_CASE("FIN-WAIT-2: FIN -> ACK and TIME-WAIT; an orphaned FIN-WAIT-2 gives up after fin_wait2_timeout") {
  {
    Harness h;
    h.time_wait();
  }
  Harness h;
  TcpSocket* s = h.fin_wait2();
  s->close();
  h.advance(60_s);
  CHECK(h.stack->connection_count() == 0);
  CHECK(h.app.closed == tcp::CloseReason::Timeout);
}

TEST_CASE("CLOSING: the ACK of our FIN -> TIME-WAIT") {
  Harness h;
  TcpSocket* s = h.closing();
  h.send(H::seg(R + 2, L + 2, flag::ACK));
  h.recv_nothing();
  CHECK(s->state() == TcpState::TimeWait);
}

TEST_CASE("TIME-WAIT: a repeated FIN -> ACK and 2MSL restarts; CLOSED after the configured time") {
  TcpConfig cfg = Harness::plain();
  cfg.time_wait = 10_s;
  Harness h(cfg);
  TcpSocket* s = h.time_wait();
  s->close();  // the application is done with it
  h.advance(5_s);
  h.send(H::seg(R + 1, L + 2, flag::FIN | flag::ACK));
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 2);
  h.advance(10_s - 1_ns);
  CHECK(h.stack->connection_count() == 1);
  h.advance(1_ns);
  CHECK(h.stack->connection_count() == 0);
  CHECK(h.stack->socket_count() == 0);
}

TEST_CASE("CLOSE-WAIT -> LAST-ACK -> CLOSED on the ACK of our FIN") {
  Harness h;
  TcpSocket* s = h.last_ack();
  h.send(H::seg(R + 2, L + 2, flag::ACK));
  h.recv_nothing();
  CHECK(s->state() == TcpState::Closed);
  CHECK(h.app.closed == tcp::CloseReason::Normal);
}

// ------------------------------------------------------------------ RST in every state

TEST_CASE("RST at rcv_nxt in every synchronized state closes the connection") {
  struct Case {
    const char* name;
    TcpSocket* (Harness::*setup)();
    uint32_t rcv_nxt;
    bool notifies;
  };
  const Case cases[] = {
      {"SYN-RECEIVED", &Harness::syn_received, R + 1, false},
      {"ESTABLISHED", &Harness::established, R + 1, true},
      {"FIN-WAIT-1", &Harness::fin_wait1, R + 1, true},
      {"FIN-WAIT-2", &Harness::fin_wait2, R + 1, true},
      {"CLOSE-WAIT", &Harness::close_wait, R + 2, true},
      {"CLOSING", &Harness::closing, R + 2, true},
      {"LAST-ACK", &Harness::last_ack, R + 2, true},
      {"TIME-WAIT", &Harness::time_wait, R + 2, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Harness h;
    TcpSocket* s = (h.*c.setup)();
    const bool was_closed = h.app.closed.has_value();
    h.send(H::seg(c.rcv_nxt, 0, flag::RST));
    h.recv_nothing();
    CHECK(s->state() == TcpState::Closed);
    CHECK(h.stack->connection_count() == 0);
    if (c.notifies && !was_closed) CHECK(h.app.closed == tcp::CloseReason::Reset);
    // Off by one: a challenge ACK instead (except where nothing is open any more).
  }
}

TEST_CASE("RST one byte off rcv_nxt in every synchronized state -> challenge ACK, no state change") {
  const std::pair<const char*, TcpSocket* (Harness::*)()> cases[] = {
      {"ESTABLISHED", &Harness::established}, {"FIN-WAIT-1", &Harness::fin_wait1},
      {"FIN-WAIT-2", &Harness::fin_wait2},   {"CLOSE-WAIT", &Harness::close_wait},
      {"CLOSING", &Harness::closing},         {"LAST-ACK", &Harness::last_ack},
      {"TIME-WAIT", &Harness::time_wait},
  };
  for (const auto& c : cases) {
    const char* name = c.first;
    auto setup = c.second;
    CAPTURE(name);
    Harness h;
    TcpSocket* s = (h.*setup)();
    const TcpState before = s->state();
    h.send(H::seg(s->rcv_nxt().raw() + 1, 0, flag::RST));
    Seg ch = h.recv();
    CHECK(ch.tcp.flags == flag::ACK);
    CHECK(s->state() == before);
  }
}

TEST_CASE("abort() sends RST in synchronized states; close() with unread data resets (Linux)") {
  {
    Harness h;
    TcpSocket* s = h.established();
    s->abort();
    Seg rst = h.recv();
    CHECK(rst.has(flag::RST));
    CHECK(rst.tcp.seq.raw() == L + 1);
    CHECK(h.app.log.size() == 1);  // only "connected": abort() reports nothing
  }
  Harness h;
  h.app.read_enabled = false;
  TcpSocket* s = h.established();
  const uint8_t x[] = {'x'};
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK);
  d.payload = x;
  h.send(d);
  h.out.clear();  // its ACK
  s->close();
  Seg rst = h.recv();
  CHECK(rst.has(flag::RST));
  CHECK(h.app.closed == tcp::CloseReason::Aborted);
}

TEST_CASE("timestamps: PAWS drops a segment with an older TSval and answers with an ACK") {
  TcpConfig cfg = Harness::plain();
  cfg.timestamps = true;
  Harness h(cfg);
  TcpSocket* s = h.syn_sent();
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
  sa.timestamps = std::pair{1000U, 0U};
  h.send(sa);
  Seg a = h.recv();
  REQUIRE(a.tcp.timestamps.has_value());
  CHECK(a.tcp.timestamps->second == 1000U);
  const uint8_t x[] = {'x'};
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK);
  d.payload = x;
  d.timestamps = std::pair{900U, 0U};  // older than ts_recent
  h.send(d);
  Seg dup = h.recv();
  CHECK(dup.tcp.ack.raw() == R + 1);
  CHECK(h.app.data.empty());
  CHECK(s->stats().paws_drops == 1);
  d.timestamps = std::pair{1001U, 0U};
  h.send(d);
  CHECK(h.app.data.size() == 1);
}

// ------------------------------------------------------------------ the table

TEST_CASE("state table: segment in -> segment out -> state after, for every state") {
  constexpr int kNothing = -1;
  struct Row {
    const char* state;
    TcpSocket* (Harness::*setup)();
    const char* input;
    int32_t seq_off;  // seg.seq = rcv_nxt + seq_off (SYN-SENT: the peer's ISN + seq_off)
    int32_t ack_off;  // seg.ack = snd_nxt + ack_off
    uint8_t flags;
    uint16_t payload;
    int out_flags;    // flags of the one segment sent, or kNothing
    TcpState after;
  };
  constexpr uint8_t A = flag::ACK, S = flag::SYN, F = flag::FIN, X = flag::RST;
  using St = TcpState;
  const Row rows[] = {
      {"SYN-SENT", &Harness::syn_sent, "SYN-ACK", 0, 0, S | A, 0, A, St::Established},
      {"SYN-SENT", &Harness::syn_sent, "SYN (simultaneous open)", 0, 0, S, 0, S | A, St::SynReceived},
      {"SYN-SENT", &Harness::syn_sent, "SYN-ACK acking too much", 0, 5, S | A, 0, X, St::SynSent},
      {"SYN-SENT", &Harness::syn_sent, "RST without ACK", 0, 0, X, 0, kNothing, St::SynSent},
      {"SYN-SENT", &Harness::syn_sent, "RST with acceptable ACK", 0, 0, X | A, 0, kNothing, St::Closed},
      {"SYN-SENT", &Harness::syn_sent, "bare ACK", 0, 0, A, 0, kNothing, St::SynSent},
      {"SYN-RECEIVED", &Harness::syn_received, "ACK", 0, 0, A, 0, kNothing, St::Established},
      {"SYN-RECEIVED", &Harness::syn_received, "ACK with data", 0, 0, A, 10, A, St::Established},
      {"SYN-RECEIVED", &Harness::syn_received, "ACK acking too much", 0, 5, A, 0, X, St::SynReceived},
      {"SYN-RECEIVED", &Harness::syn_received, "repeated SYN", -1, 0, S, 0, S | A, St::SynReceived},
      {"SYN-RECEIVED", &Harness::syn_received, "RST exact", 0, 0, X, 0, kNothing, St::Closed},
      {"ESTABLISHED", &Harness::established, "pure ACK", 0, 0, A, 0, kNothing, St::Established},
      {"ESTABLISHED", &Harness::established, "SYN", 0, 0, S, 0, A, St::Established},
      {"ESTABLISHED", &Harness::established, "RST exact", 0, 0, X, 0, kNothing, St::Closed},
      {"ESTABLISHED", &Harness::established, "RST in window", 10, 0, X, 0, A, St::Established},
      {"ESTABLISHED", &Harness::established, "RST out of window", 1 << 24, 0, X, 0, kNothing, St::Established},
      {"ESTABLISHED", &Harness::established, "ACK of unsent data", 0, 10, A, 0, A, St::Established},
      {"ESTABLISHED", &Harness::established, "old data", -1, 0, A, 1, A, St::Established},
      {"ESTABLISHED", &Harness::established, "data beyond the window", 1 << 24, 0, A, 10, A, St::Established},
      {"ESTABLISHED", &Harness::established, "FIN", 0, 0, F | A, 0, kNothing, St::CloseWait},
      {"ESTABLISHED", &Harness::established, "segment without ACK", 0, 0, 0, 10, kNothing, St::Established},
      {"FIN-WAIT-1", &Harness::fin_wait1, "ACK of our FIN", 0, 0, A, 0, kNothing, St::FinWait2},
      {"FIN-WAIT-1", &Harness::fin_wait1, "FIN, ours unacked", 0, -1, F | A, 0, A, St::Closing},
      {"FIN-WAIT-1", &Harness::fin_wait1, "FIN acking ours", 0, 0, F | A, 0, A, St::TimeWait},
      {"FIN-WAIT-1", &Harness::fin_wait1, "SYN", 0, 0, S, 0, A, St::FinWait1},
      {"FIN-WAIT-1", &Harness::fin_wait1, "RST exact", 0, 0, X, 0, kNothing, St::Closed},
      {"FIN-WAIT-2", &Harness::fin_wait2, "FIN", 0, 0, F | A, 0, A, St::TimeWait},
      {"FIN-WAIT-2", &Harness::fin_wait2, "data (half-close)", 0, 0, A, 10, A, St::FinWait2},
      {"FIN-WAIT-2", &Harness::fin_wait2, "RST in window", 5, 0, X, 0, A, St::FinWait2},
      {"CLOSE-WAIT", &Harness::close_wait, "repeated FIN", -1, 0, F | A, 0, A, St::CloseWait},
      {"CLOSE-WAIT", &Harness::close_wait, "pure ACK", 0, 0, A, 0, kNothing, St::CloseWait},
      {"CLOSE-WAIT", &Harness::close_wait, "RST exact", 0, 0, X, 0, kNothing, St::Closed},
      {"CLOSING", &Harness::closing, "ACK of our FIN", 0, 0, A, 0, kNothing, St::TimeWait},
      {"CLOSING", &Harness::closing, "repeated FIN", -1, -1, F | A, 0, A, St::Closing},
      {"LAST-ACK", &Harness::last_ack, "ACK of our FIN", 0, 0, A, 0, kNothing, St::Closed},
      {"LAST-ACK", &Harness::last_ack, "ACK short of our FIN", 0, -1, A, 0, kNothing, St::LastAck},
      {"LAST-ACK", &Harness::last_ack, "SYN", 0, 0, S, 0, A, St::LastAck},
      {"TIME-WAIT", &Harness::time_wait, "repeated FIN", -1, 0, F | A, 0, A, St::TimeWait},
      {"TIME-WAIT", &Harness::time_wait, "pure ACK", 0, 0, A, 0, kNothing, St::TimeWait},
      {"TIME-WAIT", &Harness::time_wait, "RST exact", 0, 0, X, 0, kNothing, St::Closed},
  };
  for (const Row& r : rows) {
    const std::string state = r.state;
    const std::string input = r.input;
    CAPTURE(state);
    CAPTURE(input);
    Harness h;
    TcpSocket* s = (h.*r.setup)();
    const bool syn_sent = s->state() == TcpState::SynSent;
    const uint32_t base = syn_sent ? R : s->rcv_nxt().raw();
    wire::TcpRepr in = H::seg(base + static_cast<uint32_t>(r.seq_off), s->snd_nxt().raw() + static_cast<uint32_t>(r.ack_off),
                              r.flags);
    std::vector<uint8_t> payload(r.payload, 'p');
    in.payload = payload;
    h.send(in);
    if (r.out_flags == kNothing) {
      h.recv_nothing();
    } else {
      REQUIRE_FALSE(h.out.empty());
      CHECK(h.recv().tcp.flags == r.out_flags);
      h.recv_nothing();
    }
    CHECK(std::string(tcp::state_name(s->state())) == tcp::state_name(r.after));
  }
}

TEST_CASE("D-SACK (RFC 2883): a duplicate segment is reported once in the first SACK block") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  Harness h(cfg);
  TcpSocket* s = h.syn_sent();
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
  sa.sack_permitted = true;
  h.send(sa);
  h.recv();
  const uint8_t x[] = {'a', 'b', 'c', 'd'};
  wire::TcpRepr d = H::seg(R + 1, L + 1, flag::ACK);
  d.payload = x;
  h.send(d);
  h.out.clear();
  h.send(d);  // again: all old
  Seg a = h.recv();
  CHECK(a.tcp.ack.raw() == R + 5);
  REQUIRE(a.tcp.sack_count == 1);
  CHECK(a.tcp.sack_blocks[0].first.raw() == R + 1);
  CHECK(a.tcp.sack_blocks[0].second.raw() == R + 5);
  // Out of order data received twice: the D-SACK block, then the normal SACK block.
  d.seq = SeqNumber{R + 20};
  h.send(d);
  Seg b = h.recv();
  REQUIRE(b.tcp.sack_count == 1);
  h.send(d);
  Seg c = h.recv();
  REQUIRE(c.tcp.sack_count == 2);
  CHECK(c.tcp.sack_blocks[0].first.raw() == R + 20);
  CHECK(c.tcp.sack_blocks[0].second.raw() == R + 24);
  CHECK(c.tcp.sack_blocks[1].first.raw() == R + 20);
  // D-SACK off: plain SACK only.
  TcpConfig off = cfg;
  off.dsack = false;
  Harness h2(off);
  h2.syn_sent();
  h2.send(sa);
  h2.recv();
  d.seq = SeqNumber{R + 1};
  h2.send(d);
  h2.out.clear();
  h2.send(d);
  CHECK(h2.recv().tcp.sack_count == 0);
  CHECK(s->sack_enabled());
}

TEST_CASE("congestion control: algorithms by name, NewReno's rules") {
  using namespace tcpmig::tcp;
  const auto names = congestion_control_names();
  REQUIRE(names.size() == 2);
  CHECK(names[0] == "newreno");
  CHECK(names[1] == "cubic");
  CHECK(make_congestion_control("bbr") == nullptr);
  auto cc = make_congestion_control("newreno");
  REQUIRE(cc != nullptr);
  CHECK(cc->name() == "newreno");
  const CongestionView v = cc_view(1000, 20000, tcpmig::sim::Time::zero(), tcpmig::sim::Duration::zero());
  uint32_t cwnd = 10000;
  cc->on_ack(cwnd, 15000, 3000, v);  // slow start: + bytes acked, capped at ssthresh
  CHECK(cwnd == 13000);
  cc->on_ack(cwnd, 15000, 5000, v);
  CHECK(cwnd == 15000);
  cc->on_ack(cwnd, 15000, 14999, v);  // avoidance: +1 MSS per cwnd of bytes acked
  CHECK(cwnd == 15000);
  cc->on_ack(cwnd, 15000, 1, v);
  CHECK(cwnd == 16000);
  cc->on_ack(cwnd, 15000, 15999, v);
  cc->on_event(CongestionEvent::EnterRecovery);  // forgets the partial count
  cc->on_ack(cwnd, 15000, 1, v);
  CHECK(cwnd == 16000);
  CHECK(cc->ssthresh_after_loss(16000, v) == 10000);  // half the flight
  CHECK(cc->ssthresh_after_loss(16000, cc_view(1000, 3000, tcpmig::sim::Time::zero(), tcpmig::sim::Duration::zero())) == 2000);  // >= 2 MSS
}

TEST_CASE("CUBIC HyStart: an ACK train half the min RTT long, or a rise in the round's min RTT, ends slow start") {
  using namespace tcpmig::tcp;
  using tcpmig::sim::Duration;
  using tcpmig::sim::Time;
  const uint32_t mss = 1000;
  const uint32_t big = 0x7fff'ffff;
  SUBCASE("ACK train") {
    auto cc = make_congestion_control("cubic");
    uint32_t cwnd = 20 * mss, ssthresh = big;
    Time now = Time::zero() + Duration::seconds(5);
    CongestionView v = cc_view(mss, cwnd, now, Duration::milliseconds(10));
    v.ack = SeqNumber{1000};
    v.snd_nxt = SeqNumber{1000 + cwnd};
    // ACKs 0.5 ms apart (a 16 Mbit/s bottleneck), RTT 10 ms: the pipe fills
    // once the train lasts (10 + 1) / 2 = 5.5 ms.
    int acks = 0;
    while (ssthresh == big && acks < 100) {
      v.rtt = Duration::milliseconds(10);
      v.now = now;
      cc->on_ack_sample(cwnd, ssthresh, v);
      if (ssthresh != big) break;
      cc->on_ack(cwnd, ssthresh, mss, v);
      v.ack = v.ack + mss;
      now = now + Duration::microseconds(500);
      ++acks;
    }
    CHECK(ssthresh == cwnd);
    CHECK(acks == 12);  // at 6 ms into the round
  }
  SUBCASE("delay rise") {
    auto cc = make_congestion_control("cubic");
    uint32_t cwnd = 20 * mss, ssthresh = big;
    Time now = Time::zero() + Duration::seconds(5);
    CongestionView v = cc_view(mss, cwnd, now, Duration::milliseconds(10));
    v.ack = SeqNumber{1000};
    v.snd_nxt = SeqNumber{1000 + cwnd};
    // ACKs 3 ms apart (no train). Round 1: RTT 10 ms; round 2: 13.9 ms (below
    // the 4 ms threshold), round 3: 14.1 ms.
    const Duration rtts[3] = {Duration::milliseconds(10), Duration::microseconds(13'900),
                              Duration::microseconds(14'100)};
    int found_in = -1;
    for (int round = 0; round < 3 && found_in < 0; ++round) {
      for (int k = 0; k < 10 && found_in < 0; ++k) {
        v.rtt = rtts[round];
        v.now = now;
        cc->on_ack_sample(cwnd, ssthresh, v);
        if (ssthresh != big) found_in = round;
        cc->on_ack(cwnd, ssthresh, 0, v);  // no growth: the round is the same window
        now = now + Duration::milliseconds(3);
      }
      v.ack = v.snd_nxt + 1;  // the next ACK passes the round's end
      v.snd_nxt = v.snd_nxt + cwnd;
    }
    CHECK(found_in == 2);
    CHECK(ssthresh == cwnd);
  }
  SUBCASE("not below 16 segments") {
    auto cc = make_congestion_control("cubic");
    uint32_t cwnd = 15 * mss, ssthresh = big;
    CongestionView v = cc_view(mss, cwnd, Time::zero() + Duration::seconds(5), Duration::milliseconds(10));
    v.snd_nxt = SeqNumber{1000 + cwnd};
    for (int k = 0; k < 100; ++k) {
      v.rtt = Duration::milliseconds(10 + k);
      cc->on_ack_sample(cwnd, ssthresh, v);
      cc->on_ack(cwnd, ssthresh, 0, v);
      v.now = v.now + Duration::microseconds(100);
    }
    CHECK(ssthresh == big);
  }
}

TEST_CASE("CUBIC: beta 0.7, a concave climb back to W_max around K, then convex probing") {
  using namespace tcpmig::tcp;
  using tcpmig::sim::Duration;
  using tcpmig::sim::Time;
  auto cc = make_congestion_control("cubic");
  REQUIRE(cc != nullptr);
  const uint32_t mss = 1000;
  uint32_t cwnd = 100 * mss;
  const Duration rtt = Duration::milliseconds(100);
  CongestionView v = cc_view(mss, cwnd, Time::zero(), rtt);
  const uint32_t ssthresh = cc->ssthresh_after_loss(cwnd, v);
  CHECK(ssthresh == 70 * mss);  // beta = 0.7
  cc->on_event(CongestionEvent::EnterRecovery);
  cwnd = ssthresh;
  // One window of ACKs per RTT. K = cbrt((100 - 70) / 0.4) s = 4.217 s.
  Time now = Time::zero();
  uint32_t at_2s = 0, at_k = 0, at_7s = 0;
  for (int round = 1; round <= 70; ++round) {
    now = now + rtt;
    const uint32_t window = cwnd;
    for (uint32_t a = 0; a < window; a += mss) cc->on_ack(cwnd, ssthresh, mss, cc_view(mss, window, now, rtt));
    if (round == 20) at_2s = cwnd;
    if (round == 42) at_k = cwnd;
    if (round == 70) at_7s = cwnd;
  }
  CHECK(at_2s > 70 * mss);
  CHECK(at_2s > 93 * mss);
  CHECK(at_2s < 98 * mss);              // concave: 100 - 0.4 * 2.2^3 = 95.6 at 2 s
  CHECK(at_k >= 97 * mss);
  CHECK(at_k <= 103 * mss);             // the plateau at W_max around K
  CHECK(at_7s > 106 * mss);             // convex: probing beyond W_max (100 + 0.4 * 2.8^3 = 108.7 at 7 s)
  CHECK(at_7s < 111 * mss);
  // Fast convergence: a loss below the last W_max remembers less than the window.
  const uint32_t small = 80 * mss;
  CHECK(cc->ssthresh_after_loss(small, v) == 56 * mss);
  CHECK(cc->ssthresh_after_loss(2 * mss, v) == 2 * mss);  // never below 2 MSS
}

TEST_CASE("host processing latency draws: fixed, uniform within bounds, an empirical table's quantiles") {
  using namespace tcpmig::tcp;
  using tcpmig::sim::Duration;
  Lab lab;
  AppLatency fixed;
  fixed.kind = AppLatency::Kind::Fixed;
  fixed.fixed = Duration::microseconds(250);
  CHECK(lab.cstack->draw_app_latency(fixed) == Duration::microseconds(250));
  AppLatency uni;
  uni.kind = AppLatency::Kind::Uniform;
  uni.lo = Duration::microseconds(100);
  uni.hi = Duration::microseconds(900);
  for (int i = 0; i < 1000; ++i) {
    const Duration d = lab.cstack->draw_app_latency(uni);
    CHECK(d >= uni.lo);
    CHECK(d <= uni.hi);
  }
  AppLatency table;
  table.kind = AppLatency::Kind::Table;
  table.table = std::make_shared<const std::vector<std::pair<uint32_t, Duration>>>(
      std::vector<std::pair<uint32_t, Duration>>{{0, Duration::microseconds(100)},
                                                 {500'000, Duration::microseconds(200)},
                                                 {990'000, Duration::milliseconds(2)},
                                                 {1'000'000, Duration::milliseconds(8)}});
  std::vector<Duration> draws;
  for (int i = 0; i < 20000; ++i) draws.push_back(lab.cstack->draw_app_latency(table));
  std::sort(draws.begin(), draws.end());
  CHECK(draws.front() >= Duration::microseconds(100));
  CHECK(draws.back() <= Duration::milliseconds(8));
  CHECK(draws[10000] > Duration::microseconds(190));  // the median: 200 us
  CHECK(draws[10000] < Duration::microseconds(210));
  CHECK(draws[18000] > Duration::microseconds(1600));  // the 90th percentile: 200 + 1800 * 0.4 / 0.49 = 1669 us
  CHECK(draws[18000] < Duration::microseconds(1740));
  // Its own stream: two labs with the same seed draw the same.
  Lab one, two;
  for (int i = 0; i < 5; ++i) CHECK(one.cstack->draw_app_latency(uni) == two.cstack->draw_app_latency(uni));
  // A table spanning 10^5 s: the interpolation does not overflow.
  table.table = std::make_shared<const std::vector<std::pair<uint32_t, Duration>>>(
      std::vector<std::pair<uint32_t, Duration>>{{0, Duration::zero()}, {1'000'000, Duration::seconds(100'000)}});
  for (int i = 0; i < 1000; ++i) {
    const Duration d = lab.cstack->draw_app_latency(table);
    CHECK(d >= Duration::zero());
    CHECK(d <= Duration::seconds(100'000));
  }
}

TEST_CASE("host processing latency: data and FIN that complete the close reach the application before on_closed") {
  TcpConfig cfg = Harness::plain();
  cfg.app_latency.kind = tcp::AppLatency::Kind::Fixed;
  cfg.app_latency.fixed = 1_ms;
  Harness h(cfg);
  h.fin_wait2();
  wire::TcpRepr d = H::seg(R + 1, L + 2, flag::FIN | flag::ACK | flag::PSH);
  const uint8_t hi[] = {'h', 'i'};
  d.payload = hi;
  h.send(d);  // -> TIME-WAIT at once; the application was still to hear of "hi" and the FIN
  h.advance(5_ms);
  REQUIRE(h.app.log.size() >= 3);
  const std::vector<std::string> tail(h.app.log.end() - 3, h.app.log.end());
  CHECK(tail == std::vector<std::string>{"readable", "peer_fin", "closed:normal"});
  CHECK(h.app.data.size() == 2);
}
