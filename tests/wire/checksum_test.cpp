// RFC 1071 checksum and RFC 1624 incremental updates.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "real_packets.hpp"
#include "test_util.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/frame.hpp"

namespace {

using namespace tcpmig::wire;
using tcpmig::wire::test::SplitMix64;

/// The textbook definition: 16-bit big-endian words, odd byte padded, 32-bit sum, folded.
std::uint16_t naive_fold(std::span<const std::uint8_t> data, std::uint32_t acc = 0) {
  std::uint64_t sum = acc;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const std::uint32_t hi = data[i];
    const std::uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += (hi << 8) | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

TEST_CASE("RFC 1071 section 3 example") {
  const std::array<std::uint8_t, 8> data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(checksum_fold(checksum_add(data)) == 0xddf2);
  CHECK(internet_checksum(data) == 0x220d);
  CHECK(checksum_fold(0) == 0);
  CHECK(checksum_fold(0x0001ffffU) == 0x0001);
  CHECK(checksum_fold(0xffffffffU) == 0xffff);
}

TEST_CASE("checksum_add matches the word-by-word definition for every length and alignment") {
  SplitMix64 rng(1071);
  std::vector<std::uint8_t> buf(600);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng.next());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; len + offset <= buf.size(); len += (len < 80 ? 1 : 37)) {
      const std::span<const std::uint8_t> data(buf.data() + offset, len);
      const auto acc = static_cast<std::uint32_t>(rng.next());
      CAPTURE(offset);
      CAPTURE(len);
      CHECK(checksum_fold(checksum_add(data, acc)) == naive_fold(data, acc));
    }
  }
  // All 0xff bytes stress the carries.
  std::vector<std::uint8_t> ones(9000, 0xff);
  CHECK(checksum_fold(checksum_add(ones)) == naive_fold(ones));
  CHECK(checksum_fold(checksum_add(ones, 0xffffffffU)) == naive_fold(ones, 0xffffffffU));
}

TEST_CASE("checksum_add over consecutive even-length chunks equals the whole") {
  SplitMix64 rng(2);
  std::vector<std::uint8_t> buf(301);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng.next());
  const std::span<const std::uint8_t> all(buf);
  for (std::size_t cut = 0; cut <= buf.size(); cut += 2) {
    const std::uint32_t acc = checksum_add(all.subspan(cut), checksum_add(all.first(cut)));
    CHECK(checksum_fold(acc) == checksum_fold(checksum_add(all)));
  }
  // An odd first chunk pads its last byte: not the same sum (documented rule).
  CHECK(checksum_fold(checksum_add(all.subspan(3), checksum_add(all.first(3)))) != checksum_fold(checksum_add(all)));
}

TEST_CASE("real packets verify: IPv4 header, TCP and UDP over the pseudo header") {
  for (const auto& f : test::kRealFrames) {
    CAPTURE(f.name);
    auto info = classify_frame(f.bytes);
    REQUIRE(info);
    REQUIRE(info->ipv4);
    const auto& ip = *info->ipv4;
    CHECK(internet_checksum(ip.header()) == 0);
    const std::uint32_t pseudo = pseudo_header_sum(ip.src(), ip.dst(), ip.protocol(),
                                                   static_cast<std::uint16_t>(info->l4.size()));
    CHECK(checksum_fold(checksum_add(info->l4, pseudo)) == 0xffff);
  }
}

TEST_CASE("checksum_update16/32 equal a full recomputation on random rewrites of random data") {
  SplitMix64 rng(1624);
  std::vector<std::uint8_t> buf;
  for (int iter = 0; iter < 5000; ++iter) {
    buf.resize(4 + 2 * rng.below(40));
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng.next());
    buf[0] |= 1;  // never all zero (the one case where the two ones'-complement zeros differ)
    const std::uint16_t before = internet_checksum(buf);
    const std::size_t word = 1 + rng.below(buf.size() / 2 - 1);  // word 0 keeps the data non-zero
    const bool wide = rng.below(2) == 0 && word + 1 < buf.size() / 2;
    std::uint16_t incremental;
    if (wide) {
      const std::uint32_t old_value = load_be32(buf.data() + 2 * word);
      const auto new_value = static_cast<std::uint32_t>(rng.next());
      store_be32(buf.data() + 2 * word, new_value);
      incremental = checksum_update32(before, old_value, new_value);
    } else {
      const std::uint16_t old_word = load_be16(buf.data() + 2 * word);
      const auto new_word = static_cast<std::uint16_t>(rng.next());
      store_be16(buf.data() + 2 * word, new_word);
      incremental = checksum_update16(before, old_word, new_word);
    }
    CAPTURE(iter);
    REQUIRE(incremental == internet_checksum(buf));
  }
}

/// Random TCP frame with random options (valid layout) and payload.
std::vector<std::uint8_t> random_tcp_frame(SplitMix64& rng, std::vector<std::uint8_t>& payload) {
  payload.resize(rng.below(300));
  for (auto& b : payload) b = static_cast<std::uint8_t>(rng.next());
  EthernetRepr eth{MacAddress{{2, 0, 0, 0, 0, 1}}, MacAddress{{2, 0, 0, 0, 0, 2}}, ethertype::ipv4};
  Ipv4Repr ip;
  ip.src = Ipv4Address{static_cast<std::uint32_t>(rng.next())};
  ip.dst = Ipv4Address{static_cast<std::uint32_t>(rng.next())};
  ip.ttl = static_cast<std::uint8_t>(1 + rng.below(255));
  ip.ident = static_cast<std::uint16_t>(rng.next());
  TcpRepr tcp;
  tcp.src_port = static_cast<std::uint16_t>(rng.next());
  tcp.dst_port = static_cast<std::uint16_t>(rng.next());
  tcp.seq = SeqNumber{static_cast<std::uint32_t>(rng.next())};
  tcp.ack = SeqNumber{static_cast<std::uint32_t>(rng.next())};
  tcp.flags = static_cast<std::uint8_t>(rng.next());
  tcp.window = static_cast<std::uint16_t>(rng.next());
  tcp.timestamps = std::pair{static_cast<std::uint32_t>(rng.next()), static_cast<std::uint32_t>(rng.next())};
  tcp.sack_count = static_cast<std::uint8_t>(rng.below(4));
  for (std::size_t i = 0; i < tcp.sack_count; ++i) {
    tcp.sack_blocks[i] = {SeqNumber{static_cast<std::uint32_t>(rng.next())},
                          SeqNumber{static_cast<std::uint32_t>(rng.next())}};
  }
  tcp.payload = payload;
  std::vector<std::uint8_t> frame(1600);
  auto len = emit_tcp_frame(frame, eth, ip, tcp);
  REQUIRE(len);
  frame.resize(*len);
  return frame;
}

TEST_CASE("incremental TCP/IPv4 rewrites (the migration core's moves) equal full recomputation") {
  SplitMix64 rng(0x5eed);
  std::vector<std::uint8_t> payload;
  for (int iter = 0; iter < 3000; ++iter) {
    auto frame = random_tcp_frame(rng, payload);
    auto eth = EthernetFrame::check(frame);
    REQUIRE(eth);
    auto ip = Ipv4Packet::check(eth->payload());
    REQUIRE(ip);
    auto tcp = TcpSegment::check(ip->payload());
    REQUIRE(tcp);
    const auto r32 = static_cast<std::uint32_t>(rng.next());
    const auto r16 = static_cast<std::uint16_t>(rng.next());
    switch (rng.below(8)) {
      case 0: {  // new destination address: IPv4 header and TCP pseudo header
        const auto old = ip->dst();
        ip->set_dst(Ipv4Address{r32});
        ip->set_checksum(checksum_update32(ip->checksum(), old.value, r32));
        tcp->set_checksum(checksum_update32(tcp->checksum(), old.value, r32));
        break;
      }
      case 1: {
        const auto old = ip->src();
        ip->set_src(Ipv4Address{r32});
        ip->set_checksum(checksum_update32(ip->checksum(), old.value, r32));
        tcp->set_checksum(checksum_update32(tcp->checksum(), old.value, r32));
        break;
      }
      case 2: {
        const auto old = tcp->seq();
        tcp->set_seq(old + r32);
        tcp->set_checksum(checksum_update32(tcp->checksum(), old.raw(), tcp->seq().raw()));
        break;
      }
      case 3: {
        const auto old = tcp->ack();
        tcp->set_ack(old - r32);
        tcp->set_checksum(checksum_update32(tcp->checksum(), old.raw(), tcp->ack().raw()));
        break;
      }
      case 4: {
        const auto old = tcp->window();
        tcp->set_window(r16);
        tcp->set_checksum(checksum_update16(tcp->checksum(), old, r16));
        break;
      }
      case 5: {
        const auto old = tcp->dst_port();
        tcp->set_dst_port(r16);
        tcp->set_checksum(checksum_update16(tcp->checksum(), old, r16));
        break;
      }
      case 6: {  // TSval/TSecr in place (options start with nop,nop,TS)
        const auto opts = tcp->options();
        const std::size_t at = 4 + 4 * rng.below(2);
        const std::uint32_t old = load_be32(opts.data() + at);
        store_be32(opts.data() + at, r32);
        tcp->set_checksum(checksum_update32(tcp->checksum(), old, r32));
        break;
      }
      default:
        ip->decrement_ttl();
        break;
    }
    CAPTURE(iter);
    REQUIRE(ip->verify_checksum());
    REQUIRE(tcp->verify_checksum(ip->src(), ip->dst()));
    const std::uint16_t ip_incremental = ip->checksum();
    const std::uint16_t tcp_incremental = tcp->checksum();
    ip->fill_checksum();
    tcp->fill_checksum(ip->src(), ip->dst());
    REQUIRE(ip_incremental == ip->checksum());
    REQUIRE(tcp_incremental == tcp->checksum());
  }
}

TEST_CASE("decrement_ttl keeps the header checksum valid down to 0, then stops") {
  auto frame = test::copy_of(test::kSyn);
  auto ip = Ipv4Packet::check(EthernetFrame::check(frame)->payload());
  REQUIRE(ip);
  CHECK(ip->ttl() == 64);
  for (int expected = 63; expected >= 0; --expected) {
    ip->decrement_ttl();
    CHECK(ip->ttl() == expected);
    CHECK(ip->verify_checksum());
  }
  const auto checksum = ip->checksum();
  ip->decrement_ttl();
  CHECK(ip->ttl() == 0);
  CHECK(ip->checksum() == checksum);
}

}  // namespace
