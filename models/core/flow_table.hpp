// The core's flow index: open addressing with linear probing over 8-byte
// slots {hash, flow index}, backward-shift deletion (no tombstones).
//
// Place in the layers: core (private). A flow is found under up to three
// keys (client, remote): its service address, its current backend and, while
// a replay runs, the target. The slot keeps the 32-bit hash of the key, which
// also gives its home slot, so probing compares hashes first and touches a
// flow only on a hash match. Slot count: a power of two >= 2.5 x capacity;
// inserts stop at 3/4 full, which every flow having a second key (all
// migrated) never reaches; a third key (a replay under way) may fail when
// the table is full of migrated flows, and that migration aborts.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <vector>

namespace tcpmig::core::detail {

/// A (client ip:port, remote ip:port) pair packed for hashing.
struct PairKey {
  uint32_t client_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t client_port = 0;
  uint16_t remote_port = 0;
};

/// 32-bit hash of a key (multiply-xorshift over 96 bits; deterministic).
[[nodiscard]] inline uint32_t hash_key(const PairKey& k) {
  uint64_t h = (uint64_t{k.client_ip} << 32 | k.remote_ip) * 0x9e3779b97f4a7c15ULL;
  h ^= (uint64_t{k.client_port} << 16 | k.remote_port) * 0xc2b2ae3d27d4eb4fULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return static_cast<uint32_t>(h);
}

class FlowIndex {
 public:
  static constexpr uint32_t kEmpty = 0xffffffffU;

  FlowIndex(uint32_t capacity, std::pmr::memory_resource* memory) : slots_(memory) {
    const uint64_t want = uint64_t{capacity} * 5 / 2 + 8;
    const uint64_t n = std::bit_ceil(want);
    slots_.assign(n, Slot{0, kEmpty});
    mask_ = static_cast<uint32_t>(n - 1);
    limit_ = static_cast<uint32_t>(n / 4 * 3);
  }

  /// Calls match(flow) for each flow whose slot hash equals `h`; returns the
  /// first flow for which it is true, or kEmpty.
  template <class Match>
  [[nodiscard]] uint32_t find(uint32_t h, Match&& match) const {
    for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.flow == kEmpty) return kEmpty;
      if (s.hash == h && match(s.flow)) return s.flow;
    }
  }

  /// Starts loading the home slot of `h` into the cache (bursts).
  void prefetch(uint32_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
  /// The first flow whose slot hash equals `h` (a candidate, not checked), or kEmpty.
  [[nodiscard]] uint32_t candidate(uint32_t h) const {
    for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.flow == kEmpty || s.hash == h) return s.flow;
    }
  }

  /// Adds (h -> flow); false when the table is at its load limit.
  bool insert(uint32_t h, uint32_t flow) {
    if (used_ >= limit_) return false;
    uint32_t i = h & mask_;
    while (slots_[i].flow != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{h, flow};
    ++used_;
    return true;
  }

  /// Removes the slot (h -> flow); no-op when absent.
  void erase(uint32_t h, uint32_t flow) {
    uint32_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].flow == kEmpty) return;
      if (slots_[i].hash == h && slots_[i].flow == flow) break;
    }
    // Backward shift: move later entries of the cluster whose home slot is
    // not in (i, j] into the hole.
    uint32_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      const Slot& s = slots_[j];
      if (s.flow == kEmpty) break;
      const uint32_t home = s.hash & mask_;
      const bool movable = ((j - home) & mask_) >= ((j - i) & mask_);
      if (movable) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = Slot{0, kEmpty};
    --used_;
  }

  [[nodiscard]] std::size_t bytes() const { return slots_.size() * sizeof(Slot); }
  [[nodiscard]] uint32_t used() const { return used_; }

 private:
  struct Slot {
    uint32_t hash;  // hash_key() of the key
    uint32_t flow;  // flow index, kEmpty when free
  };
  std::pmr::vector<Slot> slots_;
  uint32_t mask_ = 0;   // slots - 1
  uint32_t limit_ = 0;  // most slots in use (3/4)
  uint32_t used_ = 0;   // slots in use
};

}  // namespace tcpmig::core::detail
