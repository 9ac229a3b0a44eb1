// Packet buffers and their pool (see tcpmig/net/packet.hpp).
#include "tcpmig/net/packet.hpp"

#include <cassert>
#include <cstring>

namespace tcpmig::net {

Packet::Packet(sim::Simulator& sim, PacketPool& pool)
    : timer_(sim, sim::Callback::from(&Packet::on_timer, this)), pool_(&pool) {}

void Packet::set_size(uint32_t n) {
  assert(n <= capacity);
  size_ = n;
}

void Packet::arm(sim::Time at, void (*fn)(void*, Packet&), void* ctx) {
  timer_fn_ = fn;
  timer_ctx_ = ctx;
  timer_.schedule_at(at);
}

void Packet::on_timer(void* self) {
  auto* p = static_cast<Packet*>(self);
  p->timer_fn_(p->timer_ctx_, *p);
}

void PacketRelease::operator()(Packet* p) const noexcept { p->pool_->release(p); }

PacketPtr PacketList::pop_front() {
  assert(!list_.empty());
  Packet& p = list_.front();
  list_.pop_front();
  return PacketPtr(&p);
}

PacketPtr PacketList::remove(Packet& p) {
  list_.erase(list_.iterator_to(p));
  return PacketPtr(&p);
}

void PacketList::clear() {
  list_.clear_and_dispose([](Packet* p) { PacketRelease{}(p); });
}

PacketPool::~PacketPool() {
  // Every packet must be back here by now (a PacketPtr outliving its network
  // is a programmer error); unlink the free list before the storage (and the
  // hooks in it) goes away.
  assert(in_use() == 0 && "PacketPool destroyed while packets are still held");
  free_.clear();
}

PacketPtr PacketPool::allocate() {
  Packet* p;
  if (free_.empty()) {
    p = &storage_.emplace_back(sim_, *this);
  } else {
    p = &free_.front();
    free_.pop_front();
    --free_count_;
  }
  p->size_ = 0;
  p->uid_ = next_uid_++;
  return PacketPtr(p);
}

void PacketPool::reserve(std::size_t n) {
  while (storage_.size() < n) {
    free_.push_back(storage_.emplace_back(sim_, *this));
    ++free_count_;
  }
}

PacketPtr PacketPool::clone(const Packet& src) {
  PacketPtr p = allocate();
  std::memcpy(p->buf_.data(), src.buf_.data(), src.size_);
  p->size_ = src.size_;
  return p;
}

void PacketPool::release(Packet* p) noexcept {
  p->timer_.cancel();
  free_.push_front(*p);  // LIFO: the most recently used buffer is warm in cache
  ++free_count_;
}

}  // namespace tcpmig::net
