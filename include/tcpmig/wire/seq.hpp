// TCP sequence numbers: 32-bit modular arithmetic (RFC 9293 section 3.4).
//
// Place in the layers: wire (std only); used by the TCP header view/repr, the
// TCP model and the migration core's seq/ack offsets.
//
// Rule: a < b iff int32(a - b) < 0. Comparison is only meaningful between
// numbers less than 2^31 apart (TCP windows are far smaller): further apart the
// answer flips, and at exactly 2^31 apart both a < b and b < a hold. There is
// no operator<=> on purpose: the relation is not a total order.
#pragma once

#include <concepts>
#include <cstdint>

namespace tcpmig::wire {

/// A sequence (or acknowledgment) number; wraps at 2^32.
class SeqNumber {
 public:
  /// Zero.
  constexpr SeqNumber() = default;
  /// The number `raw`.
  constexpr explicit SeqNumber(std::uint32_t raw) : raw_(raw) {}

  /// The 32-bit value as carried in the header.
  [[nodiscard]] constexpr std::uint32_t raw() const { return raw_; }

  /// a + n modulo 2^32, for any integer n (negative n counts backwards; 64-bit n is taken mod 2^32).
  template <std::integral N>
  friend constexpr SeqNumber operator+(SeqNumber a, N n) {
    return SeqNumber{a.raw_ + static_cast<std::uint32_t>(n)};
  }
  /// a - n modulo 2^32.
  template <std::integral N>
  friend constexpr SeqNumber operator-(SeqNumber a, N n) {
    return SeqNumber{a.raw_ - static_cast<std::uint32_t>(n)};
  }
  /// this = this + n modulo 2^32.
  template <std::integral N>
  constexpr SeqNumber& operator+=(N n) {
    raw_ += static_cast<std::uint32_t>(n);
    return *this;
  }
  /// this = this - n modulo 2^32.
  template <std::integral N>
  constexpr SeqNumber& operator-=(N n) {
    raw_ -= static_cast<std::uint32_t>(n);
    return *this;
  }
  /// Signed distance a - b in [-2^31, 2^31): how far a is ahead of b (negative: behind).
  friend constexpr std::int32_t operator-(SeqNumber a, SeqNumber b) {
    return static_cast<std::int32_t>(a.raw_ - b.raw_);
  }

  /// Same raw value.
  friend constexpr bool operator==(const SeqNumber&, const SeqNumber&) = default;
  /// a is before b (int32(a - b) < 0).
  friend constexpr bool operator<(SeqNumber a, SeqNumber b) { return (a - b) < 0; }
  /// a is before or equal to b.
  friend constexpr bool operator<=(SeqNumber a, SeqNumber b) { return (a - b) <= 0; }
  /// a is after b.
  friend constexpr bool operator>(SeqNumber a, SeqNumber b) { return (a - b) > 0; }
  /// a is after or equal to b.
  friend constexpr bool operator>=(SeqNumber a, SeqNumber b) { return (a - b) >= 0; }

 private:
  std::uint32_t raw_ = 0;
};

/// The later of a and b (a when equal).
[[nodiscard]] constexpr SeqNumber seq_max(SeqNumber a, SeqNumber b) { return a < b ? b : a; }
/// The earlier of a and b (a when equal).
[[nodiscard]] constexpr SeqNumber seq_min(SeqNumber a, SeqNumber b) { return b < a ? b : a; }

}  // namespace tcpmig::wire
