// The pcap and text-trace writers: exact bytes and lines, and failures reported.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tcpmig/sim/pcap.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/wire/frame.hpp"

using namespace tcpmig;

namespace {

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t host32(const std::vector<uint8_t>& b, std::size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

std::vector<uint8_t> udp_frame() {
  std::array<uint8_t, 128> buf{};
  wire::Ipv4Repr ip{};
  ip.src = *wire::Ipv4Address::parse("10.0.0.1");
  ip.dst = *wire::Ipv4Address::parse("10.0.0.2");
  ip.protocol = wire::ip_proto::udp;
  const uint8_t payload[3] = {'a', 'b', 'c'};
  const auto len = wire::emit_udp_frame(buf, wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, ip,
                                        wire::UdpRepr{5000, 6000, payload});
  REQUIRE(len.ok());
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*len)};
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

}  // namespace

TEST_CASE("pcap: nanosecond magic, version 2.4, Ethernet link type, exact record headers") {
  const std::string path = temp_path("tcpmig-output-test.pcap");
  const auto frame = udp_frame();
  {
    sim::PcapWriter w;
    std::string error;
    REQUIRE(w.open(path, error));
    w.write(sim::Time::from_ns(1'500'000'123), frame);
    w.write(sim::Time::from_ns(2'000'000'000), frame);
    CHECK(w.records() == 2);
  }  // the destructor flushes and closes
  const auto b = slurp(path);
  REQUIRE(b.size() == 24 + 2 * (16 + frame.size()));
  CHECK(host32(b, 0) == 0xa1b23c4d);
  CHECK(b[4] + (b[5] << 8) == 2);  // version major (little-endian host)
  CHECK(b[6] + (b[7] << 8) == 4);
  CHECK(host32(b, 16) == 65535);   // snaplen
  CHECK(host32(b, 20) == 1);       // LINKTYPE_ETHERNET
  CHECK(host32(b, 24) == 1);           // ts_sec
  CHECK(host32(b, 28) == 500'000'123);  // ts_nsec
  CHECK(host32(b, 32) == frame.size());
  CHECK(host32(b, 36) == frame.size());
  CHECK(std::memcmp(b.data() + 40, frame.data(), frame.size()) == 0);
  CHECK(host32(b, 40 + frame.size()) == 2);
  CHECK(host32(b, 44 + frame.size()) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("pcap: the file holds whole records before close") {
  const std::string path = temp_path("tcpmig-output-partial.pcap");
  sim::PcapWriter w;
  std::string error;
  REQUIRE(w.open(path, error));
  const auto frame = udp_frame();
  for (int i = 0; i < 2000; ++i) w.write(sim::Time::from_ns(i), frame);  // > one buffer
  const auto size = slurp(path).size();
  CHECK(size > 24);
  CHECK((size - 24) % (16 + frame.size()) == 0);
  w.close();
  CHECK(slurp(path).size() == 24 + 2000 * (16 + frame.size()));
  std::filesystem::remove(path);
}

TEST_CASE("pcap and trace: an unwritable path or a failed write is reported") {
  sim::PcapWriter w;
  std::string error;
  CHECK_FALSE(w.open("/nonexistent-dir/x.pcap", error));
  CHECK(error.find("/nonexistent-dir/x.pcap: ") == 0);
  if (std::filesystem::exists("/dev/full")) {
    REQUIRE(w.open("/dev/full", error));
    w.write(sim::Time::zero(), udp_frame());
    w.close();
    CHECK_FALSE(w.ok());
    sim::TraceWriter t;
    REQUIRE(t.open("/dev/full", error));
    t.packet(sim::Time::zero(), "n", "eth0", sim::TraceEvent::Tx, {}, udp_frame());
    t.close();
    CHECK_FALSE(t.ok());
  }
}

TEST_CASE("trace: one line per event in the documented format") {
  sim::TraceWriter t;
  t.capture_to_string();
  const auto frame = udp_frame();
  t.packet(sim::Time::from_ns(1'234'567), "client", "eth0", sim::TraceEvent::Tx, {}, frame);
  t.packet(sim::Time::from_ns(2'000'000'001), "gw", "eth1", sim::TraceEvent::Rx, {}, frame);
  t.packet(sim::Time::from_ns(3), "gw", "eth1", sim::TraceEvent::Drop, "queue-full", frame);
  CHECK(t.text() ==
        "0.001234567 client eth0 tx 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 3\n"
        "2.000000001 gw eth1 rx 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 3\n"
        "0.000000003 gw eth1 drop:queue-full 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 3\n");
  CHECK(t.lines() == 3);
}
