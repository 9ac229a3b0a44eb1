// EventQueue: the rarely taken paths (peek, sorting the current list, array
// recycling). The hot paths are inline in include/tcpmig/sim/event_queue.hpp.
#include "tcpmig/sim/event_queue.hpp"

#include <algorithm>
#include <bit>

namespace tcpmig::sim {

EventQueue::EventQueue() : home_(new Item[(kBuckets + 1) * kMinCap]) {
  for (uint32_t b = 0; b <= kBuckets; ++b) {
    buckets_[b].data = &home_[b * kMinCap];
    buckets_[b].cap = kMinCap;
  }
}

QueueEntry* EventQueue::top() {
  if (size_ == 0) return nullptr;
  if (current_live_ > 0) {
    Bucket& cur = current();
    while (cur.data[current_head_].entry == nullptr) ++current_head_;
    return cur.data[current_head_].entry;
  }
  // The earliest entry is in the lowest bucket; several may share its time,
  // then the smallest seq wins. Nothing is moved, so the order state stays put.
  const Bucket& bk = buckets_[lowest_bucket()];
  const Item* best = &bk.data[0];
  for (uint32_t i = 1; i < bk.size; ++i) {
    const Item& it = bk.data[i];
    if (it.key < best->key || (it.key == best->key && it.entry->seq_ < best->entry->seq_)) {
      best = &it;
    }
  }
  return best->entry;
}

void EventQueue::clear() {
  for (uint32_t b = 0; b <= kBuckets; ++b) {
    Bucket& bk = buckets_[b];
    // The current list's items before its head were popped: their entries
    // may be re-queued elsewhere or gone.
    for (uint32_t i = b == kCurrent ? current_head_ : 0; i < bk.size; ++i) {
      if (bk.data[i].entry != nullptr) bk.data[i].entry->bucket_ = QueueEntry::kNotQueued;
    }
    bk.size = 0;
  }
  for (auto& words : digit_mask_) words = {};
  level_mask_ = 0;
  current_head_ = 0;
  current_live_ = 0;
  size_ = 0;
}

void EventQueue::sort_current() {
  // Called right after a redistribution filled the empty current list with
  // entries of one time, in bucket order: put them in seq order.
  Bucket& cur = current();
  const auto by_seq = [](const Item& a, const Item& b) { return a.entry->seq_ < b.entry->seq_; };
  std::sort(cur.data, cur.data + cur.size, by_seq);
  for (uint32_t i = 0; i < cur.size; ++i) cur.data[i].entry->index_ = i;
}

void EventQueue::grow(Bucket& bk) {
  const uint32_t cap = bk.cap * 2;
  assert(cap != 0 && "tcpmig::sim::EventQueue: bucket overflow");
  const auto cls = static_cast<std::size_t>(std::countr_zero(cap));
  if (spare_[cls].empty()) refill(cls);
  Item* fresh = spare_[cls].back();
  spare_[cls].pop_back();
  std::copy(bk.data, bk.data + bk.size, fresh);
  if (bk.cap > kMinCap) spare_[static_cast<std::size_t>(std::countr_zero(bk.cap))].push_back(bk.data);
  bk.data = fresh;
  bk.cap = cap;
}

void EventQueue::refill(std::size_t cls) {
  // Demand for arrays of one size fluctuates around a level; growing the pool
  // by a quarter each time it runs dry makes new peaks (and allocations) stop
  // soon after warm-up instead of trickling in for ever.
  const std::size_t cap = std::size_t{1} << cls;
  const std::size_t count = std::max<std::size_t>(1, arrays_per_class_[cls] / 4);
  Item* block = arrays_.emplace_back(std::unique_ptr<Item[]>(new Item[count * cap])).get();
  arrays_per_class_[cls] += count;
  // Every array of this size fits in its free list: push_back never allocates.
  spare_[cls].reserve(arrays_per_class_[cls]);
  for (std::size_t i = 0; i < count; ++i) spare_[cls].push_back(block + i * cap);
}

}  // namespace tcpmig::sim
