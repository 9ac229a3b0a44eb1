// Packets: real Ethernet frames in pooled buffers.
//
// Place in the layers: models/net (uses the sim engine's Timer).
// Rules:
// - A packet is the frame's bytes exactly as they would be on the wire (no
//   preamble, no FCS), at most `Packet::capacity` bytes.
// - Buffers come from a PacketPool owned by the Network; a released packet goes
//   back on the pool's free list. The pool grows to the high-water mark of
//   packets alive at once and never shrinks, so the steady state allocates
//   nothing per packet.
// - Ownership is unique (`PacketPtr`); whoever holds a packet (a queue, a link,
//   an application) owns it, and dropping the pointer returns it to the pool.
// - A packet carries one intrusive list hook (it sits in at most one queue at a
//   time) and one timer (the link uses it for propagation).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>

#include <boost/intrusive/list.hpp>

#include "tcpmig/sim/simulator.hpp"

namespace tcpmig::net {

class PacketPool;

class Packet {
 public:
  /// Largest frame a packet holds: 1500-byte MTU + 14-byte Ethernet header, rounded up.
  static constexpr uint32_t capacity = 1536;

  explicit Packet(sim::Simulator& sim, PacketPool& pool);
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  /// The frame bytes (size() of them).
  [[nodiscard]] std::span<uint8_t> bytes() { return {buf_.data(), size_}; }
  [[nodiscard]] std::span<const uint8_t> bytes() const { return {buf_.data(), size_}; }
  /// The whole buffer, for building a frame before `set_size`.
  [[nodiscard]] std::span<uint8_t> buffer() { return {buf_.data(), capacity}; }
  [[nodiscard]] uint32_t size() const { return size_; }
  /// Sets the frame length; must be <= capacity.
  void set_size(uint32_t n);

  /// Network-wide creation number, for debugging (never reaches output order).
  [[nodiscard]] uint64_t uid() const { return uid_; }

  /// Arms the packet's timer: at `at`, calls fn(ctx, *this). Re-arming replaces.
  void arm(sim::Time at, void (*fn)(void*, Packet&), void* ctx);
  void disarm() { timer_.cancel(); }

  /// Hook for whichever intrusive queue currently holds the packet.
  boost::intrusive::list_member_hook<> hook;

 private:
  friend class PacketPool;
  friend struct PacketRelease;
  static void on_timer(void* self);

  sim::Timer timer_;
  void (*timer_fn_)(void*, Packet&) = nullptr;  // what the timer calls
  void* timer_ctx_ = nullptr;                   // its first argument
  PacketPool* pool_;                            // where release() returns it
  uint64_t uid_ = 0;
  uint32_t size_ = 0;
  alignas(8) std::array<uint8_t, capacity> buf_{};  // zeroed once, at creation
};

/// Returns a packet to its pool (the deleter of PacketPtr).
struct PacketRelease {
  void operator()(Packet* p) const noexcept;
};
using PacketPtr = std::unique_ptr<Packet, PacketRelease>;

/// An intrusive FIFO of packets that owns its members (drop-tail queues,
/// packets in flight). Destroying the list returns its packets to the pool.
class PacketList {
 public:
  PacketList() = default;
  PacketList(const PacketList&) = delete;
  PacketList& operator=(const PacketList&) = delete;
  ~PacketList() { clear(); }

  void push_back(PacketPtr p) { list_.push_back(*p.release()); }
  /// Removes and returns the first packet; the list must not be empty.
  PacketPtr pop_front();
  /// Removes `p` (which must be in this list) and returns ownership.
  PacketPtr remove(Packet& p);
  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] std::size_t size() const { return list_.size(); }
  [[nodiscard]] const Packet& front() const { return list_.front(); }
  void clear();

 private:
  using Hook = boost::intrusive::member_hook<Packet, boost::intrusive::list_member_hook<>,
                                             &Packet::hook>;
  boost::intrusive::list<Packet, Hook, boost::intrusive::constant_time_size<true>> list_;
};

class PacketPool {
 public:
  explicit PacketPool(sim::Simulator& sim) : sim_(sim) {}
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;
  ~PacketPool();

  /// An empty packet (size 0). Allocates only when the free list is empty.
  PacketPtr allocate();
  /// A new packet holding a copy of `src`'s frame.
  PacketPtr clone(const Packet& src);
  /// Grows the pool to at least `n` packets now, so a run that never has more
  /// than `n` alive at once allocates nothing later.
  void reserve(std::size_t n);

  /// Packets ever created (the high-water mark of packets alive at once).
  [[nodiscard]] std::size_t created() const { return storage_.size(); }
  /// Packets currently handed out.
  [[nodiscard]] std::size_t in_use() const { return storage_.size() - free_count_; }

 private:
  friend struct PacketRelease;
  void release(Packet* p) noexcept;

  using Hook = boost::intrusive::member_hook<Packet, boost::intrusive::list_member_hook<>,
                                             &Packet::hook>;
  sim::Simulator& sim_;
  std::deque<Packet> storage_;  // stable addresses; grows, never shrinks
  boost::intrusive::list<Packet, Hook, boost::intrusive::constant_time_size<false>> free_;
  std::size_t free_count_ = 0;
  uint64_t next_uid_ = 1;
};

}  // namespace tcpmig::net
