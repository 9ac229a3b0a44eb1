// --vary specs and the grid (see spec.hpp).
#include "spec.hpp"

#include <array>
#include <limits>

#include "tcpmig/sim/decimal.hpp"

namespace tcpmig::sweep {

namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;  // in the kind's smallest unit
  int kind;         // units of one kind may be mixed in a range
};

constexpr std::array<Unit, 18> kUnits{{
    {"ns", 1, 0},
    {"us", 1'000, 0},
    {"ms", 1'000'000, 0},
    {"s", 1'000'000'000, 0},
    {"bps", 1, 1},
    {"kbps", 1'000, 1},
    {"Mbps", 1'000'000, 1},
    {"Gbps", 1'000'000'000, 1},
    {"B", 1, 2},
    {"kB", 1'000, 2},
    {"KB", 1'000, 2},
    {"MB", 1'000'000, 2},
    {"GB", 1'000'000'000, 2},
    {"KiB", uint64_t{1} << 10, 2},
    {"MiB", uint64_t{1} << 20, 2},
    {"GiB", uint64_t{1} << 30, 2},
    {"%", 1, 3},
    {"", 1, 4},  // a plain number
}};
constexpr std::string_view kKindNames[] = {"a duration", "a rate", "a size", "a percentage", "a plain number"};

/// One part of a range: a decimal number and its unit.
struct Part {
  sim::Decimal d;
  const Unit* unit = nullptr;
};

std::optional<Part> parse_part(std::string_view text) {
  const auto d = sim::parse_decimal(text);
  if (!d) return std::nullopt;
  const std::string_view suffix = text.substr(d->end);
  for (const Unit& u : kUnits) {
    if (suffix == u.name) return Part{*d, &u};
  }
  return std::nullopt;
}

bool mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

uint64_t pow10(int n) {
  uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

/// `v` quanta of 10^-frac `unit`, as text: "2.5ms".
std::string format_value(uint64_t v, int frac, std::string_view unit) {
  std::string digits = std::to_string(v);
  if (frac > 0) {
    if (digits.size() <= static_cast<std::size_t>(frac)) digits.insert(0, static_cast<std::size_t>(frac) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<std::size_t>(frac), 1, '.');
    while (digits.back() == '0') digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
  }
  return digits + std::string(unit);
}

std::optional<std::vector<std::string>> expand_range(std::string_view spec, std::size_t c1, std::size_t c2,
                                                     std::string& error) {
  const std::string_view texts[3] = {spec.substr(0, c1), spec.substr(c1 + 1, c2 - c1 - 1), spec.substr(c2 + 1)};
  constexpr std::string_view kRole[3] = {"start", "stop", "step"};
  Part parts[3];
  for (int i = 0; i < 3; ++i) {
    const auto p = parse_part(texts[i]);
    if (!p) {
      error = "range " + std::string(kRole[i]) + " '" + std::string(texts[i]) +
              "' is not a number with a unit; expected e.g. 0ms:2s:100ms, 0%:5%:0.5%, 1:10:1 (units: ns us ms s, "
              "bps kbps Mbps Gbps, B kB KB MB GB KiB MiB GiB, %)";
      return std::nullopt;
    }
    parts[i] = *p;
  }
  if (parts[0].unit->kind != parts[1].unit->kind || parts[0].unit->kind != parts[2].unit->kind) {
    error = "range '" + std::string(spec) + "' mixes " + std::string(kKindNames[parts[0].unit->kind]) + ", " +
            std::string(kKindNames[parts[1].unit->kind]) + " and " + std::string(kKindNames[parts[2].unit->kind]) +
            "; expected start, stop and step of one kind";
    return std::nullopt;
  }
  // The finest unit written, and the most fraction digits: every part is an
  // integer number of quanta (10^-frac of that unit).
  const Unit* fine = parts[0].unit;
  int frac = 0;
  for (const Part& p : parts) {
    if (p.unit->factor < fine->factor) fine = p.unit;
  }
  uint64_t q[3];
  for (const Part& p : parts) frac = std::max(frac, p.d.frac_digits);
  bool ok = frac <= 18;
  for (int i = 0; ok && i < 3; ++i) {
    // factor / fine->factor is whole within a kind, except KB-family against
    // KiB: then the finest is B (factor 1) or the ratio is refused below.
    const uint64_t ratio = parts[i].unit->factor / fine->factor;
    ok = parts[i].unit->factor % fine->factor == 0 && mul(parts[i].d.mantissa, ratio, q[i]) &&
         mul(q[i], pow10(frac - parts[i].d.frac_digits), q[i]);
  }
  if (!ok) {
    error = "range '" + std::string(spec) + "' cannot be counted exactly in " +
            (fine->name.empty() ? std::string("its numbers") : std::string(fine->name)) +
            "; expected parts that are whole multiples of the finest unit, with at most 18 decimals";
    return std::nullopt;
  }
  if (q[2] == 0) {
    error = "range '" + std::string(spec) + "' has step 0; expected a step above 0";
    return std::nullopt;
  }
  if (q[0] > q[1]) {
    error = "range '" + std::string(spec) + "' starts after it stops; expected start <= stop";
    return std::nullopt;
  }
  const uint64_t steps = (q[1] - q[0]) / q[2];  // count - 1: no overflow at 2^64 values
  if (steps >= kMaxValues) {
    error = "range '" + std::string(spec) + "' has more than " + std::to_string(kMaxValues) +
            " values; expected at most that many";
    return std::nullopt;
  }
  const uint64_t count = steps + 1;
  std::vector<std::string> values;
  values.reserve(count);
  for (uint64_t i = 0; i < count; ++i) values.push_back(format_value(q[0] + i * q[2], frac, fine->name));
  return values;
}

}  // namespace

std::optional<std::vector<std::string>> expand_spec(std::string_view spec, std::string& error) {
  if (spec.empty()) {
    error = "the spec is empty; expected a list a,b,c or a range start:stop:step";
    return std::nullopt;
  }
  const std::size_t c1 = spec.find(':');
  const std::size_t c2 = c1 == std::string_view::npos ? c1 : spec.find(':', c1 + 1);
  const bool range = spec.find(',') == std::string_view::npos && c2 != std::string_view::npos &&
                     spec.find(':', c2 + 1) == std::string_view::npos;
  if (range) return expand_range(spec, c1, c2, error);
  return split_list(spec, error);
}

std::optional<std::vector<std::string>> split_list(std::string_view list, std::string& error) {
  std::vector<std::string> values;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = list.find(',', begin);
    const std::string_view item = list.substr(begin, end == std::string_view::npos ? list.size() - begin : end - begin);
    if (item.empty()) {
      error = "the list '" + std::string(list) + "' has an empty value; expected values separated by single commas";
      return std::nullopt;
    }
    if (values.size() == kMaxValues) {
      error = "the list has more than " + std::to_string(kMaxValues) + " values; expected at most that many";
      return std::nullopt;
    }
    values.emplace_back(item);
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return values;
}

std::optional<Vary> parse_vary(std::string_view arg, std::string& error) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    error = "--vary '" + std::string(arg) + "': no parameter name; expected NAME=SPEC, e.g. loss=0%:2%:0.5%";
    return std::nullopt;
  }
  Vary v{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)), {}};
  std::string why;
  auto values = expand_spec(v.spec, why);
  if (!values) {
    error = "--vary " + std::string(arg) + ": " + why;
    return std::nullopt;
  }
  v.values = std::move(*values);
  return v;
}

uint64_t Grid::points() const {
  uint64_t n = 1;
  for (const Vary& v : varies_) n *= v.values.size();
  return n;
}

std::vector<std::size_t> Grid::coordinates(uint64_t point) const {
  std::vector<std::size_t> c(varies_.size());
  for (std::size_t i = varies_.size(); i-- > 0;) {
    c[i] = static_cast<std::size_t>(point % varies_[i].values.size());
    point /= varies_[i].values.size();
  }
  return c;
}

std::vector<std::string> Grid::values(uint64_t point) const {
  const std::vector<std::size_t> c = coordinates(point);
  std::vector<std::string> out;
  out.reserve(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) out.push_back(varies_[i].values[c[i]]);
  return out;
}

std::optional<Shard> parse_shard(std::string_view text, std::string& error) {
  const std::size_t slash = text.find('/');
  const auto num = [](std::string_view t) -> std::optional<uint64_t> {
    const auto d = sim::parse_decimal(t);
    if (!d || d->end != t.size() || d->frac_digits != 0 || d->mantissa > kMaxRuns) return std::nullopt;
    return d->mantissa;
  };
  const auto k = slash == std::string_view::npos ? std::nullopt : num(text.substr(0, slash));
  const auto n = slash == std::string_view::npos ? std::nullopt : num(text.substr(slash + 1));
  if (!k || !n || *k == 0 || *k > *n) {
    error = "--shard '" + std::string(text) + "'; expected K/N with 1 <= K <= N, e.g. 2/8";
    return std::nullopt;
  }
  return Shard{*k, *n};
}

}  // namespace tcpmig::sweep
