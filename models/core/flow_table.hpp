// The flow table: every tracked flow (flow.hpp), the index that finds a flow
// from a packet's addresses, the former backends of migrated flows and the
// free list. It owns all of that memory, reserved when the core is made.
//
// Place in the layers: core (private). Used by Migrator::process (lookups,
// new flows) and the migration state machine (keys of targets and backends).
// The index: open addressing with linear probing over 8-byte slots
// {hash, flow}, backward-shift deletion (no tombstones). A flow is found
// under up to three keys (client, remote): its service address, its current
// backend and, while a replay runs, the target. The slot keeps the 32-bit
// hash of the key, which also gives its home slot, so probing compares hashes
// first and touches a flow only on a hash match. Slot count: a power of two
// >= 2.5 x capacity; inserts stop at 3/4 full, which every flow having a
// second key (all migrated) never reaches; a third key (a replay under way)
// may fail when the table is full of migrated flows, and that migration
// aborts. Former backends live in an ordered map (no hash order reaches
// anything) keyed by (client, backend).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <tuple>
#include <vector>

#include "flow.hpp"

namespace tcpmig::core::detail {

/// A (client ip:port, remote ip:port) pair packed for hashing.
struct PairKey {
  uint32_t client_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t client_port = 0;
  uint16_t remote_port = 0;
};

/// The keys of the flow hash, derived from Config::hash_seed (splitmix64).
struct HashKeys {
  uint64_t k[4];
  explicit HashKeys(uint64_t seed) : k{} {
    for (uint64_t& v : k) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      v = (z ^ (z >> 31)) | 1;  // odd: a multiplier never zero
    }
  }
};

/// 64 x 64 -> 128-bit multiply, the halves folded by xor.
[[nodiscard]] inline uint64_t mix128(uint64_t a, uint64_t b) {
  __extension__ using U128 = unsigned __int128;
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

/// 32-bit keyed hash of a key (rule 10 of migrator.hpp): two 128-bit
/// multiply rounds over the 96 bits of addresses and ports, each input xored
/// with a secret key first (the construction of wyhash, which Go's maps use
/// with a random seed against hash flooding). Deterministic for one seed.
[[nodiscard]] inline uint32_t hash_key(const PairKey& k, const HashKeys& keys) {
  const uint64_t a = (uint64_t{k.client_ip} << 32 | k.remote_ip) ^ keys.k[0];
  const uint64_t b = (uint64_t{k.client_port} << 16 | k.remote_port) ^ keys.k[1];
  const uint64_t h = mix128(mix128(a, b) ^ keys.k[2], keys.k[3]);
  return static_cast<uint32_t>(h ^ (h >> 32));
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

/// The flows, their index, former backends and free slots.
class FlowTable {
 public:
  FlowTable(uint32_t capacity, std::pmr::memory_resource* memory, uint64_t hash_seed);

  [[nodiscard]] Flow& flow(uint32_t i) { return flows_[i]; }
  [[nodiscard]] const Flow& flow(uint32_t i) const { return flows_[i]; }
  [[nodiscard]] FlowCold& cold(uint32_t i) { return cold_[i]; }
  [[nodiscard]] const FlowCold& cold(uint32_t i) const { return cold_[i]; }
  /// Slots ever used: flows are at [0, slots()), some of them free (kFree).
  [[nodiscard]] uint32_t slots() const { return static_cast<uint32_t>(flows_.size()); }
  /// Flows in the table.
  [[nodiscard]] uint32_t live() const { return live_; }
  /// Bytes of flows and index (the per-flow budget).
  [[nodiscard]] std::size_t bytes() const;

  /// Last-seen time (rule 10 of migrator.hpp): ticks of 2^24 ns, wrapping.
  static uint32_t tick_of(Nanos t) { return static_cast<uint32_t>(static_cast<uint64_t>(t) >> 24); }
  /// A duration in whole ticks, rounded up, at most 2^30.
  static uint32_t ticks_of(Nanos d) {
    const uint64_t t = (static_cast<uint64_t>(d < 0 ? 0 : d) + (uint64_t{1} << 24) - 1) >> 24;
    return static_cast<uint32_t>(t < (uint64_t{1} << 30) ? t : (uint64_t{1} << 30));
  }
  /// Flow i saw a packet (rule 10 of migrator.hpp): a bit in the line the
  /// packet touches anyway; the idle sweep turns it into a time.
  void touch(uint32_t i) { flows_[i].flags |= kSeen; }

  /// The flow of a client->server packet: the one whose service key matches.
  [[nodiscard]] uint32_t find_by_service(Endpoint client, Endpoint service) const {
    return index_.find(hash_key(key(client, service), keys_), [&](uint32_t i) {
      const Flow& f = flows_[i];
      return f.client_ip == client.ip.value && f.client_port == client.port && f.service_ip == service.ip.value &&
             f.service_port == service.port;
    });
  }
  /// The flow of a server->client packet from `remote`: its service address,
  /// its backend, or an extra key (`is_extra(flow)`: the replay target).
  template <class Extra>
  [[nodiscard]] uint32_t find_by_remote(Endpoint client, Endpoint remote, Extra&& is_extra) const {
    return index_.find(hash_key(key(client, remote), keys_), [&](uint32_t i) {
      const Flow& f = flows_[i];
      if (f.client_ip != client.ip.value || f.client_port != client.port) return false;
      if (f.service_ip == remote.ip.value && f.service_port == remote.port) return true;
      if (f.on(remote)) return true;
      return is_extra(i);
    });
  }
  /// The flow that had `remote` as a backend before (rule 5: stale packets), or kNone.
  [[nodiscard]] uint32_t find_former(Endpoint client, Endpoint remote) const;

  /// A new flow for client -> service on the service address (state SynSent,
  /// everything else zero); kNone when the table is full.
  uint32_t create(Endpoint client, Endpoint service);
  /// The flow's slot starts a new connection on the same addresses (TIME_WAIT
  /// reuse): back on the service address, former backends forgotten, a new generation.
  void restart(uint32_t i);
  /// Forgets flow i: its keys, its former backends; the slot goes to the free list.
  void release(uint32_t i);

  /// Adds the key (client, remote) for flow i; false when the index is full.
  bool add_key(uint32_t i, Endpoint remote);
  /// Removes the key (client, remote) of flow i (no-op when absent).
  void remove_key(uint32_t i, Endpoint remote);
  /// Flow i leaves its backend `old` for `next`: the old key goes (unless it
  /// is the service address, always a key), `old` becomes a former backend,
  /// `next` stops being one. The key of `next` must be in place already.
  void switch_backend(uint32_t i, Endpoint old, Endpoint next);

  /// Prefetching for bursts: the home slot of a hash, then the flow it names.
  [[nodiscard]] uint32_t hash_of(uint32_t client_ip, uint16_t client_port, uint32_t remote_ip,
                                 uint16_t remote_port) const {
    return hash_key(PairKey{client_ip, remote_ip, client_port, remote_port}, keys_);
  }
  void prefetch_slot(uint32_t hash) const { index_.prefetch(hash); }
  /// The flow the first slot with this hash names (unchecked), or nullptr.
  /// (The caller prefetches it: a prefetch inside a function of its own that
  /// returns nothing can be dropped as a call without effect.)
  [[nodiscard]] const Flow* candidate(uint32_t hash) const {
    const uint32_t fi = index_.candidate(hash);
    return fi != FlowIndex::kEmpty && fi < flows_.size() ? &flows_[fi] : nullptr;
  }


 private:
  static PairKey key(Endpoint client, Endpoint remote) {
    return {client.ip.value, remote.ip.value, client.port, remote.port};
  }
  /// (client ip, client port, backend ip, backend port).
  using FormerKey = std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>;
  void erase_former(uint32_t i);
  /// Slot i holds a new connection client -> service on the service address
  /// (state SynSent, everything else zero, a new generation); keys untouched.
  void reset(uint32_t i, Endpoint client, Endpoint service);

  uint32_t capacity_;                 // most flows at once
  HashKeys keys_;                     // of the flow hash
  FlowIndex index_;                   // keys -> flows
  std::pmr::vector<Flow> flows_;      // per-packet state, by slot
  std::pmr::vector<FlowCold> cold_;   // the rest, same slots
  uint32_t free_ = kNone;             // first free slot (linked through FlowCold::migration)
  uint32_t live_ = 0;                 // flows in the table
  /// Former backends of flows (not the service address, which stays a key):
  /// (client, backend) -> (flow, generation).
  std::map<FormerKey, std::pair<uint32_t, uint32_t>> former_;
};

}  // namespace tcpmig::core::detail
