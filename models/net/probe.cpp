// UDP probe pair (see tcpmig/net/probe.hpp for the protocol).
#include "tcpmig/net/probe.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/udp.hpp"

namespace tcpmig::net {

namespace {

constexpr uint32_t probe_header_len = 12;  // number (4) + send time (8)

uint8_t pattern_byte(uint32_t number, uint32_t k) { return static_cast<uint8_t>((number + k) % 251); }

struct UdpView {
  Ipv4Address src, dst;
  uint16_t src_port = 0, dst_port = 0;
  std::span<const uint8_t> payload;
};

// Parses the UDP datagram in a frame already accepted by Node::receive;
// nullopt when it is good, else why it must be dropped.
std::optional<DropReason> parse_udp(const Packet& p, UdpView& out) {
  auto eth = wire::ConstEthernetFrame::check(p.bytes());
  if (!eth) return DropReason::Malformed;
  auto ip = wire::ConstIpv4Packet::check(eth->payload());
  if (!ip) return DropReason::Malformed;
  auto udp = wire::ConstUdpDatagram::check(ip->payload());
  if (!udp) return DropReason::Malformed;
  if (!udp->verify_checksum(ip->src(), ip->dst())) return DropReason::BadChecksum;
  out = UdpView{ip->src(), ip->dst(), udp->src_port(), udp->dst_port(), udp->payload()};
  return std::nullopt;
}

// Builds a UDP frame (Ethernet addresses left for routing to fill) and sends it.
void send_udp(Node& node, Ipv4Address src, Ipv4Address dst, uint16_t sport, uint16_t dport,
              std::span<const uint8_t> payload) {
  PacketPtr p = node.network().pool().allocate();
  const wire::EthernetRepr eth{MacAddress{}, MacAddress{}, wire::ethertype::ipv4};
  wire::Ipv4Repr ip{};
  ip.src = src;
  ip.dst = dst;
  ip.protocol = wire::ip_proto::udp;
  const wire::UdpRepr udp{sport, dport, payload};
  auto len = wire::emit_udp_frame(p->buffer(), eth, ip, udp);
  if (!len) return;
  p->set_size(static_cast<uint32_t>(*len));
  node.send_ipv4(std::move(p));
}

}  // namespace

UdpEcho::UdpEcho(Node& node, uint16_t port) : node_(node), port_(port) {
  node_.set_ip_handler(wire::ip_proto::udp, this);
}

UdpEcho::~UdpEcho() {
  if (node_.ip_handler(wire::ip_proto::udp) == this) node_.set_ip_handler(wire::ip_proto::udp, nullptr);
}

void UdpEcho::receive_ipv4(Interface& in, PacketPtr p) {
  UdpView v;
  if (const auto bad = parse_udp(*p, v)) {
    in.record_drop(*bad, p->bytes());
    return;
  }
  // Never answer another echo (two echoes would bounce a datagram forever).
  if (v.dst_port != port_ || v.src_port == port_) {
    in.record_drop(DropReason::NoHandler, p->bytes());
    return;
  }
  ++echoed_;
  // The payload lives in `p`, which stays alive until the reply is built.
  send_udp(node_, v.dst, v.src, v.dst_port, v.src_port, v.payload);
}

UdpProber::UdpProber(Node& node, const ProbeConfig& cfg)
    : node_(node),
      cfg_(cfg),
      timer_(node.network().sim(), sim::Callback::bind<&UdpProber::send_next>(this)),
      answered_(cfg.count, 0) {
  cfg_.payload_len = std::max(cfg_.payload_len, probe_header_len);
  node_.set_ip_handler(wire::ip_proto::udp, this);
  if (cfg_.count > 0) timer_.schedule_at(std::max(cfg_.start, node.network().sim().now()));
}

UdpProber::~UdpProber() {
  if (node_.ip_handler(wire::ip_proto::udp) == this) node_.set_ip_handler(wire::ip_proto::udp, nullptr);
}

void UdpProber::send_next() {
  const uint32_t number = stats_.sent;
  std::array<uint8_t, Packet::capacity> payload{};
  const uint32_t len = std::min<uint32_t>(cfg_.payload_len, 1472);
  wire::store_be32(payload.data(), number);
  const auto t = static_cast<uint64_t>(node_.network().sim().now().ns());
  wire::store_be32(payload.data() + 4, static_cast<uint32_t>(t >> 32));
  wire::store_be32(payload.data() + 8, static_cast<uint32_t>(t));
  for (uint32_t k = probe_header_len; k < len; ++k) payload[k] = pattern_byte(number, k);
  if (auto src = node_.source_address_for(cfg_.dst)) {
    send_udp(node_, *src, cfg_.dst, cfg_.src_port, cfg_.dst_port, {payload.data(), len});
  }
  ++stats_.sent;
  if (stats_.sent < cfg_.count) timer_.schedule_in(cfg_.interval);
}

void UdpProber::receive_ipv4(Interface& in, PacketPtr p) {
  UdpView v;
  if (const auto bad = parse_udp(*p, v)) {
    in.record_drop(*bad, p->bytes());
    return;
  }
  if (v.dst_port != cfg_.src_port) {
    in.record_drop(DropReason::NoHandler, p->bytes());
    return;
  }
  bool ok = v.payload.size() == std::min<uint32_t>(cfg_.payload_len, 1472);
  const uint32_t number = ok ? wire::load_be32(v.payload.data()) : 0;
  ok = ok && number < cfg_.count;
  for (uint32_t k = probe_header_len; ok && k < v.payload.size(); ++k) {
    ok = v.payload[k] == pattern_byte(number, k);
  }
  // A send time in the future was not written by us.
  const uint64_t sent_ns =
      ok ? (uint64_t{wire::load_be32(v.payload.data() + 4)} << 32) | wire::load_be32(v.payload.data() + 8) : 0;
  ok = ok && sent_ns <= static_cast<uint64_t>(node_.network().sim().now().ns());
  if (!ok) {
    ++stats_.corrupt;
    return;
  }
  if (answered_[number] != 0) {
    ++stats_.duplicates;
    return;
  }
  answered_[number] = 1;
  ++stats_.received;
  if (static_cast<int64_t>(number) < highest_seen_) ++stats_.out_of_order;
  highest_seen_ = std::max<int64_t>(highest_seen_, number);
  const Duration rtt = node_.network().sim().now() - Time::from_ns(static_cast<int64_t>(sent_ns));
  stats_.rtt_min = std::min(stats_.rtt_min, rtt);
  stats_.rtt_max = std::max(stats_.rtt_max, rtt);
  stats_.rtt_sum += rtt;
}

}  // namespace tcpmig::net
