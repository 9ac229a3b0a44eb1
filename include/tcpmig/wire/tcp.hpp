// TCP header (RFC 9293 section 3.1) and options: MSS (RFC 9293 3.2), window
// scale and timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).
//
// Place in the layers: wire, above ipv4.hpp. The TCP model builds and reads
// segments through TcpRepr; the migration core rewrites seq/ack/options in
// place through BasicTcpSegment and TcpOptionReader (offset() says where an
// option sits) with RFC 1624 checksum updates.
//
// Flags are the 8 bits of byte 13 (CWR..FIN); the reserved/AE bits of byte 12
// are ignored on read and written as 0.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/result.hpp"
#include "tcpmig/wire/seq.hpp"

namespace tcpmig::wire {

/// TCP header flag bits (byte 13).
namespace tcp_flag {
inline constexpr std::uint8_t FIN = 0x01;  ///< no more data from sender
inline constexpr std::uint8_t SYN = 0x02;  ///< synchronize sequence numbers
inline constexpr std::uint8_t RST = 0x04;  ///< reset the connection
inline constexpr std::uint8_t PSH = 0x08;  ///< push
inline constexpr std::uint8_t ACK = 0x10;  ///< acknowledgment field significant
inline constexpr std::uint8_t URG = 0x20;  ///< urgent pointer significant
inline constexpr std::uint8_t ECE = 0x40;  ///< ECN echo (RFC 3168)
inline constexpr std::uint8_t CWR = 0x80;  ///< congestion window reduced (RFC 3168)
}  // namespace tcp_flag

namespace tcp::field {
inline constexpr std::size_t SRC_PORT = 0;     ///< source port, 2 bytes
inline constexpr std::size_t DST_PORT = 2;     ///< destination port, 2 bytes
inline constexpr std::size_t SEQ = 4;          ///< sequence number, 4 bytes
inline constexpr std::size_t ACK = 8;          ///< acknowledgment number, 4 bytes
inline constexpr std::size_t DATA_OFFSET = 12; ///< header length in 32-bit words (high nibble), reserved (low nibble)
inline constexpr std::size_t FLAGS = 13;       ///< tcp_flag bits
inline constexpr std::size_t WINDOW = 14;      ///< window (unscaled), 2 bytes
inline constexpr std::size_t CHECKSUM = 16;    ///< checksum over pseudo header + segment, 2 bytes
inline constexpr std::size_t URGENT = 18;      ///< urgent pointer, 2 bytes
inline constexpr std::size_t OPTIONS = 20;     ///< first option byte
inline constexpr std::size_t HEADER_LEN = 20;      ///< header length without options
inline constexpr std::size_t MAX_HEADER_LEN = 60;  ///< data offset 15
inline constexpr std::size_t MAX_OPTIONS_LEN = 40; ///< MAX_HEADER_LEN - HEADER_LEN
}  // namespace tcp::field

/// A bounds-checked view of a TCP segment over `Byte` (uint8_t or const
/// uint8_t). The buffer is exactly the segment (the IPv4 payload). check()
/// guarantees: buffer >= 20, data offset >= 5, header_len <= buffer size <= 65535.
template <class Byte>
class BasicTcpSegment {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::uint8_t>, "views are over uint8_t");

 public:
  /// A view of `buffer`, or Truncated (shorter than 20 bytes or than the data
  /// offset says) or Malformed (data offset < 5, or over 65535 bytes).
  static constexpr Result<BasicTcpSegment> check(std::span<Byte> buffer) {
    if (buffer.size() < tcp::field::HEADER_LEN) return Error::Truncated;
    const std::size_t hl = std::size_t{static_cast<std::uint8_t>(buffer[tcp::field::DATA_OFFSET] >> 4)} * 4;
    if (hl < tcp::field::HEADER_LEN) return Error::Malformed;
    if (hl > buffer.size()) return Error::Truncated;
    if (buffer.size() > 0xffff) return Error::Malformed;
    return BasicTcpSegment{buffer};
  }

  /// A read-only view of a mutable one.
  template <class Other>
    requires(std::is_const_v<Byte> && std::is_same_v<Other, std::uint8_t>)
  constexpr BasicTcpSegment(const BasicTcpSegment<Other>& other)  // NOLINT(google-explicit-constructor)
      : buf_(other.buffer()) {}

  /// The whole segment (header + payload).
  [[nodiscard]] constexpr std::span<Byte> buffer() const { return buf_; }
  /// Source port.
  [[nodiscard]] constexpr std::uint16_t src_port() const { return load_be16(buf_.data() + tcp::field::SRC_PORT); }
  /// Destination port.
  [[nodiscard]] constexpr std::uint16_t dst_port() const { return load_be16(buf_.data() + tcp::field::DST_PORT); }
  /// Sequence number.
  [[nodiscard]] constexpr SeqNumber seq() const { return SeqNumber{load_be32(buf_.data() + tcp::field::SEQ)}; }
  /// Acknowledgment number (meaningful when ACK is set).
  [[nodiscard]] constexpr SeqNumber ack() const { return SeqNumber{load_be32(buf_.data() + tcp::field::ACK)}; }
  /// Header length in bytes (data offset * 4), 20..60.
  [[nodiscard]] constexpr std::size_t header_len() const {
    return std::size_t{static_cast<std::uint8_t>(buf_[tcp::field::DATA_OFFSET] >> 4)} * 4;
  }
  /// Flag bits (tcp_flag::*).
  [[nodiscard]] constexpr std::uint8_t flags() const { return buf_[tcp::field::FLAGS]; }
  /// True when every bit of `mask` is set in flags().
  [[nodiscard]] constexpr bool has_flags(std::uint8_t mask) const { return (flags() & mask) == mask; }
  /// Window field as carried (not scaled).
  [[nodiscard]] constexpr std::uint16_t window() const { return load_be16(buf_.data() + tcp::field::WINDOW); }
  /// Checksum field as carried.
  [[nodiscard]] constexpr std::uint16_t checksum() const { return load_be16(buf_.data() + tcp::field::CHECKSUM); }
  /// Urgent pointer.
  [[nodiscard]] constexpr std::uint16_t urgent() const { return load_be16(buf_.data() + tcp::field::URGENT); }
  /// Option bytes: [20, header_len) (walk them with TcpOptionReader).
  [[nodiscard]] constexpr std::span<Byte> options() const {
    return buf_.subspan(tcp::field::OPTIONS, header_len() - tcp::field::OPTIONS);
  }
  /// Data: [header_len, end).
  [[nodiscard]] constexpr std::span<Byte> payload() const { return buf_.subspan(header_len()); }
  /// Sequence space the segment occupies: payload bytes + 1 for SYN + 1 for FIN.
  [[nodiscard]] constexpr std::uint32_t seq_len() const {
    return static_cast<std::uint32_t>(payload().size()) + ((flags() & tcp_flag::SYN) != 0 ? 1U : 0U) +
           ((flags() & tcp_flag::FIN) != 0 ? 1U : 0U);
  }
  /// True when the checksum over pseudo header (src, dst, 6, length) + segment verifies.
  [[nodiscard]] bool verify_checksum(Ipv4Address src, Ipv4Address dst) const {
    return checksum_fold(checksum_add(buf_, pseudo_header_sum(src, dst, ip_proto::tcp,
                                                              static_cast<std::uint16_t>(buf_.size())))) == 0xffff;
  }

  /// Sets the source port (checksum untouched).
  constexpr void set_src_port(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + tcp::field::SRC_PORT, v);
  }
  /// Sets the destination port (checksum untouched).
  constexpr void set_dst_port(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + tcp::field::DST_PORT, v);
  }
  /// Sets the sequence number (checksum untouched).
  constexpr void set_seq(SeqNumber v) requires(!std::is_const_v<Byte>) {
    store_be32(buf_.data() + tcp::field::SEQ, v.raw());
  }
  /// Sets the acknowledgment number (checksum untouched).
  constexpr void set_ack(SeqNumber v) requires(!std::is_const_v<Byte>) {
    store_be32(buf_.data() + tcp::field::ACK, v.raw());
  }
  /// Sets the flag bits (checksum untouched).
  constexpr void set_flags(std::uint8_t v) requires(!std::is_const_v<Byte>) { buf_[tcp::field::FLAGS] = v; }
  /// Sets the window field (checksum untouched).
  constexpr void set_window(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + tcp::field::WINDOW, v);
  }
  /// Sets the checksum field.
  constexpr void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + tcp::field::CHECKSUM, v);
  }
  /// Sets the urgent pointer (checksum untouched).
  constexpr void set_urgent(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    store_be16(buf_.data() + tcp::field::URGENT, v);
  }
  /// Computes the checksum over pseudo header + segment.
  void fill_checksum(Ipv4Address src, Ipv4Address dst) requires(!std::is_const_v<Byte>) {
    set_checksum(0);
    set_checksum(static_cast<std::uint16_t>(~checksum_fold(checksum_add(
        buf_, pseudo_header_sum(src, dst, ip_proto::tcp, static_cast<std::uint16_t>(buf_.size()))))));
  }

 private:
  constexpr explicit BasicTcpSegment(std::span<Byte> buffer) : buf_(buffer) {}

  std::span<Byte> buf_;  ///< satisfies the check() invariants
};

/// Mutable TCP segment view.
using TcpSegment = BasicTcpSegment<std::uint8_t>;
/// Read-only TCP segment view.
using ConstTcpSegment = BasicTcpSegment<const std::uint8_t>;

/// TCP option kinds decoded here; any other byte value is an unknown kind.
enum class TcpOptionKind : std::uint8_t {
  End = 0,            ///< end of option list (1 byte); the rest is padding
  Nop = 1,            ///< no-operation (1 byte)
  Mss = 2,            ///< maximum segment size, length 4
  WindowScale = 3,    ///< window scale shift, length 3
  SackPermitted = 4,  ///< SACK permitted, length 2
  Sack = 5,           ///< SACK blocks, length 2 + 8n, n = 1..4
  Timestamps = 8,     ///< TSval and TSecr, length 10
};

class TcpOptionReader;

/// One option as found by TcpOptionReader; its length was validated, so the
/// typed accessors below are in bounds. Typed accessors of another kind return 0.
class TcpOption {
 public:
  /// The kind (may be a value outside the enumerators: an unknown option).
  [[nodiscard]] constexpr TcpOptionKind kind() const { return static_cast<TcpOptionKind>(kind_); }
  /// The kind byte.
  [[nodiscard]] constexpr std::uint8_t raw_kind() const { return kind_; }
  /// True for the kinds enumerated in TcpOptionKind.
  [[nodiscard]] constexpr bool is_known() const { return kind_ <= 5 || kind_ == 8; }
  /// Offset of the kind byte within the options area (header byte 20 + offset()).
  [[nodiscard]] constexpr std::size_t offset() const { return offset_; }
  /// Bytes the option occupies: 1 for End/Nop, else its length byte.
  [[nodiscard]] constexpr std::size_t size() const { return raw_.size(); }
  /// All its bytes (kind, length, data).
  [[nodiscard]] constexpr std::span<const std::uint8_t> bytes() const { return raw_; }
  /// The bytes after kind and length (empty for End/Nop).
  [[nodiscard]] constexpr std::span<const std::uint8_t> data() const {
    return raw_.size() >= 2 ? raw_.subspan(2) : std::span<const std::uint8_t>{};
  }

  /// MSS value (kind Mss).
  [[nodiscard]] constexpr std::uint16_t mss() const { return kind_ == 2 ? load_be16(raw_.data() + 2) : 0; }
  /// Window scale shift (kind WindowScale), as carried (may exceed 14).
  [[nodiscard]] constexpr std::uint8_t window_scale() const { return kind_ == 3 ? raw_[2] : 0; }
  /// TSval (kind Timestamps).
  [[nodiscard]] constexpr std::uint32_t tsval() const { return kind_ == 8 ? load_be32(raw_.data() + 2) : 0; }
  /// TSecr (kind Timestamps).
  [[nodiscard]] constexpr std::uint32_t tsecr() const { return kind_ == 8 ? load_be32(raw_.data() + 6) : 0; }
  /// Number of SACK blocks, 1..4 (kind Sack), else 0.
  [[nodiscard]] constexpr std::size_t sack_block_count() const { return kind_ == 5 ? (raw_.size() - 2) / 8 : 0; }
  /// SACK block i as {left edge, right edge}; {0, 0} if i >= sack_block_count().
  [[nodiscard]] constexpr std::pair<SeqNumber, SeqNumber> sack_block(std::size_t i) const {
    if (i >= sack_block_count()) return {};
    const std::uint8_t* p = raw_.data() + 2 + 8 * i;
    return {SeqNumber{load_be32(p)}, SeqNumber{load_be32(p + 4)}};
  }

 private:
  friend class TcpOptionReader;
  constexpr TcpOption(std::uint8_t kind, std::size_t offset, std::span<const std::uint8_t> raw)
      : kind_(kind), offset_(offset), raw_(raw) {}

  std::uint8_t kind_;                  ///< kind byte
  std::size_t offset_;                 ///< position of the kind byte in the options area
  std::span<const std::uint8_t> raw_;  ///< kind [, length, data]; length validated for known kinds
};

/// Walks TCP option bytes. Usage:
///   for (TcpOptionReader r(seg.options()); !r.done();) {
///     auto opt = r.next(); if (!opt) return opt.error(); ...
///   }
/// An option with length < 2, running past the end, or with the wrong length
/// for its kind is Error::Malformed (and ends the walk). End ends the walk
/// (after yielding it); the bytes after it are padding and are not read.
class TcpOptionReader {
 public:
  /// Reads `options` (the bytes after the fixed 20-byte header).
  constexpr explicit TcpOptionReader(std::span<const std::uint8_t> options) : opts_(options) {}

  /// True when there is nothing more to yield.
  [[nodiscard]] constexpr bool done() const { return pos_ >= opts_.size(); }

  /// The next option; Malformed on a bad one; Truncated if called when done().
  constexpr Result<TcpOption> next() {
    if (done()) return Error::Truncated;
    const std::size_t at = pos_;
    const std::uint8_t kind = opts_[at];
    if (kind == 0) {  // End: the rest is padding
      pos_ = opts_.size();
      return TcpOption{kind, at, opts_.subspan(at, 1)};
    }
    if (kind == 1) {
      pos_ = at + 1;
      return TcpOption{kind, at, opts_.subspan(at, 1)};
    }
    pos_ = opts_.size();  // any error below ends the walk
    if (at + 1 >= opts_.size()) return Error::Malformed;
    const std::size_t len = opts_[at + 1];
    if (len < 2 || len > opts_.size() - at) return Error::Malformed;
    bool ok = true;
    switch (kind) {
      case 2: ok = len == 4; break;
      case 3: ok = len == 3; break;
      case 4: ok = len == 2; break;
      case 5: ok = len >= 10 && len <= 34 && (len - 2) % 8 == 0; break;
      case 8: ok = len == 10; break;
      default: break;
    }
    if (!ok) return Error::Malformed;
    pos_ = at + len;
    return TcpOption{kind, at, opts_.subspan(at, len)};
  }

 private:
  std::span<const std::uint8_t> opts_;  ///< the option area
  std::size_t pos_ = 0;                 ///< next byte to read
};

/// Checks that `options` walk without error (Malformed otherwise).
[[nodiscard]] constexpr bool tcp_options_valid(std::span<const std::uint8_t> options) {
  for (TcpOptionReader r(options); !r.done();) {
    if (!r.next()) return false;
  }
  return true;
}

/// Raw bytes of options TcpRepr does not decode, kept in order (kind, length,
/// data each), fixed capacity 40 bytes: no allocation.
struct TcpRawOptions {
  std::array<std::uint8_t, tcp::field::MAX_OPTIONS_LEN> buf{};  ///< bytes [0, len) are used
  std::uint8_t len = 0;                                         ///< used bytes, <= 40

  /// The stored option bytes.
  [[nodiscard]] constexpr std::span<const std::uint8_t> bytes() const { return {buf.data(), len}; }
  /// True when no option is stored.
  [[nodiscard]] constexpr bool empty() const { return len == 0; }
  /// Appends one option's bytes; false (nothing stored) if it does not fit.
  constexpr bool append(std::span<const std::uint8_t> option) {
    if (option.size() > buf.size() - len) return false;
    std::copy(option.begin(), option.end(), buf.begin() + len);
    len = static_cast<std::uint8_t>(len + option.size());
    return true;
  }
  /// Same stored bytes.
  friend constexpr bool operator==(const TcpRawOptions& a, const TcpRawOptions& b) {
    const auto x = a.bytes();
    const auto y = b.bytes();
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
  }
};

/// A TCP segment as values. The payload is borrowed, not copied.
struct TcpRepr {
  using SackBlock = std::pair<SeqNumber, SeqNumber>;  ///< {left edge, right edge}

  std::uint16_t src_port = 0;                   ///< source port
  std::uint16_t dst_port = 0;                   ///< destination port
  SeqNumber seq;                                ///< sequence number
  SeqNumber ack;                                ///< acknowledgment number (sent as is, even without ACK)
  std::uint8_t flags = 0;                       ///< tcp_flag bits
  std::uint16_t window = 0;                     ///< window field (already scaled down)
  std::uint16_t urgent = 0;                     ///< urgent pointer
  std::optional<std::uint16_t> mss;             ///< MSS option
  std::optional<std::uint8_t> window_scale;     ///< window scale option (shift)
  bool sack_permitted = false;                  ///< SACK-permitted option
  std::array<SackBlock, 4> sack_blocks{};       ///< SACK blocks [0, sack_count)
  std::uint8_t sack_count = 0;                  ///< SACK blocks in use, 0..4 (0: no SACK option)
  std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;  ///< {TSval, TSecr}
  TcpRawOptions unknown_options;                ///< other options, raw, emitted after the known ones
  std::span<const std::uint8_t> payload;        ///< data (points into the parsed buffer or the caller's bytes)

  /// Reads a checked segment: BadChecksum if the checksum over the pseudo
  /// header (src, dst) fails, Malformed if an option is malformed. Repeated
  /// options: the last one wins. End/Nop are not kept.
  static Result<TcpRepr> parse(const ConstTcpSegment& seg, Ipv4Address src, Ipv4Address dst) {
    if (!seg.verify_checksum(src, dst)) return Error::BadChecksum;
    return parse_unverified(seg);
  }
  /// parse() without the checksum check (for bytes already verified, or to
  /// inspect a segment whose checksum is known to be stale).
  static constexpr Result<TcpRepr> parse_unverified(const ConstTcpSegment& seg) {
    TcpRepr r;
    r.src_port = seg.src_port();
    r.dst_port = seg.dst_port();
    r.seq = seg.seq();
    r.ack = seg.ack();
    r.flags = seg.flags();
    r.window = seg.window();
    r.urgent = seg.urgent();
    r.payload = seg.payload();
    for (TcpOptionReader reader(seg.options()); !reader.done();) {
      auto opt = reader.next();
      if (!opt) return opt.error();
      switch (opt->kind()) {
        case TcpOptionKind::End:
        case TcpOptionKind::Nop: break;
        case TcpOptionKind::Mss: r.mss = opt->mss(); break;
        case TcpOptionKind::WindowScale: r.window_scale = opt->window_scale(); break;
        case TcpOptionKind::SackPermitted: r.sack_permitted = true; break;
        case TcpOptionKind::Sack:
          r.sack_count = static_cast<std::uint8_t>(opt->sack_block_count());
          for (std::size_t i = 0; i < r.sack_count; ++i) r.sack_blocks[i] = opt->sack_block(i);
          for (std::size_t i = r.sack_count; i < r.sack_blocks.size(); ++i) r.sack_blocks[i] = {};
          break;
        case TcpOptionKind::Timestamps: r.timestamps = std::pair{opt->tsval(), opt->tsecr()}; break;
        default: r.unknown_options.append(opt->bytes()); break;  // always fits: the options area is <= 40 bytes
      }
    }
    return r;
  }

  /// Option bytes emit() writes before padding (Linux's layout, see emit()).
  [[nodiscard]] constexpr std::size_t options_len() const {
    std::size_t n = 0;
    if (mss) n += 4;
    if (timestamps) {
      n += 12;  // sackOK,TS or nop,nop,TS
    } else if (sack_permitted) {
      n += 4;  // nop,nop,sackOK
    }
    if (window_scale) n += 4;                 // nop,wscale
    if (sack_count > 0) n += 4 + 8 * std::size_t{sack_count};  // nop,nop,sack
    return n + unknown_options.len;
  }
  /// 20 + options_len() rounded up to a multiple of 4. May exceed 60 when the
  /// options do not fit (e.g. timestamps + 4 SACK blocks): emit() then fails
  /// with Error::Malformed.
  [[nodiscard]] constexpr std::size_t header_len() const {
    return tcp::field::HEADER_LEN + ((options_len() + 3) & ~std::size_t{3});
  }
  /// header_len() + payload size.
  [[nodiscard]] constexpr std::size_t buffer_len() const { return header_len() + payload.size(); }
  /// Sequence space: payload bytes + 1 for SYN + 1 for FIN.
  [[nodiscard]] constexpr std::uint32_t seq_len() const {
    return static_cast<std::uint32_t>(payload.size()) + ((flags & tcp_flag::SYN) != 0 ? 1U : 0U) +
           ((flags & tcp_flag::FIN) != 0 ? 1U : 0U);
  }

  /// Writes the segment at the start of `buf`: header, options in Linux's
  /// layout (mss; sackOK,TS or nop,nop,TS; nop,nop,sackOK without TS;
  /// nop,wscale; nop,nop,sack; then unknown options; zero (End) padding to a
  /// 4-byte boundary), the payload (memmove: it may already sit anywhere in
  /// buf, including in place), and the checksum over the pseudo header.
  /// Returns a view of the first buffer_len() bytes.
  /// Errors: Malformed if the options exceed 40 bytes, sack_count > 4, or the
  /// segment exceeds 65535 bytes; Truncated if buf is shorter than buffer_len().
  Result<TcpSegment> emit(std::span<std::uint8_t> buf, Ipv4Address src, Ipv4Address dst) const {
    using namespace tcp::field;
    if (sack_count > sack_blocks.size()) return Error::Malformed;
    const std::size_t hl = header_len();
    if (hl > MAX_HEADER_LEN || buffer_len() > 0xffff) return Error::Malformed;
    if (buf.size() < buffer_len()) return Error::Truncated;
    std::uint8_t* p = buf.data();
    if (!payload.empty() && payload.data() != p + hl) {
      std::memmove(p + hl, payload.data(), payload.size());  // first: the header may overlap its old place
    }
    store_be16(p + SRC_PORT, src_port);
    store_be16(p + DST_PORT, dst_port);
    store_be32(p + SEQ, seq.raw());
    store_be32(p + ACK, ack.raw());
    p[DATA_OFFSET] = static_cast<std::uint8_t>((hl / 4) << 4);
    p[FLAGS] = flags;
    store_be16(p + WINDOW, window);
    store_be16(p + CHECKSUM, 0);
    store_be16(p + URGENT, urgent);
    std::uint8_t* o = p + OPTIONS;
    if (mss) {
      o[0] = 2;
      o[1] = 4;
      store_be16(o + 2, *mss);
      o += 4;
    }
    if (timestamps) {
      o[0] = sack_permitted ? 4 : 1;
      o[1] = sack_permitted ? 2 : 1;
      o[2] = 8;
      o[3] = 10;
      store_be32(o + 4, timestamps->first);
      store_be32(o + 8, timestamps->second);
      o += 12;
    } else if (sack_permitted) {
      o[0] = 1;
      o[1] = 1;
      o[2] = 4;
      o[3] = 2;
      o += 4;
    }
    if (window_scale) {
      o[0] = 1;
      o[1] = 3;
      o[2] = 3;
      o[3] = *window_scale;
      o += 4;
    }
    if (sack_count > 0) {
      o[0] = 1;
      o[1] = 1;
      o[2] = 5;
      o[3] = static_cast<std::uint8_t>(2 + 8 * sack_count);
      o += 4;
      for (std::size_t i = 0; i < sack_count; ++i) {
        store_be32(o, sack_blocks[i].first.raw());
        store_be32(o + 4, sack_blocks[i].second.raw());
        o += 8;
      }
    }
    const auto unknown = unknown_options.bytes();
    if (!unknown.empty()) {
      std::memcpy(o, unknown.data(), unknown.size());
      o += unknown.size();
    }
    std::fill(o, p + hl, std::uint8_t{0});
    auto seg = TcpSegment::check(buf.first(buffer_len()));  // valid by construction
    if (seg) seg->fill_checksum(src, dst);
    return seg;
  }
  /// Same as emit(seg.buffer(), src, dst).
  Result<TcpSegment> emit(const TcpSegment& seg, Ipv4Address src, Ipv4Address dst) const {
    return emit(seg.buffer(), src, dst);
  }

  /// Equal fields, equal SACK blocks in use, equal payload bytes.
  friend constexpr bool operator==(const TcpRepr& a, const TcpRepr& b) {
    if (a.src_port != b.src_port || a.dst_port != b.dst_port || a.seq != b.seq || a.ack != b.ack ||
        a.flags != b.flags || a.window != b.window || a.urgent != b.urgent || a.mss != b.mss ||
        a.window_scale != b.window_scale || a.sack_permitted != b.sack_permitted ||
        a.sack_count != b.sack_count || a.timestamps != b.timestamps || !(a.unknown_options == b.unknown_options)) {
      return false;
    }
    for (std::size_t i = 0; i < a.sack_count && i < a.sack_blocks.size(); ++i) {
      if (a.sack_blocks[i] != b.sack_blocks[i]) return false;
    }
    return std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end());
  }
};

}  // namespace tcpmig::wire
