// Time formatting and parsing: include/tcpmig/sim/time.hpp, sim/time.cpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "tcpmig/sim/random.hpp"
#include "tcpmig/sim/time.hpp"

namespace {

using tcpmig::sim::append_duration;
using tcpmig::sim::append_time;
using tcpmig::sim::Duration;
using tcpmig::sim::parse_duration;
using tcpmig::sim::Time;

std::string time_text(int64_t ns) {
  std::string s;
  append_time(s, Time::from_ns(ns));
  return s;
}

std::string duration_text(int64_t ns) {
  std::string s;
  append_duration(s, Duration::nanoseconds(ns));
  return s;
}

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

}  // namespace

TEST_CASE("append_time writes seconds with nine decimals") {
  CHECK(time_text(0) == "0.000000000");
  CHECK(time_text(1) == "0.000000001");
  CHECK(time_text(12'000'345'678) == "12.000345678");
  CHECK(time_text(1'000'000'000) == "1.000000000");
  CHECK(time_text(-1) == "-0.000000001");
  CHECK(time_text(-1'500'000'000) == "-1.500000000");
  CHECK(time_text(kMax) == "9223372036.854775807");
  CHECK(time_text(kMin) == "-9223372036.854775808");
}

TEST_CASE("append_time and append_duration append without clearing") {
  std::string s = "t=";
  append_time(s, Time::from_ns(5));
  s += " d=";
  append_duration(s, Duration::milliseconds(-3));
  CHECK(s == "t=0.000000005 d=-0.003000000");
  CHECK(duration_text(kMin) == "-9223372036.854775808");
}

TEST_CASE("parse_duration accepts exact decimals with a unit") {
  CHECK(parse_duration("0ns") == Duration::zero());
  CHECK(parse_duration("1ns") == Duration::nanoseconds(1));
  CHECK(parse_duration("250us") == Duration::microseconds(250));
  CHECK(parse_duration("1.5ms") == Duration::microseconds(1500));
  CHECK(parse_duration("3s") == Duration::seconds(3));
  CHECK(parse_duration("0.000000001s") == Duration::nanoseconds(1));
  CHECK(parse_duration("1.000000000000s") == Duration::seconds(1));  // trailing zeros are exact
  CHECK(parse_duration("0.001us") == Duration::nanoseconds(1));
  CHECK(parse_duration("007ms") == Duration::milliseconds(7));
  CHECK(parse_duration("-2.5us") == Duration::nanoseconds(-2500));
  CHECK(parse_duration("-0s") == Duration::zero());
  CHECK(parse_duration("9223372036.854775807s") == Duration::max());
  CHECK(parse_duration("9223372036854775807ns") == Duration::max());
  CHECK(parse_duration("-9223372036.854775808s") == Duration::nanoseconds(kMin));
  CHECK(parse_duration("-9223372036854775808ns") == Duration::nanoseconds(kMin));
}

TEST_CASE("parse_duration rejects junk, inexact values and overflow") {
  for (const char* bad : {"", "s", "ns", "1", "-", "-s", "1.s", ".5s", "1..2s", "1.2.3s", "0.5ns",
                          "1.0005us", "0.0000000001s", "1 s", " 1s", "1s ", "1S", "1Ms", "1sec",
                          "1m", "1h", "+1s", "--1s", "1e3ns", "0x10ns", "1,5ms", "1_000ns",
                          "9223372036.854775808s", "9223372036854775808ns",
                          "-9223372036.854775809s", "18446744073709551616ns",
                          "99999999999999999999999999s", "10000000000s"}) {
    INFO("input: '" << bad << "'");
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("append_duration then parse_duration round-trips") {
  tcpmig::sim::Rng rng(7);
  auto round_trip = [](int64_t ns) {
    std::string s;
    append_duration(s, Duration::nanoseconds(ns));
    s += "s";
    const auto back = parse_duration(s);
    INFO("text: " << s);
    REQUIRE(back.has_value());
    CHECK(back->ns() == ns);
  };
  for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{999'999'999}, int64_t{1'000'000'000},
                     kMin, kMax, kMin + 1, kMax - 1}) {
    round_trip(ns);
  }
  for (int i = 0; i < 10'000; ++i) {
    round_trip(static_cast<int64_t>(rng.next_u64()));
    round_trip(rng.uniform_int(-10'000'000'000, 10'000'000'000));
  }
}
