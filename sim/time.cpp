// Formatting and parsing of simulated time (see include/tcpmig/sim/time.hpp).
// Integer arithmetic only: no floating point, no locale.
#include "tcpmig/sim/time.hpp"

#include "tcpmig/sim/decimal.hpp"

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

}  // namespace

void append_time(std::string& out, Time t) { append_ns_as_seconds(out, t.ns()); }

void append_duration(std::string& out, Duration d) { append_ns_as_seconds(out, d.ns()); }

std::optional<Duration> parse_duration(std::string_view text) {
  // Grammar: ['-'] decimal unit, unit in {ns, us, ms, s} (decimal.hpp).
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const auto d = parse_decimal(text);
  if (!d) return std::nullopt;
  const std::string_view unit = text.substr(d->end);
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
  // The last fraction digit is non-zero, so the value is a whole number of
  // ns exactly when the fraction has at most unit_exp digits.
  if (d->frac_digits > unit_exp) return std::nullopt;
  // value_ns = mantissa * 10^(unit_exp - frac_digits), checked against 2^63
  // (allowed only when negative).
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t value = d->mantissa;
  if (value > limit) return std::nullopt;
  for (int i = d->frac_digits; i < unit_exp; ++i) {
    if (value > limit / 10) return std::nullopt;
    value *= 10;
  }
  const int64_t ns = negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  return Duration::nanoseconds(ns);
}

}  // namespace tcpmig::sim
