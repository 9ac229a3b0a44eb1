// TcpStack: demultiplexing, socket ownership, frames in and out
// (see tcpmig/tcp/stack.hpp).
#include "tcpmig/tcp/stack.hpp"

#include <algorithm>
#include <string>

#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace tcpmig::tcp {

TcpStack::TcpStack(net::Node& node, const TcpConfig& cfg)
    : node_(&node),
      sim_(&node.network().sim()),
      cfg_(cfg),
      rng_(node.network().sim().rng("tcp/" + node.name())),
      latency_rng_(node.network().sim().rng("tcp-latency/" + node.name())),
      reap_timer_(node.network().sim(), sim::Callback::bind<&TcpStack::on_reap>(this)) {
  node_->set_ip_handler(wire::ip_proto::tcp, this);
}

TcpStack::~TcpStack() {
  node_->set_ip_handler(wire::ip_proto::tcp, nullptr);
  reap_timer_.cancel();
  conns_.clear();
  listeners_.clear();
  sockets_.clear();
}

TcpSocket& TcpStack::create_socket() {
  auto s = std::make_unique<TcpSocket>(*this, cfg_);
  TcpSocket& ref = *s;
  ref.id_ = next_id_++;
  sockets_.emplace(ref.id_, std::move(s));
  return ref;
}

TcpSocket* TcpStack::find(const FourTuple& t) const {
  auto it = conns_.find(t);
  return it == conns_.end() ? nullptr : it->second;
}

uint16_t TcpStack::mss_for_mtu(uint32_t mtu) const {
  // A segment of MSS bytes with a 20-byte TCP header must fit a packet
  // buffer (net::Packet::capacity) behind the Ethernet and IPv4 headers,
  // whatever the configuration or the interface MTU says.
  const uint32_t mss = cfg_.mss != 0 ? cfg_.mss : std::clamp<uint32_t>(mtu, 128, 65535) - 40;
  return static_cast<uint16_t>(std::clamp<uint32_t>(mss, 88, kMaxAdvMss));
}

uint32_t TcpStack::mtu_for(Ipv4Address dst) const {
  for (const net::Route& r : node_->routes()) {
    if (r.prefix.contains(dst)) return r.out->mtu();
  }
  return node_->interfaces().empty() ? 1500 : node_->interface(0).mtu();
}

uint16_t TcpStack::mss_for(Ipv4Address dst) const { return mss_for_mtu(mtu_for(dst)); }

bool TcpStack::challenge_ack_allowed() {
  const Time now = sim_->now();
  if (now - challenge_window_start_ >= Duration::seconds(1)) {
    challenge_window_start_ = now;
    challenge_acks_in_window_ = 0;
  }
  if (challenge_acks_in_window_ >= cfg_.challenge_ack_limit) {
    ++stats_.challenge_acks_limited;
    return false;
  }
  ++challenge_acks_in_window_;
  return true;
}

uint32_t TcpStack::next_isn() {
  if (cfg_.isn) return *cfg_.isn;
  return next_random();
}

TcpSocket* TcpStack::connect(Ipv4Address dst, uint16_t port, TcpEvents* events, uint16_t local_port) {
  std::optional<Ipv4Address> src = node_->source_address_for(dst);
  if (!src) {
    for (const auto& i : node_->interfaces()) {
      if (i->address()) {
        src = i->address()->ip;
        break;
      }
    }
  }
  if (!src) return nullptr;
  FourTuple t{*src, local_port, dst, port};
  if (local_port == 0) {
    // Random start in the ephemeral range, then the first free port (Linux
    // walks the range from a hashed offset the same way).
    const uint32_t lo = cfg_.ephemeral_port_min;
    const uint32_t hi = std::max<uint32_t>(cfg_.ephemeral_port_max, lo);
    const uint32_t span = hi - lo + 1;
    const uint32_t start = static_cast<uint32_t>(rng_.below(span));
    bool found = false;
    for (uint32_t k = 0; k < span && !found; ++k) {
      t.local_port = static_cast<uint16_t>(lo + (start + k) % span);
      found = conns_.find(t) == conns_.end() && listeners_.find(t.local_port) == listeners_.end();
    }
    if (!found) return nullptr;
  } else if (conns_.find(t) != conns_.end()) {
    return nullptr;
  }
  TcpSocket& s = create_socket();
  s.set_events(events);
  s.tuple_ = t;
  register_conn(s);
  s.open_active(t, next_isn(), mss_for(dst), mtu_for(dst));
  return &s;
}

TcpSocket* TcpStack::listen(uint16_t port, TcpEvents* events, uint32_t backlog) {
  if (listeners_.find(port) != listeners_.end()) return nullptr;
  TcpSocket& s = create_socket();
  s.set_events(events);
  s.open_listen(FourTuple{Ipv4Address{}, port, Ipv4Address{}, 0}, std::max<uint32_t>(backlog, 1));
  listeners_.emplace(port, &s);
  return &s;
}

void TcpStack::register_conn(TcpSocket& s) { conns_.insert_or_assign(s.tuple_, &s); }

void TcpStack::unregister(TcpSocket& s) {
  if (s.state_ == TcpState::Listen || (s.tuple_.remote_port == 0 && s.tuple_.remote_addr.value == 0)) {
    auto it = listeners_.find(s.tuple_.local_port);
    if (it != listeners_.end() && it->second == &s) {
      listeners_.erase(it);
      // Children not yet accepted go with their listener (reset if half-open).
      std::vector<TcpSocket*> orphans;
      for (auto& [tuple, c] : conns_) {
        if (c->listener_ == &s) orphans.push_back(c);
      }
      for (TcpSocket* c : orphans) {
        c->listener_ = nullptr;
        c->abort();
      }
    }
    return;
  }
  auto it = conns_.find(s.tuple_);
  if (it != conns_.end() && it->second == &s) conns_.erase(it);
}

void TcpStack::schedule_reap(TcpSocket& s) {
  if (s.reap_scheduled_) return;
  s.reap_scheduled_ = true;
  reap_.push_back(&s);
  if (!reap_timer_.pending()) reap_timer_.schedule_in(Duration::zero());
}

void TcpStack::on_reap() {
  std::vector<TcpSocket*> batch;
  batch.swap(reap_);
  for (TcpSocket* s : batch) sockets_.erase(s->id_);
}

void TcpStack::receive_ipv4(net::Interface& in, net::PacketPtr p) {
  ++stats_.segs_in;
  auto eth = wire::ConstEthernetFrame::check(p->bytes());
  if (!eth) {
    ++stats_.malformed;
    in.record_drop(net::DropReason::Malformed, p->bytes());
    return;
  }
  auto ip = wire::ConstIpv4Packet::check(eth->payload());
  if (!ip || ip->is_fragment()) {
    ++stats_.malformed;
    in.record_drop(net::DropReason::Malformed, p->bytes());
    return;
  }
  auto seg = wire::ConstTcpSegment::check(ip->payload());
  if (!seg) {
    ++stats_.malformed;
    in.record_drop(net::DropReason::Malformed, p->bytes());
    return;
  }
  auto repr = wire::TcpRepr::parse(*seg, ip->src(), ip->dst());
  if (!repr) {
    if (repr.error() == wire::Error::BadChecksum) {
      ++stats_.bad_checksum;
      in.record_drop(net::DropReason::BadChecksum, p->bytes());
    } else {
      ++stats_.malformed;
      in.record_drop(net::DropReason::Malformed, p->bytes());
    }
    return;
  }
  if (!repr->payload.empty()) ++stats_.data_segs_in;
  // `p` stays alive until input returns: the payload span points into it.
  input(in.mtu(), ip->src(), ip->dst(), *repr);
}

void TcpStack::input(uint32_t in_mtu, Ipv4Address src, Ipv4Address dst, const wire::TcpRepr& seg) {
  const FourTuple t{dst, seg.dst_port, src, seg.src_port};
  const TcpSocket::Segment s{seg, src, dst};
  if (auto it = conns_.find(t); it != conns_.end()) {
    TcpSocket& sock = *it->second;
    const bool bare_syn = (seg.flags & (wire::tcp_flag::SYN | wire::tcp_flag::ACK | wire::tcp_flag::RST)) ==
                          wire::tcp_flag::SYN;
    auto l = listeners_.find(seg.dst_port);
    if (!(bare_syn && l != listeners_.end() && sock.accepts_new_syn(seg))) {
      sock.input(s);
      return;
    }
    // A new incarnation of the tuple while it sits in TIME_WAIT: end the old
    // one and let the listener answer (RFC 6191; Linux TCP_TW_SYN).
    sock.to_closed(CloseReason::Normal, false);
  }
  if (auto it = listeners_.find(seg.dst_port); it != listeners_.end()) {
    it->second->on_listen(s, in_mtu);
    return;
  }
  // RFC 9293 3.10.7.1, state CLOSED: answer anything but a RST with a RST.
  ++stats_.no_socket;
  if ((seg.flags & wire::tcp_flag::RST) == 0) send_reset_for(seg, src, dst);
}

TcpStack::Fate TcpStack::send_frame(net::PacketPtr p) {
  ++stats_.segs_out;
  if (tap_ != nullptr) {
    tap_->on_output(std::move(p));
    return Fate::Untracked;
  }
  const std::optional<net::DropReason> drop = node_->send_ipv4(std::move(p));
  if (!drop) return Fate::Queued;
  return *drop == net::DropReason::QueueFull ? Fate::QueueFull : Fate::Dropped;
}

void TcpStack::on_tx_complete(net::Interface& /*out*/, const net::Packet& p) {
  const auto info = wire::classify_frame(p.bytes());
  if (!info.ok() || !info->ipv4) return;
  auto seg = wire::ConstTcpSegment::check(info->l4);
  if (!seg.ok()) return;
  const FourTuple t{info->ipv4->src(), seg->src_port(), info->ipv4->dst(), seg->dst_port()};
  if (TcpSocket* s = find(t)) s->on_tx_complete(p.size());
}

void TcpStack::send_reset_for(const wire::TcpRepr& seg, Ipv4Address src, Ipv4Address dst) {
  wire::TcpRepr rst;
  rst.src_port = seg.dst_port;
  rst.dst_port = seg.src_port;
  if ((seg.flags & wire::tcp_flag::ACK) != 0) {
    rst.seq = seg.ack;
    rst.flags = wire::tcp_flag::RST;
  } else {
    rst.seq = SeqNumber{0};
    rst.ack = seg.seq + seg.seq_len();
    rst.flags = wire::tcp_flag::RST | wire::tcp_flag::ACK;
  }
  net::PacketPtr p = node_->network().pool().allocate();
  wire::Ipv4Repr ip{};
  ip.src = dst;
  ip.dst = src;
  ip.ident = 0;
  auto len = wire::emit_tcp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, ip, rst);
  if (!len) return;
  p->set_size(static_cast<uint32_t>(*len));
  ++stats_.resets_sent;
  send_frame(std::move(p));
}

sim::Duration TcpStack::draw_app_latency(const AppLatency& l) {
  switch (l.kind) {
    case AppLatency::Kind::None: return sim::Duration::zero();
    case AppLatency::Kind::Fixed: return l.fixed;
    case AppLatency::Kind::Uniform: return latency_rng_.uniform_duration(l.lo, l.hi);
    case AppLatency::Kind::Table: break;
  }
  // Inverse CDF, linear between the two points around the drawn probability
  // (a 128-bit product: a span of up to 10^6 s times 10^6 ppm).
  __extension__ using i128 = __int128;
  if (l.table == nullptr || l.table->empty()) return sim::Duration::zero();
  const auto& t = *l.table;
  const auto u = static_cast<uint32_t>(latency_rng_.below(1'000'000));
  for (std::size_t i = 1; i < t.size(); ++i) {
    const auto& [p1, v1] = t[i];
    if (u >= p1) continue;
    const auto& [p0, v0] = t[i - 1];
    if (u <= p0 || p1 <= p0) return v0;
    const i128 span = (v1 - v0).ns();
    return v0 + sim::Duration::nanoseconds(static_cast<int64_t>(span * (u - p0) / (p1 - p0)));
  }
  return t.back().second;
}

}  // namespace tcpmig::tcp
