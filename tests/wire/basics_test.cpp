// Byte helpers, Result, addresses and sequence numbers.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/result.hpp"
#include "tcpmig/wire/seq.hpp"

namespace {

using namespace tcpmig::wire;

TEST_CASE("big-endian loads and stores at unaligned offsets") {
  std::array<std::uint8_t, 7> b{0xaa, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
  CHECK(load_be16(b.data() + 1) == 0x1234);
  CHECK(load_be32(b.data() + 1) == 0x12345678U);
  CHECK(load_be32(b.data() + 3) == 0x56789abcU);
  store_be16(b.data() + 1, 0xbeef);
  store_be32(b.data() + 3, 0xdeadc0deU);
  CHECK(b == std::array<std::uint8_t, 7>{0xaa, 0xbe, 0xef, 0xde, 0xad, 0xc0, 0xde});
  static_assert(load_be16(std::array<std::uint8_t, 2>{0x08, 0x00}.data()) == 0x0800);
}

TEST_CASE("Result holds a value or an error") {
  Result<int> good = 42;
  Result<int> bad = Error::Truncated;
  REQUIRE(good);
  CHECK(good.ok());
  CHECK(*good == 42);
  CHECK(good.value() == 42);
  CHECK_FALSE(bad);
  CHECK(bad.error() == Error::Truncated);
  CHECK(bad.value_or(7) == 7);
  CHECK(std::string(error_name(Error::Truncated)) == "truncated");
  CHECK(std::string(error_name(Error::Malformed)) == "malformed");
  CHECK(std::string(error_name(Error::BadChecksum)) == "bad checksum");
  CHECK(std::string(error_name(Error::Unsupported)) == "unsupported");
}

TEST_CASE("MacAddress text, broadcast and multicast") {
  const MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  CHECK(to_string(mac) == "02:00:00:00:00:01");
  CHECK(to_string(MacAddress{{0xde, 0xad, 0xbe, 0xef, 0x0a, 0xff}}) == "de:ad:be:ef:0a:ff");
  CHECK(MacAddress::broadcast().is_broadcast());
  CHECK(MacAddress::broadcast().is_multicast());
  CHECK_FALSE(mac.is_multicast());
  CHECK(MacAddress{{0x01, 0x00, 0x5e, 0, 0, 1}}.is_multicast());
  CHECK(MacAddress::parse("02:00:00:00:00:01") == mac);
  CHECK(MacAddress::parse("DE:AD:BE:EF:0A:FF") == MacAddress{{0xde, 0xad, 0xbe, 0xef, 0x0a, 0xff}});
  CHECK_FALSE(MacAddress::parse("02:00:00:00:00"));
  CHECK_FALSE(MacAddress::parse("02-00-00-00-00-01"));
  CHECK_FALSE(MacAddress::parse("02:00:00:00:00:0g"));
  CHECK(mac < MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}});
}

TEST_CASE("Ipv4Address: strict dotted quad") {
  const auto a = Ipv4Address::from_octets(10, 0, 0, 1);
  CHECK(a.value == 0x0a000001U);
  CHECK(to_string(a) == "10.0.0.1");
  CHECK(to_string(Ipv4Address{0xffffffffU}) == "255.255.255.255");
  CHECK(to_string(Ipv4Address{}) == "0.0.0.0");
  CHECK(Ipv4Address::parse("10.0.0.1") == a);
  CHECK(Ipv4Address::parse("0.0.0.0") == Ipv4Address{});
  CHECK(Ipv4Address::parse("255.255.255.255") == Ipv4Address{0xffffffffU});
  for (const char* bad : {"", "10.0.0", "10.0.0.1.", "10.0.0.1.2", "256.0.0.1", "10.0.0.01", "010.0.0.1",
                          "1000.0.0.1", " 10.0.0.1", "10.0.0.1 ", "10..0.1", "+1.0.0.1", "10.0.0.-1", "a.b.c.d",
                          "10.0.0.1/24"}) {
    CAPTURE(bad);
    CHECK_FALSE(Ipv4Address::parse(bad));
  }
  CHECK(Ipv4Address::from_octets(10, 0, 0, 1) < Ipv4Address::from_octets(10, 0, 0, 2));
  static_assert(Ipv4Address::parse("192.168.1.254")->octet(3) == 254);
}

TEST_CASE("SeqNumber wraps and compares within 2^31") {
  const SeqNumber before{0xFFFFFF00U};
  const SeqNumber after{0x00000100U};
  CHECK(before < after);
  CHECK(before <= after);
  CHECK(after > before);
  CHECK(after >= before);
  CHECK_FALSE(after < before);
  CHECK(after - before == 0x200);
  CHECK(before - after == -0x200);
  CHECK(before + 0x200 == after);
  CHECK(before + 0x200U == after);
  CHECK(after - 0x200 == before);
  CHECK(after + (-0x200) == before);
  CHECK(before + std::size_t{0x200} == after);
  CHECK((SeqNumber{0xFFFFFFFFU} + 1).raw() == 0);
  CHECK(seq_max(before, after) == after);
  CHECK(seq_min(before, after) == before);
  CHECK(seq_max(after, before) == after);
  SeqNumber s{10};
  s += 5;
  s -= 20;
  CHECK(s.raw() == 0xFFFFFFFBU);
  // Just under 2^31 apart still orders; exactly 2^31 apart both directions say "less".
  const SeqNumber zero{0};
  CHECK(zero < SeqNumber{0x7FFFFFFFU});
  CHECK(SeqNumber{0x80000000U} - zero == std::numeric_limits<std::int32_t>::min());
  CHECK(zero < SeqNumber{0x80000000U});
  CHECK(SeqNumber{0x80000000U} < zero);
  static_assert(SeqNumber{1} < SeqNumber{2});
}

}  // namespace
