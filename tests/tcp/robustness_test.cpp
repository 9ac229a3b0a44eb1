// Random segments thrown at sockets in every state: nothing crashes (run it
// under the sanitizer build), invariants hold, and the stack keeps working.
#include <doctest/doctest.h>

#include "tcp_lab.hpp"

using namespace tcplab;
using H = Harness;

TEST_CASE("random segments in every state keep the socket's invariants") {
  TcpSocket* (Harness::*setups[])() = {&Harness::syn_sent,  &Harness::syn_received, &Harness::established,
                                       &Harness::fin_wait1, &Harness::fin_wait2,    &Harness::close_wait,
                                       &Harness::closing,   &Harness::last_ack,     &Harness::time_wait};
  sim::Rng rng(12345);
  std::vector<uint8_t> payload(1400, 'r');
  for (int round = 0; round < 30; ++round) {
    for (auto setup : setups) {
      TcpConfig cfg;  // all options on
      cfg.isn = Harness::kLocalIsn;
      Harness h(cfg);
      TcpSocket* s = (h.*setup)();
      const uint64_t id_state = static_cast<uint64_t>(s->state());
      CAPTURE(id_state);
      for (int i = 0; i < 200; ++i) {
        const uint32_t near_rcv = s->rcv_nxt().raw() + static_cast<uint32_t>(rng.uniform_int(-3000, 3000));
        const uint32_t near_snd = s->snd_nxt().raw() + static_cast<uint32_t>(rng.uniform_int(-3000, 100));
        // One draw per statement: argument evaluation order differs between compilers.
        const uint32_t seq = rng.bernoulli(0.9) ? near_rcv : static_cast<uint32_t>(rng.next_u64());
        const uint32_t ack = rng.bernoulli(0.9) ? near_snd : static_cast<uint32_t>(rng.next_u64());
        const auto flags = static_cast<uint8_t>(rng.below(64));
        const auto window = static_cast<uint16_t>(rng.below(65536));
        wire::TcpRepr r = H::seg(seq, ack, flags, window);
        if (rng.bernoulli(0.3)) r.timestamps = std::pair{static_cast<uint32_t>(rng.next_u64()), 0U};
        if (rng.bernoulli(0.3)) {
          r.sack_count = static_cast<uint8_t>(1 + rng.below(3));
          for (uint8_t k = 0; k < r.sack_count; ++k) {
            const uint32_t l = s->snd_una().raw() + static_cast<uint32_t>(rng.below(20000));
            r.sack_blocks[k] = {SeqNumber{l}, SeqNumber{l + static_cast<uint32_t>(rng.below(5000))}};
          }
        }
        if (rng.bernoulli(0.5)) r.payload = std::span<const uint8_t>(payload).first(rng.below(payload.size()));
        if (rng.bernoulli(0.2)) {
          const std::vector<uint8_t> data(rng.below(3000), 'd');
          s->send(data);
        }
        if (rng.bernoulli(0.1)) {
          uint8_t buf[512];
          s->recv(buf);
        }
        h.send(r);
        if (rng.bernoulli(0.05)) h.advance(sim::Duration::milliseconds(static_cast<int64_t>(rng.below(3000))));
        h.out.clear();
        CHECK(s->snd_una() <= s->snd_nxt());
        CHECK(s->send_queued() <= s->send_buffer_size());
        CHECK(s->recv_available() <= cfg.recv_buffer);
        if (s->state() == TcpState::Closed) break;
      }
      h.advance(200_s);  // every timer runs out
      h.out.clear();
    }
  }
}

TEST_CASE("malformed and corrupted frames are counted and dropped by the stack") {
  Harness h;
  h.listen();
  // A valid SYN with its checksum broken.
  net::PacketPtr p = h.net.pool().allocate();
  wire::Ipv4Repr iph{};
  iph.src = ip("10.0.0.2");
  iph.dst = ip("10.0.0.1");
  auto len = wire::emit_tcp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, iph,
                                  H::seg(1, 0, flag::SYN));
  REQUIRE(len.ok());
  p->set_size(static_cast<uint32_t>(*len));
  p->buffer()[14 + 20 + 16] ^= 0xff;  // TCP checksum
  h.stack->receive_ipv4(h.host->interface(0), std::move(p));
  CHECK(h.stack->stats().bad_checksum == 1);
  // A TCP header whose data offset says 4 words.
  p = h.net.pool().allocate();
  len = wire::emit_tcp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, iph, H::seg(1, 0, flag::SYN));
  p->set_size(static_cast<uint32_t>(*len));
  p->buffer()[14 + 20 + 12] = 0x40;
  h.stack->receive_ipv4(h.host->interface(0), std::move(p));
  CHECK(h.stack->stats().malformed == 1);
  h.recv_nothing();
  CHECK(h.stack->connection_count() == 0);
}
