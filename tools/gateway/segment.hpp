// Checksum completion and software segmentation for packets the gateway
// sends itself.
//
// Place in the layers: tools/gateway, on the wire layer only (std only).
// Why: NFQUEUE hands over (a) packets whose TCP checksum is only partial
// (CHECKSUM_PARTIAL: the field holds the pseudo-header sum, offload would
// finish it) and (b) GSO packets far larger than the MTU. The kernel fixes
// both for packets it forwards after a verdict, but packets the core emits
// leave through a raw socket, which sends exactly the bytes it is given.
// Rules:
// - complete_tcp_checksum: the TCP checksum is recomputed over the pseudo
//   header and the whole segment, whatever the field held.
// - segment_tcp: a TCP/IPv4 packet longer than `mtu` becomes ceil(payload /
//   mss) packets, mss = mtu - IP header - TCP header (both copied with their
//   options): consecutive sequence numbers and payload bytes, IPv4 ident
//   counting up from the original's, FIN and PSH only on the last, CWR only
//   on the first, total length and both checksums computed afresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tcpmig::gateway_tool {

/// Recomputes the TCP checksum of an IPv4/TCP packet (not a fragment);
/// false, and nothing changed, for anything else.
bool complete_tcp_checksum(std::span<uint8_t> ipv4);

/// Splits `ipv4` (longer than `mtu`) into `out` (cleared first); false, and
/// `out` empty, when it is not TCP/IPv4, is a fragment, or its headers leave
/// no room for data at this MTU.
bool segment_tcp(std::span<const uint8_t> ipv4, std::size_t mtu, std::vector<std::vector<uint8_t>>& out);

}  // namespace tcpmig::gateway_tool
