// Ethernet II framing (IEEE 802.3 / RFC 894): 6-byte destination, 6-byte
// source, 2-byte EtherType, payload. No preamble, no FCS, no 802.1Q tags (a
// tagged frame is reported with EtherType 0x8100 and left to the caller).
//
// Place in the layers: wire, bottom of the packet stack (ethernet -> ipv4 ->
// tcp/udp). The simulator's frames and pcaps (LINKTYPE_ETHERNET) start here.
// Emitting does not pad to the 60-byte minimum: Linux's veth does not either.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/result.hpp"

namespace tcpmig::wire {

/// EtherType values (IEEE registry).
namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800;  ///< RFC 894
inline constexpr std::uint16_t arp = 0x0806;   ///< RFC 826
inline constexpr std::uint16_t vlan = 0x8100;  ///< IEEE 802.1Q tag (not decoded here)
inline constexpr std::uint16_t ipv6 = 0x86dd;  ///< RFC 2464
}  // namespace ethertype

namespace ethernet::field {
inline constexpr std::size_t DST = 0;         ///< destination MAC, 6 bytes
inline constexpr std::size_t SRC = 6;         ///< source MAC, 6 bytes
inline constexpr std::size_t ETHERTYPE = 12;  ///< EtherType, 2 bytes
inline constexpr std::size_t PAYLOAD = 14;    ///< first payload byte
inline constexpr std::size_t HEADER_LEN = 14; ///< fixed header length
}  // namespace ethernet::field

/// A bounds-checked view of an Ethernet II frame over `Byte` (uint8_t or const
/// uint8_t). Only check() makes one; afterwards every accessor is in bounds.
template <class Byte>
class BasicEthernetFrame {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::uint8_t>, "views are over uint8_t");

 public:
  /// A view of `buffer` if it holds at least the 14-byte header; else Truncated.
  static constexpr Result<BasicEthernetFrame> check(std::span<Byte> buffer) {
    if (buffer.size() < ethernet::field::HEADER_LEN) return Error::Truncated;
    return BasicEthernetFrame{buffer};
  }

  /// A read-only view of a mutable one.
  template <class Other>
    requires(std::is_const_v<Byte> && std::is_same_v<Other, std::uint8_t>)
  constexpr BasicEthernetFrame(const BasicEthernetFrame<Other>& other)  // NOLINT(google-explicit-constructor)
      : buf_(other.buffer()) {}

  /// The header length: always 14.
  [[nodiscard]] static constexpr std::size_t header_len() { return ethernet::field::HEADER_LEN; }
  /// The whole frame as given to check().
  [[nodiscard]] constexpr std::span<Byte> buffer() const { return buf_; }
  /// Destination MAC address.
  [[nodiscard]] constexpr MacAddress dst() const { return mac_at(ethernet::field::DST); }
  /// Source MAC address.
  [[nodiscard]] constexpr MacAddress src() const { return mac_at(ethernet::field::SRC); }
  /// EtherType (ethertype::ipv4, ...).
  [[nodiscard]] constexpr std::uint16_t ethertype() const { return load_be16(buf_.data() + ethernet::field::ETHERTYPE); }
  /// Everything after the header (may include link padding past the L3 packet).
  [[nodiscard]] constexpr std::span<Byte> payload() const { return buf_.subspan(ethernet::field::PAYLOAD); }

  /// Sets the destination MAC address.
  constexpr void set_dst(const MacAddress& mac)
    requires(!std::is_const_v<Byte>)
  {
    std::copy(mac.octets.begin(), mac.octets.end(), buf_.data() + ethernet::field::DST);
  }
  /// Sets the source MAC address.
  constexpr void set_src(const MacAddress& mac)
    requires(!std::is_const_v<Byte>)
  {
    std::copy(mac.octets.begin(), mac.octets.end(), buf_.data() + ethernet::field::SRC);
  }
  /// Sets the EtherType.
  constexpr void set_ethertype(std::uint16_t type)
    requires(!std::is_const_v<Byte>)
  {
    store_be16(buf_.data() + ethernet::field::ETHERTYPE, type);
  }

 private:
  constexpr explicit BasicEthernetFrame(std::span<Byte> buffer) : buf_(buffer) {}
  constexpr MacAddress mac_at(std::size_t offset) const {
    MacAddress mac;
    std::copy(buf_.data() + offset, buf_.data() + offset + 6, mac.octets.begin());
    return mac;
  }

  std::span<Byte> buf_;  ///< at least header_len() bytes
};

/// Mutable Ethernet frame view.
using EthernetFrame = BasicEthernetFrame<std::uint8_t>;
/// Read-only Ethernet frame view.
using ConstEthernetFrame = BasicEthernetFrame<const std::uint8_t>;

/// The Ethernet II header as values.
struct EthernetRepr {
  MacAddress src;               ///< source MAC
  MacAddress dst;               ///< destination MAC
  std::uint16_t ethertype = 0;  ///< EtherType of the payload

  /// Reads the header of a checked frame (cannot fail; Result for uniformity).
  static constexpr Result<EthernetRepr> parse(const ConstEthernetFrame& frame) {
    return EthernetRepr{frame.src(), frame.dst(), frame.ethertype()};
  }
  /// The header length: always 14.
  [[nodiscard]] static constexpr std::size_t header_len() { return ethernet::field::HEADER_LEN; }
  /// Writes the header at the start of `buf`; returns a view of all of `buf`
  /// (payload() is where the L3 packet goes). Truncated if buf < 14 bytes.
  constexpr Result<EthernetFrame> emit(std::span<std::uint8_t> buf) const {
    auto frame = EthernetFrame::check(buf);
    if (frame) emit(*frame);
    return frame;
  }
  /// Writes the header into a checked frame (always fits).
  constexpr void emit(EthernetFrame& frame) const {
    frame.set_dst(dst);
    frame.set_src(src);
    frame.set_ethertype(ethertype);
  }

  /// Field-wise equality.
  constexpr bool operator==(const EthernetRepr&) const = default;
};

}  // namespace tcpmig::wire
