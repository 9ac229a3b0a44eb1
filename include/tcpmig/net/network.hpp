// The packet network: nodes, interfaces, point-to-point links, learning
// switches, IPv4 forwarding and routes computed from the topology graph.
//
// Place in the layers: models/net, on top of the sim engine and wire.
// Model rules (README.md "Network model" says the same for users):
// - A link joins two interfaces and has one independent channel per direction:
//   a drop-tail transmit queue (limit in packets and/or bytes), a transmitter
//   of integer rate in bit/s, and a propagation delay. Serialization time of a
//   frame of B bytes at R bit/s is ceil(B * 8 * 1e9 / R) ns (integer arithmetic);
//   B is the Ethernet frame without preamble, FCS or inter-frame gap.
// - Seeded impairments per direction, decided when a frame finishes
//   serialization: loss (the frame never arrives), duplication (a copy arrives
//   too) and reordering (the frame is held for an extra delay, so later frames
//   overtake it). Each direction draws from its own stream derived from
//   (seed, "link/<node>:<if>-><node>:<if>").
// - There is no ARP: a node resolves a next hop's MAC address from the
//   topology: the interface that owns the address, if it is attached to the
//   same L2 segment as the outgoing interface. There is no IP fragmentation:
//   frames larger than an interface's MTU are dropped.
// - Hosts and routers are both `Node`s; a router has forwarding on. A host with
//   several interfaces never forwards. Switches learn source MACs per port and
//   flood unknown or broadcast destinations.
// - Routes: for every subnet in the network each L3 node gets the first hop of
//   a shortest path (fewest L3 hops) computed with Boost.Graph breadth-first
//   search; only routers with an address on a segment forward through it.
//   Among equally short paths the search order decides: destination segments
//   by creation order of their first link, then interfaces in creation order.
//   Routes are recomputed before the next lookup after any node, interface or
//   link is added, also while the simulation runs.
// - Routers forward only frames sent to their own MAC (not broadcasts), like
//   Linux's ip_forward.
// - Building a topology validates it and throws std::invalid_argument with a
//   message naming the problem: empty, duplicate or unprintable node names
//   (names become file names and trace fields), duplicate interface
//   addresses, re-linking a linked interface, negative delays, probabilities
//   outside [0, 1], and links that would close a loop of switches (there is no
//   spanning tree protocol). Packets never throw.
// - Trace events: tx when serialization starts, rx when the last bit arrives,
//   drop:<reason> where the frame is discarded. Per-interface pcaps record tx
//   and rx frames of that interface, like a capture on it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcpmig/net/packet.hpp"
#include "tcpmig/sim/pcap.hpp"
#include "tcpmig/sim/random.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/wire/address.hpp"

namespace tcpmig::net {

using sim::Duration;
using sim::Time;
using wire::Ipv4Address;
using wire::MacAddress;

class Network;
class Node;
class Link;

/// Why a frame was discarded; the name is the trace's drop:<reason>.
enum class DropReason : uint8_t {
  QueueFull,    // transmit queue at its packet or byte limit
  Loss,         // the link's seeded loss
  TooBig,       // frame longer than the interface MTU allows
  NoLink,       // interface not attached to a link
  Malformed,    // frame or IPv4 header fails its checks
  BadChecksum,  // IPv4 header checksum wrong
  NotForUs,     // destination MAC or IP is not this node's and it does not forward
  TtlExpired,   // forwarding would take TTL to zero
  NoRoute,      // no route matches the destination
  NoNeighbour,  // the next hop's address belongs to no interface in the network
  NoHandler,    // no protocol handler for a locally addressed packet
  ErrorModel,   // the receiving interface's error model discarded it
  Count
};
const char* drop_reason_name(DropReason r);

/// An IPv4 address with its prefix length ("10.0.0.1/24").
struct InterfaceAddress {
  Ipv4Address ip;
  uint8_t prefix_len = 24;
  [[nodiscard]] uint32_t mask() const {
    return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  }
  [[nodiscard]] bool contains(Ipv4Address a) const {
    return (a.value & mask()) == (ip.value & mask());
  }
  /// Parses "a.b.c.d/len" (len 0..32); nullopt on error.
  static std::optional<InterfaceAddress> parse(std::string_view text);
};

/// Parameters of one direction of a point-to-point link.
struct LinkParams {
  uint64_t rate_bps = 100'000'000;              // transmitter rate; 0 = infinitely fast
  Duration delay = Duration::milliseconds(1);   // propagation delay
  uint32_t queue_packets = 100;                 // drop-tail limit in frames; 0 = none
  uint64_t queue_bytes = 0;                     // drop-tail limit in bytes; 0 = none
  double loss = 0;                              // probability a frame is lost
  double duplicate = 0;                         // probability a frame arrives twice
  double reorder = 0;                           // probability a frame is held back
  Duration reorder_delay = Duration::milliseconds(1);  // how long a held frame waits
};

/// Serialization time of `bytes` at `rate_bps` (0 = instant), rounded up to ns.
Duration serialization_time(uint64_t bytes, uint64_t rate_bps);

/// Decides, per received frame, whether it is corrupted and discarded before
/// the node sees it (ns-3's ErrorModel). Set on an interface with
/// Interface::set_error_model; it must outlive its use.
class ErrorModel {
 public:
  virtual ~ErrorModel() = default;
  /// True: drop `frame`, the `index`-th frame (from 0) this interface received.
  virtual bool corrupt(uint64_t index, std::span<const uint8_t> frame) = 0;
};

/// Drops the frames whose receive index is in a list, like ns-3's
/// ReceiveListErrorModel: deterministic single losses for tests and studies
/// ("lose the 3rd segment the server receives").
class ListErrorModel final : public ErrorModel {
 public:
  ListErrorModel() = default;
  explicit ListErrorModel(std::vector<uint64_t> indices) : indices_(std::move(indices)) {}
  void add(uint64_t index) { indices_.push_back(index); }
  bool corrupt(uint64_t index, std::span<const uint8_t>) override;

 private:
  std::vector<uint64_t> indices_;  // receive indices to drop (unordered, small)
};

/// Counters of one interface.
struct InterfaceStats {
  uint64_t tx_packets = 0, tx_bytes = 0;
  uint64_t rx_packets = 0, rx_bytes = 0;
  std::array<uint64_t, static_cast<std::size_t>(DropReason::Count)> drops{};
};

/// A network interface: MAC, optional IPv4 address, the sending side of one
/// link direction, and (optionally) a pcap capture.
class Interface {
 public:
  Interface(Node& node, uint32_t index, MacAddress mac, std::optional<InterfaceAddress> addr);
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  [[nodiscard]] Node& node() const { return *node_; }
  /// "eth<index>".
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] uint32_t index() const { return index_; }
  [[nodiscard]] MacAddress mac() const { return mac_; }
  [[nodiscard]] const std::optional<InterfaceAddress>& address() const { return addr_; }
  [[nodiscard]] Link* link() const { return link_; }
  /// The interface at the other end of the link, or nullptr.
  [[nodiscard]] Interface* peer() const;
  /// Largest IP packet (frame minus the 14-byte Ethernet header).
  [[nodiscard]] uint32_t mtu() const { return mtu_; }
  void set_mtu(uint32_t mtu) { mtu_ = mtu; }
  [[nodiscard]] const InterfaceStats& stats() const { return stats_; }

  /// Queues a complete frame for transmission on the link (drop-tail).
  /// Returns why it was dropped here, or nullopt when it was queued.
  std::optional<DropReason> send(PacketPtr p);

  /// Records a drop of `frame` at this interface (trace + counter).
  void record_drop(DropReason r, std::span<const uint8_t> frame);

  /// Consulted for every frame arriving on this interface (nullptr: none).
  void set_error_model(ErrorModel* model) { error_model_ = model; }
  /// The L2 segment (links joined by switches) this interface is on, or -1
  /// when it has no link; valid once routes are computed.
  [[nodiscard]] int segment() const { return segment_; }

 private:
  friend class Link;
  friend class Network;
  void record_tx(const Packet& p);
  void deliver(PacketPtr p);  // called by the link when the last bit arrives

  Node* node_;
  uint32_t index_;
  std::string name_;
  MacAddress mac_;
  std::optional<InterfaceAddress> addr_;
  uint32_t mtu_ = 1500;
  Link* link_ = nullptr;
  int side_ = 0;  // which end of link_ this is (0 or 1)
  InterfaceStats stats_;
  uint64_t rx_index_ = 0;  // frames that reached this interface, for the error model
  int segment_ = -1;       // set by Network::recompute_routes
  ErrorModel* error_model_ = nullptr;
  std::unique_ptr<sim::PcapWriter> pcap_;
};

/// Receives locally addressed IPv4 packets of one protocol on a node.
class IpHandler {
 public:
  virtual ~IpHandler() = default;
  /// `p` holds the whole frame; its IPv4 header has been checked.
  virtual void receive_ipv4(Interface& in, PacketPtr p) = 0;
  /// A frame of this protocol that the host sent finished serialization on
  /// `out` (the NIC's TX completion: the frame left the host's queue). The
  /// default ignores it.
  virtual void on_tx_complete(Interface& /*out*/, const Packet& /*p*/) {}
};

/// One routing-table entry: destinations in prefix/len leave through `out`,
/// to `gateway` (or directly to the destination when gateway is 0.0.0.0).
struct Route {
  InterfaceAddress prefix;  // ip holds the network address
  Interface* out = nullptr;
  Ipv4Address gateway{};
};

enum class NodeKind : uint8_t { Host, Router, Switch };

/// A host or router (IPv4), or the base of a switch.
class Node {
 public:
  Node(Network& net, std::string name, uint32_t id, NodeKind kind);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] NodeKind kind() const { return kind_; }
  [[nodiscard]] uint32_t id() const { return id_; }
  [[nodiscard]] Network& network() const { return *net_; }
  [[nodiscard]] bool forwarding() const { return kind_ == NodeKind::Router; }
  [[nodiscard]] const std::vector<std::unique_ptr<Interface>>& interfaces() const { return ifaces_; }
  [[nodiscard]] Interface& interface(std::size_t i) const { return *ifaces_.at(i); }

  /// Adds an interface; its MAC comes from the network's deterministic counter.
  Interface& add_interface(std::optional<InterfaceAddress> addr = std::nullopt);

  /// Registers the handler for locally addressed packets of `protocol`
  /// (nullptr removes it). Handlers must not outlive the network.
  void set_ip_handler(uint8_t protocol, IpHandler* handler);
  /// The handler registered for `protocol`, or nullptr.
  [[nodiscard]] IpHandler* ip_handler(uint8_t protocol) const;
  /// True when `a` is one of this node's interface addresses.
  [[nodiscard]] bool has_address(Ipv4Address a) const;
  /// The address of the interface a packet to `dst` leaves through, or nullopt.
  [[nodiscard]] std::optional<Ipv4Address> source_address_for(Ipv4Address dst);

  /// Routes and transmits a locally originated frame whose IPv4 header is
  /// complete (the Ethernet addresses are filled in here). Drops with NoRoute
  /// when the destination is unreachable. Returns why the frame was dropped
  /// on this node, or nullopt when it was queued on an interface.
  std::optional<DropReason> send_ipv4(PacketPtr p);

  /// A frame has fully arrived on `in`.
  virtual void receive(Interface& in, PacketPtr p);

  /// The routing table (computed from the topology; see Network).
  [[nodiscard]] const std::vector<Route>& routes();

 protected:
  /// A packet not addressed to this node, on a router. The default decrements
  /// TTL and sends it toward its destination; gateways override this.
  virtual void forward(Interface& in, PacketPtr p);
  /// Looks up the route for `dst`, writes the Ethernet addresses and sends.
  /// `in` is where the frame came from (for drop accounting), may be null.
  std::optional<DropReason> route_and_send(Interface* in, PacketPtr p, Ipv4Address dst);

 private:
  friend class Network;
  friend class Link;
  void deliver_local(Interface& in, PacketPtr p, uint8_t protocol);
  /// A frame this host sent finished serialization on `out`: tell the handler of its protocol.
  void tx_complete(Interface& out, const Packet& p);

  Network* net_;
  std::string name_;
  NodeKind kind_;
  uint32_t id_;
  std::vector<std::unique_ptr<Interface>> ifaces_;
  std::vector<std::pair<uint8_t, IpHandler*>> handlers_;
  std::vector<Route> routes_;  // longest prefix first, then by network address
};

/// An L2 learning switch: learns source MACs per port, forwards known unicast
/// to its port, floods broadcast and unknown destinations to every other port.
/// Forwarding takes no time; each port's link queues and serializes.
class Switch : public Node {
 public:
  Switch(Network& net, std::string name, uint32_t id);
  void receive(Interface& in, PacketPtr p) override;
  /// Learned MAC -> port entries.
  [[nodiscard]] std::size_t table_size() const { return table_.size(); }

 private:
  std::map<MacAddress, Interface*> table_;  // ordered: no hash order anywhere
};

/// A point-to-point link: two independent directions (see the file comment).
class Link {
 public:
  Link(Network& net, Interface& a, Interface& b, const LinkParams& ab, const LinkParams& ba);
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link();

  [[nodiscard]] Interface& end(int side) const { return *dir_[side].from; }
  /// Creation order within the network.
  [[nodiscard]] uint32_t index() const { return index_; }
  [[nodiscard]] const LinkParams& params(int side) const { return dir_[side].params; }
  /// Frames waiting in the transmit queue of direction `side` (0: a->b).
  [[nodiscard]] std::size_t queued(int side) const { return dir_[side].queue.size(); }

 private:
  friend class Interface;
  struct Direction {
    Direction(sim::Simulator& sim, Link& link);
    Link* link;
    Interface* from = nullptr;
    Interface* to = nullptr;
    LinkParams params;
    sim::Rng rng{0};
    PacketList queue;         // waiting to be serialized
    uint64_t queue_bytes = 0;
    PacketPtr on_wire;        // being serialized
    sim::Timer tx_done;       // end of serialization of on_wire
    PacketList in_flight;     // propagating; each packet's own timer fires on arrival
  };
  std::optional<DropReason> enqueue(int side, PacketPtr p);
  void start_tx(Direction& d);
  void on_tx_done(Direction& d);
  void propagate(Direction& d, PacketPtr p, Duration extra);
  static void on_arrival(void* dir, Packet& p);
  static void on_tx_done_a(void* link);
  static void on_tx_done_b(void* link);

  Network* net_;
  uint32_t index_;
  std::array<Direction, 2> dir_;
};

/// Owns the topology, the packet pool and the output sinks of one simulation.
class Network {
 public:
  explicit Network(sim::Simulator& sim);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  [[nodiscard]] sim::Simulator& sim() const { return *sim_; }
  [[nodiscard]] PacketPool& pool() { return pool_; }

  Node& add_host(std::string name);
  Node& add_router(std::string name);
  Switch& add_switch(std::string name);
  /// Adds any node type built on Node (e.g. a gateway); it gets the next id.
  template <class T, class... Args>
  T& add_node(std::string name, Args&&... args) {
    check_new_node_name(name);
    auto n = std::make_unique<T>(*this, std::move(name), next_node_id(), std::forward<Args>(args)...);
    T& ref = *n;
    adopt(std::move(n));
    return ref;
  }

  /// Joins two unattached interfaces with a link; `ba` defaults to `ab`.
  Link& connect(Interface& a, Interface& b, const LinkParams& ab);
  Link& connect(Interface& a, Interface& b, const LinkParams& ab, const LinkParams& ba);
  /// Adds an interface on each node (addressed when given) and links them.
  Link& connect(Node& a, Node& b, const LinkParams& params,
                std::optional<InterfaceAddress> a_addr = std::nullopt,
                std::optional<InterfaceAddress> b_addr = std::nullopt);

  [[nodiscard]] Node* find_node(std::string_view name) const;
  [[nodiscard]] const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  /// Text trace of every packet event (nullptr: off). Not owned.
  void set_trace(sim::TraceWriter* trace) { trace_ = trace; }
  [[nodiscard]] sim::TraceWriter* trace() const { return trace_; }
  /// Writes <dir>/<node>-<iface>.pcap for every interface, including ones
  /// added later. False + `error` if a file cannot be created.
  bool enable_pcap(const std::string& dir, std::string& error);
  /// Flushes and closes every pcap (they stay valid; later frames are not recorded).
  void close_pcaps();
  /// The first pcap error: opening a file for an interface added after
  /// enable_pcap, or (after close_pcaps) a failed write. Empty if none.
  [[nodiscard]] const std::string& pcap_error() const { return pcap_error_; }
  /// The pcap files opened so far (each one was created or truncated), in creation order.
  [[nodiscard]] std::vector<std::string> pcap_paths() const;

  /// MAC of the interface that owns `ip`, if it is on the same L2 segment as
  /// `out` (the "no ARP" resolution).
  [[nodiscard]] std::optional<MacAddress> resolve(Ipv4Address ip, const Interface& out);
  /// Marks routes stale; they are recomputed before the next lookup.
  void topology_changed() { routes_stale_ = true; }
  /// Recomputes every node's routes now (normally done lazily).
  void recompute_routes();

 private:
  friend class Node;
  friend class Interface;
  friend class Link;
  uint32_t next_node_id() const { return static_cast<uint32_t>(nodes_.size()); }
  void adopt(std::unique_ptr<Node> n);
  MacAddress next_mac();
  void interface_added(Interface& i);
  void check_new_interface(const Node& n, const std::optional<InterfaceAddress>& addr) const;
  void check_new_node_name(const std::string& name) const;
  /// <pcap dir>/<node>-<iface>.pcap.
  [[nodiscard]] std::string pcap_path(const Interface& i) const;
  /// The switch group (set of switches joined by switch-to-switch links) of switch `id`.
  uint32_t switch_group(uint32_t id);
  void ensure_routes() {
    if (routes_stale_) recompute_routes();
  }

  sim::Simulator* sim_;
  PacketPool pool_;  // declared before nodes/links: destroyed after them
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Link>> links_;
  std::map<Ipv4Address, Interface*> neighbours_;  // owner of every interface address
  std::map<std::string, Node*, std::less<>> by_name_;  // every node by name
  /// Union-find over node ids: switches joined by switch-to-switch links share
  /// a root (links are never removed, so a link inside a group closes a loop).
  std::vector<uint32_t> switch_parent_;
  sim::TraceWriter* trace_ = nullptr;
  std::string pcap_dir_;
  std::string pcap_error_;
  bool pcap_on_ = false;
  bool routes_stale_ = true;
  uint64_t mac_counter_ = 0;
};

}  // namespace tcpmig::net
