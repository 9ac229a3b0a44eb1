// UDP header and checksum (RFC 768; pseudo header over IPv4).
//
// Place in the layers: wire, above ipv4.hpp. Used by the simulator's UDP
// applications and the text trace.
//
// Checksum rules (RFC 768): a received checksum of 0 means "none" and is
// accepted; a computed checksum of 0 is sent as 0xffff.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/result.hpp"

namespace tcpmig::wire {

namespace udp::field {
inline constexpr std::size_t SRC_PORT = 0;   ///< source port, 2 bytes
inline constexpr std::size_t DST_PORT = 2;   ///< destination port, 2 bytes
inline constexpr std::size_t LENGTH = 4;     ///< header + data length, 2 bytes
inline constexpr std::size_t CHECKSUM = 6;   ///< checksum (0 = none), 2 bytes
inline constexpr std::size_t PAYLOAD = 8;    ///< first data byte
inline constexpr std::size_t HEADER_LEN = 8; ///< fixed header length
}  // namespace udp::field

/// A bounds-checked view of a UDP datagram over `Byte` (uint8_t or const
/// uint8_t). check() guarantees: buffer >= 8, 8 <= length <= buffer size.
template <class Byte>
class BasicUdpDatagram {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::uint8_t>, "views are over uint8_t");

 public:
  /// A view of `buffer` (normally the IPv4 payload), or Truncated (shorter than
  /// the header or the length field) or Malformed (length < 8).
  static constexpr Result<BasicUdpDatagram> check(std::span<Byte> buffer) {
    if (buffer.size() < udp::field::HEADER_LEN) return Error::Truncated;
    const std::size_t len = load_be16(buffer.data() + udp::field::LENGTH);
    if (len < udp::field::HEADER_LEN) return Error::Malformed;
    if (len > buffer.size()) return Error::Truncated;
    return BasicUdpDatagram{buffer};
  }

  /// A read-only view of a mutable one.
  template <class Other>
    requires(std::is_const_v<Byte> && std::is_same_v<Other, std::uint8_t>)
  constexpr BasicUdpDatagram(const BasicUdpDatagram<Other>& other)  // NOLINT(google-explicit-constructor)
      : buf_(other.buffer()) {}

  /// The buffer given to check().
  [[nodiscard]] constexpr std::span<Byte> buffer() const { return buf_; }
  /// The datagram proper: the first length() bytes.
  [[nodiscard]] constexpr std::span<Byte> datagram() const { return buf_.first(length()); }
  /// Always 8.
  [[nodiscard]] static constexpr std::size_t header_len() { return udp::field::HEADER_LEN; }
  /// Source port.
  [[nodiscard]] constexpr std::uint16_t src_port() const { return load_be16(buf_.data() + udp::field::SRC_PORT); }
  /// Destination port.
  [[nodiscard]] constexpr std::uint16_t dst_port() const { return load_be16(buf_.data() + udp::field::DST_PORT); }
  /// Header + data length in bytes (8..buffer size).
  [[nodiscard]] constexpr std::uint16_t length() const { return load_be16(buf_.data() + udp::field::LENGTH); }
  /// Checksum field as carried (0 = none).
  [[nodiscard]] constexpr std::uint16_t checksum() const { return load_be16(buf_.data() + udp::field::CHECKSUM); }
  /// Data: [8, length).
  [[nodiscard]] constexpr std::span<Byte> payload() const {
    return buf_.subspan(udp::field::PAYLOAD, length() - udp::field::HEADER_LEN);
  }
  /// True if the checksum is 0 (none) or verifies over pseudo header + datagram.
  [[nodiscard]] bool verify_checksum(Ipv4Address src, Ipv4Address dst) const {
    if (checksum() == 0) return true;
    return checksum_fold(checksum_add(datagram(), pseudo_header_sum(src, dst, ip_proto::udp, length()))) == 0xffff;
  }

  /// Sets the source port (checksum untouched).
  constexpr void set_src_port(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + udp::field::SRC_PORT, v);
  }
  /// Sets the destination port (checksum untouched).
  constexpr void set_dst_port(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + udp::field::DST_PORT, v);
  }
  /// Sets length if 8 <= len <= buffer size and returns true; otherwise
  /// changes nothing and returns false (the view stays valid).
  [[nodiscard]] constexpr bool set_length(std::uint16_t len) requires(!std::is_const_v<Byte>) {
    if (len < udp::field::HEADER_LEN || len > buf_.size()) return false;
    store_be16(buf_.data() + udp::field::LENGTH, len);
    return true;
  }
  /// Sets the checksum field.
  constexpr void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + udp::field::CHECKSUM, v);
  }
  /// Computes the checksum over pseudo header + datagram (0 is sent as 0xffff).
  void fill_checksum(Ipv4Address src, Ipv4Address dst) requires(!std::is_const_v<Byte>) {
    set_checksum(0);
    auto c = static_cast<std::uint16_t>(
        ~checksum_fold(checksum_add(datagram(), pseudo_header_sum(src, dst, ip_proto::udp, length()))));
    set_checksum(c == 0 ? std::uint16_t{0xffff} : c);
  }

 private:
  constexpr explicit BasicUdpDatagram(std::span<Byte> buffer) : buf_(buffer) {}

  std::span<Byte> buf_;  ///< satisfies the check() invariants
};

/// Mutable UDP datagram view.
using UdpDatagram = BasicUdpDatagram<std::uint8_t>;
/// Read-only UDP datagram view.
using ConstUdpDatagram = BasicUdpDatagram<const std::uint8_t>;

/// A UDP datagram as values; the payload is borrowed, not copied.
struct UdpRepr {
  std::uint16_t src_port = 0;            ///< source port
  std::uint16_t dst_port = 0;            ///< destination port
  std::span<const std::uint8_t> payload; ///< data (points into the parsed buffer, or the caller's bytes to emit)

  /// Reads a checked datagram; BadChecksum if a non-zero checksum fails.
  static Result<UdpRepr> parse(const ConstUdpDatagram& dgram, Ipv4Address src, Ipv4Address dst) {
    if (!dgram.verify_checksum(src, dst)) return Error::BadChecksum;
    return UdpRepr{dgram.src_port(), dgram.dst_port(), dgram.payload()};
  }
  /// Always 8.
  [[nodiscard]] static constexpr std::size_t header_len() { return udp::field::HEADER_LEN; }
  /// 8 + payload size: the length field written by emit().
  [[nodiscard]] constexpr std::size_t buffer_len() const { return header_len() + payload.size(); }

  /// Writes header + payload at the start of `buf` (the payload may already
  /// sit anywhere in `buf`: it is moved first) and fills the checksum; returns
  /// a view of the first buffer_len() bytes. Malformed if buffer_len() > 65535,
  /// Truncated if buf is shorter.
  Result<UdpDatagram> emit(std::span<std::uint8_t> buf, Ipv4Address src, Ipv4Address dst) const {
    using namespace udp::field;
    if (buffer_len() > 0xffff) return Error::Malformed;
    if (buf.size() < buffer_len()) return Error::Truncated;
    std::uint8_t* p = buf.data();
    if (!payload.empty() && payload.data() != p + PAYLOAD) {
      std::memmove(p + PAYLOAD, payload.data(), payload.size());
    }
    store_be16(p + SRC_PORT, src_port);
    store_be16(p + DST_PORT, dst_port);
    store_be16(p + LENGTH, static_cast<std::uint16_t>(buffer_len()));
    auto dgram = UdpDatagram::check(buf.first(buffer_len()));  // valid by construction
    if (dgram) dgram->fill_checksum(src, dst);
    return dgram;
  }
  /// Same as emit(dgram.buffer(), src, dst).
  Result<UdpDatagram> emit(const UdpDatagram& dgram, Ipv4Address src, Ipv4Address dst) const {
    return emit(dgram.buffer(), src, dst);
  }

  /// Equal ports and equal payload bytes.
  friend bool operator==(const UdpRepr& a, const UdpRepr& b) {
    return a.src_port == b.src_port && a.dst_port == b.dst_port &&
           std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end());
  }
};

}  // namespace tcpmig::wire
