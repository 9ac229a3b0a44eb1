// The simulated migrating gateway (rules in include/tcpmig/gateway/gateway.hpp).
#include "tcpmig/gateway/gateway.hpp"

#include <cstring>

#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace tcpmig::gateway {

GatewayNode::GatewayNode(net::Network& net, std::string name, uint32_t id, const core::Config& cfg)
    : net::Node(net, std::move(name), id, net::NodeKind::Router),
      core_(cfg, *this),
      timer_(net.sim(), sim::Callback::bind<&GatewayNode::on_timer>(this)) {}

GatewayNode::~GatewayNode() = default;

void GatewayNode::set_client_facing(net::Interface& iface, bool on) {
  if (client_facing_.size() <= iface.index()) client_facing_.resize(iface.index() + 1, 0);
  client_facing_[iface.index()] = on ? 1 : 0;
}

bool GatewayNode::client_facing(const net::Interface& iface) const {
  return iface.index() < client_facing_.size() && client_facing_[iface.index()] != 0;
}

void GatewayNode::reschedule() {
  const core::Nanos at = core_.next_deadline();
  if (at == core::kNever) {
    timer_.cancel();
    return;
  }
  const sim::Time t = sim::Time::from_ns(std::max(at, network().sim().now().ns()));
  if (!timer_.pending() || timer_.expiry() != t) timer_.schedule_at(t);
}

void GatewayNode::on_timer() {
  core_.poll(network().sim().now().ns());
  reschedule();
}

void GatewayNode::forward(net::Interface& in, net::PacketPtr p) {
  auto eth = wire::EthernetFrame::check(p->bytes());
  auto ip = wire::Ipv4Packet::check(eth->payload());
  if (ip->ttl() <= 1) {
    in.record_drop(net::DropReason::TtlExpired, p->bytes());
    return;
  }
  ip->decrement_ttl();
  const core::Direction dir =
      client_facing(in) ? core::Direction::ClientToServer : core::Direction::ServerToClient;
  const core::Verdict v = core_.process(eth->payload(), dir, network().sim().now().ns());
  if (v.action == core::Action::Drop) {
    if (sim::TraceWriter* t = network().trace()) {
      t->packet(network().sim().now(), name(), in.name(), sim::TraceEvent::Drop, core::reason_name(v.reason),
                p->bytes());
    }
  } else {
    // Read the destination after the core: it may have rewritten it.
    route_and_send(&in, std::move(p), wire::Ipv4Packet::check(eth->payload())->dst());
  }
  reschedule();
}

void GatewayNode::emit(std::span<const uint8_t> ipv4, core::Direction) {
  constexpr std::size_t eth_len = wire::EthernetRepr::header_len();
  if (ipv4.size() + eth_len > net::Packet::capacity) return;  // cannot happen: held frames came in whole
  net::PacketPtr p = network().pool().allocate();
  p->set_size(static_cast<uint32_t>(ipv4.size() + eth_len));
  std::memset(p->buffer().data(), 0, eth_len);  // addresses are filled in by route_and_send
  std::memcpy(p->buffer().data() + eth_len, ipv4.data(), ipv4.size());
  const wire::Ipv4Address dst{wire::load_be32(ipv4.data() + 16)};
  route_and_send(nullptr, std::move(p), dst);
}

}  // namespace tcpmig::gateway
