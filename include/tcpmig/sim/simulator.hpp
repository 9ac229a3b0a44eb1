// Simulator, Timer and EventId: the discrete-event engine.
//
// Place in the layers: sim engine (std only). Models hold Timers (intrusive,
// re-armable, no allocation) or schedule one-shot callables; the Simulator pops
// them from its EventQueue in (time, seq) order and runs them.
//
// Rules:
//   * Events fire in order of (time, insertion sequence); see event_queue.hpp.
//     Scheduling before now() is a programmer error (assert).
//   * No global or static mutable state: Simulators in one process are
//     independent, and the same seed and the same calls give the same run.
//   * Steady state allocates nothing: one-shot events live in pooled slots
//     (a free list that grows to its high-water mark), the callable stored
//     inline; the queue recycles its arrays.
//   * Callbacks must not throw (the engine stays consistent but the run stops).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tcpmig/sim/callback.hpp"
#include "tcpmig/sim/event_queue.hpp"
#include "tcpmig/sim/random.hpp"
#include "tcpmig/sim/time.hpp"

namespace tcpmig::sim {

class Simulator;

namespace detail {

/// A queue entry that runs a Callback when it fires: the base of Timer and of
/// pooled one-shot events. The run loop calls `callback` after popping.
struct FiringEntry : QueueEntry {
  Callback callback;  // what firing runs
};

/// Storage for one one-shot event: its queue hook, its callable inline, and a
/// generation that names this use of the slot.
struct alignas(64) EventSlot : FiringEntry {
  static constexpr std::size_t kInlineBytes = 48;
  static constexpr std::size_t kInlineAlign = 16;

  uint64_t generation = 1;            // bumped when the event fires or is cancelled
  void (*destroy)(void*) = nullptr;   // destroys the callable; null if trivial
  Simulator* owner = nullptr;         // simulator whose pool holds the slot
  EventSlot* next_free = nullptr;     // free-list link while unused
  uint32_t index = 0;                 // position in the owner's slot table
  alignas(kInlineAlign) unsigned char storage[kInlineBytes];  // the callable
};

}  // namespace detail

/// Handle to a one-shot event. A default-constructed EventId names no event;
/// cancelling it, or one that already fired or was cancelled, is a no-op.
class EventId {
 public:
  constexpr EventId() = default;

 private:
  friend class Simulator;
  constexpr EventId(uint32_t index, uint64_t generation) : generation_(generation), index_(index) {}

  uint64_t generation_ = 0;  // slot generation when scheduled; 0 names nothing
  uint32_t index_ = 0;       // slot index in the simulator's table
};

/// A re-armable timer owned by a model object, e.g.
/// `Timer rto_{sim, Callback::bind<&Conn::on_rto>(this)};`. It is intrusive (the
/// queue hook is inside it), so it is neither copyable nor movable. Arming,
/// re-arming and cancelling cost no search and no allocation. The destructor
/// cancels. A Timer must not outlive its Simulator while pending; once the
/// Simulator is destroyed every Timer reads as idle.
class Timer : private detail::FiringEntry {
 public:
  Timer(Simulator& sim, Callback cb) : sim_(&sim) { callback = cb; }
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// Sets what firing runs (allowed while pending).
  void set_callback(Callback cb) { callback = cb; }
  /// Arms the timer to fire at `t` >= now; if pending, moves it (a new
  /// insertion sequence: it goes behind events already at `t`).
  void schedule_at(Time t);
  /// Arms the timer to fire `d` >= 0 after now; re-arms if pending.
  void schedule_in(Duration d);
  /// Disarms the timer; no-op when idle.
  void cancel();
  /// True while armed and not yet fired.
  [[nodiscard]] bool pending() const { return queued(); }
  /// When it fires if pending; Time::max() when idle (also inside its own callback).
  [[nodiscard]] Time expiry() const { return queued() ? time() : Time::max(); }

 private:
  Simulator* sim_;  // the simulator whose queue it is armed in
};

/// The discrete-event engine: a clock, the pending-event queue, the pool of
/// one-shot events and the seed every random stream derives from.
class Simulator {
 public:
  /// Bytes a one-shot callable may occupy (its captures); bigger ones do not
  /// compile. Capture a pointer to larger state instead.
  static constexpr std::size_t kEventInlineBytes = detail::EventSlot::kInlineBytes;

  explicit Simulator(uint64_t seed = 1) : seed_(seed) {}
  /// Destroys pending one-shot callables without running them and detaches
  /// pending Timers.
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// Current simulated time: the time of the event running, or where the last
  /// run stopped. Starts at 0.
  [[nodiscard]] Time now() const { return now_; }

  /// Schedules `f()` to run once at `t` >= now(). `f` is moved or copied into a
  /// pooled slot (at most kEventInlineBytes, no allocation in steady state).
  template <class F>
  EventId schedule_at(Time t, F&& f);
  /// Schedules `f()` to run once `d` >= 0 after now().
  template <class F>
  EventId schedule_in(Duration d, F&& f) {
    assert(d >= Duration::zero() && "tcpmig::sim::Simulator::schedule_in: negative delay");
    return schedule_at(now_ + d, std::forward<F>(f));
  }

  /// Cancels the event if it is still pending (its callable is destroyed
  /// unrun) and returns true; otherwise returns false. Resets `id` either way.
  bool cancel(EventId& id);
  /// True if the event is scheduled and has not started running.
  [[nodiscard]] bool pending(EventId id) const { return live_slot(id) != nullptr; }

  /// Runs events until none is left or stop() is called.
  void run();
  /// Runs every event with time <= t (t >= now()), then sets now() = t unless
  /// stop() was called (then now() is the time of the last event run).
  void run_until(Time t);
  /// Called from inside an event: the current event finishes, then run() /
  /// run_until() returns. The pending events stay; a later run continues.
  /// Outside a run it has no effect.
  void stop() { stop_requested_ = true; }

  /// Events run so far (timers and one-shots).
  [[nodiscard]] uint64_t events_executed() const { return executed_; }
  /// Events scheduled and not yet run or cancelled (timers and one-shots).
  [[nodiscard]] std::size_t pending_events() const { return queue_.size(); }
  /// The seed this simulator was created with.
  [[nodiscard]] uint64_t seed() const { return seed_; }
  /// The random stream for one purpose: `Rng::derive(seed(), stream_name)`.
  /// Equal names give equal streams; use one stable name per purpose.
  [[nodiscard]] Rng rng(std::string_view stream_name) const { return Rng::derive(seed_, stream_name); }

 private:
  friend class Timer;
  using Slot = detail::EventSlot;
  static constexpr uint32_t kChunkShift = 9;  // 512 slots (64 KiB) per chunk
  static constexpr uint32_t kChunkSlots = 1U << kChunkShift;

  template <class Fn>
  static void fire_slot(void* p);
  template <class Fn>
  static void destroy_callable(void* p) {
    std::launder(reinterpret_cast<Fn*>(static_cast<Slot*>(p)->storage))->~Fn();
  }

  Slot& acquire_slot() {
    if (free_ == nullptr) add_chunk();
    Slot* s = free_;
    free_ = s->next_free;
    return *s;
  }
  void release_slot(Slot& s) {
    s.destroy = nullptr;
    s.next_free = free_;
    free_ = &s;
  }
  void add_chunk();
  [[nodiscard]] Slot* live_slot(EventId id) const;
  // Runs events with time <= limit; returns true if stop() ended it.
  bool run_loop(Time limit);

  EventQueue queue_;             // pending timers and one-shots
  Time now_;                     // current simulated time
  uint64_t seed_;                // root of every random stream
  uint64_t executed_ = 0;        // events run
  bool stop_requested_ = false;  // set by stop(), read after each event
  bool running_ = false;         // inside run()/run_until()
  Slot* free_ = nullptr;         // unused slots (LIFO)
  uint32_t slot_count_ = 0;      // slots created
  std::vector<std::unique_ptr<Slot[]>> chunks_;  // slot storage, stable addresses
};

// ---------------------------------------------------------------------------
// Inline definitions.

template <class F>
EventId Simulator::schedule_at(Time t, F&& f) {
  using Fn = std::decay_t<F>;
  static_assert(sizeof(Fn) <= kEventInlineBytes,
                "tcpmig::sim::Simulator::schedule_at/in: the callable's captures exceed "
                "Simulator::kEventInlineBytes; capture a pointer to the state instead");
  static_assert(alignof(Fn) <= Slot::kInlineAlign,
                "tcpmig::sim::Simulator::schedule_at/in: the callable is over-aligned");
  static_assert(std::is_invocable_v<Fn&>, "tcpmig::sim::Simulator::schedule_at/in: f() must be callable");
  assert(t >= now_ && "tcpmig::sim::Simulator::schedule_at: time in the past");
  Slot& s = acquire_slot();
  ::new (static_cast<void*>(s.storage)) Fn(std::forward<F>(f));
  s.callback = Callback::from(&fire_slot<Fn>, &s);
  if constexpr (!std::is_trivially_destructible_v<Fn>) s.destroy = &destroy_callable<Fn>;
  queue_.push(s, t);
  return EventId{s.index, s.generation};
}

template <class Fn>
void Simulator::fire_slot(void* p) {
  Slot& s = *static_cast<Slot*>(p);
  ++s.generation;  // the EventId no longer names a pending event
  Fn* fn = std::launder(reinterpret_cast<Fn*>(s.storage));
  // Releases the slot after the call, even if it throws.
  struct Release {
    Slot& slot;
    Fn* callable;
    ~Release() {
      callable->~Fn();
      slot.owner->release_slot(slot);
    }
  } release{s, fn};
  (*fn)();
}

inline void Timer::schedule_at(Time t) {
  assert(t >= sim_->now_ && "tcpmig::sim::Timer::schedule_at: time in the past");
  if (queued()) sim_->queue_.erase(*this);
  sim_->queue_.push(*this, t);
}

inline void Timer::schedule_in(Duration d) {
  assert(d >= Duration::zero() && "tcpmig::sim::Timer::schedule_in: negative delay");
  schedule_at(sim_->now_ + d);
}

inline void Timer::cancel() {
  if (queued()) sim_->queue_.erase(*this);
}

}  // namespace tcpmig::sim
