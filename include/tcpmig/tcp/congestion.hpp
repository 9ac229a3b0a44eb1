// Congestion control behind an interface: how cwnd grows on ACKs and where
// ssthresh goes after a loss. Loss detection and recovery (fast retransmit,
// NewReno partial ACKs, RFC 6675 SACK recovery, RTO) stay in the socket,
// which owns cwnd and ssthresh (like Linux's tcp_congestion_ops, which
// works on tp->snd_cwnd, or ns-3's TcpCongestionOps).
//
// Place in the layers: models (tcp), std only.
// Rules:
// - One controller object per socket, made when the socket is made (never
//   per packet); reset() when the socket opens a connection.
// - on_ack is called for newly acknowledged bytes only while the socket is
//   in the Open state and cwnd was the limit (Linux tcp_is_cwnd_limited),
//   with cwnd below ssthresh meaning slow start.
// - ssthresh_after_loss is asked once per loss episode: entering fast
//   recovery, or the first RTO of an episode.
// - Adding an algorithm is one file in models/tcp that defines its class and
//   a make_<name>() function, declared in models/tcp/algorithms.hpp and
//   listed in congestion.cpp's table (the scenario loader reads the names).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "tcpmig/sim/time.hpp"
#include "tcpmig/wire/seq.hpp"

namespace tcpmig::tcp {

/// What a controller sees of its socket at a call.
struct CongestionView {
  uint32_t mss = 0;     ///< sender MSS, bytes
  uint32_t flight = 0;  ///< bytes in flight (FlightSize) before this ACK or loss
  sim::Time now;        ///< simulated time
  sim::Duration srtt;   ///< smoothed RTT (zero before the first sample)
  sim::Duration rtt{};  ///< on_ack_sample: this ACK's RTT sample (its newest delivered segment)
  wire::SeqNumber ack;      ///< the cumulative ACK (on_ack, on_ack_sample)
  wire::SeqNumber snd_nxt;  ///< next new sequence number to send
};

/// Changes of the socket's recovery state a controller may want to know of.
enum class CongestionEvent : uint8_t {
  EnterRecovery,  ///< fast retransmit: recovery begins
  Loss,           ///< an RTO: cwnd is the loss window
  RecoveryDone,   ///< recovery ended with a full ACK
  IdleRestart,    ///< cwnd was cut after idleness (tcp_cwnd_restart)
};

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  /// Its name as scenarios write it ("newreno").
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Forgets everything (a new connection).
  virtual void reset() = 0;
  /// `acked` new bytes were acknowledged while cwnd was the limit: grow `cwnd`.
  virtual void on_ack(uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, const CongestionView& v) = 0;
  /// Every ACK that gave an RTT sample (v.rtt), before on_ack (Linux
  /// pkts_acked): delay-based algorithms end slow start here by setting
  /// ssthresh (CUBIC's HyStart). Default: nothing.
  virtual void on_ack_sample(uint32_t /*cwnd*/, uint32_t& /*ssthresh*/, const CongestionView& /*v*/) {}
  /// The slow-start threshold after a loss, from the window at the loss.
  [[nodiscard]] virtual uint32_t ssthresh_after_loss(uint32_t cwnd, const CongestionView& v) = 0;
  /// A recovery-state change.
  virtual void on_event(CongestionEvent e) = 0;
};

/// Every algorithm's name, in a fixed order ("newreno", "cubic").
std::span<const std::string_view> congestion_control_names();
/// A new controller for `name`, or nullptr when there is no such algorithm.
std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name);

}  // namespace tcpmig::tcp
