// Test fixtures for the TCP stack: a client-router-server network with
// packet interception (drop the k-th packet), simple sending/receiving
// applications, and a harness that drives one socket with crafted segments.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../test_output.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/sim/trace.hpp"
#include "tcpmig/tcp/stack.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace tcplab {

using namespace tcpmig;
using namespace tcpmig::sim::literals;
using tcp::TcpConfig;
using tcp::TcpSocket;
using tcp::TcpState;
using wire::Ipv4Address;
using wire::SeqNumber;
namespace flag = wire::tcp_flag;

inline net::InterfaceAddress addr(const char* s) { return *net::InterfaceAddress::parse(s); }
inline Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

/// Byte k of the test pattern.
inline uint8_t pattern(uint64_t k) { return static_cast<uint8_t>((k * 7 + k / 251) % 256); }

using tcpmig::testing::test_out_dir;  // pcaps for the tshark check

/// Records what a socket tells its application; reads everything readable.
struct Recorder : tcp::TcpEvents {
  std::vector<uint8_t> data;         // bytes received, in order
  std::vector<std::string> log;      // event names
  TcpSocket* child = nullptr;        // last accepted child
  std::optional<tcp::CloseReason> closed;
  bool read_enabled = true;          // false: leave data in the buffer (zero window)
  bool close_on_fin = false;         // close() when the peer's FIN arrives
  std::function<void(TcpSocket&)> on_accept_hook;

  void on_connected(TcpSocket&) override { log.emplace_back("connected"); }
  void on_accept(TcpSocket&, TcpSocket& c) override {
    log.emplace_back("accept");
    child = &c;
    c.set_events(this);
    if (on_accept_hook) on_accept_hook(c);
  }
  void on_readable(TcpSocket& s) override {
    log.emplace_back("readable");
    if (read_enabled) drain(s);
  }
  void on_writable(TcpSocket&) override { log.emplace_back("writable"); }
  void on_peer_fin(TcpSocket& s) override {
    log.emplace_back("peer_fin");
    if (close_on_fin) s.close();
  }
  void on_closed(TcpSocket&, tcp::CloseReason r) override {
    log.emplace_back(std::string("closed:") + tcp::close_reason_name(r));
    closed = r;
  }
  void drain(TcpSocket& s) {
    uint8_t buf[4096];
    while (std::size_t n = s.recv(buf)) data.insert(data.end(), buf, buf + n);
  }
  [[nodiscard]] bool saw(const std::string& e) const {
    for (const auto& l : log) {
      if (l == e) return true;
    }
    return false;
  }
};

/// Sends `total` pattern bytes as fast as the send buffer takes them, then
/// shuts down (or closes) the socket.
struct Sender : Recorder {
  uint64_t total = 0;
  uint64_t sent = 0;
  bool close_when_done = true;
  void pump(TcpSocket& s) {
    uint8_t buf[8192];
    while (sent < total) {
      const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(sizeof buf, total - sent));
      for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(sent + i);
      const std::size_t took = s.send({buf, n});
      sent += took;
      if (took < n) return;
    }
    if (close_when_done) s.close();
  }
  void on_connected(TcpSocket& s) override {
    Recorder::on_connected(s);
    pump(s);
  }
  void on_writable(TcpSocket& s) override {
    Recorder::on_writable(s);
    pump(s);
  }
};

/// Drops chosen TCP packets arriving at a node, then hands the rest to the
/// node's stack (installed in front of it as the protocol-6 handler).
struct DropFilter : net::IpHandler {
  DropFilter(net::Node& node, tcp::TcpStack& stack) : node_(node), stack_(stack) {
    node_.set_ip_handler(wire::ip_proto::tcp, this);
  }
  ~DropFilter() override { node_.set_ip_handler(wire::ip_proto::tcp, &stack_); }
  DropFilter(const DropFilter&) = delete;
  DropFilter& operator=(const DropFilter&) = delete;
  void receive_ipv4(net::Interface& in, net::PacketPtr p) override {
    ++seen;
    if (drop_all || (drop_index != 0 && seen == drop_index)) {
      ++dropped;
      return;
    }
    stack_.receive_ipv4(in, std::move(p));
  }
  // TX completions go to the stack (its small-queue accounting).
  void on_tx_complete(net::Interface& out, const net::Packet& p) override { stack_.on_tx_complete(out, p); }
  net::Node& node_;
  tcp::TcpStack& stack_;
  uint64_t seen = 0;        // TCP packets that arrived
  uint64_t drop_index = 0;  // 1-based index of the packet to drop; 0: none
  uint64_t dropped = 0;
  bool drop_all = false;
};

/// client (10.0.1.1) -- router -- server (10.0.2.1), one stack per host.
struct Lab {
  explicit Lab(const TcpConfig& client_cfg = {}, const TcpConfig& server_cfg = {},
               const net::LinkParams& lp = default_link(), uint64_t seed = 1)
      : sim(seed), net(sim) {
    client = &net.add_host("client");
    router = &net.add_router("router");
    server = &net.add_host("server");
    net.connect(*client, *router, lp, addr("10.0.1.1/24"), addr("10.0.1.254/24"));
    net.connect(*router, *server, lp, addr("10.0.2.254/24"), addr("10.0.2.1/24"));
    cstack = std::make_unique<tcp::TcpStack>(*client, client_cfg);
    sstack = std::make_unique<tcp::TcpStack>(*server, server_cfg);
    cfilter = std::make_unique<DropFilter>(*client, *cstack);
    sfilter = std::make_unique<DropFilter>(*server, *sstack);
  }
  static net::LinkParams default_link() {
    net::LinkParams lp;
    lp.rate_bps = 100'000'000;
    lp.delay = 1_ms;
    lp.queue_packets = 100;
    return lp;
  }
  ~Lab() {
    cfilter.reset();
    sfilter.reset();
  }
  sim::Simulator sim;
  net::Network net;
  net::Node* client = nullptr;
  net::Node* router = nullptr;
  net::Node* server = nullptr;
  std::unique_ptr<tcp::TcpStack> cstack, sstack;
  std::unique_ptr<DropFilter> cfilter, sfilter;
};

/// Result of transfer(): what arrived and how the sockets ended.
struct TransferResult {
  std::vector<uint8_t> received;
  bool intact = false;  // exactly the pattern bytes, in order
  std::optional<tcp::CloseReason> client_closed, server_closed;
  tcp::TcpSocketStats client_stats;
  bool client_ts = false, client_sack = false, client_ws = false;
  bool server_ts = false, server_sack = false, server_ws = false;
  sim::Time closed;  // both sides had closed (to 10 ms), or the limit
  sim::Time end;     // the simulation ended (TIME_WAIT included), or the limit
};

/// Sends `bytes` from client to server port 80; the server closes when the
/// client's FIN arrives. `setup` runs before the simulation (drops, pcaps).
/// The run ends when nothing is left to do, or at `limit` if both sides have
/// not closed by then.
inline TransferResult transfer(Lab& lab, uint64_t bytes, const std::function<void(Lab&)>& setup = {},
                               sim::Time limit = sim::Time::from_ns(std::numeric_limits<int64_t>::max())) {
  Recorder server_app;
  server_app.close_on_fin = true;
  Sender client_app;
  client_app.total = bytes;
  lab.sstack->listen(80, &server_app);
  if (setup) setup(lab);
  TcpSocket* c = lab.cstack->connect(ip("10.0.2.1"), 80, &client_app);
  REQUIRE(c != nullptr);
  TransferResult r;
  bool captured = false;
  auto capture = [&] {
    if (captured || c->state() == TcpState::SynSent || server_app.child == nullptr) return;
    captured = true;
    r.client_ts = c->ts_enabled();
    r.client_sack = c->sack_enabled();
    r.client_ws = c->snd_wscale() != 0 || c->rcv_wscale() != 0;
    r.server_ts = server_app.child->ts_enabled();
    r.server_sack = server_app.child->sack_enabled();
    r.server_ws = server_app.child->snd_wscale() != 0 || server_app.child->rcv_wscale() != 0;
  };
  // Step in small increments to see the negotiated options while established.
  for (int i = 0; i < 2000 && !captured && lab.sim.pending_events() > 0; ++i) {
    lab.sim.run_until(lab.sim.now() + 1_ms);
    capture();
  }
  r.client_stats = c->stats();
  while (lab.sim.now() < limit && !(client_app.closed && server_app.closed) && lab.sim.pending_events() > 0) {
    lab.sim.run_until(std::min(limit, lab.sim.now() + 10_ms));
  }
  r.closed = lab.sim.now();
  if (client_app.closed && server_app.closed) lab.sim.run();
  r.end = lab.sim.now();
  r.received = server_app.data;
  r.client_closed = client_app.closed;
  r.server_closed = server_app.closed;
  r.intact = r.received.size() == bytes;
  for (uint64_t k = 0; r.intact && k < bytes; ++k) r.intact = r.received[k] == pattern(k);
  return r;
}

/// One segment seen or sent by the Harness.
struct Seg {
  wire::TcpRepr tcp;
  std::vector<uint8_t> payload;
  [[nodiscard]] bool has(uint8_t f) const { return (tcp.flags & f) == f; }
};

/// Drives one stack on host 10.0.0.1 with segments from a fake peer
/// 10.0.0.2:4000 and captures what it sends (smoltcp-style send/recv helpers).
struct Harness : tcp::SegmentTap {
  static constexpr uint16_t kLocalPort = 80;
  static constexpr uint16_t kRemotePort = 4000;
  static constexpr uint32_t kLocalIsn = 1000;
  static constexpr uint32_t kRemoteIsn = 5000;

  explicit Harness(TcpConfig cfg = plain()) : sim(1), net(sim) {
    host = &net.add_host("h");
    host->add_interface(addr("10.0.0.1/24"));
    cfg.isn = kLocalIsn;
    stack = std::make_unique<tcp::TcpStack>(*host, cfg);
    stack->set_tap(this);
  }
  /// No timestamps, SACK or window scaling: short, readable segments.
  static TcpConfig plain() {
    TcpConfig c;
    c.timestamps = false;
    c.sack = false;
    c.window_scaling = false;
    c.ts_random_offset = false;
    c.congestion_control = "newreno";  // halving arithmetic in the expectations
    return c;
  }
  void on_output(net::PacketPtr p) override { out.push_back(std::move(p)); }

  /// A segment from the peer: seq/ack/flags/window, optional payload.
  static wire::TcpRepr seg(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window = 65535) {
    wire::TcpRepr r;
    r.src_port = kRemotePort;
    r.dst_port = kLocalPort;
    r.seq = SeqNumber{seq};
    r.ack = SeqNumber{ack};
    r.flags = flags;
    r.window = window;
    return r;
  }
  /// Delivers `r` to the stack as a frame from 10.0.0.2.
  void send(const wire::TcpRepr& r) {
    net::PacketPtr p = net.pool().allocate();
    wire::Ipv4Repr iph{};
    iph.src = ip("10.0.0.2");
    iph.dst = ip("10.0.0.1");
    auto len = wire::emit_tcp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, iph, r);
    REQUIRE(len.ok());
    p->set_size(static_cast<uint32_t>(*len));
    stack->receive_ipv4(host->interface(0), std::move(p));
  }
  /// The next segment the stack sent (fails the test if none).
  Seg recv() {
    REQUIRE_FALSE(out.empty());
    net::PacketPtr p = std::move(out.front());
    out.pop_front();
    auto info = wire::classify_frame(p->bytes());
    REQUIRE(info.ok());
    auto tcpseg = wire::ConstTcpSegment::check(info->l4);
    REQUIRE(tcpseg.ok());
    auto r = wire::TcpRepr::parse(*tcpseg, info->ipv4->src(), info->ipv4->dst());
    REQUIRE(r.ok());
    Seg s;
    s.tcp = *r;
    s.payload.assign(r->payload.begin(), r->payload.end());
    s.tcp.payload = {};
    return s;
  }
  /// Fails if the stack sent anything.
  void recv_nothing() { CHECK(out.empty()); }
  /// Runs the clock forward.
  void advance(sim::Duration d) { sim.run_until(sim.now() + d); }

  // ---- one setup helper per state; each leaves the output queue empty.
  /// LISTEN on port 80.
  TcpSocket* listen() {
    TcpSocket* l = stack->listen(kLocalPort, &app);
    REQUIRE(l != nullptr);
    return l;
  }
  /// SYN-SENT: connect() to the peer; the SYN is consumed.
  TcpSocket* syn_sent() {
    TcpSocket* s = stack->connect(ip("10.0.0.2"), kRemotePort, &app, kLocalPort);
    REQUIRE(s != nullptr);
    Seg syn = recv();
    CHECK(syn.tcp.flags == flag::SYN);
    return s;
  }
  /// SYN-RECEIVED (passive): listen, SYN from the peer; the SYN-ACK is consumed.
  TcpSocket* syn_received() {
    listen();
    send(seg(kRemoteIsn, 0, flag::SYN));
    Seg sa = recv();
    CHECK(sa.tcp.flags == (flag::SYN | flag::ACK));
    TcpSocket* s = stack->find({ip("10.0.0.1"), kLocalPort, ip("10.0.0.2"), kRemotePort});
    REQUIRE(s != nullptr);
    return s;
  }
  /// ESTABLISHED (active open); local next seq = kLocalIsn + 1, remote = kRemoteIsn + 1.
  TcpSocket* established() {
    TcpSocket* s = syn_sent();
    send(seg(kRemoteIsn, kLocalIsn + 1, flag::SYN | flag::ACK));
    Seg a = recv();
    CHECK(a.tcp.flags == flag::ACK);
    REQUIRE(s->state() == TcpState::Established);
    return s;
  }
  /// FIN-WAIT-1: established, shutdown(); the FIN is consumed.
  TcpSocket* fin_wait1() {
    TcpSocket* s = established();
    s->shutdown();
    Seg f = recv();
    CHECK(f.tcp.flags == (flag::FIN | flag::ACK));
    REQUIRE(s->state() == TcpState::FinWait1);
    return s;
  }
  /// FIN-WAIT-2: the peer acknowledged our FIN.
  TcpSocket* fin_wait2() {
    TcpSocket* s = fin_wait1();
    send(seg(kRemoteIsn + 1, kLocalIsn + 2, flag::ACK));
    recv_nothing();
    REQUIRE(s->state() == TcpState::FinWait2);
    return s;
  }
  /// CLOSE-WAIT: the peer's FIN arrived; our ACK is consumed.
  TcpSocket* close_wait() {
    TcpSocket* s = established();
    send(seg(kRemoteIsn + 1, kLocalIsn + 1, flag::FIN | flag::ACK));
    recv_nothing();  // the ACK of a FIN is delayed in ESTABLISHED (Linux)
    advance(40_ms);
    Seg a = recv();
    CHECK(a.tcp.ack.raw() == kRemoteIsn + 2);
    REQUIRE(s->state() == TcpState::CloseWait);
    return s;
  }
  /// LAST-ACK: close-wait, shutdown(); our FIN consumed.
  TcpSocket* last_ack() {
    TcpSocket* s = close_wait();
    s->shutdown();
    Seg f = recv();
    CHECK(f.has(flag::FIN));
    REQUIRE(s->state() == TcpState::LastAck);
    return s;
  }
  /// CLOSING: fin-wait-1, then the peer's FIN without acknowledging ours.
  TcpSocket* closing() {
    TcpSocket* s = fin_wait1();
    send(seg(kRemoteIsn + 1, kLocalIsn + 1, flag::FIN | flag::ACK));
    Seg a = recv();
    CHECK(a.tcp.ack.raw() == kRemoteIsn + 2);
    REQUIRE(s->state() == TcpState::Closing);
    return s;
  }
  /// TIME-WAIT: fin-wait-2, then the peer's FIN; our ACK consumed.
  TcpSocket* time_wait() {
    TcpSocket* s = fin_wait2();
    send(seg(kRemoteIsn + 1, kLocalIsn + 2, flag::FIN | flag::ACK));
    Seg a = recv();
    CHECK(a.tcp.ack.raw() == kRemoteIsn + 2);
    REQUIRE(s->state() == TcpState::TimeWait);
    return s;
  }

  sim::Simulator sim;
  net::Network net;
  net::Node* host = nullptr;
  std::unique_ptr<tcp::TcpStack> stack;
  Recorder app;
  std::deque<net::PacketPtr> out;
};

}  // namespace tcplab
