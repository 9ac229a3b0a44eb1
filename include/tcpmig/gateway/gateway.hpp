// The simulated migrating gateway: an IPv4 router that hands every packet it
// forwards to the migration core (core::Migrator) and acts on the verdict.
//
// Place in the layers: models/gateway, on models/net and the core. Call chain:
//   Link -> Node::receive -> GatewayNode::forward (TTL, then the core)
//     Pass/Modified -> Node::route_and_send toward the (rewritten) destination
//     Drop          -> trace drop:<core reason> (held, replay-handshake, ...)
//   core -> GatewayNode::emit (replayed SYN, third ACK, RSTs, held packets)
//     -> a pooled packet with an Ethernet header -> route_and_send
//   sim::Timer at core.next_deadline() -> Migrator::poll
// Rules:
// - Direction: packets arriving on an interface marked client-facing
//   (set_client_facing) travel ClientToServer; all others ServerToClient.
// - TTL is decremented (and the header checksum updated) before the core sees
//   the packet, like any router; packets the core makes start at Config::ttl.
// - Core time is the simulator's time in nanoseconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/net/network.hpp"

namespace tcpmig::gateway {

class GatewayNode final : public net::Node, private core::PacketSink {
 public:
  GatewayNode(net::Network& net, std::string name, uint32_t id, const core::Config& cfg = {});
  ~GatewayNode() override;

  /// Packets arriving on `iface` (one of this node's) come from clients.
  void set_client_facing(net::Interface& iface, bool on = true);
  [[nodiscard]] bool client_facing(const net::Interface& iface) const;

  [[nodiscard]] core::Migrator& migrator() { return core_; }
  [[nodiscard]] const core::Migrator& migrator() const { return core_; }
  /// Re-arms the poll timer after a request made directly on migrator().
  void reschedule();

 protected:
  void forward(net::Interface& in, net::PacketPtr p) override;

 private:
  void emit(std::span<const uint8_t> ipv4, core::Direction dir) override;
  void on_timer();

  core::Migrator core_;
  std::vector<uint8_t> client_facing_;  // by interface index: 1 = client-facing
  sim::Timer timer_;                    // armed at core_.next_deadline()
};

}  // namespace tcpmig::gateway
