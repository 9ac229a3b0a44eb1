// Summary statistics of one metric at one grid point, and the decimal text
// they are written as.
//
// Place in the layers: tools/sweep (std only).
// Rules:
// - Computed from the values in run order with IEEE double arithmetic only
//   (+ - * / sqrt; no library transcendental), so gcc and clang builds give
//   the same bits and the same text.
// - stddev: sample standard deviation (n - 1); median: the middle value, or
//   the mean of the two middle ones; p95: linear interpolation between the
//   closest ranks (h = (n - 1) * 0.95, as R's type 7 and numpy's default);
//   95% confidence interval of the mean: mean -/+ t(0.975, n - 1) * s / sqrt(n),
//   Student's t from a table for n - 1 <= 30 and the Cornish-Fisher series
//   beyond (off by under 1e-5). stddev and the interval need n >= 2.
// - Text: fixed notation, at most 6 decimals, trailing zeros dropped
//   ("12.5", "0", "-3.25"); never exponents, never locale.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace tcpmig::sweep {

struct Stats {
  std::size_t count = 0;
  double mean = 0, min = 0, median = 0, p95 = 0, max = 0;
  std::optional<double> stddev, ci95_low, ci95_high;  ///< n >= 2
};

/// Statistics of `values` (count 0 when empty).
Stats summarize(std::span<const double> values);

/// Student's t quantile t(0.975, df), df >= 1.
double t975(std::size_t df);

/// `v` as text (see the rules).
std::string format_number(double v);

}  // namespace tcpmig::sweep
