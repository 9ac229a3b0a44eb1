// IPv4 header (RFC 791), header checksum (RFC 1071, incremental RFC 1624).
//
// Place in the layers: wire, above ethernet.hpp, below udp.hpp / tcp.hpp. The
// router model and the migration core rewrite addresses and TTL through the
// view; hosts build packets through Ipv4Repr (or frame.hpp).
//
// Fragments are not reassembled: the view reads them, Ipv4Repr::parse refuses
// them (Unsupported). Options are readable through the view (options()) but
// Ipv4Repr neither keeps nor emits them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/result.hpp"

namespace tcpmig::wire {

/// IP protocol numbers (IANA) of the payloads decoded here.
namespace ip_proto {
inline constexpr std::uint8_t icmp = 1;  ///< RFC 792 (not decoded)
inline constexpr std::uint8_t tcp = 6;   ///< RFC 9293
inline constexpr std::uint8_t udp = 17;  ///< RFC 768
}  // namespace ip_proto

namespace ipv4::field {
inline constexpr std::size_t VER_IHL = 0;    ///< version (high nibble), header length in 32-bit words (low nibble)
inline constexpr std::size_t DSCP_ECN = 1;   ///< DSCP (6 bits) and ECN (2 bits)
inline constexpr std::size_t LENGTH = 2;     ///< total length (header + payload), 2 bytes
inline constexpr std::size_t IDENT = 4;      ///< identification, 2 bytes
inline constexpr std::size_t FLG_OFF = 6;    ///< flags (3 bits: 0, DF, MF) and fragment offset in 8-byte units (13 bits)
inline constexpr std::size_t TTL = 8;        ///< time to live
inline constexpr std::size_t PROTOCOL = 9;   ///< payload protocol (ip_proto)
inline constexpr std::size_t CHECKSUM = 10;  ///< header checksum, 2 bytes
inline constexpr std::size_t SRC = 12;       ///< source address, 4 bytes
inline constexpr std::size_t DST = 16;       ///< destination address, 4 bytes
inline constexpr std::size_t OPTIONS = 20;   ///< first option byte (if IHL > 5)
inline constexpr std::size_t HEADER_LEN = 20;      ///< header length without options
inline constexpr std::size_t MAX_HEADER_LEN = 60;  ///< IHL = 15
inline constexpr std::uint16_t FLAG_DF = 0x4000;   ///< don't fragment
inline constexpr std::uint16_t FLAG_MF = 0x2000;   ///< more fragments
inline constexpr std::uint16_t OFFSET_MASK = 0x1fff;  ///< fragment offset bits
}  // namespace ipv4::field

/// A bounds-checked view of an IPv4 packet over `Byte` (uint8_t or const
/// uint8_t). check() guarantees: buffer >= 20 bytes, version 4, IHL >= 5,
/// header_len <= total_len <= buffer size. The buffer may extend past total_len
/// (Ethernet padding): payload() stops at total_len.
template <class Byte>
class BasicIpv4Packet {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::uint8_t>, "views are over uint8_t");

 public:
  /// A view of `buffer`, or Truncated (too short for the header or for
  /// total_len) or Malformed (version != 4, IHL < 5, total_len < header_len).
  static constexpr Result<BasicIpv4Packet> check(std::span<Byte> buffer) {
    using namespace ipv4::field;
    if (buffer.size() < HEADER_LEN) return Error::Truncated;
    if ((buffer[VER_IHL] >> 4) != 4) return Error::Malformed;
    const std::size_t hl = std::size_t{static_cast<std::uint8_t>(buffer[VER_IHL] & 0x0f)} * 4;
    if (hl < HEADER_LEN) return Error::Malformed;
    if (hl > buffer.size()) return Error::Truncated;
    const std::size_t total = load_be16(buffer.data() + LENGTH);
    if (total < hl) return Error::Malformed;
    if (total > buffer.size()) return Error::Truncated;
    return BasicIpv4Packet{buffer};
  }

  /// A read-only view of a mutable one.
  template <class Other>
    requires(std::is_const_v<Byte> && std::is_same_v<Other, std::uint8_t>)
  constexpr BasicIpv4Packet(const BasicIpv4Packet<Other>& other)  // NOLINT(google-explicit-constructor)
      : buf_(other.buffer()) {}

  /// The buffer given to check() (may extend past total_len).
  [[nodiscard]] constexpr std::span<Byte> buffer() const { return buf_; }
  /// The packet proper: the first total_len() bytes.
  [[nodiscard]] constexpr std::span<Byte> packet() const { return buf_.first(total_len()); }
  /// The header including options: the first header_len() bytes.
  [[nodiscard]] constexpr std::span<Byte> header() const { return buf_.first(header_len()); }

  /// Always 4 (check() refuses anything else).
  [[nodiscard]] constexpr std::uint8_t version() const { return static_cast<std::uint8_t>(buf_[ipv4::field::VER_IHL] >> 4); }
  /// Header length in bytes (IHL * 4), 20..60.
  [[nodiscard]] constexpr std::size_t header_len() const {
    return std::size_t{static_cast<std::uint8_t>(buf_[ipv4::field::VER_IHL] & 0x0f)} * 4;
  }
  /// DSCP and ECN bits (the former TOS byte).
  [[nodiscard]] constexpr std::uint8_t dscp_ecn() const { return buf_[ipv4::field::DSCP_ECN]; }
  /// Total length of header + payload in bytes.
  [[nodiscard]] constexpr std::uint16_t total_len() const { return load_be16(buf_.data() + ipv4::field::LENGTH); }
  /// Identification.
  [[nodiscard]] constexpr std::uint16_t ident() const { return load_be16(buf_.data() + ipv4::field::IDENT); }
  /// The DF flag.
  [[nodiscard]] constexpr bool dont_frag() const { return (flg_off() & ipv4::field::FLAG_DF) != 0; }
  /// The MF flag.
  [[nodiscard]] constexpr bool more_frags() const { return (flg_off() & ipv4::field::FLAG_MF) != 0; }
  /// Fragment offset in bytes (the 13-bit field times 8).
  [[nodiscard]] constexpr std::uint16_t frag_offset() const {
    return static_cast<std::uint16_t>((flg_off() & ipv4::field::OFFSET_MASK) * 8);
  }
  /// True for any fragment (MF set or non-zero offset).
  [[nodiscard]] constexpr bool is_fragment() const {
    return (flg_off() & (ipv4::field::FLAG_MF | ipv4::field::OFFSET_MASK)) != 0;
  }
  /// Time to live.
  [[nodiscard]] constexpr std::uint8_t ttl() const { return buf_[ipv4::field::TTL]; }
  /// Payload protocol (ip_proto).
  [[nodiscard]] constexpr std::uint8_t protocol() const { return buf_[ipv4::field::PROTOCOL]; }
  /// Header checksum field as carried.
  [[nodiscard]] constexpr std::uint16_t checksum() const { return load_be16(buf_.data() + ipv4::field::CHECKSUM); }
  /// Source address.
  [[nodiscard]] constexpr Ipv4Address src() const { return Ipv4Address{load_be32(buf_.data() + ipv4::field::SRC)}; }
  /// Destination address.
  [[nodiscard]] constexpr Ipv4Address dst() const { return Ipv4Address{load_be32(buf_.data() + ipv4::field::DST)}; }
  /// Option bytes: [20, header_len).
  [[nodiscard]] constexpr std::span<Byte> options() const {
    return buf_.subspan(ipv4::field::OPTIONS, header_len() - ipv4::field::OPTIONS);
  }
  /// Payload: [header_len, total_len) (never the link padding after it).
  [[nodiscard]] constexpr std::span<Byte> payload() const {
    return buf_.subspan(header_len(), total_len() - header_len());
  }
  /// True when the header checksum verifies (the header's word sum folds to 0xffff).
  [[nodiscard]] bool verify_checksum() const { return checksum_fold(checksum_add(header())) == 0xffff; }

  /// Sets DSCP and ECN.
  constexpr void set_dscp_ecn(std::uint8_t v) requires(!std::is_const_v<Byte>) { buf_[ipv4::field::DSCP_ECN] = v; }
  /// Sets total_len if header_len <= len <= buffer size and returns true;
  /// otherwise changes nothing and returns false (the view stays valid).
  [[nodiscard]] constexpr bool set_total_len(std::uint16_t len) requires(!std::is_const_v<Byte>) {
    if (len < header_len() || len > buf_.size()) return false;
    store_be16(buf_.data() + ipv4::field::LENGTH, len);
    return true;
  }
  /// Sets the identification.
  constexpr void set_ident(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + ipv4::field::IDENT, v);
  }
  /// Sets or clears DF.
  constexpr void set_dont_frag(bool on) requires(!std::is_const_v<Byte>) { set_flag(ipv4::field::FLAG_DF, on); }
  /// Sets or clears MF.
  constexpr void set_more_frags(bool on) requires(!std::is_const_v<Byte>) { set_flag(ipv4::field::FLAG_MF, on); }
  /// Sets the fragment offset in bytes (rounded down to a multiple of 8, at most 65528).
  constexpr void set_frag_offset(std::uint16_t bytes) requires(!std::is_const_v<Byte>) {
    const auto v = static_cast<std::uint16_t>((flg_off() & ~ipv4::field::OFFSET_MASK) |
                                              ((bytes / 8) & ipv4::field::OFFSET_MASK));
    store_be16(buf_.data() + ipv4::field::FLG_OFF, v);
  }
  /// Sets the TTL (checksum untouched; see decrement_ttl()).
  constexpr void set_ttl(std::uint8_t v) requires(!std::is_const_v<Byte>) { buf_[ipv4::field::TTL] = v; }
  /// Sets the protocol.
  constexpr void set_protocol(std::uint8_t v) requires(!std::is_const_v<Byte>) { buf_[ipv4::field::PROTOCOL] = v; }
  /// Sets the header checksum field.
  constexpr void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + ipv4::field::CHECKSUM, v);
  }
  /// Sets the source address (checksum untouched).
  constexpr void set_src(Ipv4Address a) requires(!std::is_const_v<Byte>) {
    store_be32(buf_.data() + ipv4::field::SRC, a.value);
  }
  /// Sets the destination address (checksum untouched).
  constexpr void set_dst(Ipv4Address a) requires(!std::is_const_v<Byte>) {
    store_be32(buf_.data() + ipv4::field::DST, a.value);
  }
  /// Recomputes the header checksum from scratch.
  void fill_checksum() requires(!std::is_const_v<Byte>) {
    set_checksum(0);
    set_checksum(internet_checksum(header()));
  }
  /// Router step: TTL - 1 with the checksum updated incrementally (RFC 1624
  /// eqn 3 on the TTL/protocol word). A TTL of 0 is left alone: the caller
  /// must drop such a packet (and one arriving with TTL 1) instead.
  constexpr void decrement_ttl() requires(!std::is_const_v<Byte>) {
    if (ttl() == 0) return;
    const std::uint16_t old_word = load_be16(buf_.data() + ipv4::field::TTL);
    buf_[ipv4::field::TTL] = static_cast<std::uint8_t>(ttl() - 1);
    set_checksum(checksum_update16(checksum(), old_word, load_be16(buf_.data() + ipv4::field::TTL)));
  }

 private:
  constexpr explicit BasicIpv4Packet(std::span<Byte> buffer) : buf_(buffer) {}
  constexpr std::uint16_t flg_off() const { return load_be16(buf_.data() + ipv4::field::FLG_OFF); }
  constexpr void set_flag(std::uint16_t flag, bool on) {
    const std::uint16_t v = flg_off();
    store_be16(buf_.data() + ipv4::field::FLG_OFF, static_cast<std::uint16_t>(on ? (v | flag) : (v & ~flag)));
  }

  std::span<Byte> buf_;  ///< satisfies the check() invariants
};

/// Mutable IPv4 packet view.
using Ipv4Packet = BasicIpv4Packet<std::uint8_t>;
/// Read-only IPv4 packet view.
using ConstIpv4Packet = BasicIpv4Packet<const std::uint8_t>;

/// An unfragmented IPv4 header without options, as values.
struct Ipv4Repr {
  Ipv4Address src;                ///< source address
  Ipv4Address dst;                ///< destination address
  std::uint8_t protocol = 0;      ///< payload protocol (ip_proto)
  std::uint16_t payload_len = 0;  ///< payload bytes (total_len - 20 on emit)
  std::uint8_t ttl = 64;          ///< time to live (Linux default 64)
  std::uint16_t ident = 0;        ///< identification
  bool dont_frag = true;          ///< DF (Linux sets it on TCP with PMTU discovery)
  std::uint8_t dscp_ecn = 0;      ///< DSCP and ECN bits

  /// Reads a checked packet: BadChecksum if the header checksum fails,
  /// Unsupported for a fragment. Options are skipped (not kept);
  /// payload_len = total_len - header_len.
  static Result<Ipv4Repr> parse(const ConstIpv4Packet& packet) {
    if (!packet.verify_checksum()) return Error::BadChecksum;
    if (packet.is_fragment()) return Error::Unsupported;
    Ipv4Repr r;
    r.src = packet.src();
    r.dst = packet.dst();
    r.protocol = packet.protocol();
    r.payload_len = static_cast<std::uint16_t>(packet.total_len() - packet.header_len());
    r.ttl = packet.ttl();
    r.ident = packet.ident();
    r.dont_frag = packet.dont_frag();
    r.dscp_ecn = packet.dscp_ecn();
    return r;
  }
  /// Always 20 (no options).
  [[nodiscard]] static constexpr std::size_t header_len() { return ipv4::field::HEADER_LEN; }
  /// 20 + payload_len: the total_len written by emit().
  [[nodiscard]] constexpr std::size_t buffer_len() const { return header_len() + payload_len; }

  /// Writes the 20-byte header (checksum filled) at the start of `buf` and
  /// returns a view of the first buffer_len() bytes; the payload bytes are the
  /// caller's (payload() of the view). Malformed if buffer_len() > 65535,
  /// Truncated if buf is shorter than buffer_len().
  Result<Ipv4Packet> emit(std::span<std::uint8_t> buf) const {
    using namespace ipv4::field;
    if (buffer_len() > 0xffff) return Error::Malformed;
    if (buf.size() < buffer_len()) return Error::Truncated;
    std::uint8_t* p = buf.data();
    p[VER_IHL] = 0x45;
    p[DSCP_ECN] = dscp_ecn;
    store_be16(p + LENGTH, static_cast<std::uint16_t>(buffer_len()));
    store_be16(p + IDENT, ident);
    store_be16(p + FLG_OFF, dont_frag ? FLAG_DF : std::uint16_t{0});
    p[TTL] = ttl;
    p[PROTOCOL] = protocol;
    store_be16(p + CHECKSUM, 0);
    store_be32(p + SRC, src.value);
    store_be32(p + DST, dst.value);
    store_be16(p + CHECKSUM, internet_checksum(buf.first(HEADER_LEN)));
    return Ipv4Packet::check(buf.first(buffer_len()));  // valid by construction
  }
  /// Same as emit(packet.buffer()).
  Result<Ipv4Packet> emit(const Ipv4Packet& packet) const { return emit(packet.buffer()); }

  /// Field-wise equality.
  constexpr bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace tcpmig::wire
