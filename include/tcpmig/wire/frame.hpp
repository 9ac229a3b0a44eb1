// Whole-frame helpers: Ethernet II + IPv4 + UDP/TCP in one call, and a cheap
// one-pass classifier for forwarding.
//
// Place in the layers: wire, top (uses ethernet, ipv4, udp, tcp). The
// simulator's hosts emit frames with emit_*_frame(); routers, switches and the
// gateway classify them with classify_frame() (no checksum verification).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/result.hpp"
#include "tcpmig/wire/tcp.hpp"
#include "tcpmig/wire/udp.hpp"

namespace tcpmig::wire {

namespace detail {
/// Emits L4 (already sized to l4_len) first, so a payload sitting anywhere in
/// buf is moved before headers are written, then IPv4, then Ethernet.
template <class L4Repr>
Result<std::size_t> emit_l4_frame(std::span<std::uint8_t> buf, const EthernetRepr& eth, const Ipv4Repr& ip,
                                  const L4Repr& l4, std::uint8_t protocol) {
  constexpr std::size_t l3_offset = EthernetRepr::header_len();
  constexpr std::size_t l4_offset = l3_offset + Ipv4Repr::header_len();
  const std::size_t l4_len = l4.buffer_len();
  if (l4_len > 0xffff - Ipv4Repr::header_len()) return Error::Malformed;
  const std::size_t frame_len = l4_offset + l4_len;
  if (buf.size() < frame_len) return Error::Truncated;
  if (auto seg = l4.emit(buf.subspan(l4_offset, l4_len), ip.src, ip.dst); !seg) return seg.error();
  Ipv4Repr ip_hdr = ip;
  ip_hdr.protocol = protocol;
  ip_hdr.payload_len = static_cast<std::uint16_t>(l4_len);
  if (auto pkt = ip_hdr.emit(buf.subspan(l3_offset, frame_len - l3_offset)); !pkt) return pkt.error();
  EthernetRepr eth_hdr = eth;
  eth_hdr.ethertype = ethertype::ipv4;
  if (auto frame = eth_hdr.emit(buf); !frame) return frame.error();
  return frame_len;
}
}  // namespace detail

/// Writes Ethernet + IPv4 + UDP + payload at the start of `buf` and returns the
/// frame length. Sets ethertype (IPv4), protocol (UDP) and payload_len itself
/// (the values in `eth` / `ip` are ignored). Errors: Truncated if buf is too
/// small; Malformed if the datagram does not fit in an IPv4 packet.
inline Result<std::size_t> emit_udp_frame(std::span<std::uint8_t> buf, const EthernetRepr& eth, const Ipv4Repr& ip,
                                          const UdpRepr& udp) {
  return detail::emit_l4_frame(buf, eth, ip, udp, ip_proto::udp);
}

/// Writes Ethernet + IPv4 + TCP (options, payload, checksums) at the start of
/// `buf` and returns the frame length. Sets ethertype (IPv4), protocol (TCP)
/// and payload_len itself. Errors: Truncated if buf is too small; Malformed if
/// the options do not fit (see TcpRepr::emit) or the segment is too large.
inline Result<std::size_t> emit_tcp_frame(std::span<std::uint8_t> buf, const EthernetRepr& eth, const Ipv4Repr& ip,
                                          const TcpRepr& tcp) {
  return detail::emit_l4_frame(buf, eth, ip, tcp, ip_proto::tcp);
}

/// What classify_frame() found.
struct FrameInfo {
  ConstEthernetFrame ethernet;           ///< the Ethernet header (always valid)
  std::optional<ConstIpv4Packet> ipv4;   ///< set when the EtherType is IPv4 (header checked, checksum not)
  std::optional<std::uint8_t> l4_protocol;  ///< IPv4 protocol field, when ipv4 is set
  std::span<const std::uint8_t> l4;      ///< IPv4 payload (bounded by total_len); empty when not IPv4
  bool fragment = false;                 ///< IPv4 fragment: l4 is not a whole L4 packet
};

/// One pass over a frame: checks the Ethernet header and, for EtherType IPv4,
/// the IPv4 header (lengths only; no checksum). Errors: the Ethernet or IPv4
/// check() error. Non-IPv4 frames succeed with ipv4 empty.
[[nodiscard]] constexpr Result<FrameInfo> classify_frame(std::span<const std::uint8_t> frame) {
  auto eth = ConstEthernetFrame::check(frame);
  if (!eth) return eth.error();
  FrameInfo info{*eth, std::nullopt, std::nullopt, {}, false};
  if (eth->ethertype() != ethertype::ipv4) return info;
  auto ip = ConstIpv4Packet::check(eth->payload());
  if (!ip) return ip.error();
  info.ipv4 = *ip;
  info.l4_protocol = ip->protocol();
  info.l4 = ip->payload();
  info.fragment = ip->is_fragment();
  return info;
}

}  // namespace tcpmig::wire
