// Seeded random streams: splitmix64 seeding xoshiro256**, and the distributions
// the models use, written here so every standard library gives the same values.
//
// Place in the layers: sim engine (std only). Each purpose (a link's loss, a
// host's ISN, ...) draws from its own stream `Rng::derive(seed, "stable name")`,
// usually through `Simulator::rng(name)`.
//
// Rules (DESIGN.md section 3):
//   * No standard-library distribution, random device, C library generator
//     or clock anywhere: every draw comes from this file.
//   * Integer results (next_u64, below, uniform_int, bernoulli_ppm,
//     uniform_duration) are exact and identical on every platform.
//   * Floating-point results depend only on IEEE-754 double arithmetic
//     (round-to-nearest, no -ffast-math) and on glibc's log, sqrt and cos
//     (exponential, normal, exponential_duration). They never decide event order
//     unless a model rounds them to integer nanoseconds first.
//   * Every call advances the stream by a documented number of outputs:
//     one per call, except `below` / `uniform_int` which may reject and draw
//     again (rarely), and `normal` which uses two.
#pragma once

#include <cassert>
#include <cstdint>
#include <string_view>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::sim {

/// splitmix64 (Steele, Lea, Flood 2014): advances `state` by the golden-ratio
/// increment and returns the mixed value. Used to seed and to derive streams.
constexpr uint64_t splitmix64(uint64_t& state) {
  state += 0x9e37'79b9'7f4a'7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
  return z ^ (z >> 31);
}

/// FNV-1a, 64-bit: the stable hash of a stream name.
constexpr uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf2'9ce4'8422'2325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x0000'0100'0000'01b3ULL;
  }
  return h;
}

/// xoshiro256** (Blackman, Vigna 2018) with the distributions of the simulator.
class Rng {
 public:
  /// The stream whose four state words are four successive splitmix64 outputs
  /// starting from state `seed`.
  explicit Rng(uint64_t seed);

  /// An independent stream per (seed, name):
  ///   uint64_t s = seed;
  ///   uint64_t k = splitmix64(s) ^ fnv1a64(name);
  ///   return Rng(splitmix64(k));
  /// Equal (seed, name) give equal streams; different names (or seeds) give
  /// unrelated streams, barring 64-bit hash collisions.
  static Rng derive(uint64_t seed, std::string_view name);

  /// The next 64 random bits.
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, n), n > 0, unbiased (Lemire's multiply-shift with rejection).
  uint64_t below(uint64_t n) {
    assert(n > 0 && "tcpmig::sim::Rng::below: n must be positive");
    __extension__ typedef unsigned __int128 u128;
    u128 m = static_cast<u128>(next_u64()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
      while (low < threshold) {
        m = static_cast<u128>(next_u64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  /// Uniform in [lo, hi], inclusive, lo <= hi.
  int64_t uniform_int(int64_t lo, int64_t hi) {
    assert(lo <= hi && "tcpmig::sim::Rng::uniform_int: lo > hi");
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    const uint64_t r = span == ~uint64_t{0} ? next_u64() : below(span + 1);
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + r);
  }

  /// Uniform in [0, 1): the top 53 bits of one output, times 2^-53.
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  /// a + (b - a) * uniform01(): in [a, b) up to rounding.
  double uniform_real(double a, double b) { return a + (b - a) * uniform01(); }

  /// True with probability p (uniform01() < p; p <= 0 never, p >= 1 always).
  bool bernoulli(double p) { return uniform01() < p; }

  /// True with probability ppm / 1'000'000, integers only (>= 1'000'000: always).
  bool bernoulli_ppm(uint32_t parts_per_million) { return below(1'000'000) < parts_per_million; }

  /// Exponential with the given mean: -mean * log(1 - uniform01()).
  double exponential(double mean);

  /// Normal by Box-Muller (cosine branch; the sine value is not kept, so the
  /// stream carries no hidden state): mean + stddev * sqrt(-2 log(1 - u1)) * cos(2 pi u2).
  double normal(double mean, double stddev);

  /// Uniform integer nanoseconds in [lo, hi], inclusive.
  Duration uniform_duration(Duration lo, Duration hi) {
    return Duration::nanoseconds(uniform_int(lo.ns(), hi.ns()));
  }

  /// exponential(mean in ns) rounded to the nearest nanosecond (halves away
  /// from zero), saturated at Duration::max().
  Duration exponential_duration(Duration mean);

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];  // xoshiro256** state, never all zero
};

}  // namespace tcpmig::sim
