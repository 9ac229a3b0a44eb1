// What to vary in a sweep: `--vary NAME=SPEC` parsed into the list of values
// the parameter takes, and the grid those lists span.
//
// Place in the layers: tools/sweep (std only, on sim/decimal.hpp).
// Rules (README.md, "Sweeps", says the same for users):
// - SPEC is a list `a,b,c` (values as written, none empty) or a range
//   `start:stop:step` (exactly two ':' and no ','). A single value without
//   ',' and without exactly two ':' is a list of one (so `10.0.2.20:80` is a value).
// - A range's three parts are decimal numbers with units of one kind:
//   durations ns|us|ms|s, rates bps|kbps|Mbps|Gbps, sizes B|kB|KB|MB|GB|KiB|MiB|GiB,
//   percentages %, or plain numbers (all three without unit). Arithmetic is
//   exact (integers in the finest unit written); step > 0, start <= stop;
//   the values are start, start+step, ... up to and including stop when it
//   is reached. They are written in the finest unit used, trailing zeros
//   dropped: `0ms:2s:500ms` gives 0ms 500ms 1000ms 1500ms 2000ms;
//   `0%:1%:0.5%` gives 0% 0.5% 1%. At most kMaxValues values.
// - The grid is the product of every --vary in the order given, the first
//   one changing slowest; each point is run once per seed 1..seeds. Run
//   index = point * seeds + (seed - 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpmig::sweep {

/// Most values one --vary may produce.
inline constexpr std::size_t kMaxValues = 100'000;
/// Most runs one grid may have (points x seeds).
inline constexpr uint64_t kMaxRuns = 1'000'000'000;
/// Most runs one invocation (one shard) may run: its rows stay in memory
/// until the end (about half a KiB each).
inline constexpr uint64_t kMaxOwnedRuns = 10'000'000;

/// One --vary: a parameter and its values, as text for --set.
struct Vary {
  std::string name;                 ///< scenario <param> name
  std::string spec;                 ///< as given
  std::vector<std::string> values;  ///< in order
};

/// Parses `NAME=SPEC`; nullopt with `error` ("--vary loss=...: <what>; expected <what>").
std::optional<Vary> parse_vary(std::string_view arg, std::string& error);

/// The values of SPEC (a list or a range); nullopt with `error`.
std::optional<std::vector<std::string>> expand_spec(std::string_view spec, std::string& error);
/// `a,b,c` as written (no value empty, at most kMaxValues); nullopt with `error`.
std::optional<std::vector<std::string>> split_list(std::string_view list, std::string& error);

/// The product grid of several --vary.
class Grid {
 public:
  Grid(std::vector<Vary> varies, uint64_t seeds) : varies_(std::move(varies)), seeds_(seeds) {}
  [[nodiscard]] const std::vector<Vary>& varies() const { return varies_; }
  [[nodiscard]] uint64_t seeds() const { return seeds_; }
  /// Number of points (1 with no --vary).
  [[nodiscard]] uint64_t points() const;
  [[nodiscard]] uint64_t runs() const { return points() * seeds_; }
  /// The value index of each --vary at `point`.
  [[nodiscard]] std::vector<std::size_t> coordinates(uint64_t point) const;
  /// The values of each --vary at `point`.
  [[nodiscard]] std::vector<std::string> values(uint64_t point) const;

 private:
  std::vector<Vary> varies_;
  uint64_t seeds_;
};

/// `K/N` with 1 <= K <= N; nullopt with `error`.
struct Shard {
  uint64_t k = 1;  ///< this shard, 1-based
  uint64_t n = 1;  ///< shards in all
  /// Run `index` belongs to this shard (index mod n == k - 1: shards take turns, so each gets every kind of point).
  [[nodiscard]] bool owns(uint64_t index) const { return index % n == k - 1; }
};
std::optional<Shard> parse_shard(std::string_view text, std::string& error);

}  // namespace tcpmig::sweep
