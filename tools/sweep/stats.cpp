// Summary statistics (see stats.hpp).
#include "stats.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <vector>

namespace tcpmig::sweep {

double t975(std::size_t df) {
  static constexpr std::array<double, 30> kTable{
      12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
      2.200985,  2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
      2.079614,  2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (df == 0) return 0;
  if (df <= kTable.size()) return kTable[df - 1];
  // Cornish-Fisher expansion of t around the normal quantile z.
  const double z = 1.959963984540054;
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;
  const double v = static_cast<double>(df);
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

Stats summarize(std::span<const double> values) {
  Stats s;
  s.count = values.size();
  if (values.empty()) return s;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (const double v : values) sum += v;
  const double n = static_cast<double>(values.size());
  s.mean = sum / n;
  s.min = sorted.front();
  s.max = sorted.back();
  const std::size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const double h = (n - 1) * 0.95;
  const auto lo = static_cast<std::size_t>(h);
  const double frac = h - static_cast<double>(lo);
  s.p95 = lo + 1 < sorted.size() ? sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
  if (values.size() >= 2) {
    double ss = 0;
    for (const double v : values) ss += (v - s.mean) * (v - s.mean);
    const double sd = std::sqrt(ss / (n - 1));
    const double half = t975(values.size() - 1) * sd / std::sqrt(n);
    s.stddev = sd;
    s.ci95_low = s.mean - half;
    s.ci95_high = s.mean + half;
  }
  return s;
}

std::string format_number(double v) {
  std::array<char, 400> buf{};  // room for any double in fixed notation
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 6);
  if (ec != std::errc()) return "nan";
  std::string s(buf.data(), end);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace tcpmig::sweep
