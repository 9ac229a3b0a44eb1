// The flow table (rules in flow_table.hpp).
#include "flow_table.hpp"

namespace tcpmig::core::detail {

FlowTable::FlowTable(uint32_t capacity, std::pmr::memory_resource* memory, uint64_t hash_seed)
    : capacity_(capacity), keys_(hash_seed), index_(capacity, memory), flows_(memory), cold_(memory) {
  // All of it now: untouched pages cost nothing, and flows never move.
  flows_.reserve(capacity);
  cold_.reserve(capacity);
}

std::size_t FlowTable::bytes() const {
  return flows_.capacity() * sizeof(Flow) + cold_.capacity() * sizeof(FlowCold) + index_.bytes();
}

uint32_t FlowTable::find_former(Endpoint client, Endpoint remote) const {
  if (former_.empty()) return kNone;
  const auto it = former_.find(FormerKey{client.ip.value, client.port, remote.ip.value, remote.port});
  if (it == former_.end() || cold_[it->second.first].generation != it->second.second) return kNone;
  return it->second.first;
}

uint32_t FlowTable::create(Endpoint client, Endpoint service) {
  if (live_ >= capacity_) return kNone;
  uint32_t i;
  if (free_ != kNone) {
    i = free_;
    free_ = cold_[i].migration;
  } else {
    i = static_cast<uint32_t>(flows_.size());
    flows_.emplace_back();
    cold_.emplace_back();
  }
  reset(i, client, service);
  if (!index_.insert(hash_key(key(client, service), keys_), i)) {
    flows_[i].flags = kFree;
    cold_[i].migration = free_;
    free_ = i;
    return kNone;
  }
  ++live_;
  return i;
}

void FlowTable::restart(uint32_t i) {
  Flow& f = flows_[i];
  if (!f.on_service()) remove_key(i, f.backend());
  erase_former(i);
  reset(i, f.client(), f.service());
}

void FlowTable::reset(uint32_t i, Endpoint client, Endpoint service) {
  Flow& f = flows_[i];
  f = Flow{};
  FlowCold& c = cold_[i];
  c = FlowCold{SeqNumber{}, kNone, c.generation + 1U, 0, 0, 0, 0, 0, 0};
  f.client_ip = client.ip.value;
  f.client_port = client.port;
  f.service_ip = f.backend_ip = service.ip.value;
  f.service_port = f.backend_port = service.port;
  f.state = FlowState::SynSent;
  f.flags = kSeen;  // it is being seen now: the sweep starts its idle time from there
}

void FlowTable::release(uint32_t i) {
  Flow& f = flows_[i];
  erase_former(i);
  remove_key(i, f.service());
  if (!f.on_service()) remove_key(i, f.backend());
  ++cold_[i].generation;
  f.flags = kFree;
  cold_[i].migration = free_;
  free_ = i;
  --live_;
}

bool FlowTable::add_key(uint32_t i, Endpoint remote) {
  return index_.insert(hash_key(key(flows_[i].client(), remote), keys_), i);
}

void FlowTable::remove_key(uint32_t i, Endpoint remote) {
  index_.erase(hash_key(key(flows_[i].client(), remote), keys_), i);
}

void FlowTable::switch_backend(uint32_t i, Endpoint old, Endpoint next) {
  Flow& f = flows_[i];
  if (!(old == f.service())) {
    remove_key(i, old);
    former_[FormerKey{f.client_ip, f.client_port, old.ip.value, old.port}] = {i, uint32_t{cold_[i].generation}};
  }
  former_.erase(FormerKey{f.client_ip, f.client_port, next.ip.value, next.port});
  f.backend_ip = next.ip.value;
  f.backend_port = next.port;
}

void FlowTable::erase_former(uint32_t i) {
  const Flow& f = flows_[i];
  auto it = former_.lower_bound(FormerKey{f.client_ip, f.client_port, 0, 0});
  while (it != former_.end() && std::get<0>(it->first) == f.client_ip && std::get<1>(it->first) == f.client_port) {
    it = it->second.first == i ? former_.erase(it) : std::next(it);
  }
}

}  // namespace tcpmig::core::detail
