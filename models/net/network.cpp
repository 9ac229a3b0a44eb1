// Nodes, interfaces, links and switches (see tcpmig/net/network.hpp for the
// model rules). Routing lives in routing.cpp.
#include "tcpmig/net/network.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace tcpmig::net {

namespace {
constexpr std::size_t eth_header_len = 14;
__extension__ using u128 = unsigned __int128;
}  // namespace

const char* drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::QueueFull: return "queue-full";
    case DropReason::Loss: return "loss";
    case DropReason::TooBig: return "too-big";
    case DropReason::NoLink: return "no-link";
    case DropReason::Malformed: return "malformed";
    case DropReason::BadChecksum: return "bad-checksum";
    case DropReason::NotForUs: return "not-for-us";
    case DropReason::TtlExpired: return "ttl-expired";
    case DropReason::NoRoute: return "no-route";
    case DropReason::NoNeighbour: return "no-neighbour";
    case DropReason::NoHandler: return "no-handler";
    case DropReason::ErrorModel: return "error-model";
    case DropReason::Count: break;
  }
  return "unknown";
}

std::optional<InterfaceAddress> InterfaceAddress::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto ip = Ipv4Address::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const std::string_view len_text = text.substr(slash + 1);
  unsigned len = 0;
  const auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len_text.empty() || len > 32) {
    return std::nullopt;
  }
  return InterfaceAddress{*ip, static_cast<uint8_t>(len)};
}

Duration serialization_time(uint64_t bytes, uint64_t rate_bps) {
  if (rate_bps == 0) return Duration::zero();
  const u128 bits_ns = static_cast<u128>(bytes) * 8u * 1'000'000'000u;
  const u128 ns = (bits_ns + rate_bps - 1) / rate_bps;
  return Duration::nanoseconds(static_cast<int64_t>(ns));
}

// ---------------------------------------------------------------- Interface

Interface::Interface(Node& node, uint32_t index, MacAddress mac, std::optional<InterfaceAddress> addr)
    : node_(&node), index_(index), name_("eth" + std::to_string(index)), mac_(mac), addr_(addr) {}

Interface* Interface::peer() const {
  return link_ == nullptr ? nullptr : &link_->end(1 - side_);
}

std::optional<DropReason> Interface::send(PacketPtr p) {
  if (p->size() > mtu_ + eth_header_len) {
    record_drop(DropReason::TooBig, p->bytes());
    return DropReason::TooBig;
  }
  if (link_ == nullptr) {
    record_drop(DropReason::NoLink, p->bytes());
    return DropReason::NoLink;
  }
  return link_->enqueue(side_, std::move(p));
}

void Interface::record_drop(DropReason r, std::span<const uint8_t> frame) {
  ++stats_.drops[static_cast<std::size_t>(r)];
  if (sim::TraceWriter* t = node_->network().trace()) {
    t->packet(node_->network().sim().now(), node_->name(), name_, sim::TraceEvent::Drop,
              drop_reason_name(r), frame);
  }
}

void Interface::record_tx(const Packet& p) {
  ++stats_.tx_packets;
  stats_.tx_bytes += p.size();
  const Time now = node_->network().sim().now();
  if (sim::TraceWriter* t = node_->network().trace()) {
    t->packet(now, node_->name(), name_, sim::TraceEvent::Tx, {}, p.bytes());
  }
  if (pcap_) pcap_->write(now, p.bytes());
}

bool ListErrorModel::corrupt(uint64_t index, std::span<const uint8_t>) {
  return std::find(indices_.begin(), indices_.end(), index) != indices_.end();
}

void Interface::deliver(PacketPtr p) {
  const uint64_t index = rx_index_++;
  if (error_model_ != nullptr && error_model_->corrupt(index, p->bytes())) {
    record_drop(DropReason::ErrorModel, p->bytes());
    return;
  }
  ++stats_.rx_packets;
  stats_.rx_bytes += p->size();
  const Time now = node_->network().sim().now();
  if (sim::TraceWriter* t = node_->network().trace()) {
    t->packet(now, node_->name(), name_, sim::TraceEvent::Rx, {}, p->bytes());
  }
  if (pcap_) pcap_->write(now, p->bytes());
  node_->receive(*this, std::move(p));
}

// ---------------------------------------------------------------- Node

Node::Node(Network& net, std::string name, uint32_t id, NodeKind kind)
    : net_(&net), name_(std::move(name)), kind_(kind), id_(id) {}

Node::~Node() = default;

Interface& Node::add_interface(std::optional<InterfaceAddress> addr) {
  net_->check_new_interface(*this, addr);
  auto index = static_cast<uint32_t>(ifaces_.size());
  ifaces_.push_back(std::make_unique<Interface>(*this, index, net_->next_mac(), addr));
  Interface& i = *ifaces_.back();
  net_->interface_added(i);
  return i;
}

void Node::set_ip_handler(uint8_t protocol, IpHandler* handler) {
  for (auto& [proto, h] : handlers_) {
    if (proto == protocol) {
      h = handler;
      return;
    }
  }
  handlers_.emplace_back(protocol, handler);
}

IpHandler* Node::ip_handler(uint8_t protocol) const {
  for (const auto& [proto, h] : handlers_) {
    if (proto == protocol) return h;
  }
  return nullptr;
}

bool Node::has_address(Ipv4Address a) const {
  return std::any_of(ifaces_.begin(), ifaces_.end(),
                     [a](const auto& i) { return i->address() && i->address()->ip == a; });
}

const std::vector<Route>& Node::routes() {
  net_->ensure_routes();
  return routes_;
}

std::optional<Ipv4Address> Node::source_address_for(Ipv4Address dst) {
  for (const Route& r : routes()) {
    if (r.prefix.contains(dst)) {
      if (r.out->address()) return r.out->address()->ip;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<DropReason> Node::send_ipv4(PacketPtr p) {
  auto eth = wire::EthernetFrame::check(p->bytes());
  if (!eth) return DropReason::Malformed;  // programmer error: locally built frames are well formed
  auto ip = wire::Ipv4Packet::check(eth->payload());
  if (!ip) return DropReason::Malformed;
  const Ipv4Address dst = ip->dst();
  return route_and_send(nullptr, std::move(p), dst);
}

void Node::tx_complete(Interface& out, const Packet& p) {
  auto eth = wire::ConstEthernetFrame::check(p.bytes());
  if (!eth || eth->ethertype() != wire::ethertype::ipv4) return;
  auto ip = wire::ConstIpv4Packet::check(eth->payload());
  if (!ip) return;
  if (IpHandler* h = ip_handler(ip->protocol())) h->on_tx_complete(out, p);
}

std::optional<DropReason> Node::route_and_send(Interface* in, PacketPtr p, Ipv4Address dst) {
  for (const Route& r : routes()) {
    if (!r.prefix.contains(dst)) continue;
    const Ipv4Address next_hop = r.gateway.value != 0 ? r.gateway : dst;
    const auto mac = net_->resolve(next_hop, *r.out);
    if (!mac) {
      Interface* where = in != nullptr ? in : r.out;
      where->record_drop(DropReason::NoNeighbour, p->bytes());
      return DropReason::NoNeighbour;
    }
    auto eth = wire::EthernetFrame::check(p->bytes());
    eth->set_src(r.out->mac());
    eth->set_dst(*mac);
    eth->set_ethertype(wire::ethertype::ipv4);
    return r.out->send(std::move(p));
  }
  Interface* where = in != nullptr ? in : (ifaces_.empty() ? nullptr : ifaces_.front().get());
  if (where != nullptr) where->record_drop(DropReason::NoRoute, p->bytes());
  return DropReason::NoRoute;
}

void Node::receive(Interface& in, PacketPtr p) {
  auto eth = wire::EthernetFrame::check(p->bytes());
  if (!eth) {
    in.record_drop(DropReason::Malformed, p->bytes());
    return;
  }
  if (eth->dst() != in.mac() && !eth->dst().is_broadcast()) {
    in.record_drop(DropReason::NotForUs, p->bytes());
    return;
  }
  if (eth->ethertype() != wire::ethertype::ipv4) {
    in.record_drop(DropReason::Malformed, p->bytes());
    return;
  }
  auto ip = wire::Ipv4Packet::check(eth->payload());
  if (!ip) {
    in.record_drop(DropReason::Malformed, p->bytes());
    return;
  }
  if (!ip->verify_checksum()) {
    in.record_drop(DropReason::BadChecksum, p->bytes());
    return;
  }
  if (has_address(ip->dst())) {
    deliver_local(in, std::move(p), ip->protocol());
    return;
  }
  // Only frames sent to this router's MAC are forwarded (Linux drops
  // broadcast-delivered packets in ip_forward); hosts never forward.
  if (!forwarding() || eth->dst() != in.mac()) {
    in.record_drop(DropReason::NotForUs, p->bytes());
    return;
  }
  forward(in, std::move(p));
}

void Node::deliver_local(Interface& in, PacketPtr p, uint8_t protocol) {
  for (auto& [proto, h] : handlers_) {
    if (proto == protocol && h != nullptr) {
      h->receive_ipv4(in, std::move(p));
      return;
    }
  }
  in.record_drop(DropReason::NoHandler, p->bytes());
}

void Node::forward(Interface& in, PacketPtr p) {
  auto eth = wire::EthernetFrame::check(p->bytes());
  auto ip = wire::Ipv4Packet::check(eth->payload());
  if (ip->ttl() <= 1) {
    in.record_drop(DropReason::TtlExpired, p->bytes());
    return;
  }
  ip->decrement_ttl();
  route_and_send(&in, std::move(p), ip->dst());
}

// ---------------------------------------------------------------- Switch

Switch::Switch(Network& net, std::string name, uint32_t id)
    : Node(net, std::move(name), id, NodeKind::Switch) {}

void Switch::receive(Interface& in, PacketPtr p) {
  auto eth = wire::EthernetFrame::check(p->bytes());
  if (!eth) {
    in.record_drop(DropReason::Malformed, p->bytes());
    return;
  }
  const MacAddress src = eth->src();
  if (!src.is_multicast()) table_.insert_or_assign(src, &in);
  const MacAddress dst = eth->dst();
  if (!dst.is_multicast()) {
    if (auto it = table_.find(dst); it != table_.end()) {
      if (it->second != &in) it->second->send(std::move(p));
      return;  // a frame for the port it came from is filtered
    }
  }
  // Flood: a copy to every other attached port, the original to the last one.
  Interface* last = nullptr;
  for (const auto& port : interfaces()) {
    if (port.get() == &in || port->link() == nullptr) continue;
    if (last != nullptr) last->send(network().pool().clone(*p));
    last = port.get();
  }
  if (last != nullptr) last->send(std::move(p));
}

// ---------------------------------------------------------------- Link

Link::Direction::Direction(sim::Simulator& sim, Link& l) : link(&l), tx_done(sim, sim::Callback{}) {}

Link::Link(Network& net, Interface& a, Interface& b, const LinkParams& ab, const LinkParams& ba)
    : net_(&net), index_(static_cast<uint32_t>(net.links_.size())), dir_{Direction(net.sim(), *this), Direction(net.sim(), *this)} {
  dir_[0].from = &a;
  dir_[0].to = &b;
  dir_[0].params = ab;
  dir_[1].from = &b;
  dir_[1].to = &a;
  dir_[1].params = ba;
  dir_[0].tx_done.set_callback(sim::Callback::from(&Link::on_tx_done_a, this));
  dir_[1].tx_done.set_callback(sim::Callback::from(&Link::on_tx_done_b, this));
  for (Direction& d : dir_) {
    std::string stream = "link/" + d.from->node().name() + ":" + d.from->name() + "->" +
                         d.to->node().name() + ":" + d.to->name();
    d.rng = net.sim().rng(stream);
  }
  a.link_ = this;
  a.side_ = 0;
  b.link_ = this;
  b.side_ = 1;
}

Link::~Link() {
  for (Direction& d : dir_) {
    d.tx_done.cancel();
    d.on_wire.reset();
    d.queue.clear();
    d.in_flight.clear();
  }
}

std::optional<DropReason> Link::enqueue(int side, PacketPtr p) {
  Direction& d = dir_[side];
  const LinkParams& lp = d.params;
  const bool busy = d.on_wire != nullptr;
  if (busy) {
    const bool over_packets = lp.queue_packets != 0 && d.queue.size() >= lp.queue_packets;
    const bool over_bytes = lp.queue_bytes != 0 && d.queue_bytes + p->size() > lp.queue_bytes;
    if (over_packets || over_bytes) {
      d.from->record_drop(DropReason::QueueFull, p->bytes());
      return DropReason::QueueFull;
    }
  }
  d.queue_bytes += p->size();
  d.queue.push_back(std::move(p));
  if (!busy) start_tx(d);
  return std::nullopt;
}

void Link::start_tx(Direction& d) {
  PacketPtr p = d.queue.pop_front();
  d.queue_bytes -= p->size();
  d.from->record_tx(*p);
  const Duration t = serialization_time(p->size(), d.params.rate_bps);
  d.on_wire = std::move(p);
  d.tx_done.schedule_in(t);
}

void Link::on_tx_done_a(void* link) {
  auto* l = static_cast<Link*>(link);
  l->on_tx_done(l->dir_[0]);
}

void Link::on_tx_done_b(void* link) {
  auto* l = static_cast<Link*>(link);
  l->on_tx_done(l->dir_[1]);
}

void Link::on_tx_done(Direction& d) {
  // A host hears of its own frame leaving (TCP small queues). While it is
  // told, the frame is still on the wire, so anything it sends now queues.
  if (d.from->node().kind() == NodeKind::Host) d.from->node().tx_complete(*d.from, *d.on_wire);
  PacketPtr p = std::move(d.on_wire);
  const LinkParams& lp = d.params;
  // Impairments are drawn in a fixed order per frame so that turning one on
  // does not shift the random draws of the others when its probability is 0.
  const bool lost = lp.loss > 0 && d.rng.bernoulli(lp.loss);
  if (lost) {
    d.from->record_drop(DropReason::Loss, p->bytes());
  } else {
    if (lp.duplicate > 0 && d.rng.bernoulli(lp.duplicate)) {
      propagate(d, net_->pool().clone(*p), Duration::zero());
    }
    const bool held = lp.reorder > 0 && d.rng.bernoulli(lp.reorder);
    propagate(d, std::move(p), held ? lp.reorder_delay : Duration::zero());
  }
  if (!d.queue.empty()) start_tx(d);
}

void Link::propagate(Direction& d, PacketPtr p, Duration extra) {
  const Time at = net_->sim().now() + d.params.delay + extra;
  Packet& ref = *p;
  d.in_flight.push_back(std::move(p));
  ref.arm(at, &Link::on_arrival, &d);
}

void Link::on_arrival(void* dir, Packet& p) {
  auto* d = static_cast<Direction*>(dir);
  PacketPtr owned = d->in_flight.remove(p);
  d->to->deliver(std::move(owned));
}

// ---------------------------------------------------------------- Network

Network::Network(sim::Simulator& sim) : sim_(&sim), pool_(sim) {}

Network::~Network() {
  // The trace writer may already be gone. Nodes go first (a node's teardown
  // may still send on its links); links then release the packets they hold,
  // all before the pool. Link destructors never touch the interfaces.
  trace_ = nullptr;
  nodes_.clear();
  links_.clear();
}

void Network::check_new_node_name(const std::string& name) const {
  if (name.empty()) throw std::invalid_argument("node name is empty");
  for (const char c : name) {
    const bool printable = c > ' ' && c < 0x7f && c != '/' && c != '\\';
    if (!printable) {
      throw std::invalid_argument("node name '" + name +
                                  "' has a space, a slash or an unprintable character");
    }
  }
  if (find_node(name) != nullptr) throw std::invalid_argument("duplicate node name '" + name + "'");
}

void Network::check_new_interface(const Node& n, const std::optional<InterfaceAddress>& addr) const {
  if (!addr) return;
  if (auto it = neighbours_.find(addr->ip); it != neighbours_.end()) {
    std::string ip;
    addr->ip.append_to(ip);
    throw std::invalid_argument("address " + ip + " of " + n.name() + " is already used by " +
                                it->second->node().name() + ":" + it->second->name());
  }
}

uint32_t Network::switch_group(uint32_t id) {
  if (switch_parent_.size() <= id) {
    const auto old = static_cast<uint32_t>(switch_parent_.size());
    switch_parent_.resize(id + 1);
    for (uint32_t i = old; i <= id; ++i) switch_parent_[i] = i;
  }
  uint32_t root = id;
  while (switch_parent_[root] != root) root = switch_parent_[root];
  while (switch_parent_[id] != root) id = std::exchange(switch_parent_[id], root);  // path compression
  return root;
}

Node& Network::add_host(std::string name) { return add_node<Node>(std::move(name), NodeKind::Host); }

Node& Network::add_router(std::string name) { return add_node<Node>(std::move(name), NodeKind::Router); }

Switch& Network::add_switch(std::string name) { return add_node<Switch>(std::move(name)); }

void Network::adopt(std::unique_ptr<Node> n) {
  by_name_.emplace(n->name(), n.get());
  nodes_.push_back(std::move(n));
  topology_changed();
}

MacAddress Network::next_mac() {
  const uint64_t n = ++mac_counter_;
  // Locally administered unicast: 02:00:nn:nn:nn:nn.
  return MacAddress{{0x02, 0x00, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                     static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}};
}

void Network::interface_added(Interface& i) {
  if (i.address()) neighbours_.emplace(i.address()->ip, &i);
  if (pcap_on_) {
    auto w = std::make_unique<sim::PcapWriter>();
    std::string error;
    if (w->open(pcap_path(i), error)) {
      i.pcap_ = std::move(w);
    } else if (pcap_error_.empty()) {
      pcap_error_ = error;
    }
  }
  topology_changed();
}

bool Network::enable_pcap(const std::string& dir, std::string& error) {
  pcap_dir_ = dir;
  pcap_on_ = true;
  for (const auto& n : nodes_) {
    for (const auto& i : n->interfaces()) {
      if (i->pcap_) continue;
      auto w = std::make_unique<sim::PcapWriter>();
      if (!w->open(pcap_path(*i), error)) return false;
      i->pcap_ = std::move(w);
    }
  }
  return true;
}

void Network::close_pcaps() {
  pcap_on_ = false;
  // Newest first: the C library keeps open files in a list, newest at the
  // head, and closing the oldest first walks all of it every time.
  std::string first_failed;  // in creation order: the last one met here
  for (auto n = nodes_.rbegin(); n != nodes_.rend(); ++n) {
    const auto& ifaces = (*n)->interfaces();
    for (auto i = ifaces.rbegin(); i != ifaces.rend(); ++i) {
      if (!(*i)->pcap_) continue;
      (*i)->pcap_->close();
      if (!(*i)->pcap_->ok()) first_failed = pcap_path(**i) + ": write failed";
    }
  }
  if (pcap_error_.empty()) pcap_error_ = first_failed;
}

std::string Network::pcap_path(const Interface& i) const {
  return pcap_dir_ + "/" + i.node().name() + "-" + i.name() + ".pcap";
}

std::vector<std::string> Network::pcap_paths() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) {
    for (const auto& i : n->interfaces()) {
      if (i->pcap_) out.push_back(pcap_path(*i));
    }
  }
  return out;
}

Link& Network::connect(Interface& a, Interface& b, const LinkParams& ab) { return connect(a, b, ab, ab); }

namespace {
void check_params(const LinkParams& p, const std::string& what) {
  if (p.delay < Duration::zero()) throw std::invalid_argument(what + ": negative delay");
  if (p.reorder_delay < Duration::zero()) throw std::invalid_argument(what + ": negative reorder delay");
  for (const double prob : {p.loss, p.duplicate, p.reorder}) {
    if (!(prob >= 0.0 && prob <= 1.0)) throw std::invalid_argument(what + ": probability outside [0, 1]");
  }
}
}  // namespace

Link& Network::connect(Interface& a, Interface& b, const LinkParams& ab, const LinkParams& ba) {
  const std::string what = "link " + a.node().name() + ":" + a.name() + " - " + b.node().name() + ":" + b.name();
  if (&a == &b) throw std::invalid_argument(what + ": an interface cannot be linked to itself");
  if (a.link() != nullptr || b.link() != nullptr) {
    throw std::invalid_argument(what + ": interface already linked");
  }
  check_params(ab, what);
  check_params(ba, what);
  const bool switches = a.node().kind() == NodeKind::Switch && b.node().kind() == NodeKind::Switch;
  const uint32_t ga = switches ? switch_group(a.node().id()) : 0;
  const uint32_t gb = switches ? switch_group(b.node().id()) : 0;
  if (switches && ga == gb) throw std::invalid_argument(what + ": would close a loop of switches");
  links_.push_back(std::make_unique<Link>(*this, a, b, ab, ba));
  if (switches) switch_parent_[ga] = gb;  // one group now
  topology_changed();
  return *links_.back();
}

Link& Network::connect(Node& a, Node& b, const LinkParams& params, std::optional<InterfaceAddress> a_addr,
                       std::optional<InterfaceAddress> b_addr) {
  Interface& ia = a.add_interface(a_addr);
  Interface& ib = b.add_interface(b_addr);
  return connect(ia, ib, params, params);
}

Node* Network::find_node(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::optional<MacAddress> Network::resolve(Ipv4Address ip, const Interface& out) {
  ensure_routes();
  const auto it = neighbours_.find(ip);
  if (it == neighbours_.end()) return std::nullopt;
  const Interface& owner = *it->second;
  if (owner.segment() < 0 || owner.segment() != out.segment()) return std::nullopt;
  return owner.mac();
}

}  // namespace tcpmig::net
