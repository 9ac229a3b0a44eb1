// TcpStack: the TCP of one node — an IpHandler for protocol 6 that
// demultiplexes segments to sockets and owns them.
//
// Place in the layers: models/tcp, on a net::Node. Call chain:
//   Node::receive -> TcpStack::receive_ipv4 (parse, checksum) -> demux by
//   4-tuple (std::map, ordered) -> TcpSocket::input, or the listener on the
//   destination port (TcpSocket::on_listen), or a RST (RFC 9293 "CLOSED").
//   TcpSocket::transmit -> TcpStack::send_frame -> Node::send_ipv4 (or a tap).
// Rules:
// - No global state: each stack has its own config, random stream
//   "tcp/<node name>" (ISNs, ephemeral ports, timestamp offsets), sockets.
// - Sockets are owned here, keyed by creation number; a socket the
//   application released (close/abort) is destroyed once CLOSED, in a
//   separate event so no caller ever holds a dangling reference.
// - A SegmentTap, when set, receives every frame instead of the node (tests
//   drive a socket with crafted segments this way).
//
// Usage (an echo server and a client, on two hosts of one Network):
//   struct Echo : tcp::TcpEvents {
//     void on_accept(tcp::TcpSocket&, tcp::TcpSocket& c) override { c.set_events(this); }
//     void on_readable(tcp::TcpSocket& s) override {
//       uint8_t buf[1500];
//       while (std::size_t n = s.recv(buf)) s.send({buf, n});
//     }
//     void on_peer_fin(tcp::TcpSocket& s) override { s.close(); }
//     void on_closed(tcp::TcpSocket& s, tcp::CloseReason) override { s.close(); }
//   } echo;
//   tcp::TcpStack server_tcp(server_node);          // Linux defaults
//   server_tcp.listen(7, &echo);
//   tcp::TcpConfig no_ts; no_ts.timestamps = false;  // a tcp_timestamps=0 host
//   tcp::TcpStack client_tcp(client_node, no_ts);
//   tcp::TcpSocket* c = client_tcp.connect(server_ip, 7, &client_events);
//   sim.run();
// Every socket must eventually be released with close() or abort(); both are
// safe to call from inside any callback, including on_closed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "tcpmig/net/network.hpp"
#include "tcpmig/sim/random.hpp"
#include "tcpmig/tcp/config.hpp"
#include "tcpmig/tcp/socket.hpp"

namespace tcpmig::tcp {

/// Counters of one stack: segments that never reached a socket, and totals
/// over every socket it ever had (closed and destroyed ones included).
struct TcpStackStats {
  uint64_t segs_in = 0;            ///< segments received
  uint64_t data_segs_in = 0;       ///< segments received with payload (valid checksum)
  uint64_t segs_out = 0;           ///< frames sent
  uint64_t malformed = 0;          ///< dropped: header or options malformed
  uint64_t bad_checksum = 0;       ///< dropped: TCP checksum wrong
  uint64_t no_socket = 0;          ///< no connection and no listener (answered with RST unless RST)
  uint64_t resets_sent = 0;        ///< RSTs sent by the stack (no socket, listener, bad handshake ACK)
  uint64_t listen_overflow = 0;    ///< SYNs dropped: backlog full
  uint64_t challenge_acks_limited = 0;  ///< challenge ACKs withheld by challenge_ack_limit
  uint64_t retransmits_active = 0;   ///< TcpSocketStats::retransmits of sockets opened by connect()
  uint64_t retransmits_passive = 0;  ///< TcpSocketStats::retransmits of sockets accepted from a listener
  uint64_t timeouts_active = 0;      ///< TcpSocketStats::timeouts (RTO expirations) of connect()ed sockets
  uint64_t timeouts_passive = 0;     ///< the same for accepted sockets
};

/// Receives the frames a stack sends, instead of the node (tests).
class SegmentTap {
 public:
  virtual ~SegmentTap() = default;
  virtual void on_output(net::PacketPtr frame) = 0;
};

class TcpStack final : public net::IpHandler {
 public:
  /// Registers itself as `node`'s handler for IP protocol 6.
  explicit TcpStack(net::Node& node, const TcpConfig& cfg = {});
  ~TcpStack() override;
  TcpStack(const TcpStack&) = delete;
  TcpStack& operator=(const TcpStack&) = delete;

  /// Active open to dst:port. The local address is the one of the interface
  /// toward dst; local_port 0 picks a free ephemeral port. nullptr when there
  /// is no local address or the port (tuple) is taken.
  TcpSocket* connect(Ipv4Address dst, uint16_t port, TcpEvents* events, uint16_t local_port = 0);
  /// Passive open on `port` (any local address); at most `backlog` half-open
  /// connections. nullptr if the port already has a listener.
  TcpSocket* listen(uint16_t port, TcpEvents* events, uint32_t backlog = 128);

  /// Settings for sockets opened from now on.
  [[nodiscard]] const TcpConfig& config() const { return cfg_; }
  void set_config(const TcpConfig& cfg) { cfg_ = cfg; }
  [[nodiscard]] net::Node& node() const { return *node_; }
  [[nodiscard]] sim::Simulator& sim() const { return *sim_; }
  [[nodiscard]] const TcpStackStats& stats() const { return stats_; }
  /// A host processing latency drawn from `l` (its own stream: the other draws do not move).
  [[nodiscard]] sim::Duration draw_app_latency(const AppLatency& l);
  /// Connections in the demux table (including TIME_WAIT).
  [[nodiscard]] std::size_t connection_count() const { return conns_.size(); }
  /// Sockets alive (connections, listeners, closed-but-unreleased).
  [[nodiscard]] std::size_t socket_count() const { return sockets_.size(); }
  /// The connection with this tuple, or nullptr.
  [[nodiscard]] TcpSocket* find(const FourTuple& t) const;
  /// Frames go to `tap` instead of the node (nullptr: back to the node).
  void set_tap(SegmentTap* tap) { tap_ = tap; }

  void receive_ipv4(net::Interface& in, net::PacketPtr p) override;
  /// TX completion of a frame this host sent: its socket's small-queue
  /// accounting (Linux tcp_wfree).
  void on_tx_complete(net::Interface& out, const net::Packet& p) override;

 private:
  friend class TcpSocket;
  TcpSocket& create_socket();
  void register_conn(TcpSocket& s);
  void unregister(TcpSocket& s);
  void schedule_reap(TcpSocket& s);
  void on_reap();
  void input(uint32_t in_mtu, Ipv4Address src, Ipv4Address dst, const wire::TcpRepr& seg);
  /// What became of a frame handed to send_frame.
  enum class Fate : uint8_t {
    Queued,     ///< on an interface's queue: a TX completion will follow
    Untracked,  ///< given to the test tap: no TX completion
    QueueFull,  ///< dropped by the host's own full interface queue
    Dropped,    ///< dropped on this host for another reason (no route, ...)
  };
  Fate send_frame(net::PacketPtr p);
  /// RST answering `seg` (which came from src to dst), RFC 9293 3.10.7.1.
  void send_reset_for(const wire::TcpRepr& seg, Ipv4Address src, Ipv4Address dst);
  uint32_t next_isn();
  uint32_t next_random() { return static_cast<uint32_t>(rng_.next_u64()); }
  /// MSS we announce toward dst: TcpConfig::mss or the route's MTU - 40, in
  /// [88, kMaxAdvMss].
  uint16_t mss_for(Ipv4Address dst) const;
  uint16_t mss_for_mtu(uint32_t mtu) const;
  /// MTU of the interface toward dst.
  uint32_t mtu_for(Ipv4Address dst) const;
  /// Largest MSS whose full segment (20-byte TCP header) fits a packet buffer.
  static constexpr uint32_t kMaxAdvMss = net::Packet::capacity - 14 - 20 - 20;

  net::Node* node_;                     // the host
  sim::Simulator* sim_;                 // its simulator
  TcpConfig cfg_;                       // settings for new sockets
  sim::Rng rng_;                        // stream "tcp/<node>": ISNs, ports, TS offsets
  sim::Rng latency_rng_;                // stream "tcp-latency/<node>": host processing latency
  uint64_t next_id_ = 1;                // next socket creation number
  std::map<uint64_t, std::unique_ptr<TcpSocket>> sockets_;  // owned sockets by creation number
  std::map<FourTuple, TcpSocket*> conns_;                   // demux: connections by 4-tuple
  std::map<uint16_t, TcpSocket*> listeners_;                // demux: listeners by port
  std::vector<TcpSocket*> reap_;        // released CLOSED sockets to destroy
  sim::Timer reap_timer_;               // destroys reap_ (at the current time)
  SegmentTap* tap_ = nullptr;           // test hook for output
  TcpStackStats stats_;
  Time challenge_window_start_;         // start of the current 1 s challenge-ACK window
  uint32_t challenge_acks_in_window_ = 0;  // challenge ACKs sent in it
  /// Counts one challenge ACK against cfg_.challenge_ack_limit; false: over the limit.
  bool challenge_ack_allowed();
};

}  // namespace tcpmig::tcp
