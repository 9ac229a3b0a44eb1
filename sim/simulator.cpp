// Simulator: the run loop, cancellation and the slot pool of one-shot events.
// Scheduling is inline in include/tcpmig/sim/simulator.hpp.
#include "tcpmig/sim/simulator.hpp"

namespace tcpmig::sim {

Simulator::~Simulator() {
  // Pending one-shots: destroy their callables unrun. Then detach everything
  // (pending Timers read as idle and never touch this simulator again).
  for (uint32_t i = 0; i < slot_count_; ++i) {
    Slot& s = chunks_[i >> kChunkShift][i & (kChunkSlots - 1)];
    if (s.queued() && s.destroy != nullptr) s.destroy(&s);
  }
  queue_.clear();
}

void Simulator::add_chunk() {
  Slot* chunk = chunks_.emplace_back(std::make_unique<Slot[]>(kChunkSlots)).get();
  // Link in reverse so the free list hands out slots in index order.
  for (uint32_t i = kChunkSlots; i-- > 0;) {
    chunk[i].owner = this;
    chunk[i].index = slot_count_ + i;
    chunk[i].next_free = free_;
    free_ = &chunk[i];
  }
  slot_count_ += kChunkSlots;
}

Simulator::Slot* Simulator::live_slot(EventId id) const {
  if (id.generation_ == 0 || id.index_ >= slot_count_) return nullptr;
  Slot* s = &chunks_[id.index_ >> kChunkShift][id.index_ & (kChunkSlots - 1)];
  if (s->generation != id.generation_ || !s->queued()) return nullptr;
  return s;
}

bool Simulator::cancel(EventId& id) {
  Slot* s = live_slot(id);
  id = EventId{};
  if (s == nullptr) return false;
  queue_.erase(*s);
  ++s->generation;
  if (s->destroy != nullptr) s->destroy(s);
  release_slot(*s);
  return true;
}

bool Simulator::run_loop(Time limit) {
  assert(!running_ && "tcpmig::sim::Simulator: run() called from inside an event");
  running_ = true;
  stop_requested_ = false;
  while (!stop_requested_) {
    QueueEntry* e = queue_.pop_if_not_after(limit);
    if (e == nullptr) break;
    now_ = e->time();
    ++executed_;
    static_cast<detail::FiringEntry*>(e)->callback();
  }
  const bool stopped = stop_requested_;
  stop_requested_ = false;
  running_ = false;
  return stopped;
}

void Simulator::run() { run_loop(Time::max()); }

void Simulator::run_until(Time t) {
  assert(t >= now_ && "tcpmig::sim::Simulator::run_until: time in the past");
  if (!run_loop(t)) now_ = t;
}

}  // namespace tcpmig::sim
