// Attribute value syntax: durations, rates, sizes, booleans, probabilities,
// integers, endpoints, names; and the trace fingerprint hash.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "tcpmig/scenario/units.hpp"

using namespace tcpmig;
using namespace tcpmig::scenario;

namespace {

struct DurationCase {
  std::string_view text;        // input
  std::optional<int64_t> ns;    // expected value, nullopt = rejected
};

struct UintCase {
  std::string_view text;        // input
  std::optional<uint64_t> value;  // expected value, nullopt = rejected
};

}  // namespace

TEST_CASE("durations: a unit is required, values are exact and non-negative") {
  const DurationCase cases[] = {
      {"1s", 1'000'000'000},
      {"250ms", 250'000'000},
      {"10us", 10'000},
      {"5ns", 5},
      {"1.5s", 1'500'000'000},
      {"0.000000001s", 1},
      {"0s", 0},
      {"1000000s", 1'000'000'000'000'000},
      {"1000000.000000001s", std::nullopt},  // above kMaxDuration
      {"0.5ns", std::nullopt},               // not whole nanoseconds
      {"10", std::nullopt},                  // bare number
      {"0", std::nullopt},
      {"-1s", std::nullopt},                 // negative
      {"-0s", std::nullopt},
      {"+1s", std::nullopt},
      {"1 s", std::nullopt},
      {" 1s", std::nullopt},
      {"1sec", std::nullopt},
      {"1m", std::nullopt},
      {"s", std::nullopt},
      {"1.s", std::nullopt},
      {".5s", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto d = parse_duration(c.text);
    REQUIRE(d.has_value() == c.ns.has_value());
    if (d) CHECK(d->ns() == *c.ns);
  }
}

TEST_CASE("rates: SI units to integer bit/s, 'infinite' is 0") {
  const UintCase cases[] = {
      {"100Mbps", 100'000'000},
      {"1Gbps", 1'000'000'000},
      {"64kbps", 64'000},
      {"1500bps", 1'500},
      {"1.5Gbps", 1'500'000'000},
      {"2.5kbps", 2'500},
      {"10000Gbps", 10'000'000'000'000},
      {"10001Gbps", std::nullopt},  // above kMaxRate
      {"infinite", 0},
      {"0bps", std::nullopt},       // zero is written 'infinite'
      {"0.5bps", std::nullopt},     // not whole bit/s
      {"100", std::nullopt},        // unit required
      {"100mbps", std::nullopt},    // case matters
      {"100Mbit", std::nullopt},
      {"100 Mbps", std::nullopt},
      {"-1Mbps", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto r = parse_rate(c.text);
    REQUIRE(r.has_value() == c.value.has_value());
    if (r) CHECK(*r == *c.value);
  }
}

TEST_CASE("sizes: plain bytes, SI and binary units, exact") {
  const UintCase cases[] = {
      {"1500", 1500},
      {"0", 0},
      {"10MB", 10'000'000},
      {"64KiB", 65'536},
      {"1kB", 1'000},
      {"1KB", 1'000},
      {"2GB", 2'000'000'000},
      {"1TB", 1'000'000'000'000},
      {"1MiB", 1'048'576},
      {"1GiB", 1'073'741'824},
      {"1TiB", 1'099'511'627'776},
      {"1.5KiB", 1'536},
      {"1.5MB", 1'500'000},
      {"12B", 12},
      {"1024TiB", uint64_t{1} << 50},  // kMaxSize
      {"1025TiB", std::nullopt},
      {"0.1B", std::nullopt},          // not whole bytes
      {"1.5", std::nullopt},           // plain numbers are integers
      {"1.0001KiB", std::nullopt},
      {"10mb", std::nullopt},
      {"10 MB", std::nullopt},
      {"-1", std::nullopt},
      {"", std::nullopt},
      {"99999999999999999999999", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto r = parse_size(c.text);
    REQUIRE(r.has_value() == c.value.has_value());
    if (r) CHECK(*r == *c.value);
  }
}

TEST_CASE("booleans: true and false only") {
  CHECK(parse_bool("true") == std::optional<bool>(true));
  CHECK(parse_bool("false") == std::optional<bool>(false));
  for (const std::string_view bad : {"1", "0", "yes", "no", "True", "FALSE", "", " true"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_bool(bad).has_value());
  }
}

TEST_CASE("probabilities: decimals in [0, 1] and percentages") {
  CHECK(*parse_probability("0") == 0.0);
  CHECK(*parse_probability("1") == 1.0);
  CHECK(*parse_probability("0.02") == 0.02);
  CHECK(*parse_probability("2%") == 0.02);
  CHECK(*parse_probability("100%") == 1.0);
  CHECK(*parse_probability("0.5%") == 0.005);
  CHECK(*parse_probability("1.000") == 1.0);
  for (const std::string_view bad : {"1.01", "101%", "-0.1", "2", "%", "", "0.1.2", "abc", "1e-3", " 0.1",
                                     "0.1234567890123456789"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_probability(bad).has_value());
  }
}

TEST_CASE("integers, endpoints and names") {
  CHECK(*parse_uint("0", 10) == 0);
  CHECK(*parse_uint("65535", 65535) == 65535);
  CHECK_FALSE(parse_uint("65536", 65535).has_value());
  CHECK_FALSE(parse_uint("-1", 100).has_value());
  CHECK_FALSE(parse_uint("+1", 100).has_value());
  CHECK_FALSE(parse_uint("1.0", 100).has_value());
  CHECK_FALSE(parse_uint("", 100).has_value());
  CHECK_FALSE(parse_uint("99999999999999999999999", UINT64_MAX).has_value());
  CHECK(*parse_uint("18446744073709551615", UINT64_MAX) == UINT64_MAX);

  const auto e = parse_endpoint("10.0.2.10:80");
  REQUIRE(e);
  CHECK(e->ip == *wire::Ipv4Address::parse("10.0.2.10"));
  CHECK(e->port == 80);
  for (const std::string_view bad : {"10.0.2.10", "10.0.2.10:0", "10.0.2.10:65536", "10.0.2:80", ":80",
                                     "10.0.2.10:", "10.0.2.10:8o", "host:80", "010.0.2.10:80"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_endpoint(bad).has_value());
  }

  for (const std::string_view good : {"client", "server-1", "gw_2", "r1.lan", "A9", ".x", "...", "_"}) {
    CAPTURE(good);
    CHECK(valid_name(good));
  }
  for (const std::string_view bad : {"", ".", "..", "a b", "a/b", "a:b", "ü", "a\tb",
                                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_name(bad));
  }
}

TEST_CASE("FNV-1a 64 matches the published test vectors and hashes in pieces") {
  Fnv1a empty;
  CHECK(empty.value() == 0xcbf29ce484222325ULL);
  Fnv1a a;
  a.update("a");
  CHECK(a.value() == 0xaf63dc4c8601ec8cULL);
  Fnv1a foobar;
  foobar.update("foobar");
  CHECK(foobar.value() == 0x85944171f73967e8ULL);
  Fnv1a pieces;
  pieces.update("foo");
  pieces.update("bar");
  CHECK(pieces.value() == foobar.value());
  CHECK(hex16(0x85944171f73967e8ULL) == "85944171f73967e8");
  CHECK(hex16(1) == "0000000000000001");
}

TEST_CASE("host processing latency: none, fixed, uniform, an empirical table") {
  using tcpmig::tcp::AppLatency;
  CHECK(parse_app_latency("none")->kind == AppLatency::Kind::None);
  CHECK(parse_app_latency("0s")->kind == AppLatency::Kind::None);
  const auto f = parse_app_latency("300us");
  REQUIRE(f.has_value());
  CHECK(f->kind == AppLatency::Kind::Fixed);
  CHECK(f->fixed == tcpmig::sim::Duration::microseconds(300));
  const auto u = parse_app_latency("uniform:100us:900us");
  REQUIRE(u.has_value());
  CHECK(u->kind == AppLatency::Kind::Uniform);
  CHECK(u->hi == tcpmig::sim::Duration::microseconds(900));
  const auto t = parse_app_latency("table:0=100us,50%=200us,0.99=2ms,100%=8ms");
  REQUIRE(t.has_value());
  REQUIRE(t->table != nullptr);
  REQUIRE(t->table->size() == 4);
  CHECK((*t->table)[1].first == 500'000);
  CHECK((*t->table)[2].first == 990'000);
  // Zero in every form is no latency at all.
  CHECK(parse_app_latency("uniform:0s:0s")->kind == AppLatency::Kind::None);
  CHECK(parse_app_latency("table:0=0s,100%=0s")->kind == AppLatency::Kind::None);
  for (const char* bad : {"", "300", "uniform:900us:100us", "uniform:1ms", "table:50%=1ms,100%=2ms",
                          "table:0=1ms,90%=2ms", "table:0=2ms,100%=1ms", "table:0=1ms,0=2ms,100%=3ms", "table:",
                          "table:0=1ms,100%", "fixed:1ms", "-1ms"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_app_latency(bad).has_value());
  }
}
