// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update).
//
// Place in the layers: wire (std only); used by the IPv4 header, UDP and TCP
// views, and by the migration core when it rewrites fields in place.
//
// Vocabulary: an *accumulator* (uint32_t) is a running ones'-complement sum of
// big-endian 16-bit words that has not been folded yet; checksum_fold() turns it
// into a 16-bit sum, and the checksum field holds the complement of that sum.
// Only the folded value of an accumulator is meaningful: checksum_add() may keep
// it partially folded so that it never overflows.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "tcpmig/wire/address.hpp"

namespace tcpmig::wire {

/// Ones'-complement addition of two accumulators (end-around carry; 2^32 == 1 mod 0xffff).
[[nodiscard]] constexpr std::uint32_t checksum_combine(std::uint32_t a, std::uint32_t b) {
  const std::uint32_t s = a + b;
  return s + (s < b ? 1U : 0U);
}

/// Folds an accumulator to 16 bits with end-around carry. The result is 0 only for acc == 0.
[[nodiscard]] constexpr std::uint16_t checksum_fold(std::uint32_t acc) {
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}

/// Adds the bytes of `data`, read as big-endian 16-bit words (an odd last byte
/// is padded with a zero low byte), to the accumulator `acc` and returns it.
/// Chunks: checksum_add(b, checksum_add(a)) equals checksum_add(a ++ b) only
/// when a has even length (otherwise a's last byte and b's first byte would
/// have to share one word); every chunk but the last must have even length.
/// Reads 8 bytes at a time into a 64-bit accumulator in host order, then swaps
/// the folded sum to network order (the ones'-complement sum commutes with a
/// byte swap, RFC 1071 section 2(B)).
[[nodiscard]] inline std::uint32_t checksum_add(std::span<const std::uint8_t> data, std::uint32_t acc = 0) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  std::uint64_t sum = 0;  // sum of host-order 32-bit halves: cannot overflow for spans below 16 GiB
  while (n >= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, 32);
    sum += (w[0] & 0xffffffff) + (w[0] >> 32) + (w[1] & 0xffffffff) + (w[1] >> 32) +
           (w[2] & 0xffffffff) + (w[2] >> 32) + (w[3] & 0xffffffff) + (w[3] >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    sum += (w & 0xffffffff) + (w >> 32);
    p += 8;
    n -= 8;
  }
  while (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The big-endian word is (b << 8); in host order it reads as b on a
    // little-endian host and (b << 8) on a big-endian one.
    sum += std::endian::native == std::endian::little ? std::uint64_t{*p} : std::uint64_t{*p} << 8;
  }
  // Fold 64 -> 16 bits (host order), then swap to network order.
  sum = (sum & 0xffffffff) + (sum >> 32);  // <= 2^33
  sum = (sum & 0xffffffff) + (sum >> 32);  // <= 2^32
  sum = (sum & 0xffffffff) + (sum >> 32);  // < 2^32
  std::uint16_t folded = checksum_fold(static_cast<std::uint32_t>(sum));
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<std::uint16_t>((folded >> 8) | (folded << 8));
  }
  return checksum_combine(acc, folded);
}

/// The checksum field value for `data`: the complement of its folded word sum.
/// Verifying: internet_checksum(header including its checksum field) == 0.
[[nodiscard]] inline std::uint16_t internet_checksum(std::span<const std::uint8_t> data) {
  return static_cast<std::uint16_t>(~checksum_fold(checksum_add(data)));
}

/// Accumulator of the TCP/UDP pseudo header (RFC 9293 3.1, RFC 768): source and
/// destination address, zero + protocol, and the L4 length (header + data).
[[nodiscard]] constexpr std::uint32_t pseudo_header_sum(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                                                       std::uint16_t length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff) +
         std::uint32_t{protocol} + std::uint32_t{length};
}

/// RFC 1624 eqn 3: the checksum after one 16-bit word of the covered data
/// changed from old_word to new_word, HC' = ~(~HC + ~m + m'). Gives the same
/// value as recomputing the whole checksum (for any data that is not all zero).
[[nodiscard]] constexpr std::uint16_t checksum_update16(std::uint16_t old_checksum, std::uint16_t old_word,
                                                       std::uint16_t new_word) {
  const std::uint32_t acc = std::uint32_t{static_cast<std::uint16_t>(~old_checksum)} +
                            std::uint32_t{static_cast<std::uint16_t>(~old_word)} + std::uint32_t{new_word};
  return static_cast<std::uint16_t>(~checksum_fold(acc));
}

/// RFC 1624 eqn 3 for a 32-bit value (two adjacent 16-bit words at an even
/// offset: an address, a sequence number, a timestamp).
[[nodiscard]] constexpr std::uint16_t checksum_update32(std::uint16_t old_checksum, std::uint32_t old_value,
                                                       std::uint32_t new_value) {
  const std::uint32_t acc = std::uint32_t{static_cast<std::uint16_t>(~old_checksum)} +
                            std::uint32_t{static_cast<std::uint16_t>(~(old_value >> 16))} +
                            std::uint32_t{static_cast<std::uint16_t>(~old_value)} + (new_value >> 16) +
                            (new_value & 0xffff);
  return static_cast<std::uint16_t>(~checksum_fold(acc));
}

}  // namespace tcpmig::wire
