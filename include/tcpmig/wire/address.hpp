// Link and network addresses: 48-bit MAC (IEEE 802) and IPv4 (RFC 791).
//
// Place in the layers: wire (std only); used by the Ethernet/IPv4 views, the
// pseudo-header checksum, the text trace and the network models. Text forms
// are the usual ones ("02:00:00:00:00:01", "10.0.0.1"); append_to() writes them
// without allocating when the string has capacity.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tcpmig::wire {

namespace detail {

/// Appends the decimal digits of v (no sign, no padding).
inline void append_decimal(std::string& out, std::uint64_t v) {
  char buf[20];
  std::size_t pos = sizeof buf;
  do {
    buf[--pos] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(buf + pos, sizeof buf - pos);
}

/// Appends v as exactly `digits` lower-case hex digits (most significant first).
inline void append_hex(std::string& out, std::uint64_t v, int digits) {
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) {
    out.push_back(kHex[(v >> (4 * i)) & 0xf]);
  }
}

/// Value of a hex digit, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace detail

/// A 48-bit IEEE 802 MAC address, octets in transmission order.
struct MacAddress {
  std::array<std::uint8_t, 6> octets{};  ///< octets[0] is sent first

  /// ff:ff:ff:ff:ff:ff.
  static constexpr MacAddress broadcast() { return MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  /// Parses exactly six ':'-separated two-digit hex octets ("02:00:00:00:00:01").
  static constexpr std::optional<MacAddress> parse(std::string_view text) {
    if (text.size() != 17) return std::nullopt;
    MacAddress mac;
    for (std::size_t i = 0; i < 6; ++i) {
      const int hi = detail::hex_value(text[3 * i]);
      const int lo = detail::hex_value(text[3 * i + 1]);
      if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':')) return std::nullopt;
      mac.octets[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return mac;
  }

  /// True for ff:ff:ff:ff:ff:ff.
  [[nodiscard]] constexpr bool is_broadcast() const { return *this == broadcast(); }
  /// True when the group bit (least significant bit of the first octet) is set; includes broadcast.
  [[nodiscard]] constexpr bool is_multicast() const { return (octets[0] & 0x01) != 0; }
  /// True for neither multicast nor broadcast.
  [[nodiscard]] constexpr bool is_unicast() const { return !is_multicast(); }

  /// Orders by octets, first octet most significant.
  constexpr auto operator<=>(const MacAddress&) const = default;

  /// Appends "xx:xx:xx:xx:xx:xx" (lower-case hex).
  void append_to(std::string& out) const {
    for (std::size_t i = 0; i < octets.size(); ++i) {
      if (i != 0) out.push_back(':');
      detail::append_hex(out, octets[i], 2);
    }
  }
};

/// An IPv4 address; `value` is in host order (10.0.0.1 == 0x0a000001).
struct Ipv4Address {
  std::uint32_t value = 0;  ///< host-order value; the first dotted octet is the most significant byte

  /// a.b.c.d.
  static constexpr Ipv4Address from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return Ipv4Address{(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
                       std::uint32_t{d}};
  }
  /// Strict dotted quad: four decimal numbers 0..255 separated by '.', no
  /// leading zeros (except "0" itself), no spaces, signs or trailing text.
  static constexpr std::optional<Ipv4Address> parse(std::string_view text) {
    std::uint32_t result = 0;
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
      if (part != 0) {
        if (pos >= text.size() || text[pos] != '.') return std::nullopt;
        ++pos;
      }
      const std::size_t start = pos;
      std::uint32_t n = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
        n = n * 10 + static_cast<std::uint32_t>(text[pos] - '0');
        ++pos;
      }
      const std::size_t digits = pos - start;
      if (digits == 0 || n > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
      if (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') return std::nullopt;  // 4+ digits
      result = (result << 8) | n;
    }
    if (pos != text.size()) return std::nullopt;
    return Ipv4Address{result};
  }

  /// Octet i (0..3) in dotted order.
  [[nodiscard]] constexpr std::uint8_t octet(int i) const {
    return static_cast<std::uint8_t>(value >> (8 * (3 - i)));
  }
  /// 0.0.0.0.
  [[nodiscard]] constexpr bool is_unspecified() const { return value == 0; }

  /// Orders by host-order value.
  constexpr auto operator<=>(const Ipv4Address&) const = default;

  /// Appends "a.b.c.d".
  void append_to(std::string& out) const {
    for (int i = 0; i < 4; ++i) {
      if (i != 0) out.push_back('.');
      detail::append_decimal(out, octet(i));
    }
  }
};

/// "02:00:00:00:00:01" (allocates; not for hot paths).
inline std::string to_string(const MacAddress& mac) {
  std::string s;
  mac.append_to(s);
  return s;
}

/// "10.0.0.1" (allocates; not for hot paths).
inline std::string to_string(const Ipv4Address& addr) {
  std::string s;
  addr.append_to(s);
  return s;
}

}  // namespace tcpmig::wire
