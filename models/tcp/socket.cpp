// TcpSocket: the connection state machine, sender and receiver
// (see tcpmig/tcp/socket.hpp for the rules and the RFCs followed).
//
// Call chain: TcpStack::input -> TcpSocket::input -> on_syn_sent /
// on_synchronized (-> check_sequence, on_rst, process_ack, process_text) ->
// output() -> transmit() -> TcpStack::send_frame; then flush_events() calls
// the application. Timers: on_timer() (retransmit / persist / TIME_WAIT /
// FIN_WAIT_2) and on_delack_timer().
#include "tcpmig/tcp/socket.hpp"

#include <algorithm>
#include <stdexcept>

#include "tcpmig/tcp/stack.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace tcpmig::tcp {

namespace flag = wire::tcp_flag;

namespace {
constexpr std::size_t kL3Offset = 14;             // Ethernet header
constexpr std::size_t kL4Offset = kL3Offset + 20;  // + IPv4 header without options
constexpr uint32_t kTsOptionLen = 12;             // nop, nop, TS
constexpr uint32_t kMaxCwnd = 0x3fff'ffff;
constexpr uint32_t kMinPeerMss = 88;       // Linux TCP_MIN_MSS
constexpr uint32_t kMinSndMss = 48;        // Linux tcp_min_snd_mss
constexpr uint32_t kMinRecvBuffer = 4096;  // Linux tcp_rmem[0]
constexpr uint32_t kMinSendBuffer = 4096;  // Linux tcp_wmem[0]: a smaller SO_SNDBUF is raised to it

// Window-scale shift Linux picks for `space` bytes (tcp_select_initial_window).
uint8_t wscale_for(uint32_t space) {
  uint8_t s = 0;
  while (space > 65535 && s < 14) {
    space >>= 1;
    ++s;
  }
  return s;
}

// The shift we announce: from max(recv_buffer, window_scale_space or tcp_rmem[2]), as Linux
// computes it from max(tcp_rmem[2], rmem_max).
uint8_t offered_wscale(const TcpConfig& cfg) {
  const uint32_t space = cfg.window_scale_space != 0 ? cfg.window_scale_space : std::max(cfg.rmem[2], 212992U);
  return wscale_for(std::max(cfg.recv_buffer, space));
}

// Receive buffer capacity for `cfg`. Linux guarantees every TCP socket
// tcp_rmem[0] (4096 bytes, over two full segments), and never lets a
// window be scaled away (__tcp_select_window rounds it up to the scale unit,
// trusting its loose memory accounting). A ring holds no more than its
// capacity, so the buffer is raised instead: to 4096 bytes and to one unit of
// the window scale. Smaller buffers would advertise a zero window for ever
// (a SYN window rounded down to whole segments, or windows under one unit).
uint32_t recv_capacity(const TcpConfig& cfg) {
  const uint32_t unit = cfg.window_scaling ? uint32_t{1} << offered_wscale(cfg) : 1;
  // Auto-tuned: the window is half of tcp_rmem[1] at first (memory counts
  // twice the data, Linux's default scaling ratio).
  const uint32_t data = cfg.recv_buffer != 0 ? cfg.recv_buffer : cfg.rmem[1] / 2;
  return std::max({data, kMinRecvBuffer, unit});
}


uint32_t clamp_u32(int64_t v) {
  if (v < 0) return 0;
  if (v > 0xffff'ffffLL) return 0xffff'ffffU;
  return static_cast<uint32_t>(v);
}
}  // namespace

const char* state_name(TcpState s) {
  switch (s) {
    case TcpState::Closed: return "CLOSED";
    case TcpState::Listen: return "LISTEN";
    case TcpState::SynSent: return "SYN-SENT";
    case TcpState::SynReceived: return "SYN-RECEIVED";
    case TcpState::Established: return "ESTABLISHED";
    case TcpState::FinWait1: return "FIN-WAIT-1";
    case TcpState::FinWait2: return "FIN-WAIT-2";
    case TcpState::CloseWait: return "CLOSE-WAIT";
    case TcpState::Closing: return "CLOSING";
    case TcpState::LastAck: return "LAST-ACK";
    case TcpState::TimeWait: return "TIME-WAIT";
  }
  return "?";
}

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::Normal: return "normal";
    case CloseReason::Reset: return "reset";
    case CloseReason::Refused: return "refused";
    case CloseReason::Timeout: return "timeout";
    case CloseReason::Aborted: return "aborted";
  }
  return "?";
}

TcpSocket::TcpSocket(TcpStack& stack, const TcpConfig& cfg)
    : stack_(&stack),
      cfg_(cfg),
      nagle_(cfg.nagle),
      conn_timer_(stack.sim(), sim::Callback::bind<&TcpSocket::on_timer>(this)),
      delack_timer_(stack.sim(), sim::Callback::bind<&TcpSocket::on_delack_timer>(this)),
      app_timer_(stack.sim(), sim::Callback::bind<&TcpSocket::on_app_timer>(this)),
      comp_sack_timer_(stack.sim(), sim::Callback::bind<&TcpSocket::on_comp_sack_timer>(this)) {
  cc_ = make_congestion_control(cfg.congestion_control);
  if (cc_ == nullptr) {
    throw std::invalid_argument("TcpConfig::congestion_control '" + cfg.congestion_control + "' is not an algorithm");
  }
}

TcpSocket::~TcpSocket() = default;

// ===================================================================== opening

void TcpSocket::open_common(const FourTuple& t, uint32_t isn, uint16_t adv_mss, uint32_t mtu) {
  tuple_ = t;
  adv_mss_ = adv_mss;
  path_mtu_ = mtu;
  opened_at_ = stack_->sim().now();
  // A fixed SO_SNDBUF, or half of tcp_wmem[1] in data until the connection
  // is established (sndbuf_expand then sizes it from the window).
  snd_buf_.reset(std::max(cfg_.send_buffer != 0 ? cfg_.send_buffer : cfg_.wmem[1] / 2, kMinSendBuffer));
  rcv_buf_.reset(recv_capacity(cfg_));
  iss_ = SeqNumber{isn};
  snd_una_ = iss_;
  snd_nxt_ = iss_;
  buf_seq_ = iss_ + 1;
  recover_ = iss_;
  high_rxt_ = iss_;
  snd_sml_ = iss_;
  sent_.clear();
  sacked_out_ = sacked_segs_ = lost_out_ = retrans_out_ = 0;
  rtx_hint_ = iss_;
  rack_fack_ = iss_;
  rack_end_ = iss_;
  tlp_high_seq_ = iss_;
  dsack_round_ = iss_;
  cc_->reset();
  app_timer_.cancel();
  delayed_events_ = 0;
  rto_ = cfg_.rto_initial;
  ts_offset_ = cfg_.ts_random_offset ? stack_->next_random() : 0;
  ip_ident_ = static_cast<uint16_t>(stack_->next_random());
}

void TcpSocket::open_active(const FourTuple& t, uint32_t isn, uint16_t adv_mss, uint32_t mtu) {
  open_common(t, isn, adv_mss, mtu);
  active_open_ = true;
  rcv_wscale_ = cfg_.window_scaling ? offered_wscale(cfg_) : 0;
  set_state(TcpState::SynSent);
  send_syn(false);
}

void TcpSocket::open_listen(const FourTuple& t, uint32_t backlog) {
  tuple_ = t;
  backlog_ = backlog;
  set_state(TcpState::Listen);
}

void TcpSocket::open_passive(TcpSocket& listener, const FourTuple& t, const Segment& syn, uint32_t isn,
                             uint16_t adv_mss, uint32_t mtu) {
  listener_ = &listener;
  ++listener.half_open_;
  open_common(t, isn, adv_mss, mtu);
  irs_ = syn.tcp.seq;
  rcv_nxt_ = irs_ + 1;
  rcv_wup_ = rcv_nxt_;
  rcv_adv_ = rcv_nxt_;
  parse_syn_options(syn.tcp);
  snd_wnd_ = syn.tcp.window;  // never scaled in a SYN (RFC 7323 2.2)
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = syn.tcp.seq;
  snd_wl2_ = iss_;
  set_state(TcpState::SynReceived);
  send_syn(true);
}

void TcpSocket::parse_syn_options(const wire::TcpRepr& syn) {
  // Linux clamps a tiny announced MSS to TCP_MIN_MSS (88) and never lets the
  // sending MSS fall below tcp_min_snd_mss (48) after the options.
  const uint32_t peer_mss = std::max<uint32_t>(syn.mss.value_or(536), kMinPeerMss);
  wscale_ok_ = cfg_.window_scaling && syn.window_scale.has_value();
  snd_wscale_ = wscale_ok_ ? std::min<uint8_t>(*syn.window_scale, 14) : 0;
  if (state_ != TcpState::SynSent || !wscale_ok_) {
    rcv_wscale_ = wscale_ok_ ? offered_wscale(cfg_) : 0;
  }
  sack_ok_ = cfg_.sack && syn.sack_permitted;
  ts_ok_ = cfg_.timestamps && syn.timestamps.has_value();
  if (ts_ok_) ts_recent_ = syn.timestamps->first;
  const int64_t mtu_mss = static_cast<int64_t>(path_mtu_) - 40;
  mss_clamp_ = static_cast<uint32_t>(
      std::clamp<int64_t>(std::min<int64_t>({peer_mss, adv_mss_, mtu_mss}), kMinSndMss, TcpStack::kMaxAdvMss));
  snd_mss_ = static_cast<uint32_t>(
      std::max<int64_t>(static_cast<int64_t>(mss_clamp_) - (ts_ok_ ? kTsOptionLen : 0), kMinSndMss));
  rcv_mss_ = std::min<uint32_t>(536, adv_mss_);
}

void TcpSocket::on_listen(const Segment& seg, uint32_t in_mtu) {
  // RFC 9293 3.10.7.2: LISTEN.
  ++stats_.segs_in;
  if (seg.has(flag::RST)) return;
  if (seg.has(flag::ACK)) {
    stack_->send_reset_for(seg.tcp, seg.src, seg.dst);
    return;
  }
  if (!seg.has(flag::SYN)) return;
  if (seg.has(flag::FIN)) return;  // SYN+FIN: discarded, as Linux does
  if (half_open_ >= backlog_) {
    ++stack_->stats_.listen_overflow;  // Linux without syncookies drops the SYN
    return;
  }
  const FourTuple t{seg.dst, seg.tcp.dst_port, seg.src, seg.tcp.src_port};
  TcpSocket& child = stack_->create_socket();
  child.tuple_ = t;
  stack_->register_conn(child);
  child.open_passive(*this, t, seg, stack_->next_isn(), stack_->mss_for_mtu(in_mtu), in_mtu);
}

void TcpSocket::establish() {
  set_state(fin_queued_ ? TcpState::FinWait1 : TcpState::Established);
  cwnd_ = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{cfg_.initial_cwnd_segments} * snd_mss_, kMaxCwnd));
  if (syn_retransmitted_ && stats_.rtt_samples == 0) rto_ = cfg_.rto_after_syn_retransmit;
  if (listener_ != nullptr && listener_->half_open_ > 0) --listener_->half_open_;
  sndbuf_expand();  // Linux tcp_init_buffer_space
  rcv_space_init();
  post(kConnected);
}

bool TcpSocket::synchronized() const {
  return state_ != TcpState::Closed && state_ != TcpState::Listen && state_ != TcpState::SynSent;
}

// ============================================================ application API

std::size_t TcpSocket::send(std::span<const uint8_t> data) {
  if (closed_by_app_ || fin_queued_) return 0;
  switch (state_) {
    case TcpState::SynSent:
    case TcpState::SynReceived:
    case TcpState::Established:
    case TcpState::CloseWait: break;
    default: return 0;
  }
  const std::size_t n = snd_buf_.push(data);
  if (n < data.size()) want_writable_ = true;
  if (n > 0) {
    output();
    flush_events();
  }
  return n;
}

std::size_t TcpSocket::send_space() const {
  if (closed_by_app_ || fin_queued_) return 0;
  return snd_buf_.free();
}

std::size_t TcpSocket::recv(std::span<uint8_t> out) {
  const std::size_t n = rcv_buf_.pop(out);
  copied_ += n;
  if (n > 0) rcv_space_adjust();
  if (n > 0 && synchronized() && !fin_received_) {
    // Window update (Linux tcp_cleanup_rbuf): when the advertised window had
    // shrunk to half the buffer or less and would now at least double.
    const uint32_t adv = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
    const uint32_t now_wnd = rcv_wnd();
    if (2 * static_cast<uint64_t>(adv) <= rcv_buf_.capacity() && now_wnd >= 2 * static_cast<uint64_t>(adv) &&
        now_wnd > adv) {
      ack_now_ = true;
      output();
      flush_events();
    }
  }
  return n;
}

void TcpSocket::shutdown() {
  if (fin_queued_) return;
  switch (state_) {
    case TcpState::SynSent:
    case TcpState::SynReceived: fin_queued_ = true; return;  // FIN follows the handshake
    case TcpState::Established:
      fin_queued_ = true;
      set_state(TcpState::FinWait1);
      break;
    case TcpState::CloseWait:
      fin_queued_ = true;
      set_state(TcpState::LastAck);
      break;
    default: return;
  }
  output();
  flush_events();
}

void TcpSocket::close() {
  if (closed_by_app_) return;
  closed_by_app_ = true;
  rcv_shutdown_ = true;
  switch (state_) {
    case TcpState::Closed: stack_->schedule_reap(*this); return;
    case TcpState::Listen: to_closed(CloseReason::Normal, false); return;
    case TcpState::SynSent: to_closed(CloseReason::Aborted, true); flush_events(); return;
    case TcpState::TimeWait: return;  // over for the application already; CLOSED (and freed) after 2MSL
    default: break;
  }
  if (!rcv_buf_.empty()) {
    // Linux: closing with unread data resets the connection (RFC 2525 2.17).
    send_rst_for_state();
    to_closed(CloseReason::Aborted, true);
    flush_events();
    return;
  }
  shutdown();
  if (state_ == TcpState::FinWait2) set_timer(timer::FinWait2{stack_->sim().now() + cfg_.fin_wait2_timeout});
  flush_events();
}

void TcpSocket::abort() {
  if (closed_by_app_ && state_ == TcpState::Closed) return;
  closed_by_app_ = true;
  if (state_ == TcpState::Closed) {
    stack_->schedule_reap(*this);
    return;
  }
  if (synchronized() && state_ != TcpState::TimeWait) send_rst_for_state();
  closed_posted_ = true;  // no callback after abort()
  to_closed(CloseReason::Aborted, false);
}

void TcpSocket::set_nodelay(bool on) {
  nagle_ = !on;
  if (on && synchronized()) {
    output();
    flush_events();
  }
}

// ================================================================ input

void TcpSocket::input(const Segment& seg) {
  ++stats_.segs_in;
  switch (state_) {
    case TcpState::Closed:
    case TcpState::Listen: return;
    case TcpState::SynSent: on_syn_sent(seg); break;
    default: on_synchronized(seg); break;
  }
  output();
  flush_events();
}

// RFC 9293 3.10.7.3: SYN-SENT.
void TcpSocket::on_syn_sent(const Segment& seg) {
  const wire::TcpRepr& tcp = seg.tcp;
  bool ack_ok = false;
  if (seg.has(flag::ACK)) {
    if (tcp.ack <= iss_ || tcp.ack > snd_nxt_) {
      if (!seg.has(flag::RST)) stack_->send_reset_for(tcp, seg.src, seg.dst);
      return;
    }
    ack_ok = snd_una_ <= tcp.ack && tcp.ack <= snd_nxt_;
  }
  if (seg.has(flag::RST)) {
    if (ack_ok) {
      to_closed(CloseReason::Refused, true);
    }
    return;
  }
  if (!seg.has(flag::SYN)) return;
  irs_ = tcp.seq;
  rcv_nxt_ = irs_ + 1;
  rcv_wup_ = rcv_nxt_;
  rcv_adv_ = rcv_nxt_;
  parse_syn_options(tcp);
  if (ack_ok) {
    // SYN-ACK: the window is unscaled in a SYN.
    snd_wnd_ = tcp.window;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = tcp.seq;
    snd_wl2_ = tcp.ack;
    if (rtt_timing_ && tcp.ack >= rtt_seq_) {
      update_rtt(stack_->sim().now() - rtt_sent_);
    } else if (ts_ok_ && tcp.timestamps && tcp.timestamps->second != 0) {
      ts_rtt_sample(tcp.timestamps->second);
    }
    rtt_timing_ = false;
    snd_una_ = tcp.ack;
    set_timer(timer::Idle{});
    establish();
    ack_now_ = true;
    // Data or a FIN riding on the SYN-ACK is queued like any other (Linux
    // tcp_rcv_synsent_state_process -> tcp_data_queue), not dropped.
    if (!tcp.payload.empty() || seg.has(flag::FIN)) process_text(seg);
  } else {
    // Simultaneous open (RFC 9293 figure 8): answer with SYN-ACK.
    snd_wnd_ = tcp.window;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = tcp.seq;
    snd_wl2_ = snd_una_;
    set_state(TcpState::SynReceived);
    send_syn(true);
  }
}

// RFC 9293 3.10.7.4: every synchronized state (SYN-RECEIVED .. TIME-WAIT).
void TcpSocket::on_synchronized(const Segment& seg) {
  const wire::TcpRepr& tcp = seg.tcp;
  // RFC 7323 5.3 PAWS: a timestamp older than ts_recent marks an old duplicate.
  if (ts_ok_ && tcp.timestamps && !seg.has(flag::RST) &&
      static_cast<int32_t>(tcp.timestamps->first - ts_recent_) < 0) {
    ++stats_.paws_drops;
    ack_invalid(seg);
    return;
  }
  // Step 1: sequence number check.
  if (!check_sequence(seg)) {
    if (!seg.has(flag::RST)) {
      ack_invalid(seg);
    } else if (reset_check(seg)) {
      on_rst(seg);
    }
    return;
  }
  // Step 2: RST (RFC 5961 3.2).
  if (seg.has(flag::RST)) {
    on_rst(seg);
    return;
  }
  // Step 4: SYN (RFC 5961 4.2): challenge ACK, except the two legitimate repeats.
  if (seg.has(flag::SYN)) {
    if (state_ == TcpState::SynReceived && listener_ != nullptr && !seg.has(flag::ACK) && tcp.seq == irs_) {
      send_syn(true);  // our SYN-ACK was lost: the peer repeats its SYN
      return;
    }
    const bool simultaneous_synack = state_ == TcpState::SynReceived && listener_ == nullptr &&
                                     seg.has(flag::ACK) && tcp.seq + 1 == rcv_nxt_ && tcp.ack == snd_nxt_;
    if (!simultaneous_synack) {
      challenge_ack(seg);
      return;
    }
  }
  // Step 5: ACK.
  if (!seg.has(flag::ACK)) return;
  if (state_ == TcpState::SynReceived) {
    if (!(snd_una_ < tcp.ack && tcp.ack <= snd_nxt_)) {
      stack_->send_reset_for(tcp, seg.src, seg.dst);
      return;
    }
    snd_wnd_ = static_cast<uint32_t>(tcp.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = tcp.seq;
    snd_wl2_ = tcp.ack;
    establish();
  }
  if (!process_ack(seg)) return;
  // Steps 7-8: text and FIN.
  process_text(seg);
}

bool TcpSocket::invalid_ack_rate_limited(const Segment& seg) {
  // Linux tcp_oow_rate_limited: a segment with data (and no SYN) is not part
  // of an ACK loop and is always answered.
  if (seg.tcp.seq_len() > 0 && !seg.has(flag::SYN)) return false;
  const Time now = stack_->sim().now();
  if (invalid_ack_sent_ && now - last_invalid_ack_ < cfg_.invalid_ack_ratelimit) {
    ++stats_.invalid_acks_suppressed;
    return true;
  }
  invalid_ack_sent_ = true;
  last_invalid_ack_ = now;
  return false;
}

void TcpSocket::ack_invalid(const Segment& seg) {
  if (!invalid_ack_rate_limited(seg)) ack_now_ = true;
}

void TcpSocket::challenge_ack(const Segment& seg) {
  if (invalid_ack_rate_limited(seg) || !stack_->challenge_ack_allowed()) return;
  ++stats_.challenge_acks;
  ack_now_ = true;
}

bool TcpSocket::check_sequence(const Segment& seg) {
  // Linux's tcp_sequence(): acceptable unless the segment ends before the
  // last acknowledged point or starts beyond the advertised window. It is
  // looser than RFC 9293's table so that ACKs riding on segments outside a
  // zero window are still processed; data outside the window is cut later.
  const SeqNumber seq = seg.tcp.seq;
  const SeqNumber end = seq + seg.len();
  const SeqNumber wnd_end = wire::seq_max(rcv_adv_, rcv_nxt_);
  if (end < rcv_wup_) return false;
  // Data starting exactly at the window's end (zero window) passes: its ACK
  // is processed and process_data() drops the bytes.
  return !(seq > wnd_end);
}

bool TcpSocket::reset_check(const Segment& seg) const {
  // Linux tcp_reset_check: after the peer's FIN, a RST may carry the FIN's
  // sequence number (rcv_nxt - 1) in CLOSE-WAIT, CLOSING and LAST-ACK.
  return seg.tcp.seq + 1 == rcv_nxt_ &&
         (state_ == TcpState::CloseWait || state_ == TcpState::Closing || state_ == TcpState::LastAck);
}

bool TcpSocket::on_rst(const Segment& seg) {
  if (seg.tcp.seq != rcv_nxt_ && !reset_check(seg)) {
    // In the window but not exact: challenge ACK (RFC 5961 3.2).
    challenge_ack(seg);
    return false;
  }
  switch (state_) {
    case TcpState::SynReceived:
      if (listener_ != nullptr) {
        to_closed(CloseReason::Reset, false);  // passive: back to LISTEN (the child just goes)
      } else {
        to_closed(CloseReason::Refused, true);
      }
      break;
    case TcpState::TimeWait: to_closed(CloseReason::Normal, false); break;
    default: to_closed(CloseReason::Reset, true); break;
  }
  return true;
}

bool TcpSocket::process_ack(const Segment& seg) {
  const wire::TcpRepr& tcp = seg.tcp;
  const SeqNumber ack = tcp.ack;
  if (ack > snd_nxt_) {
    ack_invalid(seg);  // acknowledges something not yet sent (RFC 9293, RFC 5961 5.2)
    return false;
  }
  if (ack < snd_una_ - max_snd_wnd_) {  // acceptable: SND.UNA - MAX.SND.WND <= ack (RFC 5961 5.2)
    challenge_ack(seg);  // too old to be legitimate (RFC 5961 5.2)
    return false;
  }
  // RFC 7323 4.3: remember the timestamp of a segment covering Last.ACK.sent,
  // only once the segment proved acceptable, its ACK included (Linux
  // FLAG_UPDATE_TS_RECENT); never from a RST or a SYN, which a blind
  // attacker could use to make genuine segments fail PAWS.
  if (ts_ok_ && tcp.timestamps && !seg.has(flag::SYN) && !seg.has(flag::RST) && tcp.seq <= rcv_wup_ &&
      static_cast<int32_t>(tcp.timestamps->first - ts_recent_) >= 0) {
    ts_recent_ = tcp.timestamps->first;
  }
  // Window update (RFC 9293 3.10.7.4, SND.WL1/SND.WL2 rule).
  bool window_changed = false;
  if (ack >= snd_una_ && (snd_wl1_ < tcp.seq || (snd_wl1_ == tcp.seq && snd_wl2_ <= ack))) {
    const uint32_t wnd = static_cast<uint32_t>(tcp.window) << snd_wscale_;
    window_changed = wnd != snd_wnd_;
    snd_wnd_ = wnd;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = tcp.seq;
    snd_wl2_ = ack;
  }
  const bool rack = rack_active();
  const uint32_t prior_flight = pipe();
  // SACK blocks (RFC 2018): record what lies above the cumulative ACK.
  AckSamples smp;
  smp.prior_fack = sacked_out_ > 0 ? rack_fack_ : snd_una_;
  bool new_sack = false;
  if (sack_ok_ && tcp.sack_count > 0) {
    for (std::size_t i = 0; i < tcp.sack_count; ++i) {
      SeqNumber l = tcp.sack_blocks[i].first;
      const SeqNumber r = tcp.sack_blocks[i].second;
      // RFC 2883: a first block below the cumulative ACK, or inside the
      // second block, reports data that arrived twice.
      if (i == 0 && l < r &&
          (r <= ack || (tcp.sack_count > 1 && tcp.sack_blocks[1].first <= l && r <= tcp.sack_blocks[1].second))) {
        if (rack && on_dsack(r)) smp.dsack_tlp = true;
        continue;
      }
      if (!(l < r) || r > snd_nxt_ || r <= wire::seq_max(ack, snd_una_)) continue;  // invalid
      l = wire::seq_max(l, wire::seq_max(ack, snd_una_));
      // Tag the segments in the parts of [l, r) not SACKed before.
      SeqNumber cur = l;
      for (const auto& have : sacked_) {
        if (have.end <= cur) continue;
        if (have.start >= r) break;
        if (have.start > cur) sack_segments(cur, have.start, l, r, smp);
        cur = wire::seq_max(cur, have.end);
        if (cur >= r) break;
      }
      if (cur < r) sack_segments(cur, r, l, r, smp);
      const uint64_t before = sacked_.bytes();
      sacked_.add(l, r);
      new_sack = new_sack || sacked_.bytes() != before;
    }
  }
  const bool una_advanced = ack > snd_una_;
  uint32_t acked = 0;
  Duration ca_rtt{};  // the newest delivered segment's RTT (Linux ca_rtt_us)
  if (una_advanced) {
    ack_segments(ack, smp);
    // RTT (Linux tcp_ack_update_rtt): the SYN from its timer; data from the
    // oldest segment this ACK delivers if none of it was ever resent (Karn),
    // else from the newest segment it SACKs, else from the echoed timestamp
    // (RFC 7323 RTTM, ts_tick granularity).
    const sim::Time now = stack_->sim().now();
    if (rtt_timing_ && ack >= rtt_seq_) {
      update_rtt(now - rtt_sent_);
      ca_rtt = now - rtt_sent_;
      rtt_timing_ = false;
    } else if (smp.first_set && !smp.retrans_acked) {
      update_rtt(now - smp.first_xmit);
    } else if (smp.sack_set) {
      update_rtt(now - smp.sack_xmit);
    } else if (ts_ok_ && tcp.timestamps && tcp.timestamps->second != 0) {
      ts_rtt_sample(tcp.timestamps->second);
    }
    snd_una_ = ack;
    // Data bytes acknowledged (the SYN and FIN occupy sequence space but no buffer).
    const int32_t d = ack - buf_seq_;
    const uint32_t data_acked = d <= 0 ? 0 : std::min<uint32_t>(static_cast<uint32_t>(d), static_cast<uint32_t>(snd_buf_.size()));
    if (data_acked > 0) {
      snd_buf_.consume(data_acked);
      buf_seq_ += data_acked;
      stats_.bytes_acked += data_acked;
      if (want_writable_) {
        // Linux tcp_new_space: the sender was short of space; grow the
        // buffer if the window is not used up.
        if (pipe() < cwnd_) sndbuf_expand();
        want_writable_ = false;
        post(kWritable);
      }
    }
    sacked_.trim_below(snd_una_);
    high_rxt_ = wire::seq_max(high_rxt_, snd_una_);
    dupacks_ = 0;
    if (cwr_ && snd_una_ >= cwr_high_) cwr_ = false;
    acked = data_acked + (fin_acked() ? 1 : 0);
    if (!rack) {
      on_new_ack(ack, acked, prior_flight);
      if (snd_una_ == snd_nxt_) {
        if (xmit_timer_armed()) set_timer(timer::Idle{});
      } else {
        arm_retransmit(true);  // RFC 6298 5.3
      }
    }
  } else {
    if (smp.sack_set) update_rtt(stack_->sim().now() - smp.sack_xmit);  // a SACK-only ACK times too (Linux)
    if (ack == snd_una_ && tcp.payload.empty() && !seg.has(flag::SYN) && !seg.has(flag::FIN) &&
        snd_nxt_ != snd_una_ && !window_changed) {
      ++stats_.dupacks_in;
      on_dupack();
    }
  }
  if (smp.last_set) ca_rtt = stack_->sim().now() - smp.last_xmit;
  if (ca_rtt > Duration::zero()) {
    // Linux tcp_update_rtt_min (not windowed here) and the controller's
    // per-ACK sample (pkts_acked: CUBIC's HyStart).
    if (min_rtt_ <= Duration::zero() || ca_rtt < min_rtt_) min_rtt_ = ca_rtt;
    CongestionView v = congestion_view(flight_size());
    v.rtt = ca_rtt;
    cc_->on_ack_sample(cwnd_, ssthresh_, v);
  }
  if (rack) {
    const bool pure_dupack = !una_advanced && !new_sack && tcp.payload.empty() && !window_changed;
    rack_on_ack(ack, una_advanced, acked, prior_flight, smp, smp.dsack_tlp, pure_dupack);
  } else if (new_sack && ca_state_ == CaState::Open && snd_nxt_ != snd_una_ && is_lost(snd_una_) &&
             fast_retransmit_allowed()) {
    // RFC 6675 5: SACKed data says snd_una is lost even without 3 duplicate ACKs.
    enter_recovery();
  }
  // State-specific ACK processing.
  switch (state_) {
    case TcpState::FinWait1:
      if (fin_acked()) {
        set_state(TcpState::FinWait2);
        if (closed_by_app_) set_timer(timer::FinWait2{stack_->sim().now() + cfg_.fin_wait2_timeout});
      }
      break;
    case TcpState::Closing:
      if (fin_acked()) {
        enter_time_wait();
        return false;
      }
      break;
    case TcpState::LastAck:
      if (fin_acked()) {
        to_closed(CloseReason::Normal, true);
        return false;
      }
      break;
    default: break;
  }
  return true;
}

void TcpSocket::process_text(const Segment& seg) {
  const wire::TcpRepr& tcp = seg.tcp;
  switch (state_) {
    case TcpState::Established:
    case TcpState::FinWait1:
    case TcpState::FinWait2: break;
    case TcpState::TimeWait:
      if (seg.has(flag::FIN)) {
        time_wait_restart();  // the peer did not get our ACK of its FIN
        ack_now_ = true;
      }
      return;
    default:
      // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN was processed; anything
      // more is a repeat: acknowledge it.
      if (!tcp.payload.empty() || seg.has(flag::FIN)) ack_now_ = true;
      return;
  }
  const SeqNumber seq = tcp.seq + (seg.has(flag::SYN) ? 1 : 0);
  if (!tcp.payload.empty()) {
    if (rcv_shutdown_ && seq + tcp.payload.size() > rcv_nxt_) {
      // New data for a socket the application closed (Linux tcp_rcv_state_process).
      send_rst_for_state();
      to_closed(CloseReason::Aborted, true);
      return;
    }
    rcv_rtt_measure_ts(seg);
    process_data(seq, tcp.payload);
  }
  if (seg.has(flag::FIN)) {
    const SeqNumber fin = seq + tcp.payload.size();
    if (fin == rcv_nxt_) {
      process_fin();
    } else if (fin > rcv_nxt_) {
      fin_ooo_ = true;  // keep it until the data before it arrives
      fin_seq_ = fin;
      ack_now_ = true;
    } else {
      ack_now_ = true;
    }
  }
}

void TcpSocket::process_data(SeqNumber seq, std::span<const uint8_t> data) {
  ++stats_.data_segs_in;
  rcv_mss_ = std::max<uint32_t>(rcv_mss_, std::min<uint32_t>(static_cast<uint32_t>(data.size()), adv_mss_));
  last_data_rcvd_ = stack_->sim().now();
  rcvd_since_sent_ = true;
  if (!ato_init_) {
    // The first data segment starts quick-ACK mode (Linux tcp_incr_quickack):
    // as many immediate ACKs as half the window holds segments, 2..16.
    ato_init_ = true;
    if (cfg_.quickack) {
      quick_acks_ = static_cast<uint8_t>(std::clamp<uint32_t>(rcv_wnd() / (2 * rcv_mss_), 2, 16));
    }
  }
  if (seq < rcv_nxt_) {
    const auto cut = static_cast<uint32_t>(rcv_nxt_ - seq);
    if (sack_ok_ && cfg_.dsack) {
      dsack_ = SeqRangeSet::Range{seq, seq + std::min<std::size_t>(cut, data.size())};  // RFC 2883 4.1.1
    }
    if (cut >= data.size()) {
      ++stats_.dup_data_in;  // all old: the peer missed our ACK (RFC 5681 4.2: ACK at once)
      ack_now_ = true;
      return;
    }
    data = data.subspan(cut);
    seq = rcv_nxt_;
  }
  const auto offset = static_cast<uint32_t>(seq - rcv_nxt_);
  const std::size_t space = rcv_buf_.free();
  if (offset >= space) {
    ack_now_ = true;  // beyond the buffer (zero window): drop, tell the window
    return;
  }
  data = data.first(std::min<std::size_t>(data.size(), space - offset));
  if (offset == 0) {
    rcv_buf_.write_at(0, data);
    rcv_buf_.commit(data.size());
    const SeqNumber before = rcv_nxt_;
    rcv_nxt_ += data.size();
    // Out-of-order data now contiguous with rcv_nxt joins the stream.
    bool filled = false;
    while (!ooo_.empty() && ooo_[0].start <= rcv_nxt_) {
      if (ooo_[0].end > rcv_nxt_) {
        rcv_buf_.commit(static_cast<uint32_t>(ooo_[0].end - rcv_nxt_));
        rcv_nxt_ = ooo_[0].end;
      }
      ooo_.trim_below(rcv_nxt_);  // drops the range just joined
      filled = true;
    }
    stats_.bytes_received += static_cast<uint32_t>(rcv_nxt_ - before);
    rcv_rtt_measure();
    // Linux tcp_grow_window: segments of 128 bytes or more open the window
    // towards the buffer's size, while there is room.
    const int64_t room = static_cast<int64_t>(std::min(rcv_buf_.capacity(), rcv_buf_.free())) - rcv_ssthresh_;
    if (data.size() >= 128 && room > 0) {
      uint32_t incr = grow_window_step(data.size());
      if (incr > 0) {
        incr = std::max<uint32_t>(incr, 2 * static_cast<uint32_t>(data.size()));
        rcv_ssthresh_ += static_cast<uint32_t>(std::min<int64_t>(room, incr));
      }
    }
    // Forget SACK blocks now below rcv_nxt.
    uint8_t k = 0;
    for (uint8_t i = 0; i < sack_count_; ++i) {
      if (sack_blocks_[i].end > rcv_nxt_) sack_blocks_[k++] = sack_blocks_[i];
    }
    sack_count_ = k;
    post_to_app(kReadable);
    if (fin_ooo_ && fin_seq_ == rcv_nxt_) {
      process_fin();
    } else if (!ooo_.empty()) {
      ack_ofo();  // RFC 5681 4.2: a hole still open
    } else if (filled) {
      ack_now_ = true;  // RFC 5681 4.2: the last hole filled
    } else {
      schedule_ack();
    }
  } else {
    if (sack_ok_ && cfg_.dsack) {
      // Out-of-order data received before (RFC 2883 4.1.2): the overlap.
      const SeqNumber e = seq + data.size();
      if (const SeqRangeSet::Range* had = ooo_.find(seq)) {
        dsack_ = SeqRangeSet::Range{seq, wire::seq_min(e, had->end)};
      } else if (const SeqRangeSet::Range* next = ooo_.next_after(seq); next != nullptr && next->start < e) {
        dsack_ = SeqRangeSet::Range{next->start, wire::seq_min(e, next->end)};
      }
    }
    rcv_buf_.write_at(offset, data);
    ++stats_.ooo_segs_in;
    ack_ofo();  // RFC 5681 4.2: out of order: duplicate ACK at once (or compressed)
    if (ooo_.add(seq, seq + data.size())) {
      if (const SeqRangeSet::Range* r = ooo_.find(seq)) update_sack_blocks(r->start, r->end);
    }
  }
}

void TcpSocket::update_sack_blocks(SeqNumber s, SeqNumber e) {
  // RFC 2018 4: the first block holds the newest segment; then the most
  // recently reported blocks that are still out of order, refreshed.
  std::array<SeqRangeSet::Range, 4> out{};
  uint8_t n = 0;
  out[n++] = SeqRangeSet::Range{s, e};
  for (uint8_t i = 0; i < sack_count_ && n < out.size(); ++i) {
    const SeqRangeSet::Range* cur = ooo_.find(sack_blocks_[i].start);
    if (cur == nullptr || cur->start == s) continue;
    bool dup = false;
    for (uint8_t j = 0; j < n; ++j) dup = dup || out[j].start == cur->start;
    if (!dup) out[n++] = *cur;
  }
  sack_blocks_ = out;
  sack_count_ = n;
}

void TcpSocket::process_fin() {
  fin_received_ = true;
  fin_ooo_ = false;
  rcv_nxt_ += 1;
  post_to_app(kPeerFin);
  switch (state_) {
    case TcpState::SynReceived:
    case TcpState::Established:
      // Linux delays this ACK (tcp_fin enters pingpong mode), so an
      // application that closes at once sends one FIN-ACK.
      set_state(TcpState::CloseWait);
      pingpong_ = true;
      if (cfg_.delayed_ack > Duration::zero()) {
        if (!ack_now_ && !delack_timer_.pending()) delack_timer_.schedule_in(cfg_.delayed_ack);
      } else {
        ack_now_ = true;
      }
      return;
    case TcpState::FinWait1:
      if (fin_acked()) {
        enter_time_wait();
      } else {
        set_state(TcpState::Closing);  // simultaneous close
      }
      break;
    case TcpState::FinWait2: enter_time_wait(); break;
    default: break;
  }
  ack_now_ = true;
}

bool TcpSocket::accepts_new_syn(const wire::TcpRepr& syn) const {
  if (state_ != TcpState::TimeWait) return false;
  if (ts_ok_ && syn.timestamps) return static_cast<int32_t>(syn.timestamps->first - ts_recent_) > 0;
  return syn.seq > rcv_nxt_;
}

bool TcpSocket::fin_acked() const { return fin_sent_ && snd_una_ == data_end() + 1; }

SeqNumber TcpSocket::data_end() const { return buf_seq_ + snd_buf_.size(); }

// ============================================================ congestion control

void TcpSocket::on_new_ack(SeqNumber ack, uint32_t acked, uint32_t prior_flight) {
  if (acked == 0) return;
  switch (ca_state_) {
    case CaState::Recovery:
      if (ack >= recover_) {
        cwnd_ = std::max(ssthresh_, snd_mss_);  // full ACK: deflate (RFC 6582 3.2 step 3)
        ca_state_ = CaState::Open;
        cc_->on_event(CongestionEvent::RecoveryDone);
      } else if (!sack_ok_) {
        // NewReno partial ACK (RFC 6582 3.2 step 4): resend the next hole,
        // deflate by what was acked, add back one MSS if >= 1 MSS.
        retransmit(snd_una_, snd_mss_);
        cwnd_ = cwnd_ > acked ? cwnd_ - acked : 0;
        if (acked >= snd_mss_) cwnd_ += snd_mss_;
        cwnd_ = std::max(cwnd_, snd_mss_);
      }
      return;
    case CaState::Loss:
      if (ack >= recover_) ca_state_ = CaState::Open;
      if (ack >= recover_) after_rto_ = false;  // recover_ is one past the highest sent (RFC 6582 4.1)
      break;
    case CaState::Open:
      if (ack >= recover_) after_rto_ = false;  // recover_ is one past the highest sent (RFC 6582 4.1)
      break;
  }
  grow_cwnd(acked, prior_flight);
}

void TcpSocket::on_dupack() {
  ++dupacks_;
  switch (ca_state_) {
    case CaState::Open:
      if (rack_active()) break;  // RACK decides (its window is zero once dupthresh segments are SACKed)
      if ((dupacks_ >= cfg_.dupthresh || (sack_ok_ && is_lost(snd_una_))) && fast_retransmit_allowed()) {
        enter_recovery();
      }
      break;
    case CaState::Recovery:
      if (!sack_ok_) cwnd_ = std::min(cwnd_ + snd_mss_, kMaxCwnd);  // RFC 5681 3.2 step 4: inflate
      break;
    case CaState::Loss: break;
  }
}

void TcpSocket::restart_after_idle() {
  if (!cfg_.slow_start_after_idle || !data_sent_ || snd_una_ != snd_nxt_ || ca_state_ != CaState::Open) return;
  if (!(data_end() > snd_nxt_)) return;  // nothing to send
  const Duration idle = stack_->sim().now() - last_data_sent_;
  if (idle <= rto_ || rto_ <= Duration::zero()) return;
  // Linux tcp_cwnd_restart: ssthresh keeps 3/4 of cwnd; cwnd halves for
  // every RTO of idleness, never below min(cwnd, initial window).
  ssthresh_ = std::max(ssthresh_, (cwnd_ >> 1) + (cwnd_ >> 2));
  const uint32_t restart_cwnd = static_cast<uint32_t>(
      std::min<uint64_t>({uint64_t{cfg_.initial_cwnd_segments} * snd_mss_, cwnd_, kMaxCwnd}));
  uint32_t cwnd = cwnd_;
  for (Duration d = idle - rto_; d > Duration::zero() && cwnd > restart_cwnd; d = d - rto_) cwnd >>= 1;
  cwnd_ = std::max(cwnd, restart_cwnd);
  cc_->on_event(CongestionEvent::IdleRestart);
  last_data_sent_ = stack_->sim().now();  // once per idle period
}

void TcpSocket::enter_recovery() {
  ++stats_.fast_retransmits;
  recovery_cwnd_ = cwnd_;
  ssthresh_ = cc_->ssthresh_after_loss(cwnd_, congestion_view(flight_size()));  // RFC 5681 (4) for NewReno
  recover_ = snd_nxt_;
  ca_state_ = CaState::Recovery;
  high_rxt_ = snd_una_;
  cc_->on_event(CongestionEvent::EnterRecovery);
  retransmit(snd_una_, snd_mss_);  // RFC 5681 3.2 step 2 / RFC 6675 5 step 4.3
  cwnd_ = sack_ok_ ? ssthresh_ : ssthresh_ + 3 * snd_mss_;
}

void TcpSocket::post_to_app(uint8_t event_bits) {
  if (!cfg_.app_latency.on()) {
    post(event_bits);
    return;
  }
  delayed_events_ |= event_bits;
  if (!app_timer_.pending()) app_timer_.schedule_in(stack_->draw_app_latency(cfg_.app_latency));
}

void TcpSocket::tell_app_now() {
  app_timer_.cancel();
  post(delayed_events_);
  delayed_events_ = 0;
}

void TcpSocket::on_app_timer() {
  post(delayed_events_);
  delayed_events_ = 0;
  flush_events();
}

CongestionView TcpSocket::congestion_view(uint32_t flight) const {
  CongestionView v;
  v.mss = snd_mss_;
  v.flight = flight;
  v.now = stack_->sim().now();
  v.srtt = srtt_;
  v.ack = snd_una_;
  v.snd_nxt = snd_nxt_;
  return v;
}

bool TcpSocket::is_lost(SeqNumber s) const {
  // RFC 6675 IsLost: more than (DupThresh - 1) * SMSS bytes SACKed above s.
  return sacked_.bytes_from(s + 1) > static_cast<uint64_t>(cfg_.dupthresh - 1) * snd_mss_;
}

uint32_t TcpSocket::pipe() const {
  if (rack_active()) return rack_pipe();
  if (ca_state_ == CaState::Open) {
    // With SACK, SACKed bytes have left the network. Without it, each
    // duplicate ACK stands for one segment that left (Linux's Reno SACK
    // emulation), which gives RFC 3042 limited transmit on the first dupacks.
    const int64_t left = sack_ok_ ? static_cast<int64_t>(sacked_.bytes())
                                  : static_cast<int64_t>(std::min<uint32_t>(dupacks_, 2)) * snd_mss_;
    return clamp_u32(static_cast<int64_t>(flight_size()) - left);
  }
  if (ca_state_ == CaState::Recovery && !sack_ok_) return flight_size();
  // RFC 6675 SetPipe over the holes between SACKed ranges: a byte below
  // HighRxt was retransmitted and counts; above it, a lost byte does not.
  uint64_t p = 0;
  auto hole = [&](SeqNumber a, SeqNumber b) {
    if (!(a < b)) return;
    const SeqNumber mid = wire::seq_min(wire::seq_max(a, high_rxt_), b);
    p += static_cast<uint32_t>(mid - a);
    if (!(mid < b)) return;
    if (ca_state_ == CaState::Loss) {
      const SeqNumber lost_end = wire::seq_min(wire::seq_max(mid, recover_), b);
      p += static_cast<uint32_t>(b - lost_end);
    } else if (!is_lost(mid)) {
      p += static_cast<uint32_t>(b - mid);
    }
  };
  SeqNumber s = snd_una_;
  for (const auto& r : sacked_) {
    hole(s, r.start);
    s = r.end;
  }
  hole(s, snd_nxt_);
  return clamp_u32(static_cast<int64_t>(p));
}

// ============================================================ output

void TcpSocket::output() {
  switch (state_) {
    case TcpState::Established:
    case TcpState::CloseWait:
    case TcpState::FinWait1:
    case TcpState::Closing:
    case TcpState::LastAck: break;
    case TcpState::Closed:
    case TcpState::Listen:
    case TcpState::SynSent: return;
    default:
      if (ack_now_) send_ack();
      return;
  }
  restart_after_idle();
  const bool rack = rack_active();
  const SeqNumber nxt_before = snd_nxt_;
  local_drop_ = false;
  for (int guard = 0; guard < 100000; ++guard) {
    // The host's queue dropped what we just sent, or holds enough of ours:
    // wait for an ACK or for our frames to leave (TCP small queues).
    if (local_drop_ || (!tsq_exempt_ && tsq_throttle())) break;
    if (rack) {
      // Lost segments first, in order, then new data (Linux
      // tcp_xmit_retransmit_queue, tcp_write_xmit), while the pipe is below cwnd.
      const uint32_t p = rack_pipe();
      if (p >= cwnd_) break;
      if (SentSegment* lost = next_lost()) {
        const SeqNumber at = lost->start;
        const uint32_t len = std::min(lost->len(), current_mss());
        if (static_cast<uint64_t>(p) + len > cwnd_ && p > 0) break;
        if (retransmit(at, len)) continue;
        break;
      }
      if (send_new_data(cwnd_ - p)) continue;
      break;
    }
    if ((ca_state_ == CaState::Recovery && sack_ok_) || ca_state_ == CaState::Loss) {
      const uint32_t p = pipe();
      if (static_cast<uint64_t>(p) + snd_mss_ > cwnd_) break;
      // NextSeg (RFC 6675 4): the first un-SACKed byte at or above HighRxt.
      SeqNumber s = wire::seq_max(high_rxt_, snd_una_);
      while (const SeqRangeSet::Range* r = sacked_.find(s)) s = r->end;
      const SeqRangeSet::Range* next = sacked_.next_after(s);
      const SeqNumber highest_sacked = sacked_.empty() ? snd_una_ : sacked_[sacked_.size() - 1].end;
      const bool lost = ca_state_ == CaState::Loss ? s < recover_ : (s < highest_sacked && is_lost(s));
      if (lost && s < snd_nxt_) {
        SeqNumber limit = next != nullptr ? next->start : snd_nxt_;
        if (ca_state_ == CaState::Loss) limit = wire::seq_min(limit, recover_);
        if (retransmit(s, std::min<uint32_t>(snd_mss_, static_cast<uint32_t>(limit - s)))) continue;
        break;
      }
      if (send_new_data(cwnd_ - p)) continue;
      if (ca_state_ == CaState::Recovery && s < highest_sacked) {  // rule 3
        const SeqNumber limit = next != nullptr ? next->start : snd_nxt_;
        if (retransmit(s, std::min<uint32_t>(snd_mss_, static_cast<uint32_t>(limit - s)))) continue;
        break;
      }
      break;
    }
    const uint32_t in_flight = pipe();
    if (in_flight >= cwnd_) break;
    if (!send_new_data(cwnd_ - in_flight)) break;
  }
  tsq_exempt_ = false;
  // New data went out: the probe timer restarts from it (Linux
  // tcp_write_xmit -> tcp_schedule_loss_probe); a reordering timer stays.
  if (rack && snd_nxt_ > nxt_before && probe_allowed() && !std::holds_alternative<timer::Reorder>(timer_)) {
    arm_probe_or_rto(false);
  }
  if (ack_now_) send_ack();
  arm_persist_if_needed();
}

bool TcpSocket::send_new_data(uint32_t budget) {
  const SeqNumber seq = snd_nxt_;
  const SeqNumber end = data_end();
  const uint32_t unsent = end > seq ? static_cast<uint32_t>(end - seq) : 0;
  const bool fin_now = fin_pending();
  if (unsent == 0 && !fin_now) return false;
  const SeqNumber wnd_end = snd_una_ + snd_wnd_;
  const uint32_t wnd_avail = wnd_end > seq ? static_cast<uint32_t>(wnd_end - seq) : 0;
  const uint32_t mss = current_mss();
  uint32_t len = std::min({unsent, mss, wnd_avail, budget});
  if (unsent > 0 && len == 0) return false;
  if (len < mss && len < unsent) {
    // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a partial segment only when
    // the window, not cwnd, is the limit and it is at least half the largest window.
    if (len == budget && budget < wnd_avail) return false;
    if (len < max_snd_wnd_ / 2) return false;
  }
  uint8_t flags = flag::ACK;
  const bool last = len == unsent;
  if (last && len > 0 && len < mss && !(fin_now) && nagle_ && snd_nxt_ != snd_una_ &&
      snd_sml_ > snd_una_ && snd_sml_ <= snd_nxt_) {
    return false;  // Nagle (Minshall's variant, as Linux): one small segment in flight at a time
  }
  if (last && len > 0) flags |= flag::PSH;
  if (fin_now && last) flags |= flag::FIN;
  if (len == 0 && (flags & flag::FIN) == 0) return false;
  return transmit(seq, len, flags, false).has_value();
}

void TcpSocket::count_retransmit() {
  ++stats_.retransmits;
  ++(active_open_ ? stack_->stats_.retransmits_active : stack_->stats_.retransmits_passive);
}

bool TcpSocket::retransmit(SeqNumber seq, uint32_t max_len) {
  const SeqNumber end = data_end();
  max_len = std::min(max_len, current_mss());
  // The peer's window holds for retransmissions too (Linux
  // tcp_retransmit_skb): only the head segment may go beyond it (one MSS
  // into a zero window); anything else starting at or past its right edge
  // waits, and a segment is cut at the edge.
  const SeqNumber wnd_end = snd_una_ + snd_wnd_;
  uint32_t avail = wnd_end > seq ? static_cast<uint32_t>(wnd_end - seq) : 0;
  if (avail == 0) {
    if (seq != snd_una_) return false;
    avail = max_len;
  }
  max_len = std::min(max_len, avail);
  uint32_t len = end > seq ? std::min<uint32_t>(max_len, static_cast<uint32_t>(end - seq)) : 0;
  uint8_t flags = flag::ACK;
  if (fin_sent_ && seq + len == end) flags |= flag::FIN;  // the FIN rides on the last data again
  if (len == 0 && (flags & flag::FIN) == 0) return false;  // nothing at seq
  if (len > 0 && seq + len == end) flags |= flag::PSH;
  const std::optional<uint32_t> sent = transmit(seq, len, flags, true);
  if (!sent) return false;
  count_retransmit();
  const bool fin = (flags & flag::FIN) != 0 && *sent == len;
  const SeqNumber sent_end = seq + *sent + (fin ? 1 : 0);
  high_rxt_ = wire::seq_max(high_rxt_, sent_end);
  return true;
}

void TcpSocket::send_syn(bool with_ack) {
  transmit(iss_, 0, with_ack ? (flag::SYN | flag::ACK) : flag::SYN, snd_nxt_ != iss_);
}

void TcpSocket::send_ack() {
  if (!synchronized()) return;
  transmit(snd_nxt_, 0, flag::ACK, false);
}

void TcpSocket::send_probe() {
  // Zero-window probe as Linux sends it (tcp_xmit_probe_skb): an old sequence
  // number makes the receiver answer with an ACK carrying its window.
  ++stats_.zero_window_probes;
  transmit(snd_una_ - 1, 0, flag::ACK, false);
}

void TcpSocket::send_rst_for_state() {
  transmit(snd_nxt_, 0, flag::RST | flag::ACK, false);
}

uint32_t TcpSocket::rcv_wnd() const {
  // Receiver SWS avoidance (RFC 9293 3.8.6.2.2; Linux __tcp_select_window):
  // under half the buffer and under one MSS free, advertise zero.
  const uint64_t free = rcv_buf_.free();
  uint64_t win = free;
  if (free < rcv_buf_.capacity() / 2 && free < adv_mss_) win = 0;
  const uint64_t unit = uint64_t{1} << rcv_wscale_;
  if (win > rcv_ssthresh_) {
    // Linux clamps to rcv_ssthresh and rounds up to the scale unit (ALIGN),
    // so the window is not scaled away; here only while that still fits.
    win = (uint64_t{rcv_ssthresh_} + unit - 1) & ~(unit - 1);
    if (win > free) win = free & ~(unit - 1);
  } else {
    win &= ~(unit - 1);
  }
  win = std::min<uint64_t>(win, uint64_t{65535} << rcv_wscale_);
  // Never move the right edge back (RFC 9293 3.8.6.2.2 "shrinking the window").
  const uint32_t promised = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  return std::max(static_cast<uint32_t>(win), promised);
}

uint32_t TcpSocket::select_window() { return rcv_wnd(); }

uint32_t TcpSocket::ts_now() const {
  const int64_t ticks = stack_->sim().now().ns() / std::max<int64_t>(cfg_.ts_tick.ns(), 1);
  return static_cast<uint32_t>(ticks) + ts_offset_;
}

uint32_t TcpSocket::payload_cap(std::size_t header_len) const {
  // Linux tcp_current_mss: the MSS minus the options this segment carries
  // (never below tcp_min_snd_mss), and whatever the packet buffer still holds.
  const int64_t opts = static_cast<int64_t>(header_len) - 20;
  const int64_t by_mss = std::max<int64_t>(static_cast<int64_t>(mss_clamp_) - opts, kMinSndMss);
  const int64_t by_buffer = static_cast<int64_t>(net::Packet::capacity) - static_cast<int64_t>(kL4Offset + header_len);
  return static_cast<uint32_t>(std::clamp<int64_t>(std::min(by_mss, by_buffer), 0, 0xffff));
}

uint32_t TcpSocket::current_mss() const {
  // The options of a data segment sent now (see transmit()).
  std::size_t opts = ts_ok_ ? kTsOptionLen : 0;
  if (sack_ok_) {
    const uint32_t max_blocks = ts_ok_ ? 3 : 4;
    const uint32_t blocks = std::min<uint32_t>((dsack_ ? 1U : 0U) + sack_count_, max_blocks);
    if (blocks > 0) opts += 4 + 8 * std::size_t{blocks};
  }
  return payload_cap(20 + opts);
}

std::optional<uint32_t> TcpSocket::transmit(SeqNumber seq, uint32_t len, uint8_t flags, bool retransmission) {
  const bool syn = (flags & flag::SYN) != 0;
  wire::TcpRepr r;
  r.src_port = tuple_.local_port;
  r.dst_port = tuple_.remote_port;
  r.seq = seq;
  r.flags = flags;
  if ((flags & flag::ACK) != 0) r.ack = rcv_nxt_;
  uint32_t wnd = 0;
  if ((flags & flag::RST) == 0) {
    wnd = select_window();
    if (syn) {
      wnd = std::min<uint32_t>(wnd, 65535);  // unscaled in a SYN
      wnd -= wnd % adv_mss_;                  // Linux rounds to MSS (64240 for 1460)
      rcv_ssthresh_ = wnd;
      r.window = static_cast<uint16_t>(wnd);
    } else {
      r.window = static_cast<uint16_t>(wnd >> rcv_wscale_);
    }
  }
  const bool active_syn = syn && (flags & flag::ACK) == 0;
  if (syn) {
    r.mss = adv_mss_;
    if (active_syn ? cfg_.window_scaling : wscale_ok_) r.window_scale = rcv_wscale_;
    r.sack_permitted = active_syn ? cfg_.sack : sack_ok_;
  }
  const bool with_ts = active_syn ? cfg_.timestamps : ts_ok_;
  if (with_ts && (flags & flag::RST) == 0) r.timestamps = std::pair{ts_now(), active_syn ? 0U : ts_recent_};
  if (sack_ok_ && !syn && (flags & flag::ACK) != 0 && (sack_count_ > 0 || dsack_)) {
    const uint8_t max_blocks = ts_ok_ ? 3 : 4;
    if (dsack_) {
      r.sack_blocks[r.sack_count++] = {dsack_->start, dsack_->end};
      dsack_.reset();  // reported once
    }
    for (uint8_t i = 0; i < sack_count_ && r.sack_count < max_blocks; ++i) {
      r.sack_blocks[r.sack_count++] = {sack_blocks_[i].start, sack_blocks_[i].end};
    }
  }
  const std::size_t payload_at = kL4Offset + r.header_len();
  if (len > 0 && !syn) {
    // Never more than the MTU and the packet buffer allow with these options
    // (callers size segments with current_mss(); this is the release-mode guard).
    const uint32_t cap = payload_cap(r.header_len());
    if (len > cap) {
      len = cap;
      flags = static_cast<uint8_t>(flags & ~flag::FIN);
      r.flags = flags;
    }
  }
  if (payload_at + len > net::Packet::capacity) return std::nullopt;
  net::PacketPtr p = stack_->node().network().pool().allocate();
  if (len > 0) {
    const auto dst = p->buffer().subspan(payload_at, len);
    snd_buf_.copy_out(static_cast<uint32_t>(seq - buf_seq_), dst);
    r.payload = dst;
  }
  wire::Ipv4Repr ip{};
  ip.src = tuple_.local_addr;
  ip.dst = tuple_.remote_addr;
  ip.ident = ip_ident_++;
  auto frame_len = wire::emit_tcp_frame(p->buffer(), wire::EthernetRepr{{}, {}, wire::ethertype::ipv4}, ip, r);
  if (!frame_len) return std::nullopt;  // programmer error (options too long); nothing sent
  p->set_size(static_cast<uint32_t>(*frame_len));

  ++stats_.segs_out;
  if (len > 0) ++stats_.data_segs_out;
  if (len > 0 && !retransmission) {
    // Sending data soon after receiving marks the connection interactive
    // (Linux tcp_event_data_sent -> pingpong).
    const Time now = stack_->sim().now();
    if (rcvd_since_sent_ && now - last_data_rcvd_ < cfg_.delayed_ack) pingpong_ = true;
    rcvd_since_sent_ = false;
    last_data_sent_ = now;
    data_sent_ = true;
  }
  if ((flags & flag::ACK) != 0 && (flags & flag::RST) == 0) {
    if (rcv_nxt_ != rcv_wup_ && quick_acks_ > 0 && !syn) --quick_acks_;
    rcv_wup_ = rcv_nxt_;
    rcv_adv_ = wire::seq_max(rcv_adv_, rcv_nxt_ + wnd);
    ack_now_ = false;
    delack_timer_.cancel();
    if (compressed_acks_ > 0) {
      stats_.acks_compressed += compressed_acks_;  // Linux tcp_event_ack_sent
      compressed_acks_ = 0;
    }
    comp_sack_timer_.cancel();
  }
  const SeqNumber end = seq + len + (syn ? 1 : 0) + ((flags & flag::FIN) != 0 ? 1 : 0);
  if ((flags & flag::FIN) != 0) fin_sent_ = true;
  const SeqNumber old_nxt = snd_nxt_;
  if (end > snd_nxt_) {
    snd_nxt_ = end;
    if (syn && !rtt_timing_ && !retransmission) {
      rtt_timing_ = true;
      rtt_seq_ = end;
      rtt_sent_ = stack_->sim().now();
    }
  }
  if (syn && retransmission) rtt_timing_ = false;  // Karn: never time a retransmitted SYN
  if (!syn && end > seq) {
    // The segments in flight (data and FIN): resent space, then new space.
    if (seq < old_nxt) record_retransmitted(seq, wire::seq_min(end, old_nxt));
    if (end > old_nxt) record_sent(wire::seq_max(seq, old_nxt), end);
    if (ca_state_ == CaState::Recovery) prr_out_ += static_cast<uint32_t>(end - seq);
  }
  if (len > 0 && len < snd_mss_ && len < payload_cap(r.header_len())) snd_sml_ = seq + len;
  const uint32_t frame_bytes = p->size();
  switch (stack_->send_frame(std::move(p))) {
    case TcpStack::Fate::Queued: tsq_bytes_ += frame_bytes + kSkbOverhead; break;
    case TcpStack::Fate::QueueFull: on_local_drop(seq, syn ? seq : end); break;
    case TcpStack::Fate::Untracked:
    case TcpStack::Fate::Dropped: break;
  }
  if (len > 0 || syn || (flags & flag::FIN) != 0) arm_retransmit(false);
  return len;
}

// ============================================================ receiver ACK policy

void TcpSocket::schedule_ack() {
  if (ack_now_) return;
  if (cfg_.delayed_ack <= Duration::zero() || (quick_acks_ > 0 && !pingpong_)) {
    ack_now_ = true;
    return;
  }
  // Linux: ACK at once once more than one full segment is unacknowledged
  // (every second full-sized segment); otherwise within the delayed-ACK time.
  if (static_cast<uint32_t>(rcv_nxt_ - rcv_wup_) > rcv_mss_) {
    ack_now_ = true;
    return;
  }
  if (!delack_timer_.pending()) delack_timer_.schedule_in(cfg_.delayed_ack);
}

void TcpSocket::on_delack_timer() {
  if (!synchronized() || state_ == TcpState::SynReceived) return;
  pingpong_ = false;  // the reply did not come in time: no longer interactive (Linux)
  send_ack();
}

// ============================================================ RTT and timers

bool TcpSocket::ts_rtt_sample(uint32_t tsecr) {
  // RFC 7323 RTTM, as Linux tcp_rtt_tsopt_us: the difference is signed (a
  // TSecr ahead of our clock is bogus); 0 counts as one tick; an echo older
  // than the connection (plus one tick of clock granularity) is bogus too.
  int64_t ticks = static_cast<int32_t>(ts_now() - tsecr);
  if (ticks < 0) return false;
  if (ticks == 0) ticks = 1;
  const Duration sample = cfg_.ts_tick * ticks;
  if (sample > stack_->sim().now() - opened_at_ + cfg_.ts_tick) return false;
  update_rtt(sample);
  return true;
}

void TcpSocket::update_rtt(Duration r) {
  if (r < Duration::zero()) return;
  ++stats_.rtt_samples;
  if (min_rtt_ <= Duration::zero() || r < min_rtt_) min_rtt_ = r;
  if (stats_.rtt_samples == 1) {
    srtt_ = r;  // RFC 6298 2.2
    rttvar_ = r / 2;
  } else {
    const Duration diff = srtt_ > r ? srtt_ - r : r - srtt_;  // RFC 6298 2.3
    rttvar_ = (rttvar_ * 3 + diff) / 4;
    srtt_ = (srtt_ * 7 + r) / 8;
  }
  // Linux tcp_set_rto: the variance term is floored at rto_min (tcp_rtt_estimator
  // keeps mdev_max >= tcp_rto_min), so RTO = SRTT + max(4 RTTVAR, rto_min),
  // capped at rto_max. (RFC 6298 2.3 would be SRTT + max(G, 4 RTTVAR) clamped
  // to [rto_min, rto_max], which is smaller for short RTTs.)
  rto_ = std::min(srtt_ + std::max(rttvar_ * 4, cfg_.rto_min), cfg_.rto_max);
}

Duration TcpSocket::current_rto(uint32_t backoff) const {
  Duration d = rto_;
  for (uint32_t i = 0; i < backoff && d < cfg_.rto_max; ++i) d = d * 2;
  return std::min(d, cfg_.rto_max);
}

void TcpSocket::arm_retransmit(bool restart) {
  if (!restart && xmit_timer_armed()) return;
  if (restart) rto_backoff_ = 0;  // called when snd_una advanced (RFC 6298 5.3)
  set_timer(timer::Retransmit{stack_->sim().now() + rto_, rto_backoff_});
}

void TcpSocket::arm_persist_if_needed() {
  const bool unsent = data_end() > snd_nxt_ || fin_pending();
  if (snd_nxt_ == snd_una_ && unsent) {
    if (std::holds_alternative<timer::Idle>(timer_)) {
      set_timer(timer::Persist{stack_->sim().now() + current_rto(0), 0});
    }
  } else if (std::holds_alternative<timer::Persist>(timer_) && !unsent) {
    set_timer(timer::Idle{});
  }
}

void TcpSocket::set_timer(TimerState t) {
  timer_ = t;
  Time at = Time::max();
  if (const auto* r = std::get_if<timer::Retransmit>(&timer_)) at = r->expires;
  if (const auto* p = std::get_if<timer::Persist>(&timer_)) at = p->expires;
  if (const auto* w = std::get_if<timer::TimeWait>(&timer_)) at = w->expires;
  if (const auto* f = std::get_if<timer::FinWait2>(&timer_)) at = f->expires;
  if (const auto* o = std::get_if<timer::Reorder>(&timer_)) at = o->expires;
  if (const auto* l = std::get_if<timer::LossProbe>(&timer_)) at = l->expires;
  if (at == Time::max()) {
    conn_timer_.cancel();
  } else {
    conn_timer_.schedule_at(std::max(at, stack_->sim().now()));
  }
}

void TcpSocket::on_timer() {
  const TimerState t = timer_;
  timer_ = timer::Idle{};
  if (const auto* r = std::get_if<timer::Retransmit>(&t)) {
    on_retransmit_timeout(*r);
  } else if (const auto* p = std::get_if<timer::Persist>(&t)) {
    on_persist_timeout(*p);
  } else if (std::holds_alternative<timer::TimeWait>(t)) {
    to_closed(CloseReason::Normal, true);
  } else if (std::holds_alternative<timer::FinWait2>(t)) {
    to_closed(CloseReason::Timeout, true);
  } else if (std::holds_alternative<timer::Reorder>(t)) {
    on_reorder_timeout();
  } else if (std::holds_alternative<timer::LossProbe>(t)) {
    on_loss_probe();
  }
  output();
  flush_events();
}

void TcpSocket::on_retransmit_timeout(timer::Retransmit rt) {
  ++stats_.timeouts;
  ++(active_open_ ? stack_->stats_.timeouts_active : stack_->stats_.timeouts_passive);
  const uint32_t limit = state_ == TcpState::SynSent       ? cfg_.syn_retries
                         : state_ == TcpState::SynReceived ? cfg_.synack_retries
                                                           : cfg_.retries;
  if (rt.backoff >= limit) {
    if (state_ == TcpState::SynReceived && listener_ != nullptr) {
      to_closed(CloseReason::Timeout, false);  // half-open child just goes
    } else {
      to_closed(CloseReason::Timeout, true);
    }
    return;
  }
  rto_ = std::min(rto_ * 2, cfg_.rto_max);  // RFC 6298 5.5
  rto_backoff_ = rt.backoff + 1;
  const timer::Retransmit next{stack_->sim().now() + rto_, rto_backoff_};
  if (state_ == TcpState::SynSent || state_ == TcpState::SynReceived) {
    syn_retransmitted_ = true;
    count_retransmit();
    set_timer(next);
    send_syn(state_ == TcpState::SynReceived);
    return;
  }
  if (snd_una_ == snd_nxt_) return;  // nothing outstanding
  // RFC 2018 8: SACK information may be reneged; after an RTO it must not
  // keep data from being resent. As Linux (tcp_timeout_mark_lost): when the
  // first unacknowledged byte is marked SACKed the receiver evidently
  // dropped it, so the whole scoreboard is forgotten and everything from
  // snd_una is resent; otherwise the SACKed ranges are still skipped.
  tsq_exempt_ = true;  // the RTO's retransmission is not held back by small queues (Linux)
  const bool renege = sacked_.find(snd_una_) != nullptr;
  if (renege) sacked_.clear();
  mark_all_lost(renege);
  tlp_pending_ = false;
  // RFC 5681 (4) once per loss episode; cwnd = loss window (1 MSS).
  if (ca_state_ != CaState::Loss || rt.backoff == 0) {
    // In fast recovery cwnd is inflated (NewReno) or already cut (SACK):
    // the controller gets the window the episode began with.
    const uint32_t at_loss = ca_state_ == CaState::Recovery ? recovery_cwnd_ : cwnd_;
    ssthresh_ = cc_->ssthresh_after_loss(at_loss, congestion_view(flight_size()));
  }
  cwnd_ = snd_mss_;
  cc_->on_event(CongestionEvent::Loss);
  ca_state_ = CaState::Loss;
  after_rto_ = true;
  recover_ = snd_nxt_;
  high_rxt_ = snd_una_;
  dupacks_ = 0;
  rtt_timing_ = false;
  set_timer(next);
  // output() (run by on_timer) resends from snd_una, skipping SACKed data.
}

void TcpSocket::on_persist_timeout(timer::Persist p) {
  const SeqNumber wnd_end = snd_una_ + snd_wnd_;
  const uint32_t unsent = data_end() > snd_nxt_ ? static_cast<uint32_t>(data_end() - snd_nxt_) : 0;
  if (wnd_end > snd_nxt_ && unsent > 0) {
    // Some window: send what fits (Linux tcp_write_wakeup).
    const uint32_t len = std::min({unsent, current_mss(), static_cast<uint32_t>(wnd_end - snd_nxt_)});
    transmit(snd_nxt_, len, flag::ACK | (len == unsent ? flag::PSH : 0), false);
    return;
  }
  if (snd_nxt_ != snd_una_) return;
  send_probe();
  set_timer(timer::Persist{stack_->sim().now() + current_rto(p.backoff + 1), p.backoff + 1});
}

void TcpSocket::time_wait_restart() { set_timer(timer::TimeWait{stack_->sim().now() + cfg_.time_wait}); }

void TcpSocket::enter_time_wait() {
  set_state(TcpState::TimeWait);
  delack_timer_.cancel();
  comp_sack_timer_.cancel();
  release_buffers();
  time_wait_restart();
  tell_app_now();  // data and FIN still waiting for the host's latency come before on_closed
  if (!closed_posted_) {
    closed_posted_ = true;
    close_reason_ = CloseReason::Normal;
    post(kClosed);
  }
}

void TcpSocket::set_state(TcpState s) { state_ = s; }

void TcpSocket::release_buffers() {
  // Nothing more is sent or received: empty rings give their storage back
  // (bytes the application has not read yet stay readable).
  snd_buf_.release();
  rcv_buf_.release();
  sent_.release();
  sacked_out_ = sacked_segs_ = lost_out_ = retrans_out_ = 0;
}

void TcpSocket::to_closed(CloseReason r, bool notify) {
  if (state_ == TcpState::Closed) return;
  const TcpState prev = state_;
  set_state(TcpState::Closed);
  set_timer(timer::Idle{});
  delack_timer_.cancel();
  comp_sack_timer_.cancel();
  tell_app_now();  // what the application was still to be told of comes before the close
  release_buffers();
  if (prev == TcpState::SynReceived && listener_ != nullptr && listener_->half_open_ > 0) --listener_->half_open_;
  if (listener_ != nullptr) {
    closed_by_app_ = true;  // never accepted: nobody owns it
    listener_ = nullptr;
  }
  stack_->unregister(*this);
  if (notify && !closed_posted_) {
    closed_posted_ = true;
    close_reason_ = r;
    post(kClosed);
  }
  if (closed_by_app_) stack_->schedule_reap(*this);
}

void TcpSocket::flush_events() {
  if (in_callbacks_) return;
  in_callbacks_ = true;
  while (pending_events_ != 0) {
    uint8_t bits = pending_events_;
    pending_events_ = 0;
    if ((bits & kConnected) != 0 && listener_ != nullptr) {
      // Passive open: the listener's application accepts the child.
      TcpSocket* l = listener_;
      listener_ = nullptr;
      if (l->events_ != nullptr && !l->closed_by_app_) {
        l->events_->on_accept(*l, *this);
      } else {
        abort();
      }
      bits = static_cast<uint8_t>(bits & ~kConnected);
    }
    if (closed_by_app_) bits &= kClosed;
    TcpEvents* ev = events_;
    if (ev == nullptr) continue;
    // The application may close() (or abort()) inside any callback: after
    // that only on_closed is delivered, so re-check before each one.
    if ((bits & kConnected) != 0 && !closed_by_app_) ev->on_connected(*this);
    if ((bits & kReadable) != 0 && !closed_by_app_ && !rcv_buf_.empty()) ev->on_readable(*this);
    if ((bits & kPeerFin) != 0 && !closed_by_app_) ev->on_peer_fin(*this);
    if ((bits & kWritable) != 0 && !closed_by_app_) ev->on_writable(*this);
    if ((bits & kClosed) != 0) ev->on_closed(*this, close_reason_);
  }
  in_callbacks_ = false;
}

}  // namespace tcpmig::tcp
