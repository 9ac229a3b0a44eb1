// Sender-side rules driven by crafted ACKs: RACK-TLP (RFC 8985) and PRR
// (RFC 6937) on SACK connections, RFC 6675 SACK recovery resends only the holes, RFC 6582 NewReno partial ACKs, RFC 6298 RTT estimation,
// RFC 7323 window scaling, and reuse of a tuple in TIME_WAIT.
#include <doctest/doctest.h>

#include "tcp_lab.hpp"

using namespace tcplab;
using H = Harness;

namespace {
constexpr uint32_t L = Harness::kLocalIsn;
constexpr uint32_t R = Harness::kRemoteIsn;

// Active open; the peer's SYN-ACK announces MSS 1000 (and SACK if asked).
TcpSocket* open_with(Harness& h, bool sack, std::optional<uint8_t> wscale = std::nullopt,
                     sim::Duration rtt = sim::Duration::zero()) {
  TcpSocket* s = h.syn_sent();
  h.advance(rtt);  // the handshake's RTT is the connection's first sample
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK);
  sa.mss = 1000;
  sa.sack_permitted = sack;
  sa.window_scale = wscale;
  h.send(sa);
  h.recv();
  REQUIRE(s->state() == TcpState::Established);
  return s;
}

// An ACK from the peer with up to 3 SACK blocks (offsets relative to L + 1).
wire::TcpRepr ack_with_sack(uint32_t ack_off, std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
  wire::TcpRepr a = H::seg(R + 1, L + 1 + ack_off, flag::ACK);
  for (const auto& [l, r] : blocks) {
    a.sack_blocks[a.sack_count++] = {SeqNumber{L + 1 + l}, SeqNumber{L + 1 + r}};
  }
  return a;
}

std::vector<uint8_t> bytes(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = pattern(k);
  return v;
}
}  // namespace

TEST_CASE("IW10: ten full segments leave at once, then the sender waits for ACKs") {
  Harness h;
  TcpSocket* s = open_with(h, false);
  CHECK(s->snd_mss() == 1000);
  CHECK(s->cwnd() == 10'000);
  const auto data = bytes(15'000);
  CHECK(s->send(data) == 15'000);
  for (uint32_t i = 0; i < 10; ++i) {
    Seg d = h.recv();
    CHECK(d.tcp.seq.raw() == L + 1 + 1000 * i);
    CHECK(d.payload.size() == 1000);
  }
  h.recv_nothing();
  // One ACK of two segments: slow start adds the 2000 bytes acked.
  h.send(H::seg(R + 1, L + 1 + 2000, flag::ACK));
  CHECK(s->cwnd() == 12'000);
  for (int i = 0; i < 4; ++i) CHECK(h.recv().payload.size() == 1000);
  h.recv_nothing();
}

TEST_CASE("SACK (RFC 6675): three SACKed segments above a hole trigger one retransmission of the hole") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  cfg.loss_detection = TcpConfig::LossDetection::Dupthresh;
  Harness h(cfg);
  TcpSocket* s = open_with(h, true);
  REQUIRE(s->sack_enabled());
  s->send(bytes(10'000));
  for (int i = 0; i < 10; ++i) h.recv();
  h.send(ack_with_sack(0, {{1000, 2000}}));
  h.recv_nothing();
  h.send(ack_with_sack(0, {{1000, 3000}}));
  h.recv_nothing();
  h.send(ack_with_sack(0, {{1000, 4000}}));  // 3000 bytes SACKed above: snd_una is lost
  Seg rx = h.recv();
  CHECK(rx.tcp.seq.raw() == L + 1);
  CHECK(rx.payload.size() == 1000);
  h.recv_nothing();
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  CHECK(s->ssthresh() == 5'000);
  CHECK(s->stats().fast_retransmits == 1);
  h.send(H::seg(R + 1, L + 1 + 10'000, flag::ACK));
  CHECK(s->ca_state() == tcp::CaState::Open);
  CHECK(s->cwnd() == 5'000);
}

TEST_CASE("SACK (RFC 6675): two holes are both resent, SACKed data never is") {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  cfg.loss_detection = TcpConfig::LossDetection::Dupthresh;
  Harness h(cfg);
  TcpSocket* s = open_with(h, true);
  s->send(bytes(10'000));
  for (int i = 0; i < 10; ++i) h.recv();
  // Segments 0 and 4 lost; 1-3 and 5-9 arrive.
  h.send(ack_with_sack(0, {{1000, 2000}}));
  h.send(ack_with_sack(0, {{1000, 3000}}));
  h.send(ack_with_sack(0, {{1000, 4000}}));
  CHECK(h.recv().tcp.seq.raw() == L + 1);
  h.send(ack_with_sack(0, {{5000, 6000}, {1000, 4000}}));
  h.send(ack_with_sack(0, {{5000, 7000}, {1000, 4000}}));
  h.send(ack_with_sack(0, {{5000, 8000}, {1000, 4000}}));  // 3000 SACKed above segment 4
  Seg rx = h.recv();
  CHECK(rx.tcp.seq.raw() == L + 1 + 4000);
  h.recv_nothing();
  CHECK(s->stats().retransmits == 2);
  h.send(H::seg(R + 1, L + 1 + 10'000, flag::ACK));
  h.recv_nothing();
  CHECK(s->snd_una() == s->snd_nxt());
}

// ---- RACK-TLP (RFC 8985) and PRR (RFC 6937), Linux's defaults with SACK.
namespace {
TcpConfig rack_cfg() {
  TcpConfig cfg = Harness::plain();
  cfg.sack = true;
  return cfg;
}
// Every segment the stack sent since the last call, by offset from L + 1.
std::vector<uint32_t> sent_offsets(Harness& h) {
  std::vector<uint32_t> v;
  while (!h.out.empty()) v.push_back(h.recv().tcp.seq.raw() - (L + 1));
  return v;
}
}  // namespace

TEST_CASE("RACK: one SACK above a hole waits a quarter of the min RTT, then the hole is resent; no RTO") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 100_ms);
  REQUIRE(s->rack_active());
  CHECK(s->min_rtt() == 100_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(100_ms);
  h.send(ack_with_sack(0, {{1000, 2000}}));  // segment 1 arrived, segment 0 may only be late
  h.recv_nothing();
  CHECK(s->ca_state() == tcp::CaState::Open);
  // Reordering window min_rtt/4 = 25 ms (plus Linux's 2 ms timer slack).
  h.advance(26_ms);
  h.recv_nothing();
  h.advance(2_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{0});
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  CHECK(s->stats().reorder_timeouts == 1);
  CHECK(s->stats().rack_lost == 1);
  CHECK(s->stats().timeouts == 0);
}

TEST_CASE("RACK + PRR: 3 SACKs mark the hole lost at once; PRR holds the pipe at ssthresh; recovery ends there") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 100_ms);
  s->send(bytes(20'000));
  CHECK(sent_offsets(h).size() == 10);  // IW10
  h.advance(100_ms);
  // SACKed segments have left the network: new data takes their place.
  h.send(ack_with_sack(0, {{1000, 2000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{10'000});
  h.send(ack_with_sack(0, {{1000, 3000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{11'000});
  h.send(ack_with_sack(0, {{1000, 4000}}));  // dupthresh SACKed: no reordering window
  CHECK(sent_offsets(h) == std::vector<uint32_t>{0});
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  CHECK(s->ssthresh() == 6'000);  // half of the 12 segments in flight
  CHECK(s->stats().fast_retransmits == 1);
  // Above ssthresh PRR sends ssthresh/prior cwnd (6/10) of what is
  // delivered, counting the retransmission: nothing more yet.
  for (uint32_t r = 5000; r <= 7000; r += 1000) h.send(ack_with_sack(0, {{1000, r}}));
  h.recv_nothing();
  // Below ssthresh: one new segment per segment delivered, pipe = ssthresh.
  h.send(ack_with_sack(0, {{1000, 8000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{12'000});
  h.send(ack_with_sack(0, {{1000, 9000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{13'000});
  CHECK(s->cwnd() == 6'000);
  // Everything sent before recovery began is acked: cwnd = ssthresh.
  h.send(ack_with_sack(12'000, {}));
  CHECK(s->ca_state() == tcp::CaState::Open);
  CHECK(s->cwnd() == 6'000);
  CHECK(s->stats().timeouts == 0);
}

TEST_CASE("RACK: a lost retransmission is found by time and resent again, without waiting for the RTO") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 100_ms);
  s->send(bytes(20'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(100_ms);
  h.send(ack_with_sack(0, {{1000, 2000}}));
  h.send(ack_with_sack(0, {{1000, 3000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{10'000, 11'000});
  h.send(ack_with_sack(0, {{1000, 4000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{0});  // the retransmission (it will be lost too)
  for (uint32_t r = 5000; r <= 9000; r += 1000) h.send(ack_with_sack(0, {{1000, r}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{12'000, 13'000});  // sent after the retransmission
  // One RTT later the segments sent with and after it are SACKed, it is not.
  h.advance(100_ms);
  h.send(ack_with_sack(0, {{1000, 14'000}}));
  const std::vector<uint32_t> out = sent_offsets(h);
  REQUIRE_FALSE(out.empty());
  CHECK(out.front() == 0);
  CHECK(s->stats().rack_lost == 2);
  CHECK(s->stats().timeouts == 0);
  CHECK(s->stats().retransmits == 2);
}

TEST_CASE("TLP: a lost tail is probed after 2 RTTs, long before the RTO, and recovered by RACK") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 20_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(20_ms);
  h.send(ack_with_sack(8000, {}));  // segments 8 and 9, the tail, were lost
  CHECK(std::holds_alternative<tcp::timer::LossProbe>(s->timer_state()));
  // PTO = 2 SRTT + 2 ms = 42 ms; the RTO would be 220 ms after the first send.
  h.advance(41_ms);
  h.recv_nothing();
  h.advance(1_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{9000});  // the last segment again
  CHECK(s->stats().loss_probes == 1);
  // The probe's SACK shows segment 8 lost: fast recovery, not an RTO.
  h.advance(20_ms);
  h.send(ack_with_sack(8000, {{9000, 10'000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{8000});
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  h.advance(20_ms);
  h.send(ack_with_sack(10'000, {}));
  CHECK(s->ca_state() == tcp::CaState::Open);
  CHECK(s->snd_una() == s->snd_nxt());
  CHECK(s->stats().timeouts == 0);
}

TEST_CASE("RACK: reordering seen keeps a window open even when 3 segments are SACKed above a hole") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 20_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(20_ms);
  h.send(ack_with_sack(0, {{1000, 2000}}));
  h.advance(1_ms);
  h.send(ack_with_sack(2000, {}));  // segment 0 was late, not lost
  CHECK(s->stats().reordering_seen == 1);
  CHECK(s->stats().retransmits == 0);
  h.advance(10_ms);
  h.recv_nothing();  // the reordering timer found nothing to resend
  // Now three SACKs above segment 2 wait min_rtt/4 = 5 ms instead of resending at once.
  h.send(ack_with_sack(2000, {{3000, 6000}}));
  h.recv_nothing();
  h.advance(10_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{2000});
  CHECK(s->stats().timeouts == 0);
}

TEST_CASE("TLP with a long RTT: the probe goes 2 SRTT after the last ACK and the RTO runs a whole RTO after it") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 150_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(150_ms);
  h.send(ack_with_sack(8000, {}));  // the tail, segments 8 and 9, was lost
  // PTO = 2 x 150 + 2 ms, within the 450 ms RTO an advancing ACK restarts.
  h.advance(301_ms);
  h.recv_nothing();
  h.advance(1_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{9000});
  // The RTO is a full RTO after the probe, not due at once.
  h.advance(150_ms);
  h.send(ack_with_sack(8000, {{9000, 10'000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{8000});
  h.advance(150_ms);
  h.send(ack_with_sack(10'000, {}));
  CHECK(s->snd_una() == s->snd_nxt());
  CHECK(s->stats().loss_probes == 1);
  CHECK(s->stats().timeouts == 0);
}

TEST_CASE("RACK: a D-SACK alone does not make the connection count as reordering") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 20_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(20_ms);
  h.send(ack_with_sack(0, {{1000, 4000}}));
  CHECK(sent_offsets(h).front() == 0);  // resent: it was only late
  h.advance(20_ms);
  h.send(ack_with_sack(10'000, {{0, 1000}}));  // D-SACK: both copies arrived
  CHECK(s->stats().dsacks_in == 1);
  CHECK(s->stats().reordering_seen == 0);
}

TEST_CASE("RACK: an RTO marks what is out lost, resends from snd_una in slow start, and recovery ends in Open") {
  Harness h(rack_cfg());
  TcpSocket* s = open_with(h, true, std::nullopt, 20_ms);
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  // Nothing comes back: the probe (2 SRTT + 2 ms), then the RTO 220 ms after it.
  h.advance(42_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{9000});
  h.advance(219_ms);
  h.recv_nothing();
  h.advance(1_ms);
  CHECK(sent_offsets(h) == std::vector<uint32_t>{0});
  CHECK(s->ca_state() == tcp::CaState::Loss);
  CHECK(s->stats().timeouts == 1);
  CHECK(s->cwnd() == 1000);
  // Slow start by what each ACK delivers, SACKed bytes included (Linux
  // acked_sacked): 1 + 2 segments, then more as the ACKs come back.
  h.advance(20_ms);
  h.send(ack_with_sack(1000, {{9000, 10'000}}));  // the probe's copy arrived too
  CHECK(sent_offsets(h) == std::vector<uint32_t>{1000, 2000, 3000});
  h.advance(20_ms);
  h.send(ack_with_sack(3000, {{9000, 10'000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{4000, 5000, 6000, 7000});
  h.advance(20_ms);
  h.send(ack_with_sack(7000, {{9000, 10'000}}));
  CHECK(sent_offsets(h) == std::vector<uint32_t>{8000});  // 9000 was SACKed: not resent
  h.advance(20_ms);
  h.send(ack_with_sack(10'000, {}));
  CHECK(s->ca_state() == tcp::CaState::Open);
  CHECK(s->snd_una() == s->snd_nxt());
  CHECK(s->segments_in_flight() == 0);
  CHECK(s->stats().timeouts == 1);
}

TEST_CASE("loss-detection dupthresh keeps RFC 6675: one SACK above a hole never resends it by time") {
  TcpConfig cfg = rack_cfg();
  cfg.loss_detection = TcpConfig::LossDetection::Dupthresh;
  cfg.tail_loss_probe = true;  // ignored without RACK, as Linux
  Harness h(cfg);
  TcpSocket* s = open_with(h, true, std::nullopt, 20_ms);
  CHECK_FALSE(s->rack_active());
  s->send(bytes(10'000));
  CHECK(sent_offsets(h).size() == 10);
  h.advance(20_ms);
  h.send(ack_with_sack(0, {{1000, 2000}}));
  h.advance(100_ms);
  h.recv_nothing();
  CHECK(std::holds_alternative<tcp::timer::Retransmit>(s->timer_state()));
}

TEST_CASE("NewReno (RFC 6582): 3 dupacks -> fast retransmit; a partial ACK resends the next hole at once") {
  Harness h;
  TcpSocket* s = open_with(h, false);
  s->send(bytes(10'000));
  for (int i = 0; i < 10; ++i) h.recv();
  for (int i = 0; i < 3; ++i) h.send(H::seg(R + 1, L + 1, flag::ACK));
  Seg rx = h.recv();
  CHECK(rx.tcp.seq.raw() == L + 1);
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  CHECK(s->ssthresh() == 5'000);
  CHECK(s->cwnd() == 8'000);  // ssthresh + 3 MSS
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  CHECK(s->cwnd() == 9'000);  // inflated by one MSS per further dupack
  h.send(H::seg(R + 1, L + 1 + 4000, flag::ACK));  // partial: segment 4 was lost too
  Seg rx2 = h.recv();
  CHECK(rx2.tcp.seq.raw() == L + 1 + 4000);
  CHECK(s->ca_state() == tcp::CaState::Recovery);
  h.send(H::seg(R + 1, L + 1 + 10'000, flag::ACK));  // full ACK
  CHECK(s->ca_state() == tcp::CaState::Open);
  CHECK(s->cwnd() == 5'000);
}

TEST_CASE("limited transmit (RFC 3042): the first two dupacks each release one new segment") {
  Harness h;
  TcpSocket* s = open_with(h, false);
  s->send(bytes(14'000));
  for (int i = 0; i < 10; ++i) h.recv();
  h.recv_nothing();
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  CHECK(h.recv().tcp.seq.raw() == L + 1 + 10'000);
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  CHECK(h.recv().tcp.seq.raw() == L + 1 + 11'000);
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  CHECK(h.recv().tcp.seq.raw() == L + 1);  // third: fast retransmit
  CHECK(s->stats().fast_retransmits == 1);
}

TEST_CASE("RTO (RFC 6298): first sample sets SRTT = R, RTTVAR = R/2; later ones smooth; Karn skips retransmissions") {
  Harness h;
  TcpSocket* s = h.syn_sent();
  h.advance(100_ms);
  h.send(H::seg(R, L + 1, flag::SYN | flag::ACK));
  h.recv();
  CHECK(s->srtt() == 100_ms);
  CHECK(s->rttvar() == 50_ms);
  CHECK(s->rto() == 300_ms);  // 100 + max(4 * 50, 200)
  const auto d = bytes(100);
  s->send(d);
  h.recv();
  h.advance(100_ms);
  h.send(H::seg(R + 1, L + 101, flag::ACK));
  CHECK(s->srtt() == 100_ms);
  CHECK(s->rttvar() == sim::Duration::microseconds(37'500));
  CHECK(s->rto() == 300_ms);  // Linux: 100 + max(4 * 37.5, rto_min 200)
  // A retransmitted segment gives no sample (Karn), and its RTO doubled stays.
  s->send(d);
  h.recv();
  h.advance(300_ms);
  h.recv();  // the retransmission
  h.advance(10_ms);
  h.send(H::seg(R + 1, L + 201, flag::ACK));
  CHECK(s->stats().rtt_samples == 2);
  CHECK(s->rto() == 600_ms);
}

TEST_CASE("window scaling (RFC 7323): the peer's window is shifted; ours is advertised shifted by 7") {
  TcpConfig cfg = Harness::plain();
  cfg.window_scaling = true;
  Harness h(cfg);
  TcpSocket* s = h.stack->connect(ip("10.0.0.2"), 4000, &h.app, 80);
  Seg syn = h.recv();
  CHECK(syn.tcp.window_scale == 7);
  wire::TcpRepr sa = H::seg(R, L + 1, flag::SYN | flag::ACK, 5000);
  sa.window_scale = 2;
  h.send(sa);
  Seg a = h.recv();
  CHECK(s->snd_wnd() == 5000);  // a SYN's window is never scaled
  CHECK(a.tcp.window == 502);   // 64240 >> 7, rounded up as Linux does
  h.send(H::seg(R + 1, L + 1, flag::ACK, 1000));
  CHECK(s->snd_wnd() == 4000);
  CHECK(s->snd_wscale() == 2);
  CHECK(s->rcv_wscale() == 7);
}

TEST_CASE("TIME-WAIT: a new SYN with a higher sequence number reopens the tuple through the listener") {
  Harness h;
  TcpSocket* c = h.syn_received();
  h.send(H::seg(R + 1, L + 1, flag::ACK));
  REQUIRE(c->state() == TcpState::Established);
  c->close();  // we close first: FIN-WAIT-1
  Seg fin = h.recv();
  CHECK(fin.has(flag::FIN));
  h.send(H::seg(R + 1, L + 2, flag::FIN | flag::ACK));
  h.recv();
  REQUIRE(c->state() == TcpState::TimeWait);
  // An old SYN (not above rcv_nxt) is answered with an ACK (RFC 5961 challenge).
  h.send(H::seg(R, 0, flag::SYN));
  CHECK(h.recv().tcp.flags == flag::ACK);
  // A new one starts a fresh connection.
  h.send(H::seg(R + 100'000, 0, flag::SYN));
  Seg sa = h.recv();
  CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
  CHECK(sa.tcp.ack.raw() == R + 100'001);
  TcpSocket* fresh = h.stack->find({ip("10.0.0.1"), 80, ip("10.0.0.2"), 4000});
  REQUIRE(fresh != nullptr);
  CHECK(fresh->state() == TcpState::SynReceived);
}
