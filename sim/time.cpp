// Formatting and parsing of simulated time (see include/tcpmig/sim/time.hpp).
// Integer arithmetic only: no floating point, no locale.
#include "tcpmig/sim/time.hpp"

#include <charconv>
#include <cstddef>

namespace tcpmig::sim {

namespace {

void append_ns_as_seconds(std::string& out, int64_t ns) {
  // Magnitude as unsigned so INT64_MIN works.
  uint64_t mag = static_cast<uint64_t>(ns);
  if (ns < 0) {
    out.push_back('-');
    mag = 0 - mag;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, mag / 1'000'000'000U);
  (void)ec;  // cannot fail: 20 digits fit
  out.append(buf, end);
  out.push_back('.');
  uint64_t frac = mag % 1'000'000'000U;
  char digits[9];
  for (int i = 8; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(digits, sizeof digits);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void append_time(std::string& out, Time t) { append_ns_as_seconds(out, t.ns()); }

void append_duration(std::string& out, Duration d) { append_ns_as_seconds(out, d.ns()); }

std::optional<Duration> parse_duration(std::string_view text) {
  // Grammar: ['-'] digit+ ['.' digit+] unit, unit in {ns, us, ms, s}.
  bool negative = false;
  std::size_t pos = 0;
  if (pos < text.size() && text[pos] == '-') {
    negative = true;
    ++pos;
  }
  const std::size_t int_begin = pos;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  const std::size_t int_end = pos;
  if (int_end == int_begin) return std::nullopt;
  std::size_t frac_begin = pos;
  std::size_t frac_end = pos;
  if (pos < text.size() && text[pos] == '.') {
    frac_begin = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    frac_end = pos;
    if (frac_end == frac_begin) return std::nullopt;
  }

  const std::string_view unit = text.substr(pos);
  int unit_exp = 0;  // the unit is 10^unit_exp ns
  if (unit == "ns") {
    unit_exp = 0;
  } else if (unit == "us") {
    unit_exp = 3;
  } else if (unit == "ms") {
    unit_exp = 6;
  } else if (unit == "s") {
    unit_exp = 9;
  } else {
    return std::nullopt;
  }

  // Trailing zeros of the fraction change nothing; after dropping them the
  // last fraction digit is non-zero, so the value is a whole number of ns
  // exactly when the fraction has at most unit_exp digits.
  while (frac_end > frac_begin && text[frac_end - 1] == '0') --frac_end;
  const auto frac_digits = static_cast<int>(frac_end - frac_begin);
  if (frac_digits > unit_exp) return std::nullopt;

  // value_ns = (integer digits followed by fraction digits) * 10^(unit_exp - frac_digits),
  // accumulated with an overflow check against 2^63 (allowed only when negative).
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t value = 0;
  const auto accumulate = [&](uint64_t digit) {
    if (value > (limit - digit) / 10) return false;
    value = value * 10 + digit;
    return true;
  };
  for (std::size_t i = int_begin; i < int_end; ++i) {
    if (!accumulate(static_cast<uint64_t>(text[i] - '0'))) return std::nullopt;
  }
  for (std::size_t i = frac_begin; i < frac_end; ++i) {
    if (!accumulate(static_cast<uint64_t>(text[i] - '0'))) return std::nullopt;
  }
  for (int i = frac_digits; i < unit_exp; ++i) {
    if (!accumulate(0)) return std::nullopt;
  }
  const int64_t ns = negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  return Duration::nanoseconds(ns);
}

}  // namespace tcpmig::sim
