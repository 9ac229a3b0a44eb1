// The engine allocates nothing in steady state: global operator new is
// replaced in this test executable by a counting one (tests/alloc_counter.cpp), and a hold model (each
// event schedules its successor) runs 100k events after warm-up.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <new>

#include "../alloc_counter.hpp"
#include "tcpmig/sim/simulator.hpp"

namespace {

using tcpmig::sim::Callback;
using tcpmig::sim::Duration;
using tcpmig::sim::Rng;
using tcpmig::sim::Simulator;
using tcpmig::sim::Time;
using tcpmig::sim::Timer;

constexpr Duration kMinDelay = Duration::microseconds(1);
constexpr Duration kMaxDelay = Duration::microseconds(1000);

struct HoldEvent {
  Simulator* sim;
  Rng* rng;
  void operator()() const { sim->schedule_in(rng->uniform_duration(kMinDelay, kMaxDelay), *this); }
};

class HoldNode {
 public:
  HoldNode(Simulator& sim, Rng& rng) : rng_(&rng), timer_(sim, Callback::bind<&HoldNode::fire>(this)) {
    timer_.schedule_in(rng.uniform_duration(kMinDelay, kMaxDelay));
  }

 private:
  void fire() {
    // Re-arm twice: the second one moves a pending timer.
    timer_.schedule_in(kMaxDelay);
    timer_.schedule_in(rng_->uniform_duration(kMinDelay, kMaxDelay));
  }
  Rng* rng_;
  Timer timer_;
};

// Runs until `count` more events have run.
void run_events(Simulator& sim, uint64_t count) {
  const uint64_t target = sim.events_executed() + count;
  while (sim.events_executed() < target) sim.run_until(sim.now() + Duration::microseconds(10));
}

}  // namespace

TEST_CASE("no allocation per event in steady state: one-shot hold model") {
  for (int population : {1000, 20'000}) {
    CAPTURE(population);
    Simulator sim(3);
    Rng rng = sim.rng("alloc.hold");
    for (int i = 0; i < population; ++i) {
      sim.schedule_in(rng.uniform_duration(kMinDelay, kMaxDelay), HoldEvent{&sim, &rng});
    }
    run_events(sim, 200'000);  // warm-up: pools reach their high-water marks
    const std::size_t before = tcpmig::testing::allocations();
    run_events(sim, 100'000);
    CHECK(tcpmig::testing::allocations() - before == 0);
    CHECK(sim.pending_events() == static_cast<std::size_t>(population));
  }
}

TEST_CASE("no allocation per event in steady state: timers, cancel and one-shots") {
  Simulator sim(4);
  Rng rng = sim.rng("alloc.timers");
  std::deque<HoldNode> nodes;
  for (int i = 0; i < 1000; ++i) nodes.emplace_back(sim, rng);
  // Mix in one-shots that get cancelled (slot reuse, holes in the queue).
  struct Canceller {
    Simulator* sim;
    Rng* rng;
    void operator()() const {
      auto id = sim->schedule_in(rng->uniform_duration(kMinDelay, kMaxDelay), [] {});
      if (rng->bernoulli_ppm(500'000)) sim->cancel(id);
      sim->schedule_in(rng->uniform_duration(kMinDelay, kMaxDelay), *this);
    }
  };
  for (int i = 0; i < 100; ++i) sim.schedule_in(Duration::microseconds(i), Canceller{&sim, &rng});
  run_events(sim, 200'000);
  const std::size_t before = tcpmig::testing::allocations();
  run_events(sim, 100'000);
  CHECK(tcpmig::testing::allocations() - before == 0);
}
