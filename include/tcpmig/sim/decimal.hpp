// The decimal-number syntax shared by every value the project reads from
// text: durations here (sim::parse_duration), rates, sizes and probabilities
// in the scenario loader.
//
// Place in the layers: sim engine (header-only, std only).
// Rules: "digit+ ['.' digit+]", no sign, no exponent; the digits are kept as
// one integer (mantissa) and the count of fraction digits after dropping
// trailing zeros, so callers scale exactly with integer arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace tcpmig::sim {

/// A decimal number as mantissa / 10^frac_digits.
struct Decimal {
  uint64_t mantissa = 0;  ///< all significant digits as one integer
  int frac_digits = 0;    ///< digits after the point, trailing zeros dropped (0..19)
  std::size_t end = 0;    ///< where the number ended in the text (the unit starts there)
};

/// Reads the number at the start of `text`; nullopt when there is none, a
/// '.' has no digits after it, or the digits do not fit in 64 bits.
[[nodiscard]] inline std::optional<Decimal> parse_decimal(std::string_view text) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t pos = 0;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  const std::size_t int_end = pos;
  if (int_end == 0) return std::nullopt;
  std::size_t frac_begin = pos;
  std::size_t frac_end = pos;
  if (pos < text.size() && text[pos] == '.') {
    frac_begin = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    frac_end = pos;
    if (frac_end == frac_begin) return std::nullopt;
  }
  Decimal d;
  d.end = pos;
  while (frac_end > frac_begin && text[frac_end - 1] == '0') --frac_end;
  const auto add = [&d](char c) {
    const auto digit = static_cast<uint64_t>(c - '0');
    if (d.mantissa > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    d.mantissa = d.mantissa * 10 + digit;
    return true;
  };
  for (std::size_t i = 0; i < int_end; ++i) {
    if (!add(text[i])) return std::nullopt;
  }
  for (std::size_t i = frac_begin; i < frac_end; ++i) {
    if (!add(text[i])) return std::nullopt;
  }
  d.frac_digits = static_cast<int>(frac_end - frac_begin);
  if (d.frac_digits > 19) return std::nullopt;
  return d;
}

}  // namespace tcpmig::sim
