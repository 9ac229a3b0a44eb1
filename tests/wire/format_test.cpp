// The text-trace packet summary (format.hpp): exact strings, pinned.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "real_packets.hpp"
#include "test_util.hpp"
#include "tcpmig/wire/wire.hpp"

namespace {

using namespace tcpmig::wire;
namespace t = tcpmig::wire::test;
using t::summary_of;

constexpr std::size_t kIp = 14;
constexpr std::size_t kL4 = 34;

const EthernetRepr kEth{MacAddress{{2, 0, 0, 0, 0, 1}}, MacAddress{{2, 0, 0, 0, 0, 2}}, ethertype::ipv4};
const Ipv4Repr kIpHdr{Ipv4Address::from_octets(10, 0, 0, 1), Ipv4Address::from_octets(10, 0, 0, 2), ip_proto::tcp, 0};

std::vector<std::uint8_t> tcp_frame(const TcpRepr& tcp) {
  std::vector<std::uint8_t> f(1600);
  auto len = emit_tcp_frame(f, kEth, kIpHdr, tcp);
  REQUIRE(len);
  f.resize(*len);
  return f;
}

TEST_CASE("summaries of the real packets") {
  CHECK(summary_of(t::kSyn) ==
        "10.99.0.1.40000 > 10.99.0.2.80: Flags [S], seq 3991910258, win 64240, "
        "options [mss 1460,sackOK,TS val 355620451 ecr 0,nop,wscale 10], length 0");
  CHECK(summary_of(t::kSynAck) ==
        "10.99.0.2.80 > 10.99.0.1.40000: Flags [S.], seq 3125585180, ack 3991910259, win 65160, "
        "options [mss 1460,sackOK,TS val 3562641306 ecr 355620451,nop,wscale 10], length 0");
  CHECK(summary_of(t::kData) ==
        "10.99.0.1.40000 > 10.99.0.2.80: Flags [P.], seq 3991910259:3991910264, ack 3125585181, win 63, "
        "options [nop,nop,TS val 355620501 ecr 3562641306], length 5");
  CHECK(summary_of(t::kSackAck) ==
        "10.99.0.1.40000 > 10.99.0.2.80: Flags [.], seq 3991910264, ack 3125585181, win 63, "
        "options [nop,nop,TS val 355620603 ecr 3562641356,nop,nop,sack 1 {3125586181:3125586281}], length 0");
  CHECK(summary_of(t::kBulk) ==
        "10.99.0.2.80 > 10.99.0.1.40000: Flags [.], seq 3125585181:3125586629, ack 3991910264, win 64, "
        "options [nop,nop,TS val 3562641857 ecr 355620603], length 1448");
  CHECK(summary_of(t::kFinAck) ==
        "10.99.0.2.80 > 10.99.0.1.40000: Flags [F.], seq 3125587181, ack 3991910264, win 64, "
        "options [nop,nop,TS val 3562642057 ecr 355621002], length 0");
  CHECK(summary_of(t::kUdp) == "10.99.0.1.5000 > 10.99.0.2.6000: UDP, length 16");
}

TEST_CASE("the reference example, built with emit_tcp_frame") {
  TcpRepr tcp;
  tcp.src_port = 40000;
  tcp.dst_port = 80;
  tcp.seq = SeqNumber{1000};
  tcp.ack = SeqNumber{2000};
  tcp.flags = tcp_flag::SYN | tcp_flag::ACK;
  tcp.window = 65535;
  tcp.mss = 1460;
  tcp.sack_permitted = true;
  tcp.timestamps = std::pair{1U, 0U};
  tcp.window_scale = 7;
  CHECK(summary_of(tcp_frame(tcp)) ==
        "10.0.0.1.40000 > 10.0.0.2.80: Flags [S.], seq 1000, ack 2000, win 65535, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0");
}

TEST_CASE("flags, ack, urg, options and SACK wording") {
  TcpRepr tcp;
  tcp.src_port = 1;
  tcp.dst_port = 2;
  tcp.seq = SeqNumber{0xFFFFFFFEU};
  tcp.ack = SeqNumber{7};  // not printed without ACK
  std::array<std::uint8_t, 4> data{'a', 'b', 'c', 'd'};
  tcp.payload = data;
  CHECK(summary_of(tcp_frame(tcp)) == "10.0.0.1.1 > 10.0.0.2.2: Flags [none], seq 4294967294:2, win 0, length 4");
  tcp.flags = 0xff;
  tcp.urgent = 3;
  tcp.payload = {};
  CHECK(summary_of(tcp_frame(tcp)) ==
        "10.0.0.1.1 > 10.0.0.2.2: Flags [FSRP.UEW], seq 4294967294, ack 7, win 0, urg 3, length 0");
  tcp.flags = tcp_flag::RST;
  tcp.sack_permitted = true;  // without TS: nop,nop,sackOK
  CHECK(summary_of(tcp_frame(tcp)) ==
        "10.0.0.1.1 > 10.0.0.2.2: Flags [R], seq 4294967294, win 0, options [nop,nop,sackOK], length 0");
  tcp.flags = tcp_flag::ACK;
  tcp.sack_permitted = false;
  tcp.sack_count = 2;
  tcp.sack_blocks[0] = {SeqNumber{100}, SeqNumber{200}};
  tcp.sack_blocks[1] = {SeqNumber{300}, SeqNumber{400}};
  const std::array<std::uint8_t, 6> unknown{30, 6, 0xde, 0xad, 0xbe, 0xef};
  REQUIRE(tcp.unknown_options.append(unknown));
  CHECK(summary_of(tcp_frame(tcp)) ==
        "10.0.0.1.1 > 10.0.0.2.2: Flags [.], seq 4294967294, ack 7, win 0, "
        "options [nop,nop,sack 2 {100:200}{300:400},unknown-30 6,eol], length 0");
}

TEST_CASE("error and marker cases") {
  SUBCASE("shorter than an Ethernet header") {
    const std::array<std::uint8_t, 5> tiny{};
    CHECK(summary_of(tiny) == "[ethernet: truncated]");
    CHECK(summary_of({}) == "[ethernet: truncated]");
  }
  SUBCASE("non-IPv4 EtherType") {
    std::array<std::uint8_t, 42> arp{};
    arp[12] = 0x08;
    arp[13] = 0x06;
    CHECK(summary_of(arp) == "ethertype 0x0806, length 42");
    arp[12] = 0x86;
    arp[13] = 0xdd;
    CHECK(summary_of(arp) == "ethertype 0x86dd, length 42");
  }
  SUBCASE("IPv4 header truncated or malformed") {
    CHECK(summary_of(std::span(t::kSyn).first(30)) == "[ipv4: truncated]");
    auto f = t::copy_of(t::kSyn);
    f[kIp] = 0x44;
    CHECK(summary_of(f) == "[ipv4: malformed]");
  }
  SUBCASE("TCP header truncated inside a valid IPv4 packet") {
    auto f = t::copy_of(t::kSyn);
    auto ip = Ipv4Packet::check(std::span(f).subspan(kIp));
    REQUIRE(ip);
    REQUIRE(ip->set_total_len(30));
    ip->fill_checksum();
    CHECK(summary_of(f) == "10.99.0.1 > 10.99.0.2: [tcp: truncated]");
  }
  SUBCASE("UDP header malformed") {
    auto f = t::copy_of(t::kUdp);
    store_be16(f.data() + kL4 + 4, 4);
    CHECK(summary_of(f) == "10.99.0.1 > 10.99.0.2: [udp: malformed]");
  }
  SUBCASE("bad checksums") {
    auto f = t::copy_of(t::kFinAck);
    f[kIp + 11] ^= 1;
    CHECK(summary_of(f) ==
          "10.99.0.2.80 > 10.99.0.1.40000: Flags [F.], seq 3125587181, ack 3991910264, win 64, "
          "options [nop,nop,TS val 3562642057 ecr 355621002], length 0 [bad ip cksum]");
    f[kL4 + 17] ^= 1;
    CHECK(summary_of(f) ==
          "10.99.0.2.80 > 10.99.0.1.40000: Flags [F.], seq 3125587181, ack 3991910264, win 64, "
          "options [nop,nop,TS val 3562642057 ecr 355621002], length 0 [bad ip cksum] [bad tcp cksum]");
    f[kIp + 11] ^= 1;
    CHECK(summary_of(f) ==
          "10.99.0.2.80 > 10.99.0.1.40000: Flags [F.], seq 3125587181, ack 3991910264, win 64, "
          "options [nop,nop,TS val 3562642057 ecr 355621002], length 0 [bad tcp cksum]");
    auto u = t::copy_of(t::kUdp);
    u[u.size() - 1] ^= 1;
    CHECK(summary_of(u) == "10.99.0.1.5000 > 10.99.0.2.6000: UDP, length 16 [bad udp cksum]");
  }
  SUBCASE("malformed TCP option: options decoded so far, then the marker") {
    auto f = t::copy_of(t::kSyn);
    f[kL4 + 20 + 18] = 4;  // wscale length 3 -> 4: runs past the option area
    auto seg = TcpSegment::check(std::span(f).subspan(kL4));
    REQUIRE(seg);
    seg->fill_checksum(Ipv4Address::from_octets(10, 99, 0, 1), Ipv4Address::from_octets(10, 99, 0, 2));
    CHECK(summary_of(f) ==
          "10.99.0.1.40000 > 10.99.0.2.80: Flags [S], seq 3991910258, win 64240, "
          "options [mss 1460,sackOK,TS val 355620451 ecr 0,nop], length 0 [tcp: malformed]");
  }
  SUBCASE("other IP protocols and fragments") {
    auto f = t::copy_of(t::kUdp);
    auto ip = Ipv4Packet::check(std::span(f).subspan(kIp));
    REQUIRE(ip);
    ip->set_protocol(ip_proto::icmp);
    ip->fill_checksum();
    CHECK(summary_of(f) == "10.99.0.1 > 10.99.0.2: ip-proto-1, length 24");
    ip->set_protocol(ip_proto::udp);
    ip->set_more_frags(true);
    ip->set_ident(4660);
    ip->fill_checksum();
    CHECK(summary_of(f) == "10.99.0.1 > 10.99.0.2: ip-proto-17, length 24, frag 4660@0+");
    ip->set_more_frags(false);
    ip->set_frag_offset(1480);
    ip->fill_checksum();
    CHECK(summary_of(f) == "10.99.0.1 > 10.99.0.2: ip-proto-17, length 24, frag 4660@1480");
  }
}

TEST_CASE("append_summary appends to what is there and does not allocate with capacity") {
  std::string out = "t=1 ";
  out.reserve(512);
  const auto* before = out.data();
  append_summary(out, t::kSackAck);
  CHECK(out.data() == before);
  CHECK(out.rfind("t=1 10.99.0.1.40000 > ", 0) == 0);
}

}  // namespace
