// Loading scenarios (tools/scenario): a chain of N switches between two
// hosts, and N <param>s of which the last is used. Both must load in time
// linear in N (Google Benchmark fits the complexity: run with
// --benchmark_filter=ScenarioLoad). Before the name indexes and the
// union-find loop check, the chain was cubic and the parameters quadratic.
#include <benchmark/benchmark.h>

#include <string>

#include "tcpmig/scenario/scenario.hpp"

namespace {

std::string switch_chain(int64_t n) {
  std::string x = "<scenario name=\"chain\"><topology><host name=\"a\"/><host name=\"b\"/>\n";
  for (int64_t i = 0; i < n; ++i) x += "<switch name=\"s" + std::to_string(i) + "\"/>\n";
  x += "<link a=\"a\" a-addr=\"10.0.0.1/16\" b=\"s0\"/>\n";
  for (int64_t i = 0; i + 1 < n; ++i) {
    x += "<link a=\"s" + std::to_string(i) + "\" b=\"s" + std::to_string(i + 1) + "\"/>\n";
  }
  x += "<link a=\"s" + std::to_string(n - 1) + "\" b=\"b\" b-addr=\"10.0.0.2/16\"/>\n</topology></scenario>\n";
  return x;
}

std::string many_params(int64_t n) {
  std::string x = "<scenario name=\"params\">\n";
  for (int64_t i = 0; i < n; ++i) {
    x += "<param name=\"p" + std::to_string(i) + "\" default=\"" + std::to_string(i % 1000) + "\"/>\n";
  }
  x += "<topology><host name=\"a\"/><host name=\"b\"/><link a=\"a\" a-addr=\"10.0.0.1/24\" b=\"b\" "
       "b-addr=\"10.0.0.2/24\" delay=\"${p" + std::to_string(n - 1) + "}ms\"/></topology></scenario>\n";
  return x;
}

template <std::string (*Make)(int64_t)>
void load(benchmark::State& state) {
  const std::string text = Make(state.range(0));
  for (auto _ : state) {
    const auto r = tcpmig::scenario::load_scenario(text, "bench.xml");
    if (!r.ok()) {
      state.SkipWithError(r.error->text().c_str());
      break;
    }
    benchmark::DoNotOptimize(r.scenario->nodes.size());
  }
  state.SetComplexityN(state.range(0));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void ScenarioLoadSwitchChain(benchmark::State& state) { load<switch_chain>(state); }
void ScenarioLoadParams(benchmark::State& state) { load<many_params>(state); }

}  // namespace

BENCHMARK(ScenarioLoadSwitchChain)->RangeMultiplier(4)->Range(1000, 64000)->Complexity()->Unit(benchmark::kMillisecond);
BENCHMARK(ScenarioLoadParams)->RangeMultiplier(4)->Range(10000, 640000)->Complexity()->Unit(benchmark::kMillisecond);
