// One TCP connection (or listener): RFC 9293 state machine with RFC 5961
// checks, RFC 6298 RTO (Karn, backoff), RFC 5681 + 6582 NewReno, RFC 7323
// window scaling + timestamps (RTTM, PAWS), RFC 2018 SACK with RFC 6675 loss
// recovery, MSS option, delayed ACK, Nagle, persist timer.
//
// Place in the layers: models/tcp. TcpStack (stack.hpp) demultiplexes a
// segment to TcpSocket::input(), which runs the handler of the current state
// (on_syn_sent, on_syn_received, ...; the synchronized states share
// on_synchronized); output() then sends what the windows allow, and the
// events collected meanwhile are delivered to the application's TcpEvents
// once the socket is consistent again.
//
// Rules:
// - Sequence numbers are wire::SeqNumber everywhere (wrap-aware compare).
// - The connection's timer is one variant (`TimerState`) on one intrusive
//   sim::Timer; the delayed ACK has its own sim::Timer. Buffers are rings of
//   the capacity TcpConfig gives, whose storage grows with the data they hold
//   (during the first round trips of a transfer) and is freed when the
//   connection is over; after that growth nothing allocates: the reassembly
//   map and SACK scoreboard are fixed-capacity range sets.
// - Linux's choices where the RFCs leave room (each noted where made):
//   RTO = srtt + max(4 rttvar, rto_min) capped at rto_max; cwnd grows by
//   bytes acked in slow start; after an RTO everything outstanding is lost and
//   resent from snd_una, skipping SACKed ranges; zero-window probes carry
//   seq = snd_una - 1; close() with unread data resets the connection; data
//   arriving for a socket the application closed resets it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <variant>

#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/tcp/buffers.hpp"
#include "tcpmig/tcp/config.hpp"
#include "tcpmig/tcp/congestion.hpp"
#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/seq.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace tcpmig::tcp {

using sim::Time;
using wire::Ipv4Address;

class TcpStack;
class TcpSocket;

/// RFC 9293 section 3.3.2 connection states.
enum class TcpState : uint8_t {
  Closed,
  Listen,
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
};
/// Upper-case RFC name ("ESTABLISHED").
const char* state_name(TcpState s);

/// Why a connection ended (the argument of on_closed).
enum class CloseReason : uint8_t {
  Normal,   ///< orderly close: both sides' FINs sent and acknowledged
  Reset,    ///< the peer reset an established connection
  Refused,  ///< the peer answered our SYN with RST
  Timeout,  ///< SYN or data retransmissions exhausted
  Aborted,  ///< this side reset it (abort(), close() with unread data, data after close())
};
const char* close_reason_name(CloseReason r);

/// Local and remote address and port; ordered (the demux map's key).
struct FourTuple {
  Ipv4Address local_addr;
  uint16_t local_port = 0;
  Ipv4Address remote_addr;
  uint16_t remote_port = 0;
  constexpr auto operator<=>(const FourTuple&) const = default;
};

/// What the application hears. Each callback runs after the socket finished
/// processing the segment or timer that caused it; the application may call
/// any socket or stack function from inside.
class TcpEvents {
 public:
  virtual ~TcpEvents() = default;
  /// An active open completed (ESTABLISHED).
  virtual void on_connected(TcpSocket&) {}
  /// A listener's new connection is ESTABLISHED; set its events with
  /// child.set_events() here (otherwise the child's events go nowhere).
  virtual void on_accept(TcpSocket& /*listener*/, TcpSocket& /*child*/) {}
  /// New in-order data can be read with recv().
  virtual void on_readable(TcpSocket&) {}
  /// Send-buffer space was freed after a send() accepted less than offered.
  virtual void on_writable(TcpSocket&) {}
  /// The peer's FIN arrived in order: no more data will come.
  virtual void on_peer_fin(TcpSocket&) {}
  /// The connection is over for the application (CLOSED, or TIME_WAIT after
  /// an orderly close). Delivered once; not after abort().
  virtual void on_closed(TcpSocket&, CloseReason) {}
};

/// Connection timer states (smoltcp-style): exactly one is active.
namespace timer {
struct Idle {};
/// RTO of the oldest outstanding SYN, data or FIN; `backoff` retransmissions so far.
struct Retransmit {
  Time expires;
  uint32_t backoff = 0;
};
/// Zero-window probe due; `backoff` probes sent without the window opening.
struct Persist {
  Time expires;
  uint32_t backoff = 0;
};
/// RACK reordering window of a segment not yet deemed lost runs out (Linux ICSK_TIME_REO_TIMEOUT).
struct Reorder {
  Time expires;
};
/// Tail loss probe due (RFC 8985 7.2, Linux ICSK_TIME_LOSS_PROBE).
struct LossProbe {
  Time expires;
};
/// 2MSL wait before CLOSED.
struct TimeWait {
  Time expires;
};
/// Orphaned FIN_WAIT_2 gives up (tcp_fin_timeout).
struct FinWait2 {
  Time expires;
};
}  // namespace timer
using TimerState = std::variant<timer::Idle, timer::Retransmit, timer::Persist, timer::TimeWait, timer::FinWait2,
                                timer::Reorder, timer::LossProbe>;

/// Congestion-control phase (Linux's Open / Recovery / Loss).
enum class CaState : uint8_t {
  Open,      ///< normal: slow start or congestion avoidance
  Recovery,  ///< fast recovery (RFC 6582 NewReno; with SACK, RACK + PRR or RFC 6675) until `recover` is acked
  Loss,      ///< after an RTO: resending from snd_una until the old snd_nxt is acked
};

/// Counters of one socket.
struct TcpSocketStats {
  uint64_t segs_in = 0;            ///< segments processed
  uint64_t segs_out = 0;           ///< segments sent (all kinds)
  uint64_t data_segs_in = 0;       ///< segments with payload received
  uint64_t data_segs_out = 0;      ///< segments with payload sent, incl. retransmissions
  uint64_t bytes_acked = 0;        ///< payload bytes acknowledged by the peer
  uint64_t bytes_received = 0;     ///< in-order payload bytes delivered to the receive buffer
  uint64_t retransmits = 0;        ///< segments retransmitted (any cause)
  uint64_t fast_retransmits = 0;   ///< recoveries entered by dupacks/SACK
  uint64_t timeouts = 0;           ///< RTO expirations
  uint64_t rack_lost = 0;          ///< segments RACK marked lost (incl. lost retransmissions)
  uint64_t reorder_timeouts = 0;   ///< RACK reordering-window expirations
  uint64_t loss_probes = 0;        ///< tail loss probes sent
  uint64_t loss_probe_recoveries = 0;  ///< probes that repaired a tail loss (Linux TCPLossProbeRecovery)
  uint64_t reordering_seen = 0;    ///< 1 once RACK saw reordering on the connection
  uint64_t dsacks_in = 0;          ///< D-SACK blocks received
  uint64_t acks_compressed = 0;    ///< duplicate ACKs merged by SACK compression (Linux TCPAckCompressed)
  uint64_t rcvbuf_grown = 0;       ///< receive-buffer auto-tuning steps
  uint64_t sndbuf_grown = 0;       ///< send-buffer auto-tuning steps
  uint64_t tsq_throttled = 0;      ///< times sending paused for TCP small queues
  uint64_t local_drops = 0;        ///< frames the host's own full queue dropped (local congestion)
  uint64_t dupacks_in = 0;         ///< duplicate ACKs received
  uint64_t dup_data_in = 0;        ///< segments whose payload was entirely old
  uint64_t ooo_segs_in = 0;        ///< segments queued out of order
  uint64_t paws_drops = 0;         ///< segments dropped by PAWS
  uint64_t challenge_acks = 0;     ///< RFC 5961 challenge ACKs sent
  uint64_t zero_window_probes = 0; ///< persist probes sent
  uint64_t rtt_samples = 0;        ///< RTT measurements taken
  uint64_t invalid_acks_suppressed = 0;  ///< answers to invalid segments withheld (invalid_ack_ratelimit)
};

/// A TCP socket owned by a TcpStack. Obtain one from TcpStack::connect,
/// TcpStack::listen or a listener's on_accept. The reference stays valid
/// until the application has called close() or abort() *and* the connection
/// reached CLOSED; the stack frees it at the end of that event.
class TcpSocket {
 public:
  TcpSocket(TcpStack& stack, const TcpConfig& cfg);
  ~TcpSocket();
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;

  // ---- application API
  /// Where events go (nullptr: nowhere).
  void set_events(TcpEvents* e) { events_ = e; }
  [[nodiscard]] TcpEvents* events() const { return events_; }
  /// Queues bytes for sending; returns how many fit in the send buffer (0 if
  /// the socket cannot send: not open, or shut down for writing).
  std::size_t send(std::span<const uint8_t> data);
  /// Free send-buffer bytes.
  [[nodiscard]] std::size_t send_space() const;
  /// Bytes queued and not yet acknowledged.
  [[nodiscard]] std::size_t send_queued() const { return snd_buf_.size(); }
  /// Copies and consumes up to out.size() received bytes; returns how many.
  std::size_t recv(std::span<uint8_t> out);
  /// In-order bytes waiting in the receive buffer.
  [[nodiscard]] std::size_t recv_available() const { return rcv_buf_.size(); }
  /// Bytes of memory the send and receive buffers use now (they grow with
  /// the data held, up to their capacities).
  [[nodiscard]] std::size_t buffer_storage() const {
    return snd_buf_.storage() + rcv_buf_.storage() + sent_.storage();
  }
  /// True once the peer's FIN has been received in order.
  [[nodiscard]] bool peer_closed() const { return fin_received_; }
  /// Half-close: no more sends; FIN follows the queued data.
  void shutdown();
  /// Full close: shutdown() and release the socket to the stack. With unread
  /// received data the connection is reset instead (Linux). After close()
  /// only on_closed is delivered.
  void close();
  /// Sends RST (when synchronized) and goes to CLOSED at once; no callbacks.
  void abort();
  /// TCP_NODELAY: true turns Nagle's algorithm off.
  void set_nodelay(bool on);

  // ---- inspection (RFC 9293 names)
  [[nodiscard]] TcpState state() const { return state_; }
  [[nodiscard]] const FourTuple& tuple() const { return tuple_; }
  [[nodiscard]] SeqNumber iss() const { return iss_; }
  [[nodiscard]] SeqNumber irs() const { return irs_; }
  [[nodiscard]] SeqNumber snd_una() const { return snd_una_; }
  [[nodiscard]] SeqNumber snd_nxt() const { return snd_nxt_; }
  [[nodiscard]] uint32_t snd_wnd() const { return snd_wnd_; }
  [[nodiscard]] SeqNumber rcv_nxt() const { return rcv_nxt_; }
  /// Receive window we would advertise now (bytes).
  [[nodiscard]] uint32_t rcv_wnd() const;
  [[nodiscard]] uint32_t cwnd() const { return cwnd_; }
  [[nodiscard]] uint32_t ssthresh() const { return ssthresh_; }
  /// Its congestion-control algorithm.
  [[nodiscard]] const CongestionControl& congestion_control() const { return *cc_; }
  /// Payload bytes per full segment we send (peer's MSS minus our options).
  [[nodiscard]] uint32_t snd_mss() const { return snd_mss_; }
  [[nodiscard]] Duration srtt() const { return srtt_; }
  [[nodiscard]] Duration rttvar() const { return rttvar_; }
  [[nodiscard]] Duration rto() const { return rto_; }
  /// Smallest RTT sample of the connection (zero before the first).
  [[nodiscard]] Duration min_rtt() const { return min_rtt_; }
  /// Receive buffer capacity now (bytes of data; grows with auto-tuning).
  [[nodiscard]] std::size_t recv_buffer_size() const { return rcv_buf_.capacity(); }
  /// Send buffer capacity now (bytes of data; grows with auto-tuning).
  [[nodiscard]] std::size_t send_buffer_size() const { return snd_buf_.capacity(); }
  /// The receiver's RTT estimate (Linux rcv_rtt_est; zero before a sample).
  [[nodiscard]] Duration rcv_rtt() const { return rcv_rtt_; }
  /// Bytes of memory this socket's frames take in the host's interface
  /// queue now (TCP small queues; frame + 768 bytes each).
  [[nodiscard]] uint32_t queued_on_host() const { return tsq_bytes_; }
  /// Segments sent and not yet cumulatively acknowledged.
  [[nodiscard]] std::size_t segments_in_flight() const { return sent_.size(); }
  /// True when losses are detected by RACK (SACK negotiated and enabled).
  [[nodiscard]] bool rack_active() const {
    return sack_ok_ && cfg_.loss_detection == TcpConfig::LossDetection::Rack;
  }
  [[nodiscard]] CaState ca_state() const { return ca_state_; }
  [[nodiscard]] const TimerState& timer_state() const { return timer_; }
  [[nodiscard]] bool ts_enabled() const { return ts_ok_; }
  [[nodiscard]] bool sack_enabled() const { return sack_ok_; }
  /// Shift we apply to the peer's window field (0 without window scaling).
  [[nodiscard]] uint8_t snd_wscale() const { return snd_wscale_; }
  /// Shift we apply to our advertised window (0 without window scaling).
  [[nodiscard]] uint8_t rcv_wscale() const { return rcv_wscale_; }
  [[nodiscard]] bool nodelay() const { return !nagle_; }
  [[nodiscard]] const TcpSocketStats& stats() const { return stats_; }
  [[nodiscard]] bool is_listener() const { return state_ == TcpState::Listen; }
  [[nodiscard]] TcpStack& stack() const { return *stack_; }

 private:
  friend class TcpStack;
  /// A segment's memory beyond its bytes, as Linux charges it (skb->truesize
  /// of an Ethernet-sized allocation): buffer sizing and small queues.
  static constexpr uint32_t kSkbOverhead = 768;

  /// A parsed incoming segment and its addresses.
  struct Segment {
    const wire::TcpRepr& tcp;
    Ipv4Address src;
    Ipv4Address dst;
    [[nodiscard]] uint32_t len() const { return tcp.seq_len(); }
    [[nodiscard]] bool has(uint8_t f) const { return (tcp.flags & f) != 0; }
  };
  // Pending application events, delivered by flush_events().
  enum EventBit : uint8_t {
    kConnected = 1,
    kReadable = 2,
    kWritable = 4,
    kPeerFin = 8,
    kClosed = 16,
  };

  // ---- opening (called by TcpStack)
  /// Sets what active and passive opens share: tuple, buffers, ISS-based send
  /// state, RTO, timestamp offset and IP ident (drawn in that order).
  void open_common(const FourTuple& t, uint32_t isn, uint16_t adv_mss, uint32_t mtu);
  void open_active(const FourTuple& t, uint32_t isn, uint16_t adv_mss, uint32_t mtu);
  void open_listen(const FourTuple& t, uint32_t backlog);
  void open_passive(TcpSocket& listener, const FourTuple& t, const Segment& syn, uint32_t isn, uint16_t adv_mss,
                    uint32_t mtu);

  // ---- input: SEGMENT ARRIVES, one handler per state group
  void input(const Segment& seg);
  void on_syn_sent(const Segment& seg);
  /// SYN_RECEIVED .. TIME_WAIT: RFC 9293 3.10.7.4 steps 1-8.
  void on_synchronized(const Segment& seg);
  bool check_sequence(const Segment& seg);
  bool on_rst(const Segment& seg);
  [[nodiscard]] bool reset_check(const Segment& seg) const;
  bool process_ack(const Segment& seg);
  void on_syn_received_ack(const Segment& seg);
  void process_ack_in_state();
  void process_text(const Segment& seg);
  void process_fin();
  void process_data(SeqNumber seq, std::span<const uint8_t> data);
  void on_listen(const Segment& seg, uint32_t in_mtu);
  void establish();
  [[nodiscard]] bool fin_acked() const;
  [[nodiscard]] bool synchronized() const;
  void send_probe();
  /// Answer an invalid segment (out of window, PAWS, ACK of unsent/old
  /// data) with an ACK, unless one went out less than invalid_ack_ratelimit
  /// ago (Linux tcp_oow_rate_limited).
  void ack_invalid(const Segment& seg);
  /// RFC 5961 challenge ACK, subject to ack_invalid()'s limit and the
  /// stack's challenge_ack_limit.
  void challenge_ack(const Segment& seg);
  [[nodiscard]] bool invalid_ack_rate_limited(const Segment& seg);
  // RFC 6582 4.1 "ACK > recover" with recover = the highest sequence number
  // sent; recover_ holds snd_nxt (one past it), hence >=.
  [[nodiscard]] bool fast_retransmit_allowed() const { return !after_rto_ || snd_una_ >= recover_; }
  /// TIME_WAIT: may a new SYN reuse this 4-tuple (RFC 6191 / Linux tcp_timewait_state_process)?
  [[nodiscard]] bool accepts_new_syn(const wire::TcpRepr& syn) const;
  void time_wait_restart();
  void parse_syn_options(const wire::TcpRepr& syn);

  // ---- sender
  void output();
  bool send_new_data(uint32_t budget);
  /// Resends up to max_len bytes at seq; false when nothing could be sent.
  bool retransmit(SeqNumber seq, uint32_t max_len);
  /// Builds and sends one segment. The payload is cut to what fits the MTU
  /// and the packet buffer with this segment's options (a cut drops the
  /// FIN); returns the payload bytes sent, nullopt when nothing was sent.
  std::optional<uint32_t> transmit(SeqNumber seq, uint32_t len, uint8_t flags, bool retransmission);
  /// Payload that fits a data segment sent now: the MSS minus the option
  /// bytes it will carry (timestamps, SACK / D-SACK blocks), as Linux's
  /// tcp_current_mss.
  [[nodiscard]] uint32_t current_mss() const;
  /// current_mss() for a segment whose TCP header is header_len bytes.
  [[nodiscard]] uint32_t payload_cap(std::size_t header_len) const;
  void send_ack();
  void send_rst_for_state();
  void send_syn(bool with_ack);
  [[nodiscard]] SeqNumber data_end() const;  // seq after the last buffered byte
  [[nodiscard]] bool fin_pending() const { return fin_queued_ && !fin_sent_; }
  [[nodiscard]] uint32_t flight_size() const { return static_cast<uint32_t>(snd_nxt_ - snd_una_); }
  [[nodiscard]] uint32_t pipe() const;
  [[nodiscard]] bool is_lost(SeqNumber s) const;
  [[nodiscard]] CongestionView congestion_view(uint32_t flight) const;  // for cc_
  void on_new_ack(SeqNumber ack, uint32_t acked, uint32_t prior_flight);
  void on_dupack();
  void enter_recovery();
  /// tcp_slow_start_after_idle: restart cwnd before sending after an idle period.
  void restart_after_idle();
  void update_rtt(Duration sample);
  // ---- segments in flight and RACK-TLP (RFC 8985), PRR (RFC 6937)
  /// Records newly sent sequence space [start, end).
  void record_sent(SeqNumber start, SeqNumber end);
  /// Marks [start, end) retransmitted now (splitting segments at the edges).
  void record_retransmitted(SeqNumber start, SeqNumber end);
  /// What one ACK told: bytes delivered and the send times for an RTT sample.
  struct AckSamples {
    SeqNumber prior_fack;      // highest SACKed end before this ACK
    bool first_set = false;    // first_xmit is set
    sim::Time first_xmit;      // oldest newly acked segment never retransmitted
    bool retrans_acked = false;  // a retransmitted segment was acked (Karn)
    bool dsack_tlp = false;    // a D-SACK reported the tail loss probe's copy
    bool last_set = false;     // last_xmit is set
    sim::Time last_xmit;       // newest newly acked or SACKed segment never retransmitted
    bool sack_set = false;     // sack_xmit is set
    sim::Time sack_xmit;       // oldest newly SACKed segment never retransmitted
    uint32_t delivered = 0;    // bytes newly acked or SACKed
  };
  /// Tags the segments overlapping [gap_l, gap_r) that SACK block [blk_l,
  /// blk_r) covers whole; returns the bytes newly SACKed.
  uint32_t sack_segments(SeqNumber gap_l, SeqNumber gap_r, SeqNumber blk_l, SeqNumber blk_r, AckSamples& smp);
  /// Drops the segments below `ack` (cutting one it acknowledges in part).
  void ack_segments(SeqNumber ack, AckSamples& smp);
  /// A D-SACK for data ending at `end` arrived (RFC 2883): a wider reordering
  /// window (RFC 8985 6.2 step 4). True when it is the tail loss probe's.
  bool on_dsack(SeqNumber end);
  void note_reordering();
  /// A delivered segment moves RACK's newest-delivered mark (RFC 8985 6.2 step 2).
  void rack_advance(const SentSegment& s);
  /// Marks segments lost whose reordering window passed; `timeout` is how
  /// long until the next one's passes (zero: none). Returns bytes newly lost.
  uint32_t rack_detect_loss(Duration& timeout);
  [[nodiscard]] Duration rack_reo_wnd() const;
  void mark_lost(SentSegment& s);
  /// Pipe with the segment flags: out - (SACKed + lost) + retransmitted (Linux tcp_packets_in_flight).
  [[nodiscard]] uint32_t rack_pipe() const;
  /// The first segment marked lost and not retransmitted since, or nullptr.
  SentSegment* next_lost();
  /// RTO: every segment not SACKed is lost (with forget_sacks, every one).
  void mark_all_lost(bool forget_sacks);
  void rack_enter_recovery();
  /// PRR (RFC 6937, as Linux tcp_cwnd_reduction): cwnd for this ACK.
  void prr_on_ack(uint32_t delivered, bool una_advanced, uint32_t newly_lost);
  /// cwnd growth by the algorithm when cwnd was the limit.
  void grow_cwnd(uint32_t acked, uint32_t prior_flight);
  /// The ACK processing of RACK mode: leaving recovery, TLP, detection, PRR or growth, timers.
  void rack_on_ack(SeqNumber ack, bool una_advanced, uint32_t acked, uint32_t prior_flight, const AckSamples& smp,
                   bool dsack, bool pure_dupack);
  /// After an ACK or a send: probe timer, or the RTO.
  void arm_probe_or_rto(bool advancing);
  void arm_rto_from_head();
  [[nodiscard]] bool probe_allowed() const;
  void on_reorder_timeout();
  void on_loss_probe();
  /// RTT sample from an echoed timestamp; false when it is not plausible.
  bool ts_rtt_sample(uint32_t tsecr);
  void arm_retransmit(bool restart);
  void arm_persist_if_needed();
  [[nodiscard]] Duration current_rto(uint32_t backoff) const;
  [[nodiscard]] uint32_t ts_now() const;

  // ---- receiver
  [[nodiscard]] uint32_t select_window();
  // Receive-buffer auto-tuning (Linux tcp_rcv_space_adjust), the receiver's
  // RTT (tcp_rcv_rtt_measure[_ts]), window growth (tcp_grow_window),
  // send-buffer growth (tcp_sndbuf_expand), SACK compression.
  void rcv_rtt_measure_ts(const Segment& seg);
  void rcv_rtt_measure();
  void rcv_rtt_update(Duration sample, bool win_dep);
  void rcv_space_init();
  void rcv_space_adjust();
  void sndbuf_expand();
  [[nodiscard]] uint32_t grow_window_step(std::size_t len) const;
  /// Out-of-order data, or a hole still open: ACK now or merge (tcp_comp_sack_nr).
  void ack_ofo();
  void on_comp_sack_timer();
  // TCP small queues and local congestion.
  /// The most bytes this socket may have in the host's queue (Linux tcp_small_queue_check).
  [[nodiscard]] uint64_t tsq_limit() const;
  /// True when sending must pause until frames leave the host's queue.
  bool tsq_throttle();
  /// A frame of ours (frame_len bytes) left the host's queue.
  void on_tx_complete(uint32_t frame_len);
  /// The host's own queue dropped a frame of ours carrying [seq, end).
  void on_local_drop(SeqNumber seq, SeqNumber end);
  void schedule_ack();
  void update_sack_blocks(SeqNumber s, SeqNumber e);

  // ---- timers and lifecycle
  void on_timer();
  void on_delack_timer();
  /// Counts one retransmitted segment, in the socket's stats and in the
  /// stack's active or passive total.
  void count_retransmit();
  void on_retransmit_timeout(timer::Retransmit rt);
  void on_persist_timeout(timer::Persist p);
  [[nodiscard]] bool xmit_timer_armed() const;  // retransmit, reorder or probe timer
  void set_timer(TimerState t);
  void enter_time_wait();
  /// TIME_WAIT or CLOSED: frees the storage of empty buffers.
  void release_buffers();
  void set_state(TcpState s);
  void to_closed(CloseReason r, bool notify);
  void post(uint8_t event_bits) { pending_events_ |= event_bits; }
  // Data and FIN reach the application after the host's processing latency
  // (cfg_.app_latency), in arrival order: one wake-up timer at a time.
  void post_to_app(uint8_t event_bits);
  void on_app_timer();
  void tell_app_now();  // the waiting events are posted now (before a close)
  void flush_events();

  TcpStack* stack_;                 // owner; outlives the socket
  uint64_t id_ = 0;                 // creation number within the stack (ownership key)
  bool reap_scheduled_ = false;     // queued for destruction by the stack
  bool closed_posted_ = false;      // kClosed already posted (on_closed is delivered once)
  TcpConfig cfg_;                   // the host's settings when the socket opened
  TcpEvents* events_ = nullptr;     // application callbacks, may be null
  TcpState state_ = TcpState::Closed;
  FourTuple tuple_{};               // addresses and ports
  TcpSocket* listener_ = nullptr;   // passive open: the listener (until accepted)
  bool active_open_ = false;        // opened by connect() (the client side)
  uint32_t backlog_ = 0;            // listener: max half-open children
  uint32_t half_open_ = 0;          // listener: children in SYN_RECEIVED

  // Send sequence space (RFC 9293 3.3.1).
  SeqNumber iss_;      // our initial sequence number
  SeqNumber snd_una_;  // oldest unacknowledged sequence number
  SeqNumber snd_nxt_;  // next new sequence number (highest sent + 1; never moves back)
  uint32_t snd_wnd_ = 0;       // peer's window, scaled, in bytes
  uint32_t max_snd_wnd_ = 0;   // largest snd_wnd seen (RFC 5961 ACK check, SWS)
  SeqNumber snd_wl1_;  // seq of the segment that last updated snd_wnd
  SeqNumber snd_wl2_;  // ack of the segment that last updated snd_wnd
  SeqNumber buf_seq_;  // sequence number of snd_buf_'s first byte
  SeqNumber snd_sml_;  // end of the last sub-MSS segment sent (Nagle-Minshall)
  ByteRing snd_buf_;   // unacknowledged + unsent data
  bool fin_queued_ = false;  // shutdown() called: FIN follows the data
  bool fin_sent_ = false;    // the FIN has been sent (at data_end())
  bool syn_retransmitted_ = false;  // RFC 6298 5.7
  bool want_writable_ = false;      // a send() was short: report space
  bool nagle_ = true;               // Nagle's algorithm on

  // Receive sequence space.
  SeqNumber irs_;        // peer's initial sequence number
  SeqNumber rcv_nxt_;    // next sequence number expected
  SeqNumber rcv_adv_;    // right edge of the last advertised window (never retreats)
  SeqNumber rcv_wup_;    // rcv_nxt when the last ACK was sent (Last.ACK.sent)
  ByteRing rcv_buf_;     // in-order data [0, size), out-of-order data after it
  SeqRangeSet ooo_;      // out-of-order ranges held in rcv_buf_
  bool fin_received_ = false;        // peer's FIN processed (in order)
  bool fin_ooo_ = false;             // peer's FIN seen but data before it is missing
  SeqNumber fin_seq_;                // its sequence number
  std::array<SeqRangeSet::Range, 4> sack_blocks_{};  // blocks to report, most recent first
  uint8_t sack_count_ = 0;           // blocks in use
  std::optional<SeqRangeSet::Range> dsack_;  // duplicate range for the next ACK's first block (RFC 2883)
  uint32_t rcv_mss_ = 536;           // estimate of the peer's segment size (delayed ACK)
  uint32_t rcv_ssthresh_ = 65535;    // cap on the advertised window; starts at the SYN's
                                     // window, grows 2 MSS per in-order segment (Linux)
  bool ack_now_ = false;             // send an ACK at the end of this input
  bool ato_init_ = false;            // the first data segment has arrived (Linux icsk_ack.ato != 0)
  uint8_t quick_acks_ = 0;           // immediate ACKs left in quick-ACK mode
  bool pingpong_ = false;            // interactive: delay ACKs to piggyback them
  Time last_data_rcvd_;              // when data last arrived (Linux lrcvtime)
  bool rcvd_since_sent_ = false;     // data arrived after we last sent new data
  bool closed_by_app_ = false;       // close() or abort() called
  bool invalid_ack_sent_ = false;    // last_invalid_ack_ is set
  Time last_invalid_ack_;            // when we last answered an invalid segment (Linux last_oow_ack_time)
  bool rcv_shutdown_ = false;        // close() called: new data resets the connection

  // Options negotiated.
  uint16_t adv_mss_ = 536;   // MSS we announced
  uint32_t snd_mss_ = 536;   // payload per full segment we send (mss_clamp_ minus the TS option)
  uint32_t mss_clamp_ = 536; // min(peer's MSS >= 88, ours, MTU - 40): payload + options of a segment
  uint32_t path_mtu_ = 1500; // MTU of the interface the connection uses
  uint8_t snd_wscale_ = 0;   // peer's shift
  uint8_t rcv_wscale_ = 0;   // our shift
  bool wscale_ok_ = false;   // both sent window scale
  bool sack_ok_ = false;     // both sent SACK-permitted
  bool ts_ok_ = false;       // both sent timestamps
  uint32_t ts_recent_ = 0;   // latest valid TSval from the peer (RFC 7323 4.3)
  uint32_t ts_offset_ = 0;   // added to our TS clock

  // RTT and RTO (RFC 6298).
  Duration srtt_{};             // smoothed RTT; zero until the first sample
  Duration rttvar_{};           // RTT variation
  Duration rto_{};              // current RTO before backoff
  bool rtt_timing_ = false;     // the SYN or SYN-ACK is being timed (Karn); data RTT comes from sent_
  SeqNumber rtt_seq_;           // ack that completes the timed segment
  Time last_data_sent_;         // when new data was last sent (Linux lsndtime)
  bool data_sent_ = false;      // last_data_sent_ is set
  Time opened_at_;              // when the connection was opened (bounds TS RTT samples)
  Time rtt_sent_;               // when it was sent

  // Congestion control (RFC 5681, 6582, 6675).
  uint32_t cwnd_ = 0;             // congestion window, bytes
  uint32_t ssthresh_ = 0x7fffffff;  // slow-start threshold, bytes
  std::unique_ptr<CongestionControl> cc_;  // cwnd growth and ssthresh after a loss (cfg_.congestion_control)
  uint32_t recovery_cwnd_ = 0;    // cwnd when fast recovery began (an RTO in recovery cuts from it)
  uint32_t dupacks_ = 0;          // consecutive duplicate ACKs
  uint32_t rto_backoff_ = 0;      // RTO expirations since snd_una last advanced (Linux icsk_backoff)
  // Segments in flight and their tallies (bytes), for RACK and PRR.
  SentQueue sent_;                // [snd_una, snd_nxt) as sent, oldest first
  uint32_t sacked_out_ = 0;       // bytes of segments tagged SACKed
  uint32_t sacked_segs_ = 0;      // segments tagged SACKed
  uint32_t lost_out_ = 0;         // bytes marked lost (not SACKed)
  uint32_t retrans_out_ = 0;      // bytes whose retransmission is in flight
  SeqNumber rtx_hint_;            // no lost, unretransmitted segment before this
  Duration min_rtt_{};            // smallest RTT sample (Linux tcp_min_rtt, not windowed)
  // RACK (RFC 8985 6.1 names).
  bool rack_set_ = false;         // a segment was delivered: rack_xmit_ / rack_end_ hold
  bool rack_advanced_ = false;    // new delivery since the last detection (Linux rack.advanced)
  Time rack_xmit_;                // send time of the most recently sent delivered segment
  SeqNumber rack_end_;            // its end
  Duration rack_rtt_{};           // RTT of the last delivered segment
  SeqNumber rack_fack_;           // highest end SACKed or acked (forward-most ACK)
  bool reord_seen_ = false;       // reordering observed: the window stays open
  uint32_t reo_wnd_steps_ = 1;    // reordering window in min_rtt/4 steps (grows on D-SACK)
  uint32_t reo_wnd_persist_ = 0;  // recoveries before the steps go back to 1
  bool dsack_round_set_ = false;  // a D-SACK already widened the window this round
  SeqNumber dsack_round_;         // snd_nxt when it did
  // TLP (RFC 8985 7).
  bool tlp_pending_ = false;      // a probe is unanswered (Linux tlp_high_seq != 0)
  bool tlp_retrans_ = false;      // it was a retransmission
  SeqNumber tlp_high_seq_;        // snd_nxt when it was sent
  // PRR (RFC 6937).
  uint64_t prr_delivered_ = 0;    // bytes delivered since recovery began
  uint64_t prr_out_ = 0;          // bytes sent since recovery began
  CaState ca_state_ = CaState::Open;
  SeqNumber recover_;             // snd_nxt when recovery/loss began (RFC 6582 "recover")
  SeqNumber high_rxt_;            // next byte after the highest retransmitted one (RFC 6675 HighRxt)
  SeqRangeSet sacked_;            // SACK scoreboard above snd_una
  bool after_rto_ = false;        // RFC 6582: no fast retransmit until an ACK passes recover_ after an RTO

  TimerState timer_;              // the connection timer's state
  sim::Timer conn_timer_;         // fires on_timer() at the state's expiry
  sim::Timer delack_timer_;       // delayed ACK
  sim::Timer app_timer_;          // host processing latency: wakes the application
  sim::Timer comp_sack_timer_;    // a compressed SACK is due
  uint32_t compressed_acks_ = 0;  // ACKs merged since the last one sent (Linux compressed_ack)
  uint8_t dup_ack_counter_ = 0;   // immediate duplicate ACKs for this rcv_nxt (up to 3)
  SeqNumber comp_rcv_nxt_;        // rcv_nxt they were for
  // Receiver RTT and receive-buffer auto-tuning.
  Duration rcv_rtt_{};            // estimate (zero: none)
  bool rcv_rtt_timing_ = false;   // a window-based measurement is running
  SeqNumber rcv_rtt_seq_;         // it ends when rcv_nxt reaches this
  Time rcv_rtt_time_;             // it began then
  uint32_t rcv_rtt_last_tsecr_ = 0;  // TSecr of the last timestamp-based sample
  uint64_t copied_ = 0;           // bytes the application has read (Linux copied_seq)
  uint32_t rcvq_space_ = 0;       // bytes read in the last measured RTT (Linux rcvq_space.space)
  uint64_t rcvq_seq_ = 0;         // copied_ when that RTT began
  // TCP small queues and local congestion.
  uint32_t tsq_bytes_ = 0;        // memory of our frames in the host's queue (Linux sk_wmem_alloc)
  bool tsq_throttled_ = false;    // sending paused until a frame leaves (TSQ_THROTTLED)
  bool local_drop_ = false;       // a frame was dropped by the host's queue in this output()
  bool tsq_exempt_ = false;       // an RTO fired: its retransmission goes out whatever is queued
  bool cwr_ = false;              // a local-congestion reduction is in force (Linux CWR)
  SeqNumber cwr_high_;            // until snd_una passes this
  Time rcvq_time_;                // and when
  uint8_t delayed_events_ = 0;    // kReadable / kPeerFin waiting for app_timer_
  uint16_t ip_ident_ = 0;         // next IPv4 identification
  uint8_t pending_events_ = 0;    // EventBit set, delivered by flush_events()
  CloseReason close_reason_ = CloseReason::Normal;  // for kClosed
  bool in_callbacks_ = false;     // flush_events() running
  TcpSocketStats stats_;
};

}  // namespace tcpmig::tcp
