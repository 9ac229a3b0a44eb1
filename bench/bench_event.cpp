// Event engine benchmarks: the hold model of ns-3's utils/bench-scheduler.cc.
//
// A fixed population of N pending events; each firing schedules one successor
// at now + a seeded uniform delay of 1..1000 us (integer ns), so the queue stays
// at N. items_per_second = events run per wall second on one core.
//   EventHold/N        one-shot events (pooled slots holding a lambda)
//   EventHoldTimers/N  N model objects each re-arming its own Timer
// The population is built once per benchmark run, outside the timed loop; each
// iteration runs the simulation forward by enough simulated time for about
// 2^20 events, and the exact count is reported.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <deque>

#include "tcpmig/sim/simulator.hpp"

namespace {

using tcpmig::sim::Callback;
using tcpmig::sim::Duration;
using tcpmig::sim::Rng;
using tcpmig::sim::Simulator;
using tcpmig::sim::Timer;

constexpr Duration kMinDelay = Duration::microseconds(1);
constexpr Duration kMaxDelay = Duration::microseconds(1000);
constexpr int64_t kEventsPerIteration = int64_t{1} << 20;

// Simulated time in which a population of n runs about kEventsPerIteration
// events: each event recurs every (kMinDelay + kMaxDelay) / 2 on average.
Duration slice_for(int64_t n) {
  const Duration mean = (kMinDelay + kMaxDelay) / 2;
  return mean * kEventsPerIteration / n;
}

struct HoldEvent {
  Simulator* sim;
  Rng* rng;
  void operator()() const { sim->schedule_in(rng->uniform_duration(kMinDelay, kMaxDelay), *this); }
};

void BM_EventHold(benchmark::State& state) {
  const int64_t n = state.range(0);
  Simulator sim(42);
  Rng rng = sim.rng("bench.hold");
  for (int64_t i = 0; i < n; ++i) {
    sim.schedule_in(rng.uniform_duration(kMinDelay, kMaxDelay), HoldEvent{&sim, &rng});
  }
  const Duration slice = slice_for(n);
  const uint64_t before = sim.events_executed();
  for (auto _ : state) {
    sim.run_until(sim.now() + slice);
  }
  state.SetItemsProcessed(static_cast<int64_t>(sim.events_executed() - before));
}

class HoldNode {
 public:
  HoldNode(Simulator& sim, Rng& rng) : rng_(&rng), timer_(sim, Callback::bind<&HoldNode::fire>(this)) {
    timer_.schedule_in(rng.uniform_duration(kMinDelay, kMaxDelay));
  }

 private:
  void fire() { timer_.schedule_in(rng_->uniform_duration(kMinDelay, kMaxDelay)); }

  Rng* rng_;
  Timer timer_;
};

void BM_EventHoldTimers(benchmark::State& state) {
  const int64_t n = state.range(0);
  Simulator sim(42);
  Rng rng = sim.rng("bench.hold");
  std::deque<HoldNode> nodes;
  for (int64_t i = 0; i < n; ++i) nodes.emplace_back(sim, rng);
  const Duration slice = slice_for(n);
  const uint64_t before = sim.events_executed();
  for (auto _ : state) {
    sim.run_until(sim.now() + slice);
  }
  state.SetItemsProcessed(static_cast<int64_t>(sim.events_executed() - before));
}

}  // namespace

BENCHMARK(BM_EventHold)->Name("EventHold")->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EventHoldTimers)->Name("EventHoldTimers")->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond);
