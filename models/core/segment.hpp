// The core's packet view and editor: one IPv4 packet carrying a TCP segment,
// read through the wire layer's field tables and rewritten in place with
// RFC 1624 incremental checksum updates (IPv4 header checksum for addresses,
// TCP checksum for everything the pseudo header or the segment covers).
//
// Place in the layers: core (private), on wire only. Call chain:
//   Migrator::process -> Segment::parse -> tracking (tracking.hpp) ->
//   rewrite_to_backend / rewrite_to_client (rewrite.hpp) -> Segment::set_*.
// Rules:
// - parse() checks the IPv4 header and the TCP header with the wire views
//   (lengths, versions, data offset) before any field is read; the accessors
//   below are then in bounds.
// - The TCP options the core rewrites (Timestamps, SACK) are located once, by
//   offset from the start of the TCP header; malformed options are noted, not
//   fatal (rule 7 of migrator.hpp decides what happens to such a packet).
// - Every setter leaves both checksums valid when they were valid before, and
//   wrong when they were wrong (the receiver must still drop a damaged packet).
// - A setter given the value already there changes nothing.
// - A partial checksum (set_partial; rule 10 of migrator.hpp) holds only the
//   pseudo-header sum, not complemented: an address change adjusts that sum,
//   edits inside the TCP header leave it alone (whatever completes it later
//   sums the header as it is then).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/seq.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace tcpmig::core::detail {

using wire::SeqNumber;

/// The options of a segment the core reads or rewrites.
struct SegmentOptions {
  int16_t ts = -1;         ///< offset of the Timestamps option (kind byte) in the TCP header, -1: none
  int16_t sack = -1;       ///< offset of the SACK option (kind byte) in the TCP header, -1: none
  uint8_t sack_len = 0;    ///< the SACK option's length byte (2 + 8 per block)
  bool malformed = false;  ///< the option walk failed (the fields above cover what came before)
  TcpOptions values;       ///< MSS, window scale (at most 14), SACK-permitted, timestamps present
  uint32_t tsval = 0;      ///< TSval, when values.timestamps
  uint32_t tsecr = 0;      ///< TSecr, when values.timestamps
  /// SACK blocks in the option (0 without one).
  [[nodiscard]] std::size_t sack_blocks() const { return sack < 0 ? 0 : (sack_len - 2U) / 8U; }
};

/// Reads the option area of a checked TCP header.
SegmentOptions read_options(const wire::ConstTcpSegment& seg);

/// One IPv4 + TCP packet, viewed and edited in place. The cached fields
/// (flags, seq, ack, payload length, options) are read once by parse().
class Segment {
 public:
  /// Parses `ipv4`; returns Reason::Count when it is a TCP segment the core
  /// can read (the Segment is then valid), else the Reason to pass it with:
  /// NotIpv4, Malformed (IPv4 or TCP header), Fragment or NotTcp.
  static Reason parse(std::span<uint8_t> ipv4, Segment& out);

  // ---- reading
  [[nodiscard]] uint32_t src_ip() const { return wire::load_be32(ip_ + wire::ipv4::field::SRC); }
  [[nodiscard]] uint32_t dst_ip() const { return wire::load_be32(ip_ + wire::ipv4::field::DST); }
  [[nodiscard]] uint16_t src_port() const { return wire::load_be16(tcp_ + wire::tcp::field::SRC_PORT); }
  [[nodiscard]] uint16_t dst_port() const { return wire::load_be16(tcp_ + wire::tcp::field::DST_PORT); }
  [[nodiscard]] Endpoint src() const { return {wire::Ipv4Address{src_ip()}, src_port()}; }
  [[nodiscard]] Endpoint dst() const { return {wire::Ipv4Address{dst_ip()}, dst_port()}; }
  [[nodiscard]] SeqNumber seq() const { return seq_; }
  [[nodiscard]] SeqNumber ack() const { return ack_; }
  /// True when any bit of `mask` is set.
  [[nodiscard]] bool any(uint8_t mask) const { return (flags_ & mask) != 0; }
  /// True when the flags, restricted to `mask`, are exactly `want`.
  [[nodiscard]] bool only(uint8_t mask, uint8_t want) const { return (flags_ & mask) == want; }
  [[nodiscard]] uint16_t window() const { return wire::load_be16(tcp_ + wire::tcp::field::WINDOW); }
  /// Payload bytes.
  [[nodiscard]] uint32_t payload_len() const { return payload_; }
  /// The payload itself.
  [[nodiscard]] std::span<const uint8_t> payload() const { return {tcp_ + tcp_hlen_, payload_}; }
  /// Sequence space occupied: payload + SYN + FIN.
  [[nodiscard]] uint32_t seq_len() const {
    return payload_ + (any(wire::tcp_flag::SYN) ? 1U : 0U) + (any(wire::tcp_flag::FIN) ? 1U : 0U);
  }
  /// seq() + seq_len(): one past the last sequence number it occupies.
  [[nodiscard]] SeqNumber end() const { return seq_ + seq_len(); }
  [[nodiscard]] const SegmentOptions& options() const { return opt_; }
  /// SACK block i's edge (0: left, 1: right), i < options().sack_blocks().
  [[nodiscard]] SeqNumber sack_edge(std::size_t i, int edge) const {
    return SeqNumber{wire::load_be32(tcp_ + sack_edge_offset(i, edge))};
  }

  // ---- editing (checksums updated incrementally)
  /// Source address and port.
  void set_src(Endpoint e);
  /// Destination address and port.
  void set_dst(Endpoint e);
  void set_seq(SeqNumber v) {
    set32(wire::tcp::field::SEQ, v.raw());
    seq_ = v;
  }
  void set_ack(SeqNumber v) {
    set32(wire::tcp::field::ACK, v.raw());
    ack_ = v;
  }
  void set_window(uint16_t v) { set16(wire::tcp::field::WINDOW, v); }
  /// TSval / TSecr of the Timestamps option (which must be present).
  void set_tsval(uint32_t v) { set32(static_cast<std::size_t>(opt_.ts) + 2, v); }
  void set_tsecr(uint32_t v) { set32(static_cast<std::size_t>(opt_.ts) + 6, v); }
  /// SACK block i's edge (0: left, 1: right).
  void set_sack_edge(std::size_t i, int edge, SeqNumber v) { set32(sack_edge_offset(i, edge), v.raw()); }
  /// Overwrites the SACK option with NOPs (its blocks become padding).
  void nop_sack();
  /// The TCP checksum field holds a partial sum (rule 10); set after parse().
  void set_partial(bool partial) { partial_ = partial; }
  [[nodiscard]] bool partial() const { return partial_; }
  /// Computes the full TCP checksum from the bytes (a partial one becomes complete).
  void complete_checksum();

 private:
  [[nodiscard]] std::size_t sack_edge_offset(std::size_t i, int edge) const {
    return static_cast<std::size_t>(opt_.sack) + 2 + 8 * i + 4 * static_cast<std::size_t>(edge);
  }
  [[nodiscard]] uint16_t tcp_checksum() const { return wire::load_be16(tcp_ + wire::tcp::field::CHECKSUM); }
  void set_tcp_checksum(uint16_t v) { wire::store_be16(tcp_ + wire::tcp::field::CHECKSUM, v); }
  /// Replaces the IPv4 address at `field` (SRC or DST): IPv4 and TCP checksums.
  void set_address(std::size_t field, uint32_t v) {
    const uint32_t old = wire::load_be32(ip_ + field);
    if (old == v) return;
    wire::store_be32(ip_ + field, v);
    const std::size_t csum = wire::ipv4::field::CHECKSUM;
    wire::store_be16(ip_ + csum, wire::checksum_update32(wire::load_be16(ip_ + csum), old, v));
    // The pseudo header: a full checksum is a complemented sum, a partial one a plain sum.
    set_tcp_checksum(partial_ ? static_cast<uint16_t>(~wire::checksum_update32(static_cast<uint16_t>(~tcp_checksum()), old, v))
                              : wire::checksum_update32(tcp_checksum(), old, v));
  }
  /// Replaces a 16-bit TCP header field at an even offset.
  void set16(std::size_t off, uint16_t v) {
    const uint16_t old = wire::load_be16(tcp_ + off);
    if (old == v) return;
    wire::store_be16(tcp_ + off, v);
    if (!partial_) set_tcp_checksum(wire::checksum_update16(tcp_checksum(), old, v));
  }
  /// Replaces a 32-bit value at any offset of the TCP header.
  void set32(std::size_t off, uint32_t v) {
    const uint32_t old = wire::load_be32(tcp_ + off);
    if (old == v) return;
    if (off % 2 != 0) {
      set32_odd(off, v);
      return;
    }
    wire::store_be32(tcp_ + off, v);
    if (!partial_) set_tcp_checksum(wire::checksum_update32(tcp_checksum(), old, v));
  }
  /// set32 at an odd offset (options may sit there): the covering 16-bit
  /// words are summed before and after.
  void set32_odd(std::size_t off, uint32_t v);

  uint8_t* ip_ = nullptr;   // IPv4 header
  uint8_t* tcp_ = nullptr;  // TCP header
  uint32_t tcp_hlen_ = 0;   // TCP header length
  uint32_t payload_ = 0;    // payload bytes
  SeqNumber seq_, ack_;     // as carried when parsed
  uint8_t flags_ = 0;       // as carried
  bool partial_ = false;    // the TCP checksum field holds the pseudo-header sum only
  SegmentOptions opt_;      // located once
};

}  // namespace tcpmig::core::detail
