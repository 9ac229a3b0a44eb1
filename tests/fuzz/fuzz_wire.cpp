// libFuzzer target for the wire layer: every decoder on arbitrary bytes, then
// emit -> re-parse round trips that must agree (__builtin_trap() if not).
//
// Build: cmake -DCMAKE_CXX_COMPILER=clang++ -DTCPMIG_FUZZ=ON, target fuzz_wire.
// Run:   cp -r tests/fuzz/corpus/wire /tmp/corpus && ./fuzz_wire -max_total_time=60 /tmp/corpus
// Seeds: tests/fuzz/corpus/wire/*.bin, real Linux frames (see tests/wire/real_packets.hpp).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "tcpmig/wire/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using namespace tcpmig::wire;

/// Stops the fuzzer with a crash report when an invariant fails.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

/// Walks every option; returns whether the walk was clean, checks it agrees with tcp_options_valid().
bool walk_options(std::span<const std::uint8_t> opts) {
  bool clean = true;
  std::size_t covered = 0;
  for (TcpOptionReader r(opts); !r.done();) {
    auto opt = r.next();
    if (!opt) {
      clean = false;
      break;
    }
    require(opt->offset() == covered);
    require(opt->offset() + opt->size() <= opts.size());
    covered += opt->size();
    (void)opt->mss();
    (void)opt->window_scale();
    (void)opt->tsval();
    (void)opt->tsecr();
    for (std::size_t i = 0; i < opt->sack_block_count(); ++i) (void)opt->sack_block(i);
  }
  require(clean == tcp_options_valid(opts));
  return clean;
}

// Output buffer for every emit (64 KiB + headers: the largest possible frame).
std::array<std::uint8_t, 70000> g_out;
std::array<std::uint8_t, 70000> g_out2;

/// A TCP repr emitted and re-parsed must come back equal; emitting that again
/// must give the same bytes.
void tcp_round_trip(const TcpRepr& repr, Ipv4Address src, Ipv4Address dst) {
  auto seg = repr.emit(g_out, src, dst);
  if (!seg) {
    // Only options that do not fit in Linux's layout (or a segment grown past 64 KiB) may fail here.
    require(seg.error() == Error::Malformed &&
            (repr.header_len() > tcp::field::MAX_HEADER_LEN || repr.buffer_len() > 0xffff));
    return;
  }
  require(seg->buffer().size() == repr.buffer_len());
  require(seg->verify_checksum(src, dst));
  auto back = TcpRepr::parse(*seg, src, dst);
  require(back.ok());
  require(*back == repr);
  auto again = back->emit(g_out2, src, dst);
  require(again.ok());
  require(std::equal(seg->buffer().begin(), seg->buffer().end(), again->buffer().begin(), again->buffer().end()));

  // In-place rewrite with incremental checksum (what the migration core does).
  const SeqNumber old_seq = seg->seq();
  seg->set_seq(old_seq + 0x12345678U);
  seg->set_checksum(checksum_update32(seg->checksum(), old_seq.raw(), seg->seq().raw()));
  require(seg->verify_checksum(src, dst));
}

/// Frame-level emit of (eth, ip, tcp) and a full re-parse.
void tcp_frame_round_trip(const EthernetRepr& eth, const Ipv4Repr& ip, const TcpRepr& tcp) {
  auto len = emit_tcp_frame(g_out, eth, ip, tcp);
  if (!len) {
    require(len.error() == Error::Malformed);
    return;
  }
  const std::span<const std::uint8_t> frame(g_out.data(), *len);
  auto info = classify_frame(frame);
  require(info.ok() && info->ipv4.has_value() && !info->fragment);
  require(info->l4_protocol == ip_proto::tcp);
  auto ip2 = Ipv4Repr::parse(*info->ipv4);
  require(ip2.ok());
  Ipv4Repr expected_ip = ip;
  expected_ip.protocol = ip_proto::tcp;
  expected_ip.payload_len = static_cast<std::uint16_t>(tcp.buffer_len());
  require(*ip2 == expected_ip);
  auto seg = ConstTcpSegment::check(info->l4);
  require(seg.ok());
  auto tcp2 = TcpRepr::parse(*seg, ip2->src, ip2->dst);
  require(tcp2.ok() && *tcp2 == tcp);
  EthernetRepr expected_eth = eth;
  expected_eth.ethertype = ethertype::ipv4;
  require(*EthernetRepr::parse(info->ethernet) == expected_eth);
}

/// The raw bytes as a TCP segment.
void fuzz_tcp(std::span<const std::uint8_t> bytes, Ipv4Address src, Ipv4Address dst) {
  auto seg = ConstTcpSegment::check(bytes);
  if (!seg) return;
  require(seg->header_len() >= 20 && seg->header_len() <= bytes.size());
  const bool clean = walk_options(seg->options());
  auto verified = TcpRepr::parse(*seg, src, dst);
  auto unverified = TcpRepr::parse_unverified(*seg);
  require(unverified.ok() == clean);
  if (verified) require(unverified.ok() && *verified == *unverified);
  if (unverified) tcp_round_trip(*unverified, src, dst);
}

/// The raw bytes as a UDP datagram.
void fuzz_udp(std::span<const std::uint8_t> bytes, Ipv4Address src, Ipv4Address dst) {
  auto dgram = ConstUdpDatagram::check(bytes);
  if (!dgram) return;
  require(dgram->length() <= bytes.size());
  auto repr = UdpRepr::parse(*dgram, src, dst);
  if (!repr) return;
  auto out = repr->emit(g_out, src, dst);
  require(out.ok() && out->verify_checksum(src, dst) && out->checksum() != 0);
  auto back = UdpRepr::parse(*out, src, dst);
  require(back.ok() && *back == *repr);
}

/// The raw bytes as an IPv4 packet (and its payload as TCP/UDP).
void fuzz_ipv4(std::span<const std::uint8_t> bytes) {
  auto ip = ConstIpv4Packet::check(bytes);
  if (!ip) return;
  require(ip->header_len() <= ip->total_len() && ip->total_len() <= bytes.size());
  (void)ip->options();
  auto repr = Ipv4Repr::parse(*ip);
  if (repr) {
    require(!ip->is_fragment() && ip->verify_checksum());
    auto out = repr->emit(g_out);
    require(out.ok() && out->verify_checksum());
    auto back = Ipv4Repr::parse(*out);
    require(back.ok() && *back == *repr);
  }
  if (ip->protocol() == ip_proto::tcp) fuzz_tcp(ip->payload(), ip->src(), ip->dst());
  if (ip->protocol() == ip_proto::udp) fuzz_udp(ip->payload(), ip->src(), ip->dst());
}

/// The raw bytes as an Ethernet frame.
void fuzz_frame(std::span<const std::uint8_t> bytes) {
  auto info = classify_frame(bytes);
  auto eth = ConstEthernetFrame::check(bytes);
  require(eth.ok() == (bytes.size() >= 14));
  if (!eth) {
    require(!info.ok());
    return;
  }
  if (eth->ethertype() == ethertype::ipv4) {
    require(info.ok() == ConstIpv4Packet::check(eth->payload()).ok());
    fuzz_ipv4(eth->payload());
  } else {
    require(info.ok() && !info->ipv4.has_value());
  }
  if (!info || !info->ipv4) return;
  // Whole-frame round trip when every layer parses with valid checksums.
  auto ip = Ipv4Repr::parse(*info->ipv4);
  if (!ip || info->l4_protocol != ip_proto::tcp) return;
  auto seg = ConstTcpSegment::check(info->l4);
  if (!seg) return;
  auto tcp = TcpRepr::parse(*seg, ip->src, ip->dst);
  if (!tcp) return;
  tcp_frame_round_trip(*EthernetRepr::parse(*eth), *ip, *tcp);
}

std::array<std::uint8_t, 70000> g_fixed;

/// A copy of the frame with every checksum recomputed, so that mutated inputs
/// also reach the verified parse paths and the whole-frame round trip.
void fuzz_fixed_checksums(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > g_fixed.size()) return;
  std::copy(bytes.begin(), bytes.end(), g_fixed.begin());
  const std::span<std::uint8_t> frame(g_fixed.data(), bytes.size());
  auto eth = EthernetFrame::check(frame);
  if (!eth || eth->ethertype() != ethertype::ipv4) return;
  auto ip = Ipv4Packet::check(eth->payload());
  if (!ip) return;
  ip->fill_checksum();
  require(ip->verify_checksum());
  if (!ip->is_fragment() && ip->protocol() == ip_proto::tcp) {
    if (auto seg = TcpSegment::check(ip->payload())) {
      seg->fill_checksum(ip->src(), ip->dst());
      require(seg->verify_checksum(ip->src(), ip->dst()));
    }
  } else if (!ip->is_fragment() && ip->protocol() == ip_proto::udp) {
    if (auto dgram = UdpDatagram::check(ip->payload())) {
      dgram->fill_checksum(ip->src(), ip->dst());
      require(dgram->verify_checksum(ip->src(), ip->dst()));
    }
  }
  fuzz_frame(frame);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  static std::string line;
  line.clear();
  append_summary(line, bytes);
  require(!line.empty());

  fuzz_frame(bytes);
  fuzz_fixed_checksums(bytes);
  fuzz_ipv4(bytes);
  const auto a = Ipv4Address::from_octets(10, 99, 0, 1);
  const auto b = Ipv4Address::from_octets(10, 99, 0, 2);
  fuzz_tcp(bytes, a, b);
  fuzz_udp(bytes, a, b);
  walk_options(bytes.first(size < 40 ? size : 40));
  return 0;
}
