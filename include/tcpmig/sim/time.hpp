// Simulated time: signed 64-bit integer nanoseconds.
//
// Place in the layers: sim engine (lowest simulator header; std only).
// Rule: nothing that decides *when* something happens is ever a floating-point
// number. `Time` is an instant since the start of a run (t = 0), `Duration` the
// distance between two instants. Both wrap an int64_t count of nanoseconds,
// which covers +-292 years. Arithmetic is plain integer arithmetic; overflow is a
// programmer error (the scenario loader rejects values that could overflow).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tcpmig::sim {

/// A signed span of simulated time in integer nanoseconds.
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration nanoseconds(int64_t n) { return Duration{n}; }
  static constexpr Duration microseconds(int64_t n) { return Duration{n * 1'000}; }
  static constexpr Duration milliseconds(int64_t n) { return Duration{n * 1'000'000}; }
  static constexpr Duration seconds(int64_t n) { return Duration{n * 1'000'000'000}; }
  static constexpr Duration zero() { return Duration{0}; }
  static constexpr Duration max() { return Duration{std::numeric_limits<int64_t>::max()}; }

  /// The count of nanoseconds.
  [[nodiscard]] constexpr int64_t ns() const { return ns_; }

  constexpr Duration& operator+=(Duration d) { ns_ += d.ns_; return *this; }
  constexpr Duration& operator-=(Duration d) { ns_ -= d.ns_; return *this; }
  friend constexpr Duration operator+(Duration a, Duration b) { return Duration{a.ns_ + b.ns_}; }
  friend constexpr Duration operator-(Duration a, Duration b) { return Duration{a.ns_ - b.ns_}; }
  friend constexpr Duration operator-(Duration a) { return Duration{-a.ns_}; }
  friend constexpr Duration operator*(Duration a, int64_t k) { return Duration{a.ns_ * k}; }
  friend constexpr Duration operator*(int64_t k, Duration a) { return Duration{a.ns_ * k}; }
  /// Integer division, truncating toward zero.
  friend constexpr Duration operator/(Duration a, int64_t k) { return Duration{a.ns_ / k}; }
  /// How many whole `b` fit in `a` (truncating).
  friend constexpr int64_t operator/(Duration a, Duration b) { return a.ns_ / b.ns_; }
  friend constexpr auto operator<=>(Duration, Duration) = default;

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

/// An instant of simulated time: nanoseconds since the start of the run.
class Time {
 public:
  constexpr Time() = default;
  static constexpr Time from_ns(int64_t ns) { return Time{ns}; }
  static constexpr Time zero() { return Time{0}; }
  /// Later than every instant a run can reach; used as "never".
  static constexpr Time max() { return Time{std::numeric_limits<int64_t>::max()}; }

  /// Nanoseconds since t = 0.
  [[nodiscard]] constexpr int64_t ns() const { return ns_; }
  /// Distance from t = 0.
  [[nodiscard]] constexpr Duration since_start() const { return Duration::nanoseconds(ns_); }

  constexpr Time& operator+=(Duration d) { ns_ += d.ns(); return *this; }
  friend constexpr Time operator+(Time t, Duration d) { return Time{t.ns_ + d.ns()}; }
  friend constexpr Time operator-(Time t, Duration d) { return Time{t.ns_ - d.ns()}; }
  friend constexpr Duration operator-(Time a, Time b) { return Duration::nanoseconds(a.ns_ - b.ns_); }
  friend constexpr auto operator<=>(Time, Time) = default;

 private:
  constexpr explicit Time(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

namespace literals {
constexpr Duration operator""_ns(unsigned long long n) { return Duration::nanoseconds(static_cast<int64_t>(n)); }
constexpr Duration operator""_us(unsigned long long n) { return Duration::microseconds(static_cast<int64_t>(n)); }
constexpr Duration operator""_ms(unsigned long long n) { return Duration::milliseconds(static_cast<int64_t>(n)); }
constexpr Duration operator""_s(unsigned long long n) { return Duration::seconds(static_cast<int64_t>(n)); }
}  // namespace literals

/// Appends `t` as seconds with exactly nine decimals ("12.000345678"); negative
/// instants get a leading '-'. This is the time column of the text trace.
void append_time(std::string& out, Time t);
/// Appends a duration the same way as `append_time`.
void append_duration(std::string& out, Duration d);

/// Parses a duration written as a decimal number and a unit: "ns", "us", "ms",
/// "s" (e.g. "1.5ms", "250us", "3s"). The value must be exact in nanoseconds
/// ("0.5ns" is rejected) and fit in int64. Returns nullopt on any error.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace tcpmig::sim
