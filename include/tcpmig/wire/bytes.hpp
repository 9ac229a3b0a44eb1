// Big-endian (network order) loads and stores at byte offsets.
//
// Place in the layers: wire, lowest header (std only). Every protocol view in
// tcpmig/wire reads and writes header fields through these helpers at offsets
// named in its `field` namespace; nothing overlays packed structs on packet
// bytes and nothing byte-swaps a packet in place. Written with shifts, so they
// are independent of the host's byte order and have no alignment requirement.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tcpmig::wire {

/// Reads the big-endian 16-bit value at p[0..2).
[[nodiscard]] constexpr std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// Reads the big-endian 32-bit value at p[0..4).
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
         (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

/// Writes v big-endian to p[0..2).
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

/// Writes v big-endian to p[0..4).
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace tcpmig::wire
