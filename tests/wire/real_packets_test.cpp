// Real Linux packets (real_packets.hpp): field values, view -> repr -> emit
// round trips to identical bytes, and every truncation of them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "real_packets.hpp"
#include "test_util.hpp"
#include "tcpmig/wire/wire.hpp"

namespace {

using namespace tcpmig::wire;
namespace t = tcpmig::wire::test;

const Ipv4Address kClient = Ipv4Address::from_octets(10, 99, 0, 1);
const Ipv4Address kServer = Ipv4Address::from_octets(10, 99, 0, 2);
const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kServerMac{{0x02, 0, 0, 0, 0, 0x02}};

/// All three layers of a real TCP frame, parsed with checksums verified.
struct ParsedTcp {
  EthernetRepr eth;
  Ipv4Repr ip;
  TcpRepr tcp;
};

ParsedTcp parse_tcp(std::span<const std::uint8_t> frame) {
  auto info = classify_frame(frame);
  REQUIRE(info);
  REQUIRE(info->ipv4);
  REQUIRE(info->l4_protocol == ip_proto::tcp);
  auto eth = EthernetRepr::parse(info->ethernet);
  auto ip = Ipv4Repr::parse(*info->ipv4);
  REQUIRE(ip);
  auto seg = ConstTcpSegment::check(info->l4);
  REQUIRE(seg);
  auto tcp = TcpRepr::parse(*seg, ip->src, ip->dst);
  REQUIRE(tcp);
  return {*eth, *ip, *tcp};
}

TEST_CASE("SYN: Ethernet, IPv4 and TCP fields and options") {
  auto eth = ConstEthernetFrame::check(t::kSyn);
  REQUIRE(eth);
  CHECK(eth->dst() == kServerMac);
  CHECK(eth->src() == kClientMac);
  CHECK(eth->ethertype() == ethertype::ipv4);
  auto ip = ConstIpv4Packet::check(eth->payload());
  REQUIRE(ip);
  CHECK(ip->version() == 4);
  CHECK(ip->header_len() == 20);
  CHECK(ip->total_len() == 60);
  CHECK(ip->ident() == 0x827d);
  CHECK(ip->dont_frag());
  CHECK_FALSE(ip->more_frags());
  CHECK(ip->frag_offset() == 0);
  CHECK(ip->ttl() == 64);
  CHECK(ip->protocol() == ip_proto::tcp);
  CHECK(ip->src() == kClient);
  CHECK(ip->dst() == kServer);
  CHECK(ip->options().empty());
  CHECK(ip->verify_checksum());
  auto seg = ConstTcpSegment::check(ip->payload());
  REQUIRE(seg);
  CHECK(seg->src_port() == 40000);
  CHECK(seg->dst_port() == 80);
  CHECK(seg->seq() == SeqNumber{3991910258U});
  CHECK(seg->flags() == tcp_flag::SYN);
  CHECK(seg->header_len() == 40);
  CHECK(seg->window() == 64240);
  CHECK(seg->payload().empty());
  CHECK(seg->seq_len() == 1);
  CHECK(seg->verify_checksum(kClient, kServer));
  CHECK_FALSE(seg->verify_checksum(kServer, kServer));

  // The option walk as the bytes say: mss, sackOK, TS, nop, wscale.
  std::vector<TcpOptionKind> kinds;
  std::vector<std::size_t> offsets;
  for (TcpOptionReader r(seg->options()); !r.done();) {
    auto opt = r.next();
    REQUIRE(opt);
    kinds.push_back(opt->kind());
    offsets.push_back(opt->offset());
    switch (opt->kind()) {
      case TcpOptionKind::Mss: CHECK(opt->mss() == 1460); break;
      case TcpOptionKind::Timestamps:
        CHECK(opt->tsval() == 355620451U);
        CHECK(opt->tsecr() == 0);
        break;
      case TcpOptionKind::WindowScale: CHECK(opt->window_scale() == 10); break;
      default: break;
    }
  }
  CHECK(kinds == std::vector{TcpOptionKind::Mss, TcpOptionKind::SackPermitted, TcpOptionKind::Timestamps,
                             TcpOptionKind::Nop, TcpOptionKind::WindowScale});
  CHECK(offsets == std::vector<std::size_t>{0, 4, 6, 16, 17});

  const auto p = parse_tcp(t::kSyn);
  CHECK(p.tcp.mss == 1460);
  CHECK(p.tcp.sack_permitted);
  CHECK(p.tcp.window_scale == 10);
  REQUIRE(p.tcp.timestamps);
  CHECK(p.tcp.timestamps->first == 355620451U);
  CHECK(p.tcp.timestamps->second == 0);
  CHECK(p.tcp.sack_count == 0);
  CHECK(p.tcp.unknown_options.empty());
  CHECK(p.tcp.header_len() == 40);
}

TEST_CASE("SYN-ACK, data, SACK, bulk and FIN: parsed values") {
  const auto synack = parse_tcp(t::kSynAck);
  CHECK(synack.ip.ident == 0);
  CHECK(synack.tcp.flags == (tcp_flag::SYN | tcp_flag::ACK));
  CHECK(synack.tcp.seq == SeqNumber{3125585180U});
  CHECK(synack.tcp.ack == SeqNumber{3991910259U});
  CHECK(synack.tcp.window == 65160);
  CHECK(synack.tcp.mss == 1460);
  CHECK(synack.tcp.window_scale == 10);
  CHECK(synack.tcp.timestamps == std::pair{3562641306U, 355620451U});

  const auto data = parse_tcp(t::kData);
  CHECK(data.tcp.flags == (tcp_flag::PSH | tcp_flag::ACK));
  CHECK(data.tcp.window == 63);
  CHECK_FALSE(data.tcp.mss);
  CHECK_FALSE(data.tcp.sack_permitted);
  CHECK(data.tcp.timestamps == std::pair{355620501U, 3562641306U});
  CHECK(std::string(data.tcp.payload.begin(), data.tcp.payload.end()) == "hello");
  CHECK(data.ip.payload_len == 37);

  const auto sack = parse_tcp(t::kSackAck);
  CHECK(sack.tcp.flags == tcp_flag::ACK);
  REQUIRE(sack.tcp.sack_count == 1);
  CHECK(sack.tcp.sack_blocks[0].first == SeqNumber{3125586181U});
  CHECK(sack.tcp.sack_blocks[0].second == SeqNumber{3125586281U});
  CHECK(sack.tcp.sack_blocks[0].second - sack.tcp.sack_blocks[0].first == 100);
  CHECK(sack.tcp.header_len() == 44);

  const auto bulk = parse_tcp(t::kBulk);
  CHECK(bulk.tcp.payload.size() == 1448);
  CHECK(std::all_of(bulk.tcp.payload.begin(), bulk.tcp.payload.end(), [](std::uint8_t b) { return b == 'x'; }));
  CHECK(bulk.ip.payload_len == 1480);

  const auto fin = parse_tcp(t::kFinAck);
  CHECK(fin.tcp.flags == (tcp_flag::FIN | tcp_flag::ACK));
  CHECK(fin.tcp.seq_len() == 1);
}

TEST_CASE("real TCP frames round-trip to identical bytes (Linux option layout)") {
  for (const auto& f : t::kRealFrames) {
    if (std::string_view(f.name) == "udp") continue;
    CAPTURE(f.name);
    const auto p = parse_tcp(f.bytes);
    CHECK(p.tcp.header_len() + p.tcp.payload.size() == p.ip.payload_len);
    std::vector<std::uint8_t> out(2048, 0xee);
    auto len = emit_tcp_frame(out, p.eth, p.ip, p.tcp);
    REQUIRE(len);
    REQUIRE(*len == f.bytes.size());
    CHECK(std::equal(f.bytes.begin(), f.bytes.end(), out.begin()));
    CHECK(out[*len] == 0xee);  // nothing written past the frame

    // The same through each layer's own emit().
    std::vector<std::uint8_t> out2(f.bytes.size());
    auto frame = p.eth.emit(out2);
    REQUIRE(frame);
    auto ip = p.ip.emit(frame->payload());
    REQUIRE(ip);
    auto seg = p.tcp.emit(ip->payload(), p.ip.src, p.ip.dst);
    REQUIRE(seg);
    CHECK(std::equal(f.bytes.begin(), f.bytes.end(), out2.begin(), out2.end()));
  }
}

TEST_CASE("emit moves a payload that already sits in the buffer (in place or shifted)") {
  const auto p = parse_tcp(t::kData);
  // In place: a copy of the frame, payload pointing into the copy.
  auto buf = t::copy_of(t::kData);
  TcpRepr tcp = p.tcp;
  tcp.payload = std::span<const std::uint8_t>(buf).subspan(buf.size() - 5);
  auto len = emit_tcp_frame(buf, p.eth, p.ip, tcp);
  REQUIRE(len);
  CHECK(std::equal(t::kData.begin(), t::kData.end(), buf.begin()));
  // Shifted: drop the timestamps (header 32 -> 20 bytes), payload moves left over its old place.
  tcp.timestamps.reset();
  auto len2 = emit_tcp_frame(buf, p.eth, p.ip, tcp);
  REQUIRE(len2);
  CHECK(*len2 == t::kData.size() - 12);
  const auto q = parse_tcp(std::span<const std::uint8_t>(buf).first(*len2));
  CHECK(std::string(q.tcp.payload.begin(), q.tcp.payload.end()) == "hello");
  // And back: payload moves right, header grows over its old place.
  TcpRepr grown = q.tcp;
  grown.timestamps = p.tcp.timestamps;
  auto len3 = emit_tcp_frame(buf, q.eth, q.ip, grown);
  REQUIRE(len3);
  CHECK(std::equal(t::kData.begin(), t::kData.end(), buf.begin()));
}

TEST_CASE("real UDP datagram: fields and round trip") {
  auto info = classify_frame(t::kUdp);
  REQUIRE(info);
  REQUIRE(info->l4_protocol == ip_proto::udp);
  auto ip = Ipv4Repr::parse(*info->ipv4);
  REQUIRE(ip);
  auto dgram = ConstUdpDatagram::check(info->l4);
  REQUIRE(dgram);
  CHECK(dgram->src_port() == 5000);
  CHECK(dgram->dst_port() == 6000);
  CHECK(dgram->length() == 24);
  CHECK(dgram->checksum() == 0xf79a);
  CHECK(dgram->verify_checksum(kClient, kServer));
  auto udp = UdpRepr::parse(*dgram, ip->src, ip->dst);
  REQUIRE(udp);
  CHECK(std::string(udp->payload.begin(), udp->payload.end()) == "tcpmig udp probe");
  auto eth = EthernetRepr::parse(info->ethernet);
  std::vector<std::uint8_t> out(100);
  auto len = emit_udp_frame(out, *eth, *ip, *udp);
  REQUIRE(len);
  REQUIRE(*len == t::kUdp.size());
  CHECK(std::equal(t::kUdp.begin(), t::kUdp.end(), out.begin()));
}

TEST_CASE("every proper prefix of every real frame is Truncated, never a crash") {
  for (const auto& f : t::kRealFrames) {
    CAPTURE(f.name);
    for (std::size_t n = 0; n < f.bytes.size(); ++n) {
      CAPTURE(n);
      // A prefix as its own allocation, so ASan catches any read past it.
      const std::vector<std::uint8_t> prefix(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(n));
      const std::span<const std::uint8_t> bytes(prefix);
      auto info = classify_frame(bytes);
      REQUIRE_FALSE(info);
      CHECK(info.error() == Error::Truncated);
      auto eth = ConstEthernetFrame::check(bytes);
      CHECK(eth.ok() == (n >= 14));
      if (eth) {
        auto ip = ConstIpv4Packet::check(eth->payload());
        REQUIRE_FALSE(ip);
        CHECK(ip.error() == Error::Truncated);
      }
      const std::string s = t::summary_of(bytes);
      CHECK(s == (n < 14 ? "[ethernet: truncated]" : "[ipv4: truncated]"));
    }
  }
}

TEST_CASE("every prefix of every real TCP segment / UDP datagram: Truncated, or BadChecksum once the header fits") {
  for (const auto& f : t::kRealFrames) {
    CAPTURE(f.name);
    auto info = classify_frame(f.bytes);
    REQUIRE(info);
    const auto src = info->ipv4->src();
    const auto dst = info->ipv4->dst();
    for (std::size_t n = 0; n < info->l4.size(); ++n) {
      CAPTURE(n);
      const std::vector<std::uint8_t> prefix(info->l4.begin(), info->l4.begin() + static_cast<std::ptrdiff_t>(n));
      const std::span<const std::uint8_t> bytes(prefix);
      if (*info->l4_protocol == ip_proto::tcp) {
        auto seg = ConstTcpSegment::check(bytes);
        const std::size_t hl = static_cast<std::size_t>(info->l4[12] >> 4) * 4;
        if (n < hl) {
          REQUIRE_FALSE(seg);
          CHECK(seg.error() == Error::Truncated);
        } else {
          // TCP has no length field: a shorter segment is well formed, but its checksum fails.
          REQUIRE(seg);
          auto tcp = TcpRepr::parse(*seg, src, dst);
          REQUIRE_FALSE(tcp);
          CHECK(tcp.error() == Error::BadChecksum);
        }
        // The option walk over a clipped option area: Malformed or fine, never out of bounds.
        TcpOptionReader r(bytes.subspan(std::min<std::size_t>(20, n)));
        while (!r.done()) {
          if (!r.next()) break;
        }
      } else {
        auto dgram = ConstUdpDatagram::check(bytes);
        REQUIRE_FALSE(dgram);
        CHECK(dgram.error() == Error::Truncated);
      }
    }
  }
}

}  // namespace
