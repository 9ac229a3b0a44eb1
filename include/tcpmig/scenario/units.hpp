// Value syntax of scenario attributes: durations, rates, sizes, booleans,
// probabilities, integers, endpoints and names.
//
// Place in the layers: scenario loading (tools/scenario), on the sim engine
// and the wire layer. Pure functions of their text; no locale, no floating-
// point parsing from the C library.
// Rules (scenarios/README.md says the same for users):
// - Every parser accepts the whole text or nothing (nullopt): no leading or
//   trailing spaces, no signs.
// - Durations: a decimal number and a unit, ns | us | ms | s ("250ms",
//   "1.5s"); exact in nanoseconds, never negative, at most kMaxDuration.
//   A bare number is rejected (the unit is never implied).
// - Rates: a decimal number and a unit, bps | kbps | Mbps | Gbps (SI,
//   "1.5Gbps"), exact in bit/s, positive, at most kMaxRate; "infinite" means
//   no serialization delay (0 in net::LinkParams).
// - Sizes: bytes as a plain integer or a decimal number with a unit,
//   B | kB | KB | MB | GB | TB (powers of 1000) or KiB | MiB | GiB | TiB
//   (powers of 1024); exact in bytes, at most kMaxSize.
// - Booleans: "true" or "false" only.
// - Probabilities: a decimal number in [0, 1] ("0.02") or a percentage in
//   [0%, 100%] ("2%"), at most 18 significant digits.
// - Names (nodes, scenarios, migrations, parameters): [A-Za-z0-9_.-]+, at
//   most 64 characters, and not "." or "..", because names become file and
//   folder names (out/<scenario>, <node>-<iface>.pcap).
// - Addresses of hosts and of connection ends are unicast: not 0.0.0.0,
//   127.0.0.0/8, 224.0.0.0/4 (multicast) or 240.0.0.0/4 (reserved, with
//   255.255.255.255).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/sim/time.hpp"
#include "tcpmig/tcp/config.hpp"

namespace tcpmig::scenario {

/// Longest duration a scenario may give (10^6 s, about 11.6 days): sums of a
/// few of them stay far from int64 overflow.
inline constexpr sim::Duration kMaxDuration = sim::Duration::seconds(1'000'000);
/// Fastest link rate a scenario may give (10 Tbit/s).
inline constexpr uint64_t kMaxRate = 10'000'000'000'000ULL;
/// Largest size a scenario may give (2^50 bytes, 1 PiB).
inline constexpr uint64_t kMaxSize = uint64_t{1} << 50;
/// Longest name.
inline constexpr std::size_t kMaxNameLength = 64;

/// A non-negative duration with a unit ("250ms"), at most kMaxDuration.
std::optional<sim::Duration> parse_duration(std::string_view text);
/// A link rate in bit/s ("100Mbps"); "infinite" gives 0 (no serialization delay).
std::optional<uint64_t> parse_rate(std::string_view text);
/// A size in bytes ("1500", "10MB", "64KiB"), at most kMaxSize.
std::optional<uint64_t> parse_size(std::string_view text);
/// "true" or "false".
std::optional<bool> parse_bool(std::string_view text);
/// A probability: "0.25" or "25%", in [0, 1].
std::optional<double> parse_probability(std::string_view text);
/// A decimal integer in [0, max] (digits only).
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max);
/// A host processing latency (<tcp app-latency>): "none"; a duration
/// ("300us", fixed); "uniform:LO:HI" (durations, LO <= HI); or
/// "table:P=D,P=D,..." (an empirical distribution: probabilities as for
/// parse_probability, the first 0, the last 1 (100%), increasing; latencies
/// not decreasing; at most 1000 points).
std::optional<tcp::AppLatency> parse_app_latency(std::string_view text);
/// "a.b.c.d:port" with port 1..65535.
std::optional<core::Endpoint> parse_endpoint(std::string_view text);
/// True for [A-Za-z0-9_.-]+ of at most kMaxNameLength characters, other than "." and "..".
bool valid_name(std::string_view text);
/// Why `ip` cannot be a host's address or a connection's end ("the
/// unspecified address 0.0.0.0", loopback, multicast, reserved or broadcast),
/// or nullptr when it can.
const char* address_problem(wire::Ipv4Address ip);

/// 64-bit FNV-1a hash, fed in pieces (the trace fingerprint).
class Fnv1a {
 public:
  /// Adds bytes to the hash.
  void update(std::span<const uint8_t> bytes);
  /// Adds the bytes of a string.
  void update(std::string_view text);
  /// The hash of everything added so far.
  [[nodiscard]] uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis
};

/// `v` as exactly 16 lower-case hex digits.
std::string hex16(uint64_t v);

}  // namespace tcpmig::scenario
