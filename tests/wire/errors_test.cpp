// Bad input is a value: checksums, inconsistent lengths, malformed options,
// unsupported features, and emit() into buffers that are too small.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "real_packets.hpp"
#include "test_util.hpp"
#include "tcpmig/wire/wire.hpp"

namespace {

using namespace tcpmig::wire;
namespace t = tcpmig::wire::test;

constexpr std::size_t kIp = 14;       // IPv4 header offset in a frame
constexpr std::size_t kL4 = 14 + 20;  // L4 offset in a frame (no IP options)

/// The IPv4 view of a mutable frame copy.
Ipv4Packet ip_of(std::vector<std::uint8_t>& frame) {
  auto ip = Ipv4Packet::check(std::span(frame).subspan(kIp));
  REQUIRE(ip);
  return *ip;
}

/// Parses the option area of `seg` into a TcpRepr without checking the checksum.
Result<TcpRepr> options_of(std::span<const std::uint8_t> seg) {
  auto view = ConstTcpSegment::check(seg);
  REQUIRE(view);
  return TcpRepr::parse_unverified(*view);
}

TEST_CASE("bad IPv4 header checksum") {
  auto f = t::copy_of(t::kSyn);
  f[kIp + 10] ^= 0x01;
  auto ip = ConstIpv4Packet::check(std::span<const std::uint8_t>(f).subspan(kIp));
  REQUIRE(ip);  // check() does not verify checksums
  CHECK_FALSE(ip->verify_checksum());
  auto r = Ipv4Repr::parse(*ip);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Error::BadChecksum);
}

TEST_CASE("bad TCP checksum: any flipped bit in header, options or payload") {
  for (std::size_t at = kL4; at < t::kData.size(); ++at) {
    auto f = t::copy_of(t::kData);
    f[at] ^= 0x10;
    auto seg = ConstTcpSegment::check(std::span<const std::uint8_t>(f).subspan(kL4));
    REQUIRE(seg);
    CAPTURE(at);
    auto r = TcpRepr::parse(*seg, Ipv4Address::from_octets(10, 99, 0, 1), Ipv4Address::from_octets(10, 99, 0, 2));
    REQUIRE_FALSE(r);
    CHECK(r.error() == Error::BadChecksum);
  }
}

TEST_CASE("UDP checksum: bad is BadChecksum, 0 means none, computed 0 is sent as 0xffff") {
  const auto src = Ipv4Address::from_octets(10, 99, 0, 1);
  const auto dst = Ipv4Address::from_octets(10, 99, 0, 2);
  auto f = t::copy_of(t::kUdp);
  f[kL4 + 9] ^= 0x01;
  auto bad = ConstUdpDatagram::check(std::span<const std::uint8_t>(f).subspan(kL4));
  REQUIRE(bad);
  auto r = UdpRepr::parse(*bad, src, dst);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Error::BadChecksum);
  f[kL4 + 6] = 0;
  f[kL4 + 7] = 0;
  auto none = ConstUdpDatagram::check(std::span<const std::uint8_t>(f).subspan(kL4));
  REQUIRE(none);
  CHECK(none->verify_checksum(src, dst));
  CHECK(UdpRepr::parse(*none, src, dst).ok());

  // A datagram whose checksum computes to 0: choose the payload word so the sum is 0xffff.
  std::array<std::uint8_t, 10> payload{};
  UdpRepr u{1, 2, payload};
  std::array<std::uint8_t, 18> buf{};
  auto d = u.emit(buf, src, dst);
  REQUIRE(d);
  const std::uint16_t c = d->checksum();
  // Adding the current checksum value to the data makes the new sum 0xffff, so the new checksum is 0.
  payload[0] = static_cast<std::uint8_t>(c >> 8);
  payload[1] = static_cast<std::uint8_t>(c);
  auto d2 = u.emit(buf, src, dst);
  REQUIRE(d2);
  CHECK(d2->checksum() == 0xffff);
  CHECK(d2->verify_checksum(src, dst));
}

TEST_CASE("IPv4 lengths: version, IHL, total_len against header and buffer") {
  auto check = [](std::vector<std::uint8_t>& f) { return ConstIpv4Packet::check(std::span<const std::uint8_t>(f).subspan(kIp)); };
  SUBCASE("version 6 in an IPv4 frame") {
    auto f = t::copy_of(t::kSyn);
    f[kIp] = 0x65;
    CHECK(check(f).error() == Error::Malformed);
  }
  SUBCASE("IHL < 5") {
    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
      auto f = t::copy_of(t::kSyn);
      f[kIp] = static_cast<std::uint8_t>(0x40 | ihl);
      CHECK(check(f).error() == Error::Malformed);
    }
  }
  SUBCASE("IHL past the buffer") {
    std::vector<std::uint8_t> f(t::kSyn.begin(), t::kSyn.begin() + kIp + 24);
    f[kIp] = 0x47;  // 28-byte header, 24 bytes present
    CHECK(check(f).error() == Error::Truncated);
  }
  SUBCASE("total_len > buffer") {
    auto f = t::copy_of(t::kSyn);
    store_be16(f.data() + kIp + 2, 61);
    CHECK(check(f).error() == Error::Truncated);
  }
  SUBCASE("total_len < header_len") {
    auto f = t::copy_of(t::kSyn);
    store_be16(f.data() + kIp + 2, 19);
    CHECK(check(f).error() == Error::Malformed);
  }
  SUBCASE("buffer longer than total_len (Ethernet padding) is fine; payload stops at total_len") {
    auto f = t::copy_of(t::kUdp);
    f.resize(60, 0);  // padded to the Ethernet minimum
    auto ip = check(f);
    REQUIRE(ip);
    CHECK(ip->payload().size() == 24);
    CHECK(ip->buffer().size() == 46);
    CHECK(ip->packet().size() == 44);
    auto info = classify_frame(f);
    REQUIRE(info);
    CHECK(info->l4.size() == 24);
    CHECK(t::summary_of(f) == "10.99.0.1.5000 > 10.99.0.2.6000: UDP, length 16");
  }
  SUBCASE("set_total_len refuses values that would break the view") {
    auto f = t::copy_of(t::kSyn);
    auto ip = ip_of(f);
    CHECK_FALSE(ip.set_total_len(19));
    CHECK_FALSE(ip.set_total_len(61));
    CHECK(ip.total_len() == 60);
    CHECK(ip.set_total_len(40));
    CHECK(ip.payload().size() == 20);
  }
}

TEST_CASE("IPv4 fragments are Unsupported by Ipv4Repr and flagged by classify_frame") {
  auto f = t::copy_of(t::kUdp);
  auto ip = ip_of(f);
  ip.set_more_frags(true);
  ip.fill_checksum();
  CHECK(ip.is_fragment());
  CHECK(Ipv4Repr::parse(ip).error() == Error::Unsupported);
  CHECK(classify_frame(f)->fragment);
  ip.set_more_frags(false);
  ip.set_frag_offset(1480);
  ip.fill_checksum();
  CHECK(ip.frag_offset() == 1480);
  CHECK(ip.dont_frag());
  CHECK(Ipv4Repr::parse(ip).error() == Error::Unsupported);
}

TEST_CASE("TCP data offset: < 5 is Malformed, past the segment is Truncated") {
  for (std::uint8_t doff = 0; doff < 5; ++doff) {
    auto f = t::copy_of(t::kSyn);
    f[kL4 + 12] = static_cast<std::uint8_t>(doff << 4);
    CHECK(ConstTcpSegment::check(std::span<const std::uint8_t>(f).subspan(kL4)).error() == Error::Malformed);
  }
  auto f = t::copy_of(t::kSyn);
  f[kL4 + 12] = 0xb0;  // 44 bytes of header in a 40-byte segment
  CHECK(ConstTcpSegment::check(std::span<const std::uint8_t>(f).subspan(kL4)).error() == Error::Truncated);
  CHECK(classify_frame(f).ok());  // classify does not look inside L4
}

TEST_CASE("UDP length field: < 8 Malformed, > buffer Truncated") {
  auto f = t::copy_of(t::kUdp);
  store_be16(f.data() + kL4 + 4, 7);
  CHECK(ConstUdpDatagram::check(std::span<const std::uint8_t>(f).subspan(kL4)).error() == Error::Malformed);
  store_be16(f.data() + kL4 + 4, 25);
  CHECK(ConstUdpDatagram::check(std::span<const std::uint8_t>(f).subspan(kL4)).error() == Error::Truncated);
}

TEST_CASE("malformed TCP options") {
  // 20-byte header followed by the option bytes under test (padded by the caller).
  auto segment = [](std::initializer_list<std::uint8_t> opts) {
    std::vector<std::uint8_t> s(20, 0);
    s.insert(s.end(), opts.begin(), opts.end());
    s[12] = static_cast<std::uint8_t>((s.size() / 4) << 4);
    return s;
  };
  struct Case {
    const char* what;
    std::vector<std::uint8_t> seg;
  };
  const std::vector<Case> cases = {
      {"length byte missing", segment({1, 1, 1, 2})},
      {"length 0", segment({30, 0, 1, 1})},
      {"length 1", segment({30, 1, 1, 1})},
      {"length runs past the end", segment({1, 1, 30, 3})},
      {"wscale length runs past the end (SYN's last option, len 4)", segment({1, 3, 4, 10})},
      {"MSS length 3", segment({2, 3, 5, 0})},
      {"MSS length 5", segment({2, 5, 5, 180, 0, 0, 0, 0})},
      {"window scale length 4", segment({3, 4, 7, 0})},
      {"SACK-permitted length 3", segment({4, 3, 0, 0})},
      {"SACK with no block", segment({1, 1, 5, 2})},
      {"SACK length not 2 + 8n", segment({5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
      {"timestamps length 8", segment({8, 8, 0, 0, 0, 0, 0, 0})},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto seg = ConstTcpSegment::check(c.seg);
    REQUIRE(seg);
    CHECK_FALSE(tcp_options_valid(seg->options()));
    auto r = options_of(c.seg);
    REQUIRE_FALSE(r);
    CHECK(r.error() == Error::Malformed);
    // The reader stops after the error: a loop over it always ends.
    TcpOptionReader reader(seg->options());
    int steps = 0;
    while (!reader.done()) {
      (void)reader.next();
      ++steps;
    }
    CHECK(steps <= 4);
  }
}

TEST_CASE("valid but unusual TCP options") {
  auto parse = [](std::vector<std::uint8_t> opts) {
    std::vector<std::uint8_t> s(20, 0);
    s.insert(s.end(), opts.begin(), opts.end());
    s[12] = static_cast<std::uint8_t>((s.size() / 4) << 4);
    auto seg = ConstTcpSegment::check(s);
    REQUIRE(seg);
    auto r = TcpRepr::parse_unverified(*seg);
    REQUIRE(r);
    return *r;
  };
  SUBCASE("End stops the walk; the bytes after it are padding") {
    auto r = parse({2, 4, 5, 180, 0, 0xff, 0xff, 0xff});
    CHECK(r.mss == 1460);
    CHECK(r.unknown_options.empty());
  }
  SUBCASE("unknown options are kept raw, in order") {
    auto r = parse({30, 6, 1, 2, 3, 4, 1, 1, 254, 4, 0xf9, 0x89});
    const std::vector<std::uint8_t> raw(r.unknown_options.bytes().begin(), r.unknown_options.bytes().end());
    CHECK(raw == std::vector<std::uint8_t>{30, 6, 1, 2, 3, 4, 254, 4, 0xf9, 0x89});
  }
  SUBCASE("four SACK blocks") {
    std::vector<std::uint8_t> o{1, 1, 5, 34};
    for (std::uint8_t i = 0; i < 32; ++i) o.push_back(i);
    auto r = parse(o);
    REQUIRE(r.sack_count == 4);
    CHECK(r.sack_blocks[3].first == SeqNumber{0x18191a1bU});
    CHECK(r.sack_blocks[3].second == SeqNumber{0x1c1d1e1fU});
  }
  SUBCASE("a repeated option: the last one wins") {
    auto r = parse({2, 4, 5, 180, 2, 4, 2, 24});
    CHECK(r.mss == 536);
  }
  SUBCASE("typed accessors of another kind read nothing") {
    const std::array<std::uint8_t, 4> opts{1, 3, 3, 7};
    TcpOptionReader reader(opts);
    auto nop = reader.next();
    REQUIRE(nop);
    CHECK(nop->mss() == 0);
    CHECK(nop->tsval() == 0);
    CHECK(nop->sack_block_count() == 0);
    CHECK(nop->sack_block(0) == std::pair<SeqNumber, SeqNumber>{});
    CHECK(nop->data().empty());
    auto ws = reader.next();
    REQUIRE(ws);
    CHECK(ws->window_scale() == 7);
    CHECK(ws->data().size() == 1);
    CHECK(reader.done());
    CHECK(reader.next().error() == Error::Truncated);
  }
}

TEST_CASE("emit errors: small buffers are Truncated, options that do not fit are Malformed") {
  const auto a = Ipv4Address::from_octets(10, 0, 0, 1);
  const auto b = Ipv4Address::from_octets(10, 0, 0, 2);
  std::array<std::uint8_t, 100> payload{};
  TcpRepr tcp;
  tcp.timestamps = std::pair{1U, 2U};
  tcp.payload = payload;
  CHECK(tcp.header_len() == 32);
  std::vector<std::uint8_t> buf(tcp.buffer_len() - 1);
  CHECK(tcp.emit(buf, a, b).error() == Error::Truncated);
  buf.resize(tcp.buffer_len());
  CHECK(tcp.emit(buf, a, b).ok());

  tcp.sack_count = 3;
  CHECK(tcp.header_len() == 60);  // 12 TS + 4 + 24: exactly 40 option bytes
  buf.resize(tcp.buffer_len());
  CHECK(tcp.emit(buf, a, b).ok());
  tcp.sack_count = 4;  // 48 option bytes
  CHECK(tcp.header_len() == 68);
  buf.resize(tcp.buffer_len());
  CHECK(tcp.emit(buf, a, b).error() == Error::Malformed);
  tcp.sack_count = 5;
  CHECK(tcp.emit(buf, a, b).error() == Error::Malformed);

  TcpRepr big;
  std::vector<std::uint8_t> huge(70000);
  big.payload = huge;
  std::vector<std::uint8_t> hbuf(80000);
  CHECK(big.emit(hbuf, a, b).error() == Error::Malformed);

  EthernetRepr eth{};
  Ipv4Repr ip{a, b, ip_proto::tcp, 0};
  TcpRepr small;
  std::vector<std::uint8_t> fbuf(14 + 20 + 19);
  CHECK(emit_tcp_frame(fbuf, eth, ip, small).error() == Error::Truncated);
  fbuf.resize(54);
  CHECK(emit_tcp_frame(fbuf, eth, ip, small).value() == 54);
  UdpRepr udp{1, 2, {}};
  fbuf.resize(41);
  CHECK(emit_udp_frame(fbuf, eth, ip, udp).error() == Error::Truncated);
  CHECK(EthernetRepr{}.emit(std::span(fbuf).first(13)).error() == Error::Truncated);
  ip.payload_len = 100;
  CHECK(ip.emit(std::span(fbuf)).error() == Error::Truncated);
  ip.payload_len = 65516;
  std::vector<std::uint8_t> ibuf(70000);
  CHECK(ip.emit(ibuf).error() == Error::Malformed);
}

TEST_CASE("classify_frame: non-IPv4 frames succeed without an IPv4 view") {
  std::array<std::uint8_t, 42> arp{};
  arp[12] = 0x08;
  arp[13] = 0x06;
  auto info = classify_frame(arp);
  REQUIRE(info);
  CHECK(info->ethernet.ethertype() == ethertype::arp);
  CHECK_FALSE(info->ipv4);
  CHECK_FALSE(info->l4_protocol);
  CHECK(info->l4.empty());
  auto f = t::copy_of(t::kSyn);
  f[kIp] = 0x46;  // IHL 6 with total_len 60: fine structurally (options are the TCP ports)
  auto odd = classify_frame(f);
  REQUIRE(odd);
  CHECK(odd->ipv4->options().size() == 4);
  CHECK(odd->l4.size() == 36);
}

}  // namespace
