// An established connection moves data without allocating: send and receive
// rings, reassembly map and SACK scoreboard are preallocated, timers are
// intrusive, packets come from the pool.
#include <doctest/doctest.h>

#include "../alloc_counter.hpp"
#include "tcp_lab.hpp"

using namespace tcplab;

namespace {
// Counts received bytes and checks them against the pattern; no containers.
struct CountingSink : tcp::TcpEvents {
  uint64_t bytes = 0;
  bool ok = true;
  void on_accept(TcpSocket&, TcpSocket& c) override { c.set_events(this); }
  void on_readable(TcpSocket& s) override {
    uint8_t buf[4096];
    while (std::size_t n = s.recv(buf)) {
      for (std::size_t i = 0; i < n; ++i) ok = ok && buf[i] == pattern(bytes + i);
      bytes += n;
    }
  }
};
struct Source : tcp::TcpEvents {
  uint64_t sent = 0;
  void pump(TcpSocket& s) {
    uint8_t buf[4096];
    for (;;) {
      for (std::size_t i = 0; i < sizeof buf; ++i) buf[i] = pattern(sent + i);
      const std::size_t n = s.send(buf);
      sent += n;
      if (n < sizeof buf) return;
    }
  }
  void on_connected(TcpSocket& s) override { pump(s); }
  void on_writable(TcpSocket& s) override { pump(s); }
};
}  // namespace

TEST_CASE("a lossy bulk transfer with SACK recovery allocates nothing in steady state") {
  net::LinkParams lp = Lab::default_link();
  lp.loss = 0.005;
  lp.reorder = 0.005;
  lp.duplicate = 0.005;
  Lab lab({}, {}, lp, 9);
  lab.net.pool().reserve(1024);
  CountingSink sink;
  Source source;
  lab.sstack->listen(80, &sink);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &source);
  REQUIRE(c != nullptr);
  lab.sim.run_until(sim::Time::zero() + 3_s);  // warm-up: handshake, slow start, losses; engine high-water marks
  const uint64_t before = testing::allocations();
  const uint64_t segs_before = c->stats().data_segs_out;
  lab.sim.run_until(sim::Time::zero() + 8_s);
  const uint64_t during = testing::allocations() - before;
  INFO("pool " << lab.net.pool().created() << " pending events " << lab.sim.pending_events());
  CHECK(sink.ok);
  CHECK(sink.bytes > 5'000'000);  // ~25 Mbit/s: 1% loss each way limits cwnd (Mathis)
  CHECK(c->stats().retransmits > 10);
  // Nothing per packet or event: ~10,000 segments each way. What may still
  // allocate is a new high-water mark (the send buffer auto-tunes with cwnd,
  // the record of segments in flight grows when more are out than ever):
  // a few doublings at most.
  CHECK(c->stats().data_segs_out - segs_before > 10'000);
  CHECK(during <= 4);
  c->abort();
}
