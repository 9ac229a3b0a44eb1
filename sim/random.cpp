// Rng: seeding, stream derivation and the floating-point distributions.
// See include/tcpmig/sim/random.hpp for the rules these follow.
#include "tcpmig/sim/random.hpp"

#include <cmath>

namespace tcpmig::sim {

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& word : s_) word = splitmix64(state);
}

Rng Rng::derive(uint64_t seed, std::string_view name) {
  uint64_t s = seed;
  uint64_t k = splitmix64(s) ^ fnv1a64(name);
  return Rng(splitmix64(k));
}

double Rng::exponential(double mean) {
  // 1 - u is in (0, 1], so the log is finite.
  return -mean * std::log(1.0 - uniform01());
}

double Rng::normal(double mean, double stddev) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = 1.0 - uniform01();  // (0, 1]
  const double u2 = uniform01();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

Duration Rng::exponential_duration(Duration mean) {
  const double ns = exponential(static_cast<double>(mean.ns()));
  // 2^63 as a double; anything at or above it saturates.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(ns < kLimit)) return Duration::max();
  return Duration::nanoseconds(std::llround(ns));
}

}  // namespace tcpmig::sim
