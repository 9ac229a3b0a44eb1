// EventQueue: the set of pending events of one simulator.
//
// Place in the layers: sim engine (std only). Simulator owns one EventQueue;
// Timer and pooled events derive from QueueEntry and live in it while pending.
//
// Ordering rule (the determinism contract, DESIGN.md section 3):
//   * Entries leave the queue in increasing order of the key (time, seq).
//   * `seq` is a 64-bit counter that the queue assigns at every push, starting
//     at 1. Re-arming an entry (erase + push) gives it a new seq, so it goes
//     behind every entry already pending at the same time.
//   * Nothing else breaks ties: never pointer order, never container order.
//   * Monotone: pushing a time earlier than the time of the last popped entry
//     is a programmer error (assert). "Now" never goes backwards.
//
// Structure: a monotone radix heap on the time with 8-bit digits.
//   * `last_` is the time of the last popped entry. An entry with time t lives
//     in bucket (level, digit): `level` is the index of the highest 8-bit digit
//     in which t differs from `last_`, `digit` is t's value of that digit. An
//     entry whose time equals `last_` lives in the *current* list instead.
//   * All entries of a lower bucket are earlier than all entries of a higher one,
//     so the earliest entries are in the current list or in the lowest non-empty
//     bucket, found with two bitmaps and count-trailing-zeros.
//   * Popping when the current list is empty takes that lowest bucket, sets
//     `last_` to its smallest time and streams its items into lower buckets (or
//     the current list). An item moves at most 9 times over its whole life
//     (8 levels, then the current list), in practice 2 to 4 times, and each
//     move is a sequential copy.
//   * Peeking (top) and the bounded pop (pop_if_not_after) never move `last_`
//     without popping: after run_until(t) stops short of the next entry,
//     pushing at any time >= the last popped one is still legal.
//   * The current list holds the entries at time `last_` sorted by seq (sorted
//     once when they arrive together; later pushes at `last_` have larger seq
//     and are appended). Erasing from it leaves a hole, skipped when popping.
//   * Buckets are contiguous arrays of {time, entry*}. Each entry knows its
//     bucket and index: erase is swap-with-last plus fixing the moved entry's
//     index, O(1), no search. Push is O(1).
//   * When an item moves to level 0 or the current list (it fires soon), the
//     queue prefetches the cache line after the entry's hook: with a million
//     pending events that hides the one memory miss an event otherwise costs.
//   * Each bucket owns a small home array (one block for all buckets, made by
//     the constructor; untouched pages cost no memory). Larger arrays are
//     power-of-two sized, shared through per-size free lists and given back
//     when their bucket empties. A free list that runs dry grows by a quarter
//     of the arrays of its size, so after warm-up (the high-water mark)
//     nothing is allocated.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::sim {

class EventQueue;

/// The intrusive hook of everything that can be pending in an EventQueue. It
/// holds its key (time, seq) and its position in the queue. It is not copyable:
/// the queue points at it. Destroying a queued entry is a programmer error; owners
/// remove it first (Timer's destructor cancels).
class QueueEntry {
 public:
  QueueEntry() = default;
  QueueEntry(const QueueEntry&) = delete;
  QueueEntry& operator=(const QueueEntry&) = delete;
  ~QueueEntry() { assert(!queued() && "tcpmig::sim::QueueEntry destroyed while queued"); }

  /// True while the entry is in a queue.
  [[nodiscard]] bool queued() const { return bucket_ != kNotQueued; }
  /// Time it was last pushed with (meaningful while queued).
  [[nodiscard]] Time time() const { return time_; }
  /// Sequence number the queue gave it at its last push.
  [[nodiscard]] uint64_t seq() const { return seq_; }

 private:
  friend class EventQueue;
  static constexpr uint32_t kNotQueued = 0xffff'ffffU;

  Time time_;                     // first part of the key
  uint64_t seq_ = 0;              // second part of the key, from the queue's counter
  uint32_t bucket_ = kNotQueued;  // bucket holding it, or kNotQueued
  uint32_t index_ = 0;            // index inside that bucket's array
};

/// Pending-event set ordered by (time, seq); see the file comment.
class EventQueue {
 public:
  EventQueue();
  /// Detaches every queued entry (they read as not queued afterwards).
  ~EventQueue() { clear(); }
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  /// Queues `e` (not already queued) at time `t` >= last popped time, with the
  /// next sequence number.
  void push(QueueEntry& e, Time t) {
    assert(!e.queued() && "tcpmig::sim::EventQueue::push: entry already queued");
    const uint64_t k = key_of(t);
    assert(k >= last_ && "tcpmig::sim::EventQueue::push: time before the last popped time");
    e.time_ = t;
    e.seq_ = next_seq_++;
    append(bucket_of(k), Item{k, &e});
    ++size_;
  }

  /// Removes a queued entry, O(1), no search.
  void erase(QueueEntry& e) {
    assert(e.queued() && "tcpmig::sim::EventQueue::erase: entry not queued");
    const uint32_t b = e.bucket_;
    const uint32_t i = e.index_;
    if (b == kCurrent) {
      current().data[i].entry = nullptr;  // a hole; pops skip it
      if (--current_live_ == 0) reset_current();
    } else {
      Bucket& bk = buckets_[b];
      const uint32_t last = --bk.size;
      if (i != last) {
        bk.data[i] = bk.data[last];
        bk.data[i].entry->index_ = i;
      }
      if (last == 0) on_emptied(b);
    }
    e.bucket_ = QueueEntry::kNotQueued;
    --size_;
  }

  /// The earliest entry without removing it, or nullptr when empty. Does not
  /// change the order state: pushing at any time >= last popped time stays legal.
  [[nodiscard]] QueueEntry* top();

  /// Removes and returns the earliest entry; the queue must not be empty.
  QueueEntry& pop() {
    QueueEntry* e = pop_if_not_after(Time::max());
    assert(e != nullptr && "tcpmig::sim::EventQueue::pop: empty queue");
    return *e;
  }

  /// Removes and returns the earliest entry if its time is <= `limit`; otherwise
  /// (or when empty) returns nullptr and changes nothing. This is the run loop's
  /// step: it never moves the order state past `limit`.
  QueueEntry* pop_if_not_after(Time limit) {
    const uint64_t lim = key_of(limit);
    if (current_live_ == 0) {
      if (size_ == 0) return nullptr;
      const uint32_t b = lowest_bucket();
      const uint64_t m = min_key(buckets_[b]);
      if (m > lim) return nullptr;
      last_ = m;
      redistribute(b);
    } else if (last_ > lim) {
      return nullptr;
    }
    Bucket& cur = current();
    while (cur.data[current_head_].entry == nullptr) ++current_head_;
    QueueEntry* e = cur.data[current_head_++].entry;
    if (--current_live_ == 0) reset_current();
    e->bucket_ = QueueEntry::kNotQueued;
    --size_;
    return e;
  }

  /// Number of queued entries.
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// Time of the last popped entry (Time::from_ns(INT64_MIN) before the first pop).
  [[nodiscard]] Time last_popped() const { return time_of(last_); }
  /// Detaches every entry (they read as not queued). Keeps the order state.
  void clear();

 private:
  struct Item {
    uint64_t key;        // time as an order-preserving unsigned value
    QueueEntry* entry;   // null only for a hole in the current list
  };
  struct Bucket {
    Item* data = nullptr;  // its home array, or a larger one from the free lists
    uint32_t size = 0;     // items in use
    uint32_t cap = 0;      // kMinCap (home array) or a larger power of two
  };

  static constexpr int kDigitBits = 8;
  static constexpr uint32_t kDigits = 1U << kDigitBits;
  static constexpr int kLevels = 64 / kDigitBits;
  static constexpr uint32_t kBuckets = kLevels * kDigits;
  static constexpr uint32_t kCurrent = kBuckets;  // bucket id of the current list
  static constexpr uint32_t kMinCap = 8;  // size of each bucket's home array

  static constexpr uint64_t key_of(Time t) {
    return static_cast<uint64_t>(t.ns()) ^ (uint64_t{1} << 63);
  }
  static constexpr Time time_of(uint64_t k) {
    return Time::from_ns(static_cast<int64_t>(k ^ (uint64_t{1} << 63)));
  }

  Bucket& current() { return buckets_[kCurrent]; }

  uint32_t bucket_of(uint64_t k) const {
    const uint64_t x = k ^ last_;
    if (x == 0) return kCurrent;
    const int level = (63 - std::countl_zero(x)) / kDigitBits;
    const auto digit = static_cast<uint32_t>(k >> (level * kDigitBits)) & (kDigits - 1);
    return static_cast<uint32_t>(level) * kDigits + digit;
  }

  void append(uint32_t b, Item it) {
    Bucket& bk = buckets_[b];
    if (bk.size == bk.cap) grow(bk);
    const uint32_t i = bk.size++;
    bk.data[i] = it;
    it.entry->bucket_ = b;
    it.entry->index_ = i;
    if (b == kCurrent) {
      ++current_live_;
    } else {
      const uint32_t level = b / kDigits;
      const uint32_t digit = b % kDigits;
      digit_mask_[level][digit / 64] |= uint64_t{1} << (digit % 64);
      level_mask_ |= 1U << level;
    }
  }

  uint32_t lowest_bucket() const {
    assert(level_mask_ != 0);
    const auto level = static_cast<uint32_t>(std::countr_zero(level_mask_));
    const auto& words = digit_mask_[level];
    uint32_t w = 0;
    while (words[w] == 0) ++w;
    return level * kDigits + w * 64 + static_cast<uint32_t>(std::countr_zero(words[w]));
  }

  static uint64_t min_key(const Bucket& bk) {
    uint64_t m = bk.data[0].key;
    for (uint32_t i = 1; i < bk.size; ++i) m = std::min(m, bk.data[i].key);
    return m;
  }

  // Bucket `b` (not the current list) became empty: clear its bitmap bit and
  // give a larger array back to the free lists (it keeps its home array).
  // Large arrays are shared by all buckets, so the memory in use follows the
  // number of queued entries whatever buckets the times fall into.
  void on_emptied(uint32_t b) {
    const uint32_t level = b / kDigits;
    const uint32_t digit = b % kDigits;
    auto& words = digit_mask_[level];
    words[digit / 64] &= ~(uint64_t{1} << (digit % 64));
    if ((words[0] | words[1] | words[2] | words[3]) == 0) level_mask_ &= ~(1U << level);
    Bucket& bk = buckets_[b];
    if (bk.cap > kMinCap) {
      spare_[static_cast<std::size_t>(std::countr_zero(bk.cap))].push_back(bk.data);
      bk.data = &home_[b * kMinCap];
      bk.cap = kMinCap;
    }
  }

  void reset_current() {
    current().size = 0;
    current_head_ = 0;
  }

  // Moves every item of bucket `b` to the bucket its key maps to relative to
  // the new `last_` (all lower), then sorts the current list by seq.
  void redistribute(uint32_t b) {
    Bucket& src = buckets_[b];
    const uint32_t n = src.size;
    src.size = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const Item it = src.data[i];
      const uint32_t to = bucket_of(it.key);
      // Level 0 and the current list fire soon. Moving the item writes the
      // entry's first cache line; also fetch the next one, where the owner's
      // data usually is (a one-shot event's callable).
      if (to < kDigits || to == kCurrent) {
        __builtin_prefetch(reinterpret_cast<const char*>(it.entry) + 64);
      }
      append(to, it);
    }
    on_emptied(b);
    if (current().size > 1) sort_current();
  }

  void sort_current();
  void grow(Bucket& bk);
  void refill(std::size_t cls);

  std::array<Bucket, kBuckets + 1> buckets_{};  // radix buckets, then the current list
  std::array<std::array<uint64_t, kDigits / 64>, kLevels> digit_mask_{};  // non-empty buckets
  uint32_t level_mask_ = 0;      // bit L: some bucket of level L is non-empty
  uint32_t current_head_ = 0;    // first unpopped index of the current list
  uint32_t current_live_ = 0;    // entries (not holes) in the current list
  uint64_t last_ = 0;            // key of the last popped time (0 = INT64_MIN)
  uint64_t next_seq_ = 1;        // seq given to the next push
  std::size_t size_ = 0;         // queued entries
  std::unique_ptr<Item[]> home_;                         // kMinCap items per bucket
  std::array<std::vector<Item*>, 32> spare_{};           // free arrays by log2(cap)
  std::array<std::size_t, 32> arrays_per_class_{};       // arrays made, by log2(cap)
  std::vector<std::unique_ptr<Item[]>> arrays_;          // blocks of arrays, owned
};

}  // namespace tcpmig::sim
