// TcpSocket's segments in flight and what is built on them: RACK loss
// detection and tail loss probes (RFC 8985), PRR (RFC 6937), per-ACK RTT
// samples. Each step follows Linux 6.x (net/ipv4/tcp_recovery.c,
// tcp_input.c, tcp_output.c), whose choice is noted where the RFC leaves
// room; models/tcp/README.md lists them.
//
// The sender keeps one SentSegment per segment sent (sent_), in sequence
// order, and four tallies over them (sacked_out_, sacked_segs_, lost_out_,
// retrans_out_) so the pipe is O(1):
//   pipe = (snd_nxt - snd_una) - sacked_out - lost_out + retrans_out
// (Linux tcp_packets_in_flight, in bytes).
#include <algorithm>

#include "tcpmig/tcp/socket.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace tcpmig::tcp {

namespace {
// Linux TCP_TIMEOUT_MIN (2 jiffies at HZ=1000): added to the reordering
// timer and to a probe timeout with more than one segment out.
constexpr Duration kTimeoutMin = Duration::milliseconds(2);
// Linux TCP_RACK_RECOVERY_THRESH: recoveries a widened window persists.
constexpr uint32_t kReoWndPersist = 16;

// RFC 8985 RACK_sent_after: was (t1, seq1) sent after (t2, seq2)?
bool sent_after(sim::Time t1, SeqNumber seq1, sim::Time t2, SeqNumber seq2) {
  return t1 > t2 || (t1 == t2 && seq1 > seq2);
}
}  // namespace

void TcpSocket::note_reordering() {
  reord_seen_ = true;
  stats_.reordering_seen = 1;
}

void TcpSocket::record_sent(SeqNumber start, SeqNumber end) {
  if (!(start < end)) return;
  sent_.push_back(SentSegment{start, end, stack_->sim().now(), 0});
}

void TcpSocket::record_retransmitted(SeqNumber start, SeqNumber end) {
  const sim::Time now = stack_->sim().now();
  std::size_t i = sent_.lower_bound(start);
  for (; i < sent_.size() && sent_[i].start < end; ++i) {
    if (sent_[i].has(SentSegment::kSacked)) continue;
    if (sent_[i].start < start) {  // resent from inside it: cut off the part before
      sent_.split(i, start);
      continue;  // the next round takes the part from `start`
    }
    if (sent_[i].end > end) sent_.split(i, end);  // resent only its first part
    SentSegment& s = sent_[i];
    if (!s.has(SentSegment::kRetrans)) retrans_out_ += s.len();
    s.flags |= SentSegment::kRetrans | SentSegment::kEverRetrans;
    s.xmit = now;
  }
  if (start <= rtx_hint_) rtx_hint_ = wire::seq_max(rtx_hint_, end);
  // Resending the oldest segment restarts the RTO from now, unless a
  // reordering timer is pending (Linux tcp_xmit_retransmit_queue).
  if (rack_active() && !sent_.empty() && start <= sent_.front().start && snd_una_ != snd_nxt_ &&
      !std::holds_alternative<timer::Reorder>(timer_)) {
    set_timer(timer::Retransmit{now + rto_, rto_backoff_});
  }
}

uint32_t TcpSocket::sack_segments(SeqNumber gap_l, SeqNumber gap_r, SeqNumber blk_l, SeqNumber blk_r,
                                  AckSamples& smp) {
  uint32_t newly = 0;
  for (std::size_t i = sent_.lower_bound(gap_l); i < sent_.size() && sent_[i].start < gap_r; ++i) {
    SentSegment& s = sent_[i];
    // A segment counts as SACKed only when the block covers all of it (Linux
    // splits an skb a block cuts; a receiver's blocks follow our segments).
    if (s.has(SentSegment::kSacked) || s.start < blk_l || s.end > blk_r) continue;
    if (s.has(SentSegment::kLost)) lost_out_ -= s.len();
    if (s.has(SentSegment::kRetrans)) retrans_out_ -= s.len();
    s.flags = static_cast<uint8_t>((s.flags | SentSegment::kSacked) & ~(SentSegment::kLost | SentSegment::kRetrans));
    sacked_out_ += s.len();
    ++sacked_segs_;
    newly += s.len();
    smp.delivered += s.len();
    if (!s.has(SentSegment::kEverRetrans)) {
      // SACKed below the highest SACK seen, never resent: reordering
      // (Linux tcp_sacktag_one -> tcp_check_sack_reordering).
      if (s.start < smp.prior_fack) note_reordering();
      if (!smp.sack_set || s.xmit < smp.sack_xmit) smp.sack_xmit = s.xmit;
      smp.sack_set = true;
      if (!smp.last_set || s.xmit > smp.last_xmit) smp.last_xmit = s.xmit;
      smp.last_set = true;
    }
    rack_advance(s);
    rack_fack_ = wire::seq_max(rack_fack_, s.end);
  }
  return newly;
}

void TcpSocket::ack_segments(SeqNumber ack, AckSamples& smp) {
  while (!sent_.empty() && sent_.front().start < ack) {
    SentSegment& s = sent_.front();
    const uint32_t cut = s.end > ack ? static_cast<uint32_t>(ack - s.start) : s.len();
    if (s.has(SentSegment::kSacked)) {
      sacked_out_ -= cut;
    } else {
      if (s.has(SentSegment::kLost)) lost_out_ -= cut;
      if (s.has(SentSegment::kRetrans)) retrans_out_ -= cut;
      smp.delivered += cut;
    }
    if (s.has(SentSegment::kEverRetrans)) smp.retrans_acked = true;
    if (s.end > ack) {  // acknowledged in part (a segment cut differently on the wire)
      s.start = ack;
      break;
    }
    if (!s.has(SentSegment::kSacked)) {
      if (!s.has(SentSegment::kEverRetrans)) {
        if (!smp.first_set) smp.first_xmit = s.xmit;
        smp.first_set = true;
        if (!smp.last_set || s.xmit > smp.last_xmit) smp.last_xmit = s.xmit;
        smp.last_set = true;
        // Delivered in order below a SACKed segment without being resent:
        // it was reordered, not lost (Linux tcp_clean_rtx_queue).
        if (s.start < smp.prior_fack) note_reordering();
      }
      rack_advance(s);
    } else {
      --sacked_segs_;
    }
    sent_.pop_front();
  }
  rtx_hint_ = wire::seq_max(rtx_hint_, ack);
  // Kept within 2^31 of snd_una, so wrap-aware compares stay right on long
  // connections (Linux tcp_highest_sack_seq is snd_una with nothing SACKed).
  rack_fack_ = wire::seq_max(rack_fack_, ack);
  if (dsack_round_set_ && ack >= dsack_round_) dsack_round_set_ = false;
}

void TcpSocket::rack_advance(const SentSegment& s) {
  const Duration rtt = stack_->sim().now() - s.xmit;
  // A retransmitted segment delivered sooner than any RTT seen was the
  // original's delivery, not the retransmission's (RFC 8985 6.2 step 2;
  // Linux tcp_rack_advance, where "no RTT yet" counts as infinite).
  if (s.has(SentSegment::kEverRetrans) && (min_rtt_ <= Duration::zero() || rtt < min_rtt_)) return;
  rack_advanced_ = true;
  rack_rtt_ = rtt;
  if (!rack_set_ || sent_after(s.xmit, s.end, rack_xmit_, rack_end_)) {
    rack_set_ = true;
    rack_xmit_ = s.xmit;
    rack_end_ = s.end;
  }
}

Duration TcpSocket::rack_reo_wnd() const {
  // Linux tcp_rack_reo_wnd: without reordering seen, no window in recovery
  // or once dupthresh segments are SACKed (the RFC 6675 rule); otherwise
  // min_rtt/4 per step, at most SRTT.
  if (!reord_seen_) {
    if (ca_state_ != CaState::Open) return Duration::zero();
    if (sacked_segs_ >= cfg_.dupthresh) return Duration::zero();
  }
  if (min_rtt_ <= Duration::zero()) return srtt_;
  return std::min(min_rtt_ / 4 * static_cast<int64_t>(reo_wnd_steps_), srtt_);
}

void TcpSocket::mark_lost(SentSegment& s) {
  if (!s.has(SentSegment::kLost)) lost_out_ += s.len();
  if (s.has(SentSegment::kRetrans)) retrans_out_ -= s.len();  // the retransmission is lost too
  s.flags = static_cast<uint8_t>((s.flags | SentSegment::kLost) & ~SentSegment::kRetrans);
  ++stats_.rack_lost;
  rtx_hint_ = wire::seq_min(rtx_hint_, s.start);
}

uint32_t TcpSocket::rack_detect_loss(Duration& timeout) {
  rack_advanced_ = false;
  timeout = Duration::zero();
  if (!rack_set_) return 0;
  const sim::Time now = stack_->sim().now();
  const Duration reo = rack_reo_wnd();
  uint32_t newly = 0;
  for (std::size_t i = 0; i < sent_.size(); ++i) {
    SentSegment& s = sent_[i];
    if (s.has(SentSegment::kSacked)) continue;
    if (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans)) continue;  // waiting to be resent
    if (!sent_after(rack_xmit_, rack_end_, s.xmit, s.end)) {
      // Sent after the newest delivered segment: not lost yet. Segments
      // never resent go out in sequence order, so nothing later is either
      // (Linux walks a list in send-time order and stops here).
      if (!s.has(SentSegment::kEverRetrans)) break;
      continue;
    }
    const Duration remaining = (s.xmit + rack_rtt_ + reo) - now;
    if (remaining <= Duration::zero()) {
      newly += s.len();  // lost retransmissions count too (Linux tp->lost)
      mark_lost(s);
    } else {
      timeout = std::max(timeout, remaining);
    }
  }
  return newly;
}

uint32_t TcpSocket::rack_pipe() const {
  const int64_t p = static_cast<int64_t>(flight_size()) - sacked_out_ - lost_out_ + retrans_out_;
  return p < 0 ? 0 : static_cast<uint32_t>(p);
}

SentSegment* TcpSocket::next_lost() {
  if (lost_out_ == 0) return nullptr;
  for (std::size_t i = sent_.lower_bound(rtx_hint_); i < sent_.size(); ++i) {
    SentSegment& s = sent_[i];
    if (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans)) return &s;
    rtx_hint_ = s.end;
  }
  return nullptr;
}

void TcpSocket::mark_all_lost(bool forget_sacks) {
  // Linux tcp_timeout_mark_lost: every segment not SACKed is lost; its
  // retransmission, if any, too.
  // With RACK, segments other than the head sent within the last RACK RTT
  // are not marked yet ("don't mark recently sent ones lost").
  const sim::Time now = stack_->sim().now();
  sacked_out_ = 0;
  sacked_segs_ = 0;
  lost_out_ = 0;
  retrans_out_ = 0;
  for (std::size_t i = 0; i < sent_.size(); ++i) {
    SentSegment& s = sent_[i];
    if (forget_sacks) s.flags = static_cast<uint8_t>(s.flags & ~SentSegment::kSacked);
    if (s.has(SentSegment::kSacked)) {
      sacked_out_ += s.len();
      ++sacked_segs_;
      continue;
    }
    if (!forget_sacks && i > 0 && rack_active() && rack_set_ && s.xmit + rack_rtt_ > now) {
      if (s.has(SentSegment::kLost)) lost_out_ += s.len();
      if (s.has(SentSegment::kRetrans)) retrans_out_ += s.len();
      continue;
    }
    s.flags = static_cast<uint8_t>((s.flags | SentSegment::kLost) & ~SentSegment::kRetrans);
    lost_out_ += s.len();
  }
  rtx_hint_ = snd_una_;
}

bool TcpSocket::on_dsack(SeqNumber end) {
  ++stats_.dsacks_in;
  // The D-SACK of a tail loss probe says only that the probe was not needed.
  if (tlp_pending_ && tlp_retrans_ && end == tlp_high_seq_) return true;
  // A spurious retransmission: with reordering seen, the window was too
  // small: widen it by one step per round trip with D-SACKs, for the next
  // 16 recoveries (RFC 8985 6.2 step 4; Linux tcp_rack_update_reo_wnd,
  // which also ignores D-SACKs outnumbering the retransmissions).
  if (!reord_seen_ || stats_.dsacks_in > stats_.retransmits) return false;
  if (!dsack_round_set_) {
    reo_wnd_steps_ = std::min<uint32_t>(reo_wnd_steps_ + 1, 255);
    reo_wnd_persist_ = kReoWndPersist;
    dsack_round_ = snd_nxt_;
    dsack_round_set_ = true;
  }
  return false;
}

void TcpSocket::rack_enter_recovery() {
  // Linux tcp_enter_recovery + tcp_init_cwnd_reduction.
  ++stats_.fast_retransmits;
  recovery_cwnd_ = cwnd_;
  ssthresh_ = cc_->ssthresh_after_loss(cwnd_, congestion_view(flight_size()));
  recover_ = snd_nxt_;
  high_rxt_ = snd_una_;
  ca_state_ = CaState::Recovery;
  prr_delivered_ = 0;
  prr_out_ = 0;
  tlp_pending_ = false;
  if (reo_wnd_persist_ > 0 && --reo_wnd_persist_ == 0) reo_wnd_steps_ = 1;
  cc_->on_event(CongestionEvent::EnterRecovery);
}

void TcpSocket::prr_on_ack(uint32_t delivered, bool una_advanced, uint32_t newly_lost) {
  // RFC 6937 with Linux's tcp_cwnd_reduction choices, in bytes: while the
  // pipe is above ssthresh, send ssthresh/prior_cwnd of what is delivered;
  // below it, catch up (slow-start reduction bound) but never above ssthresh.
  if (delivered == 0 || recovery_cwnd_ == 0) return;
  prr_delivered_ += delivered;
  const int64_t pipe = rack_pipe();
  const int64_t delta = static_cast<int64_t>(ssthresh_) - pipe;
  int64_t sndcnt = 0;
  if (delta < 0) {
    const uint64_t dividend = uint64_t{ssthresh_} * prr_delivered_ + recovery_cwnd_ - 1;
    sndcnt = static_cast<int64_t>(dividend / recovery_cwnd_) - static_cast<int64_t>(prr_out_);
  } else {
    sndcnt = std::max<int64_t>(static_cast<int64_t>(prr_delivered_) - static_cast<int64_t>(prr_out_), delivered);
    if (una_advanced && newly_lost == 0) sndcnt += snd_mss_;
    sndcnt = std::min(delta, sndcnt);
  }
  // At least the first retransmission goes out on entering recovery.
  sndcnt = std::max<int64_t>(sndcnt, prr_out_ > 0 ? 0 : snd_mss_);
  cwnd_ = static_cast<uint32_t>(std::clamp<int64_t>(pipe + sndcnt, snd_mss_, 0x3fff'ffff));
}

void TcpSocket::grow_cwnd(uint32_t acked, uint32_t prior_flight) {
  if (acked == 0) return;
  // Grow only when cwnd was the limit (Linux tcp_is_cwnd_limited: in slow
  // start, while cwnd < 2 * flight; in congestion avoidance, a full window).
  const uint64_t flight = prior_flight;
  if (cwnd_ < ssthresh_ ? cwnd_ >= 2 * flight : flight + snd_mss_ < cwnd_) return;
  cc_->on_ack(cwnd_, ssthresh_, acked, congestion_view(prior_flight));
  cwnd_ = std::min<uint32_t>(cwnd_, 0x3fff'ffff);
}

void TcpSocket::rack_on_ack(SeqNumber ack, bool una_advanced, uint32_t acked, uint32_t prior_flight,
                            const AckSamples& smp, bool dsack, bool pure_dupack) {
  const sim::Time now = stack_->sim().now();
  // 1. Leave recovery or loss once everything sent before it is acked.
  if (una_advanced) {
    if (ca_state_ == CaState::Recovery && ack >= recover_) {
      cwnd_ = std::max(ssthresh_, snd_mss_);  // Linux tcp_end_cwnd_reduction
      ca_state_ = CaState::Open;
      cc_->on_event(CongestionEvent::RecoveryDone);
    } else if (ca_state_ == CaState::Loss && ack >= recover_) {
      ca_state_ = CaState::Open;
    }
    if (ack >= recover_) after_rto_ = false;
  }
  // 2. A tail loss probe answered (Linux tcp_process_tlp_ack).
  if (tlp_pending_ && ack >= tlp_high_seq_) {
    if (!tlp_retrans_ || dsack) {
      tlp_pending_ = false;  // new data probed, or the probe's D-SACK: both copies arrived, no loss
    } else if (ack > tlp_high_seq_) {
      // The probe repaired a loss: reduce cwnd once, as for a recovery.
      ssthresh_ = cc_->ssthresh_after_loss(cwnd_, congestion_view(flight_size()));
      cwnd_ = std::max(std::min(cwnd_, ssthresh_), snd_mss_);
      cc_->on_event(CongestionEvent::EnterRecovery);
      ++stats_.loss_probe_recoveries;
      tlp_pending_ = false;
    } else if (pure_dupack) {
      tlp_pending_ = false;
    }
  }
  // 3. RACK: segments sent before a delivered one are lost once the
  //    reordering window has passed.
  Duration reo_timeout{};
  const uint32_t newly_lost = rack_advanced_ ? rack_detect_loss(reo_timeout) : 0;
  if (ca_state_ == CaState::Open && lost_out_ > 0 && fast_retransmit_allowed()) rack_enter_recovery();
  // 4. cwnd: PRR in recovery, the algorithm's growth otherwise.
  if (ca_state_ == CaState::Recovery) {
    prr_on_ack(smp.delivered, una_advanced, newly_lost);
  } else if (una_advanced) {
    // By what this ACK delivered, cumulatively or by SACK (Linux
    // tcp_cong_avoid(acked_sacked), on in-order progress only).
    grow_cwnd(acked > 0 ? smp.delivered : 0, prior_flight);
  }
  // 5. Timers: the probe or RTO restarts on progress; a pending reordering
  //    window takes the timer (Linux ICSK_TIME_REO_TIMEOUT).
  if (una_advanced) arm_probe_or_rto(true);
  if (reo_timeout > Duration::zero()) set_timer(timer::Reorder{now + reo_timeout + kTimeoutMin});
}

bool TcpSocket::xmit_timer_armed() const {
  return std::holds_alternative<timer::Retransmit>(timer_) || std::holds_alternative<timer::Reorder>(timer_) ||
         std::holds_alternative<timer::LossProbe>(timer_);
}

bool TcpSocket::probe_allowed() const {
  // Linux tcp_schedule_loss_probe: SACK connections in the Open state with
  // something in flight; one probe per tail (until it is answered).
  if (!rack_active() || !cfg_.tail_loss_probe || ca_state_ != CaState::Open || tlp_pending_ || sent_.empty()) {
    return false;
  }
  switch (state_) {
    case TcpState::Established:
    case TcpState::CloseWait:
    case TcpState::FinWait1:
    case TcpState::Closing:
    case TcpState::LastAck: return true;
    default: return false;
  }
}

void TcpSocket::arm_probe_or_rto(bool advancing) {
  if (snd_una_ == snd_nxt_) {
    if (xmit_timer_armed()) set_timer(timer::Idle{});
    return;
  }
  if (!probe_allowed()) {
    arm_retransmit(true);
    return;
  }
  // RFC 8985 7.2 / Linux: PTO = 2 SRTT, plus the peer's delayed-ACK time
  // when one segment is out (it may wait for a second), else 2 ms; never
  // later than the RTO would fire: a whole RTO from now on an ACK that
  // advanced snd_una, else the RTO counted from the oldest segment's send
  // time (Linux tcp_schedule_loss_probe's advancing_rto).
  const sim::Time now = stack_->sim().now();
  Duration pto = cfg_.rto_initial;
  if (srtt_ > Duration::zero()) pto = srtt_ * 2 + (sent_.size() == 1 ? cfg_.rto_min : kTimeoutMin);
  const Duration rto_left = advancing ? rto_ : (sent_.front().xmit + rto_) - now;
  if (rto_left > Duration::zero()) pto = std::min(pto, rto_left);
  set_timer(timer::LossProbe{now + pto});
}

void TcpSocket::arm_rto_from_head() {
  // Linux tcp_rearm_rto with a probe or reordering timer pending: the RTO
  // runs from the oldest segment's send time, at least one tick from now.
  if (snd_una_ == snd_nxt_) return;
  const sim::Time now = stack_->sim().now();
  const sim::Time head = sent_.empty() ? now : sent_.front().xmit;
  set_timer(timer::Retransmit{std::max(head + rto_, now + cfg_.ts_tick), rto_backoff_});
}

void TcpSocket::on_loss_probe() {
  if (!probe_allowed()) {
    if (snd_una_ != snd_nxt_) set_timer(timer::Retransmit{stack_->sim().now() + rto_, rto_backoff_});
    return;
  }
  // RFC 8985 7.3: new data if the peer's window takes it (cwnd and Nagle do
  // not hold the probe back), else the last segment again.
  const SeqNumber before = snd_nxt_;
  const bool nagle = nagle_;
  nagle_ = false;
  send_new_data(current_mss());
  nagle_ = nagle;
  tlp_retrans_ = false;
  if (!(snd_nxt_ > before)) {
    const SentSegment& last = sent_.back();
    const uint32_t mss = current_mss();
    const SeqNumber at = last.len() > mss + 1 ? last.end - mss : last.start;
    if (!retransmit(at, static_cast<uint32_t>(last.end - at))) {
      set_timer(timer::Retransmit{stack_->sim().now() + rto_, rto_backoff_});
      return;
    }
    tlp_retrans_ = true;
  }
  ++stats_.loss_probes;
  tlp_pending_ = true;
  tlp_high_seq_ = snd_nxt_;
  // The RTO restarts from the probe (Linux clears icsk_pending first).
  set_timer(timer::Retransmit{stack_->sim().now() + rto_, rto_backoff_});
}

void TcpSocket::on_reorder_timeout() {
  ++stats_.reorder_timeouts;
  Duration timeout{};
  const uint32_t newly_lost = rack_detect_loss(timeout);
  if (newly_lost > 0 && ca_state_ == CaState::Open && fast_retransmit_allowed()) {
    // Linux tcp_rack_reo_timeout: recovery, with one segment's worth of PRR.
    rack_enter_recovery();
    prr_on_ack(snd_mss_, false, newly_lost);
  }
  if (timeout > Duration::zero()) {
    set_timer(timer::Reorder{stack_->sim().now() + timeout + kTimeoutMin});
  } else {
    arm_rto_from_head();
  }
}

}  // namespace tcpmig::tcp
