// Value syntax of scenario attributes (see include/tcpmig/scenario/units.hpp).
#include "tcpmig/scenario/units.hpp"

#include <array>
#include <limits>

#include "tcpmig/sim/decimal.hpp"

namespace tcpmig::scenario {

namespace {

__extension__ using u128 = unsigned __int128;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

uint64_t pow10(int e) {
  uint64_t p = 1;
  for (int i = 0; i < e; ++i) p *= 10;
  return p;
}

/// mantissa * unit / 10^frac_digits when it is a whole number not above `max`.
std::optional<uint64_t> scale_exact(const sim::Decimal& d, uint64_t unit, uint64_t max) {
  const u128 product = static_cast<u128>(d.mantissa) * unit;
  const u128 divisor = pow10(d.frac_digits);
  if (product % divisor != 0) return std::nullopt;
  const u128 value = product / divisor;
  if (value > max) return std::nullopt;
  return static_cast<uint64_t>(value);
}

struct Unit {
  std::string_view name;  // suffix as written
  uint64_t factor;        // value of one unit
};

std::optional<uint64_t> parse_with_units(std::string_view text, std::span<const Unit> units, uint64_t max,
                                         bool unit_required) {
  const auto d = sim::parse_decimal(text);
  if (!d) return std::nullopt;
  const std::string_view suffix = text.substr(d->end);
  if (suffix.empty()) {
    if (unit_required || d->frac_digits != 0) return std::nullopt;
    return scale_exact(*d, 1, max);
  }
  for (const Unit& u : units) {
    if (suffix == u.name) return scale_exact(*d, u.factor, max);
  }
  return std::nullopt;
}

}  // namespace

std::optional<sim::Duration> parse_duration(std::string_view text) {
  if (text.empty() || !is_digit(text.front())) return std::nullopt;  // no sign, no bare unit
  const auto d = sim::parse_duration(text);
  if (!d || *d < sim::Duration::zero() || *d > kMaxDuration) return std::nullopt;
  return d;
}

std::optional<tcp::AppLatency> parse_app_latency(std::string_view text) {
  tcp::AppLatency l;
  if (text == "none") return l;
  if (text.substr(0, 8) == "uniform:") {
    const std::string_view rest = text.substr(8);
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto lo = parse_duration(rest.substr(0, colon));
    const auto hi = parse_duration(rest.substr(colon + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    l.kind = *hi == sim::Duration::zero() ? tcp::AppLatency::Kind::None : tcp::AppLatency::Kind::Uniform;
    l.lo = *lo;
    l.hi = *hi;
    return l;
  }
  if (text.substr(0, 6) == "table:") {
    l.kind = tcp::AppLatency::Kind::Table;
    std::vector<std::pair<uint32_t, sim::Duration>> table;
    std::string_view rest = text.substr(6);
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos || table.size() == 1000) return std::nullopt;
      const auto p = parse_probability(item.substr(0, eq));
      const auto d = parse_duration(item.substr(eq + 1));
      if (!p || !d) return std::nullopt;
      const auto ppm = static_cast<uint32_t>(*p * 1e6 + 0.5);
      if (!table.empty() && (ppm <= table.back().first || *d < table.back().second)) return std::nullopt;
      table.emplace_back(ppm, *d);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (table.size() < 2 || table.front().first != 0 || table.back().first != 1'000'000) return std::nullopt;
    if (table.back().second == sim::Duration::zero()) l.kind = tcp::AppLatency::Kind::None;  // all zero
    l.table = std::make_shared<const std::vector<std::pair<uint32_t, sim::Duration>>>(std::move(table));
    return l;
  }
  const auto d = parse_duration(text);
  if (!d) return std::nullopt;
  l.kind = *d == sim::Duration::zero() ? tcp::AppLatency::Kind::None : tcp::AppLatency::Kind::Fixed;
  l.fixed = *d;
  return l;
}

std::optional<uint64_t> parse_rate(std::string_view text) {
  if (text == "infinite") return uint64_t{0};
  static constexpr std::array<Unit, 4> kUnits{{
      {"bps", 1},
      {"kbps", 1'000},
      {"Mbps", 1'000'000},
      {"Gbps", 1'000'000'000},
  }};
  const auto r = parse_with_units(text, kUnits, kMaxRate, true);
  if (!r || *r == 0) return std::nullopt;
  return r;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  static constexpr std::array<Unit, 10> kUnits{{
      {"B", 1},
      {"kB", 1'000},
      {"KB", 1'000},
      {"MB", 1'000'000},
      {"GB", 1'000'000'000},
      {"TB", 1'000'000'000'000},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
  }};
  return parse_with_units(text, kUnits, kMaxSize, false);
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::optional<double> parse_probability(std::string_view text) {
  bool percent = false;
  if (!text.empty() && text.back() == '%') {
    percent = true;
    text.remove_suffix(1);
  }
  const auto d = sim::parse_decimal(text);
  if (!d || d->end != text.size() || d->frac_digits > 18) return std::nullopt;
  // value = mantissa / 10^frac (/ 100 for a percentage); compare exactly first.
  const int frac = d->frac_digits + (percent ? 2 : 0);
  const u128 one = pow10(frac);
  if (static_cast<u128>(d->mantissa) > one) return std::nullopt;
  return static_cast<double>(d->mantissa) / static_cast<double>(pow10(frac));
}

const char* address_problem(wire::Ipv4Address ip) {
  const uint32_t a = ip.value;
  if (a == 0) return "is the unspecified address 0.0.0.0";
  if ((a >> 24) == 127) return "is a loopback address (127.0.0.0/8)";
  if ((a >> 28) == 0xe) return "is a multicast address (224.0.0.0/4)";
  if ((a >> 28) == 0xf) return "is a reserved or broadcast address (240.0.0.0/4)";
  return nullptr;
}

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<core::Endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto ip = wire::Ipv4Address::parse(text.substr(0, colon));
  const auto port = parse_uint(text.substr(colon + 1), 65535);
  if (!ip || !port || *port == 0) return std::nullopt;
  return core::Endpoint{*ip, static_cast<uint16_t>(*port)};
}

bool valid_name(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength || text == "." || text == "..") return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '.' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

void Fnv1a::update(std::span<const uint8_t> bytes) {
  uint64_t h = h_;
  for (const uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;  // FNV-1a 64-bit prime
  }
  h_ = h;
}

void Fnv1a::update(std::string_view text) {
  update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string hex16(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

}  // namespace tcpmig::scenario
