// The socket buffers' memory follows the data they hold, not their capacity:
// a ByteRing written in and out of order, wrapping many times, against a
// plain reference; and a 1 GiB-buffer connection that carries a small
// transfer asks for little memory.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>

#include "../alloc_counter.hpp"
#include "tcp_lab.hpp"
#include "tcpmig/sim/random.hpp"
#include "tcpmig/tcp/buffers.hpp"

using namespace tcplab;

TEST_CASE("ByteRing: out-of-order writes, commits and wraps return the bytes written; storage follows the data") {
  constexpr std::size_t kCapacity = std::size_t{1} << 20;
  constexpr std::size_t kMaxSpan = 48 * 1024;  // bytes held at once, committed or not
  sim::Rng rng(0x5eed);
  tcp::ByteRing ring;
  uint64_t ring_bytes = 0;  // bytes the ring asked of operator new
  auto counted = [&](auto&& op) {
    const uint64_t before = testing::allocated_bytes();
    op();
    ring_bytes += testing::allocated_bytes() - before;
  };
  counted([&] { ring.reset(kCapacity); });
  // ref[i]: logical byte i after the head (-1: never written); committed: ring.size().
  std::deque<int16_t> ref(kCapacity, -1);
  std::size_t committed = 0;
  std::size_t furthest = 0;  // the furthest end of a write past the head so far
  uint64_t through = 0;  // bytes consumed so far
  std::vector<uint8_t> data(8192);
  std::vector<uint8_t> out(8192);
  for (int step = 0; step < 6000; ++step) {
    CAPTURE(step);
    // The span allowed grows with the run, so storage grows while the ring is wrapped.
    const std::size_t span = std::min<std::size_t>(kMaxSpan, 2048 + 16 * static_cast<std::size_t>(step));
    const uint64_t op = rng.below(5);
    if (op <= 1 && committed < span) {
      // write_at an offset past the committed end (op 0), or push (op 1).
      const std::size_t room = span - committed;
      const std::size_t offset = op == 0 ? rng.below(room) : 0;
      const std::size_t len = 1 + rng.below(std::min<std::size_t>(room - offset, data.size()));
      for (std::size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(rng.next_u64());
      const std::span<const uint8_t> bytes(data.data(), len);
      if (op == 0) {
        counted([&] { ring.write_at(offset, bytes); });
      } else {
        std::size_t took = 0;
        counted([&] { took = ring.push(bytes); });
        REQUIRE(took == len);
      }
      for (std::size_t i = 0; i < len; ++i) ref[committed + offset + i] = data[i];
      furthest = std::max(furthest, committed + offset + len);
      if (op == 1) committed += len;
    } else if (op == 2) {
      // Commit part of the written bytes that follow the committed end.
      std::size_t avail = 0;
      while (committed + avail < span && ref[committed + avail] >= 0) ++avail;
      if (avail == 0) continue;
      const std::size_t n = 1 + rng.below(avail);
      counted([&] { ring.commit(n); });
      committed += n;
    } else if (committed > 0) {
      // Read committed bytes at an offset (op 3), or pop from the head (op 4).
      const std::size_t len = 1 + rng.below(std::min(committed, out.size()));
      if (op == 3) {
        const std::size_t offset = rng.below(committed - len + 1);
        counted([&] { ring.copy_out(offset, {out.data(), len}); });
        REQUIRE(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len),
                           ref.begin() + static_cast<std::ptrdiff_t>(offset)));
      } else {
        std::size_t got = 0;
        counted([&] { got = ring.pop({out.data(), len}); });
        REQUIRE(got == len);
        REQUIRE(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len), ref.begin()));
        ref.erase(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(len));
        ref.resize(kCapacity, -1);
        committed -= len;
        through += len;
      }
    }
    REQUIRE(ring.size() == committed);
    REQUIRE(ring.free() == kCapacity - committed);
    REQUIRE(ring.storage() <= std::max(2 * furthest, tcp::ByteRing::kMinStorage));
  }
  CHECK(through > 2 * kCapacity);  // the logical positions wrapped the capacity
  // Geometric growth up to the span held: a small fraction of the capacity.
  CHECK(ring_bytes <= 4 * kMaxSpan);
  // The ring gives its storage back only when nothing is left in it.
  REQUIRE(committed > 0);
  ring.release();
  CHECK(ring.storage() > 0);
  ring.consume(committed);
  ring.release();
  CHECK((ring.storage() > 0) == std::any_of(ref.begin() + static_cast<std::ptrdiff_t>(committed), ref.end(),
                                            [](int16_t b) { return b >= 0; }));
}

TEST_CASE("1 GiB buffers: a 200 KB transfer asks for memory in proportion to the data; TIME-WAIT frees it") {
  TcpConfig big;
  big.recv_buffer = 1U << 30;
  big.send_buffer = 1U << 30;
  Lab lab(big, big);
  Recorder server_app;
  server_app.close_on_fin = true;
  Sender client_app;
  client_app.total = 200'000;
  lab.sstack->listen(80, &server_app);
  const uint64_t before = testing::allocated_bytes();
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  std::size_t most = 0;  // the client's buffer storage at its largest
  while (!client_app.closed && lab.sim.now() < sim::Time::zero() + 10_s) {
    lab.sim.run_until(lab.sim.now() + 1_ms);
    most = std::max(most, c->buffer_storage());
  }
  REQUIRE(client_app.closed == tcp::CloseReason::Normal);
  CHECK(c->state() == TcpState::TimeWait);
  CHECK(c->buffer_storage() == 0);
  // The sender queued all 200 KB at once: its ring doubled up to 256 KiB;
  // beside it, a record of each segment in flight (a few KiB).
  CHECK(most >= 256 * 1024);
  CHECK(most <= 256 * 1024 + 256 * sizeof(tcp::SentSegment));
  lab.sim.run();
  const uint64_t asked = testing::allocated_bytes() - before;
  CHECK(server_app.data.size() == 200'000);
  bool ok = true;
  for (std::size_t i = 0; i < server_app.data.size(); ++i) ok = ok && server_app.data[i] == pattern(i);
  CHECK(ok);
  // Rings, packets, events and the received copy: about 1 MB, not 4 GiB.
  CHECK(asked < 4'000'000);
}
