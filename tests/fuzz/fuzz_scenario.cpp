// libFuzzer target for the scenario loader: arbitrary bytes as a scenario
// file, loaded from memory (never run, nothing written). Every input must
// either load or produce one error line of the documented form
// "fuzz.xml[:LINE:COLUMN]: error: ...; expected ..." (__builtin_trap() if not).
//
// Build: cmake -DCMAKE_CXX_COMPILER=clang++ -DTCPMIG_FUZZ=ON, target fuzz_scenario.
// Run:   cp -r tests/fuzz/corpus/scenario /tmp/corpus && ./fuzz_scenario -max_total_time=60 /tmp/corpus
// Seeds: tests/fuzz/corpus/scenario/*.xml (small valid and invalid scenarios).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcpmig/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

/// Stops the fuzzer with a crash report when an invariant fails.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // One override, so the --set path is exercised too (it may name nothing).
  const std::vector<tcpmig::scenario::Override> overrides{{"loss", "0.5"}};
  const auto r = tcpmig::scenario::load_scenario(text, "fuzz.xml", size % 2 == 0 ? overrides : decltype(overrides){});
  require(r.ok() != r.error.has_value());
  if (r.error) {
    const std::string line = r.error->text();
    require(line.rfind("fuzz.xml", 0) == 0);
    require(line.find(": error: ") != std::string::npos);
    require(line.find("; expected ") != std::string::npos);
    require(line.find('\n') == std::string::npos);
    require(r.error->pos.line == 0 || r.error->pos.column >= 1);
  } else {
    const auto& s = *r.scenario;
    require(!s.name.empty());
    require(!s.nodes.empty());
    for (const auto& m : s.migrations) require(s.find_node(m.gateway) != nullptr);
    for (const auto& a : s.apps) require(s.find_node(a.node) != nullptr);
  }
  return 0;
}
