// The core's packet view and editor (rules in segment.hpp).
#include "segment.hpp"

#include <algorithm>
#include <cstring>


namespace tcpmig::core::detail {

namespace {

namespace tf = wire::tcp::field;

/// The checksum after the bytes summed into `old_acc` (whole 16-bit words)
/// became those summed into `new_acc` (RFC 1624 eqn 3).
uint16_t checksum_replace(uint16_t csum, uint32_t old_acc, uint32_t new_acc) {
  uint32_t acc = static_cast<uint16_t>(~csum);
  acc = wire::checksum_combine(acc, static_cast<uint16_t>(~wire::checksum_fold(old_acc)));
  acc = wire::checksum_combine(acc, wire::checksum_fold(new_acc));
  return static_cast<uint16_t>(~wire::checksum_fold(acc));
}

}  // namespace

SegmentOptions read_options(const wire::ConstTcpSegment& seg) {
  SegmentOptions o;
  for (wire::TcpOptionReader r(seg.options()); !r.done();) {
    auto opt = r.next();
    if (!opt) {
      o.malformed = true;
      break;
    }
    const auto at = static_cast<int16_t>(opt->offset() + tf::OPTIONS);
    switch (opt->kind()) {
      case wire::TcpOptionKind::Mss: o.values.mss = opt->mss(); break;
      case wire::TcpOptionKind::WindowScale: o.values.window_scale = std::min<uint8_t>(opt->window_scale(), 14); break;
      case wire::TcpOptionKind::SackPermitted: o.values.sack_permitted = true; break;
      case wire::TcpOptionKind::Sack:
        o.sack = at;
        o.sack_len = static_cast<uint8_t>(opt->size());
        break;
      case wire::TcpOptionKind::Timestamps:
        o.ts = at;
        o.values.timestamps = true;
        o.tsval = opt->tsval();
        o.tsecr = opt->tsecr();
        break;
      default: break;
    }
  }
  return o;
}

Reason Segment::parse(std::span<uint8_t> ipv4, Segment& out) {
  if (ipv4.size() < wire::ipv4::field::HEADER_LEN || (ipv4[wire::ipv4::field::VER_IHL] >> 4) != 4) {
    return Reason::NotIpv4;
  }
  auto ip = wire::Ipv4Packet::check(ipv4);
  if (!ip) return Reason::Malformed;
  if (ip->is_fragment()) return Reason::Fragment;
  if (ip->protocol() != wire::ip_proto::tcp) return Reason::NotTcp;
  auto seg = wire::TcpSegment::check(ip->payload());
  if (!seg) return Reason::Malformed;
  out.ip_ = ipv4.data();
  out.tcp_ = seg->buffer().data();
  out.tcp_hlen_ = static_cast<uint32_t>(seg->header_len());
  out.payload_ = static_cast<uint32_t>(seg->buffer().size() - seg->header_len());
  out.seq_ = seg->seq();
  out.ack_ = seg->ack();
  out.flags_ = seg->flags();
  out.opt_ = read_options(*seg);
  return Reason::Count;
}

void Segment::set_src(Endpoint e) {
  set_address(wire::ipv4::field::SRC, e.ip.value);
  set16(tf::SRC_PORT, e.port);
}

void Segment::set_dst(Endpoint e) {
  set_address(wire::ipv4::field::DST, e.ip.value);
  set16(tf::DST_PORT, e.port);
}

void Segment::set32_odd(std::size_t off, uint32_t v) {
  const std::span<const uint8_t> words(tcp_ + off - 1, 6);
  const uint32_t before = wire::checksum_add(words);
  wire::store_be32(tcp_ + off, v);
  if (!partial_) set_tcp_checksum(checksum_replace(tcp_checksum(), before, wire::checksum_add(words)));
}

void Segment::nop_sack() {
  const auto at = static_cast<std::size_t>(opt_.sack);
  const std::size_t start = at & ~std::size_t{1};
  const std::size_t end = (at + opt_.sack_len + 1) & ~std::size_t{1};
  const std::span<const uint8_t> words(tcp_ + start, end - start);
  const uint32_t before = wire::checksum_add(words);
  std::memset(tcp_ + at, static_cast<int>(wire::TcpOptionKind::Nop), opt_.sack_len);
  if (!partial_) set_tcp_checksum(checksum_replace(tcp_checksum(), before, wire::checksum_add(words)));
  opt_.sack = -1;
  opt_.sack_len = 0;
}

void Segment::complete_checksum() {
  // parse() checked this segment, so check() succeeds (it runs once per released packet).
  if (auto seg = wire::TcpSegment::check(std::span<uint8_t>(tcp_, tcp_hlen_ + payload_))) {
    seg->fill_checksum(wire::Ipv4Address{src_ip()}, wire::Ipv4Address{dst_ip()});
  }
  partial_ = false;
}

}  // namespace tcpmig::core::detail
