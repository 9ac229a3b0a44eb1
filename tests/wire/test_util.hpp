// Small helpers shared by the wire tests (test-only; not part of the API).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tcpmig/wire/format.hpp"

namespace tcpmig::wire::test {

/// splitmix64 (Steele, Lea, Flood 2014): a tiny seeded generator so that the
/// randomized tests are the same on every run and every compiler.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  /// Next 64 random bits.
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform-enough integer in [0, n) (n > 0; modulo bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

/// A mutable copy of some bytes.
inline std::vector<std::uint8_t> copy_of(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

/// append_summary into a fresh string.
inline std::string summary_of(std::span<const std::uint8_t> frame) {
  std::string s;
  append_summary(s, frame);
  return s;
}

}  // namespace tcpmig::wire::test
