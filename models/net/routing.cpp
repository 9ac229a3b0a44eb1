// Route computation from the topology graph (Boost.Graph).
//
// Place in the layers: models/net. Called lazily by Network before the first
// route lookup after any topology change (see network.hpp for the rules).
//
// The graph: one vertex per L3 node (host or router, in creation order), then
// one per L2 segment (the links joined by switches, numbered by their first
// link). Breadth-first search runs backwards from the segments that hold a
// subnet, so its edges point from the destination toward sources:
//   segment -> node  for every L3 interface on the segment (any node can be reached),
//   node -> segment  only for routers (only routers carry traffic through).
// The predecessor of a node in that search is the segment it should send on;
// the predecessor of that segment is the router that is the next hop.
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/pending/disjoint_sets.hpp>
#include <boost/pending/queue.hpp>

#include "tcpmig/net/network.hpp"

namespace tcpmig::net {

namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

struct Subnet {
  uint32_t network;
  uint8_t prefix_len;
  auto operator<=>(const Subnet&) const = default;
};

}  // namespace

void Network::recompute_routes() {
  routes_stale_ = false;

  // 1. L2 segments: links joined through switches.
  boost::disjoint_sets_with_storage<> sets(links_.size());
  for (const auto& n : nodes_) {
    if (n->kind() != NodeKind::Switch) continue;
    int first = -1;
    for (const auto& port : n->interfaces()) {
      if (port->link() == nullptr) continue;
      const auto idx = static_cast<int>(port->link()->index());
      if (first < 0) {
        first = idx;
      } else {
        sets.union_set(first, idx);
      }
    }
  }
  std::vector<int> segment_of_link(links_.size(), -1);
  std::map<std::size_t, int> root_to_segment;
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const std::size_t root = sets.find_set(i);
    auto [it, inserted] = root_to_segment.try_emplace(root, static_cast<int>(root_to_segment.size()));
    segment_of_link[i] = it->second;
  }
  const auto segment_count = root_to_segment.size();

  // 2. Vertices: L3 nodes, then segments.
  std::vector<Node*> l3;
  for (const auto& n : nodes_) {
    if (n->kind() != NodeKind::Switch) l3.push_back(n.get());
  }
  const std::size_t seg_base = l3.size();
  Graph g(seg_base + segment_count);
  auto segment_of = [&](const Interface& i) -> int {
    return i.link() == nullptr ? -1 : segment_of_link[i.link()->index()];
  };
  for (const auto& n : nodes_) {
    for (const auto& i : n->interfaces()) i->segment_ = segment_of(*i);
  }
  std::set<Subnet> subnets;
  for (std::size_t v = 0; v < l3.size(); ++v) {
    Node* n = l3[v];
    for (const auto& i : n->interfaces()) {
      const int seg = segment_of(*i);
      if (seg < 0) continue;
      boost::add_edge(seg_base + static_cast<std::size_t>(seg), v, g);
      // A router carries traffic from a segment only if it has an address
      // there (hosts on the segment need it as their gateway).
      if (n->forwarding() && i->address()) boost::add_edge(v, seg_base + static_cast<std::size_t>(seg), g);
      if (i->address()) {
        subnets.insert(Subnet{i->address()->ip.value & i->address()->mask(), i->address()->prefix_len});
      }
    }
  }

  for (Node* n : l3) n->routes_.clear();

  // 3. One backward search per subnet.
  const std::size_t vertex_count = boost::num_vertices(g);
  std::vector<Vertex> pred(vertex_count);
  std::vector<boost::default_color_type> color(vertex_count);
  for (const Subnet& s : subnets) {
    const InterfaceAddress prefix{Ipv4Address{s.network}, s.prefix_len};
    std::vector<Vertex> sources;
    std::vector<bool> is_source(vertex_count, false);
    for (Node* n : l3) {
      for (const auto& i : n->interfaces()) {
        const int seg = segment_of(*i);
        if (seg < 0 || !i->address() || !prefix.contains(i->address()->ip)) continue;
        const Vertex sv = seg_base + static_cast<std::size_t>(seg);
        if (!is_source[sv]) {
          is_source[sv] = true;
          sources.push_back(sv);
        }
      }
    }
    std::sort(sources.begin(), sources.end());
    for (std::size_t v = 0; v < vertex_count; ++v) pred[v] = v;
    std::fill(color.begin(), color.end(), boost::white_color);
    boost::queue<Vertex> queue;
    auto color_map = boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g));
    auto pred_map = boost::make_iterator_property_map(pred.begin(), boost::get(boost::vertex_index, g));
    boost::breadth_first_search(
        g, sources.begin(), sources.end(), queue,
        boost::make_bfs_visitor(boost::record_predecessors(pred_map, boost::on_tree_edge())), color_map);

    for (std::size_t v = 0; v < l3.size(); ++v) {
      Node* n = l3[v];
      // On-link: the node has an interface in the subnet.
      Interface* direct = nullptr;
      for (const auto& i : n->interfaces()) {
        if (segment_of(*i) >= 0 && i->address() && prefix.contains(i->address()->ip)) {
          direct = i.get();
          break;
        }
      }
      if (direct != nullptr) {
        n->routes_.push_back(Route{prefix, direct, Ipv4Address{}});
        continue;
      }
      if (color[v] == boost::white_color || pred[v] == v) continue;  // unreachable
      const Vertex seg_v = pred[v];
      const auto seg = static_cast<int>(seg_v - seg_base);
      // The node's interface on that segment, preferring one with an address.
      Interface* out = nullptr;
      for (const auto& i : n->interfaces()) {
        if (segment_of(*i) != seg) continue;
        if (out == nullptr || (!out->address() && i->address())) out = i.get();
      }
      if (out == nullptr) continue;
      if (is_source[seg_v]) {
        // The subnet sits on this very segment behind an interface of another subnet.
        n->routes_.push_back(Route{prefix, out, Ipv4Address{}});
        continue;
      }
      Node* hop = l3[pred[seg_v]];
      Ipv4Address gateway{};
      for (const auto& i : hop->interfaces()) {
        if (segment_of(*i) == seg && i->address()) {
          gateway = i->address()->ip;
          break;
        }
      }
      if (gateway.value == 0) continue;  // next hop has no address on the segment
      n->routes_.push_back(Route{prefix, out, gateway});
    }
  }

  // Longest prefix first, then by network address: first match wins.
  for (Node* n : l3) {
    std::stable_sort(n->routes_.begin(), n->routes_.end(), [](const Route& a, const Route& b) {
      if (a.prefix.prefix_len != b.prefix.prefix_len) return a.prefix.prefix_len > b.prefix.prefix_len;
      return a.prefix.ip.value < b.prefix.ip.value;
    });
  }
}

}  // namespace tcpmig::net
