// Per-host TCP settings, with Linux's defaults (the sysctl each one mirrors is
// named in its comment).
//
// Place in the layers: models/tcp (public API). A TcpStack copies its
// TcpConfig when it is created; sockets read it when they open. Every feature
// is switchable so a scenario can reproduce a stock Linux host as well as the
// seed experiment's `net.ipv4.tcp_timestamps=0` host.
#pragma once

#include <cstdint>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <utility>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::tcp {

using sim::Duration;

/// TCP behaviour of one host.
/// Host processing latency: how long after a segment's data (or FIN)
/// arrives the application is told of it, drawn per wake-up from the host's
/// own random stream ("tcp-latency/<node>"). Off by default.
struct AppLatency {
  enum class Kind : uint8_t { None, Fixed, Uniform, Table };
  Kind kind = Kind::None;
  Duration fixed{};          ///< Fixed: this long
  Duration lo{}, hi{};       ///< Uniform: in [lo, hi]
  /// Table: an empirical distribution as (cumulative probability in ppm,
  /// latency) points, from 0 to 1'000'000 ppm, probabilities increasing and
  /// latencies not decreasing; drawn by inverse CDF with linear interpolation.
  /// Shared, not copied, by the sockets of a host.
  std::shared_ptr<const std::vector<std::pair<uint32_t, Duration>>> table;
  [[nodiscard]] bool on() const { return kind != Kind::None; }
};

struct TcpConfig {
  /// MSS we announce; 0 derives it from the outgoing interface's MTU (MTU - 40,
  /// 1460 on Ethernet), like Linux without a route `advmss`.
  uint16_t mss = 0;
  /// Initial congestion window in segments (RFC 6928 IW10, Linux TCP_INIT_CWND).
  uint32_t initial_cwnd_segments = 10;
  /// RTO floor (Linux TCP_RTO_MIN, 200 ms).
  Duration rto_min = Duration::milliseconds(200);
  /// RTO before any RTT sample (RFC 6298 2.1; Linux TCP_TIMEOUT_INIT, 1 s).
  Duration rto_initial = Duration::seconds(1);
  /// RTO ceiling (Linux TCP_RTO_MAX, 120 s).
  Duration rto_max = Duration::seconds(120);
  /// RTO after the handshake when the SYN had to be retransmitted (RFC 6298 5.7).
  Duration rto_after_syn_retransmit = Duration::seconds(3);
  /// Delayed-ACK timeout (Linux TCP_DELACK_MIN, 40 ms); zero disables delayed ACKs.
  Duration delayed_ack = Duration::milliseconds(40);
  /// Linux's quick-ACK mode: the first data segments of a connection (up to
  /// 16, TCP_MAX_QUICKACKS) are acknowledged at once, until the connection
  /// turns interactive ("pingpong": we send data soon after receiving), when
  /// ACKs are delayed to ride on the replies. false: always delayed ACKs.
  bool quickack = true;
  /// RFC 7323 timestamps (net.ipv4.tcp_timestamps).
  bool timestamps = true;
  /// RFC 2018 SACK (net.ipv4.tcp_sack).
  bool sack = true;
  /// RFC 2883 D-SACK: report duplicate data in the first SACK block (net.ipv4.tcp_dsack).
  bool dsack = true;
  /// RFC 7323 window scaling (net.ipv4.tcp_window_scaling).
  bool window_scaling = true;
  /// Nagle's algorithm for new sockets (a socket turns it off with set_nodelay).
  bool nagle = true;
  /// TIME_WAIT duration (Linux TCP_TIMEWAIT_LEN, 60 s).
  Duration time_wait = Duration::seconds(60);
  /// How long an orphaned (closed by the app) socket may sit in FIN_WAIT_2
  /// (net.ipv4.tcp_fin_timeout, 60 s).
  Duration fin_wait2_timeout = Duration::seconds(60);
  /// SYN retransmissions before connect fails (net.ipv4.tcp_syn_retries, 6).
  uint32_t syn_retries = 6;
  /// SYN-ACK retransmissions before a half-open child is dropped (tcp_synack_retries, 5).
  uint32_t synack_retries = 5;
  /// Data retransmissions before the connection is aborted (tcp_retries2, 15).
  uint32_t retries = 15;
  /// A fixed receive buffer (SO_RCVBUF, which turns auto-tuning off), in
  /// bytes of data: the most the window offers. 0 (default): auto-tuned
  /// within `rmem`. Raised to at least 4096 (Linux tcp_rmem[0]) and one
  /// window-scale unit, so a window always opens (see models/tcp/README.md).
  /// Memory is taken as data is buffered, not when the socket opens.
  uint32_t recv_buffer = 0;
  /// A fixed send buffer (SO_SNDBUF), in bytes of data: the most send()
  /// queues. 0 (default): auto-tuned within `wmem`. Raised to at least 4096
  /// (Linux tcp_wmem[0]): a few bytes would make a transfer crawl.
  uint32_t send_buffer = 0;
  /// net.ipv4.tcp_rmem: min, default, max receive buffer (bytes of memory).
  /// A socket starts at the default and grows towards the max as the
  /// application reads faster (Linux tcp_rcv_space_adjust). Memory counts
  /// twice the data, so the window is half the buffer (Linux's default
  /// scaling ratio): 64 KiB at first, 3 MiB at most.
  std::array<uint32_t, 3> rmem{4096, 131072, 6291456};
  /// net.ipv4.tcp_wmem: min, default, max send buffer (bytes of memory, twice
  /// the data they hold). A connection's buffer grows to twice its
  /// congestion window (Linux tcp_sndbuf_expand), up to the max.
  std::array<uint32_t, 3> wmem{4096, 16384, 4194304};
  /// TCP small queues (Linux tcp_small_queue_check): a socket stops sending
  /// while more than about 1 ms of its pacing rate (at least two segments,
  /// at most this many bytes of memory) waits in the host's own interface
  /// queue, and resumes when its frames leave (net.ipv4.tcp_limit_output_bytes,
  /// 1 MiB). 0 turns small queues off.
  uint32_t limit_output_bytes = 1048576;
  /// Receive-buffer auto-tuning on (net.ipv4.tcp_moderate_rcvbuf).
  bool moderate_rcvbuf = true;
  /// SACK compression (Linux >= 4.19): once three duplicate ACKs went out for
  /// the same hole, further ones wait up to this long (and at most 5% of the
  /// receiver's RTT estimate), merged into one (net.ipv4.tcp_comp_sack_delay_ns).
  Duration comp_sack_delay = Duration::milliseconds(1);
  /// At most this many ACKs merged before one is sent anyway
  /// (net.ipv4.tcp_comp_sack_nr, 44); 0 turns SACK compression off.
  uint32_t comp_sack_nr = 44;
  /// Space the window-scale shift is computed from: the smallest shift with
  /// max(recv_buffer, this) >> shift <= 65535, at most 14. 0 (default):
  /// max(tcp_rmem[2], net.core.rmem_max = 212992), as Linux computes it
  /// (6 MiB by default: shift 7).
  uint32_t window_scale_space = 0;
  /// Timestamp clock tick (Linux: 1 ms).
  Duration ts_tick = Duration::milliseconds(1);
  /// Add a random per-connection offset to TSval (Linux >= 4.10, tcp_timestamps=1).
  bool ts_random_offset = true;
  /// Fixed initial sequence number for every connection (tests); unset draws
  /// it from the host's seeded stream "tcp/<node>".
  std::optional<uint32_t> isn;
  /// Ephemeral port range for connect (net.ipv4.ip_local_port_range).
  uint16_t ephemeral_port_min = 32768;
  uint16_t ephemeral_port_max = 60999;
  /// Restart from the initial window after an idle period: when new data is
  /// sent with nothing in flight and nothing was sent for longer than the
  /// RTO, cwnd halves per RTO idle, down to min(cwnd, initial window)
  /// (net.ipv4.tcp_slow_start_after_idle, RFC 5681 4.1; Linux tcp_cwnd_restart).
  bool slow_start_after_idle = true;
  /// Least time between two ACKs a socket sends in answer to invalid segments
  /// (out of window, PAWS-rejected, RFC 5961 challenge, ACK of unsent or too
  /// old data), so two stacks that disagree do not ping-pong ACKs forever
  /// (net.ipv4.tcp_invalid_ratelimit, 500 ms; Linux tcp_oow_rate_limited).
  /// Segments carrying data are always answered. Zero disables the limit.
  Duration invalid_ack_ratelimit = Duration::milliseconds(500);
  /// Challenge ACKs the whole stack may send per second
  /// (net.ipv4.tcp_challenge_ack_limit; Linux >= 6.0 defaults to INT_MAX,
  /// i.e. only the per-socket limit above applies).
  uint32_t challenge_ack_limit = 0x7fff'ffff;
  /// Duplicate ACKs (or SACKed segments) that trigger fast retransmit (RFC 5681, tcp_reordering).
  uint32_t dupthresh = 3;
  /// How losses are detected on SACK connections.
  enum class LossDetection : uint8_t {
    /// RACK (RFC 8985), Linux's default (net.ipv4.tcp_recovery = 1): a
    /// segment is lost once one sent after it was delivered and a
    /// reordering window has passed; lost retransmissions are found the same
    /// way. Fast recovery reduces cwnd by PRR (RFC 6937).
    Rack,
    /// RFC 6675: dupthresh SACKed segments above a hole (net.ipv4.tcp_recovery = 0).
    Dupthresh,
  };
  LossDetection loss_detection = LossDetection::Rack;
  /// Tail loss probes (RFC 8985 section 7; net.ipv4.tcp_early_retrans = 3)
  /// with RACK on SACK connections: when no ACK comes for about two RTTs
  /// the last segment (or a new one) is sent again before the RTO would fire.
  bool tail_loss_probe = true;
  /// Congestion control algorithm (congestion_control_names(); net.ipv4.tcp_congestion_control).
  std::string congestion_control = "cubic";
  /// Host processing latency between data arriving and the application seeing it.
  AppLatency app_latency;
};

}  // namespace tcpmig::tcp
