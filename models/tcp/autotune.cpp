// TcpSocket's buffer auto-tuning and receiver-side ACK economy, as Linux 6.x
// does them (net/ipv4/tcp_input.c, tcp_output.c):
// - the receiver's RTT estimate: tcp_rcv_rtt_measure (a window's worth of
//   data) and tcp_rcv_rtt_measure_ts (echoed timestamps);
// - receive-buffer growth: tcp_rcv_space_adjust ("dynamic right-sizing"):
//   once per receiver RTT, if the application read more than in the RTT
//   before, the window may grow to about twice that plus 16 segments, more
//   while the rate rises, up to tcp_rmem[2];
// - window growth per segment: tcp_grow_window / __tcp_grow_window;
// - send-buffer growth: tcp_sndbuf_expand (twice the congestion window);
// - SACK compression: __tcp_ack_snd_check with out-of-order data.
// Buffers hold data; Linux charges memory (truesize), about twice the data
// for full-sized segments, so a tcp_rmem/tcp_wmem value counts here for half
// its bytes of data (documented in models/tcp/README.md).
#include <algorithm>
#include <bit>

#include "tcpmig/tcp/socket.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace tcpmig::tcp {

namespace {
__extension__ using u128 = unsigned __int128;  // intermediate products only
constexpr uint32_t kDupAcksBeforeCompression = 3;  // Linux TCP_FASTRETRANS_THRESH
// Linux's costs in tcp_sndbuf_expand (x86-64): MAX_TCP_HEADER,
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), SKB_DATA_ALIGN(sizeof(struct sk_buff)).
constexpr uint64_t kMaxTcpHeader = 320;
constexpr uint64_t kSharedInfo = 320;
constexpr uint64_t kSkbStruct = 256;
}  // namespace

void TcpSocket::rcv_rtt_update(Duration sample, bool win_dep) {
  if (sample <= Duration::zero()) return;
  if (rcv_rtt_ <= Duration::zero()) {
    rcv_rtt_ = sample;
  } else if (!win_dep) {
    rcv_rtt_ = rcv_rtt_ + (sample - rcv_rtt_) / 8;  // EWMA, gain 1/8
  } else if (sample < rcv_rtt_) {
    rcv_rtt_ = sample;  // a window's worth of data: an upper bound, keep the least
  }
}

void TcpSocket::rcv_rtt_measure_ts(const Segment& seg) {
  const wire::TcpRepr& tcp = seg.tcp;
  if (!ts_ok_ || !tcp.timestamps || tcp.timestamps->second == 0) return;
  const uint32_t tsecr = tcp.timestamps->second;
  if (tsecr == rcv_rtt_last_tsecr_) return;
  rcv_rtt_last_tsecr_ = tsecr;
  if (tcp.payload.size() < rcv_mss_) return;
  int64_t ticks = static_cast<int32_t>(ts_now() - tsecr);
  if (ticks < 0) return;
  if (ticks == 0) ticks = 1;
  rcv_rtt_update(cfg_.ts_tick * ticks, false);
}

void TcpSocket::rcv_rtt_measure() {
  const Time now = stack_->sim().now();
  if (rcv_rtt_timing_) {
    if (rcv_nxt_ < rcv_rtt_seq_) return;
    const Duration d = now - rcv_rtt_time_;
    rcv_rtt_update(d > Duration::zero() ? d : Duration::nanoseconds(1), true);
  }
  // The next sample: the time until a window's worth more has arrived.
  rcv_rtt_timing_ = true;
  rcv_rtt_seq_ = rcv_nxt_ + (rcv_adv_ > rcv_wup_ ? static_cast<uint32_t>(rcv_adv_ - rcv_wup_) : 0);
  rcv_rtt_time_ = now;
}

void TcpSocket::rcv_space_init() {
  // Linux tcp_init_buffer_space: the first RTT's reference is at most IW10.
  rcvq_space_ = std::max<uint32_t>(std::min({rcv_ssthresh_, rcv_wnd(), 10 * uint32_t{adv_mss_}}), 1);
  rcvq_seq_ = copied_;
  rcvq_time_ = stack_->sim().now();
}

void TcpSocket::rcv_space_adjust() {
  const Time now = stack_->sim().now();
  if (rcv_rtt_ <= Duration::zero() || now - rcvq_time_ < rcv_rtt_) return;
  const uint64_t copied = copied_ - rcvq_seq_;
  if (copied > rcvq_space_) {
    if (cfg_.recv_buffer == 0 && cfg_.moderate_rcvbuf) {
      // Enough window for two RTTs of what was read plus 16 segments, and
      // more while the rate is still growing (slow start).
      uint64_t rcvwin = 2 * copied + 16 * uint64_t{adv_mss_};
      const uint64_t grow = rcvwin * (copied - rcvq_space_) / rcvq_space_;
      rcvwin += 2 * grow;
      const uint64_t win = std::min<uint64_t>(rcvwin, cfg_.rmem[2] / 2);
      if (win > rcv_buf_.capacity()) {
        rcv_buf_.raise_capacity(win);
        ++stats_.rcvbuf_grown;
      }
    }
    rcvq_space_ = static_cast<uint32_t>(std::min<uint64_t>(copied, 0xffff'ffff));
  }
  rcvq_seq_ = copied_;
  rcvq_time_ = now;
}

uint32_t TcpSocket::grow_window_step(std::size_t len) const {
  // Linux tcp_grow_window check #2: a segment whose memory, as window, fits
  // its data grows the window by two segments; a small one only while the
  // window is small compared with what the largest buffer allows.
  const uint64_t truesize = len + kSkbOverhead;
  if (truesize / 2 <= len) return 2 * uint32_t{adv_mss_};
  uint64_t t = truesize / 2 / 2;
  uint64_t window = uint64_t{cfg_.rmem[2]} / 2 / 2;
  while (rcv_ssthresh_ <= window) {
    if (t <= len) return 2 * rcv_mss_;
    t >>= 1;
    window >>= 1;
  }
  return 0;
}

void TcpSocket::sndbuf_expand() {
  if (cfg_.send_buffer != 0) return;  // SO_SNDBUF fixes it
  // Linux tcp_sndbuf_expand: memory for twice the larger of the congestion
  // window and IW10 (and dupthresh + 1) segments, each costed at its worst
  // case (a power-of-two head for MSS + headers, plus the skb), up to
  // tcp_wmem[2]. Queued data is charged data + kSkbOverhead per segment,
  // so that much memory holds about twice as much data as the window.
  const uint64_t mss = std::max<uint32_t>(snd_mss_, 1);
  const uint64_t per_mss = std::bit_ceil(mss + kMaxTcpHeader + kSharedInfo) + kSkbStruct;
  const uint64_t segs = std::max<uint64_t>({10, cwnd_ / mss, uint64_t{cfg_.dupthresh} + 1});
  const uint64_t mem = std::min<uint64_t>(2 * segs * per_mss, cfg_.wmem[2]);
  const uint64_t want = mem * mss / (mss + kSkbOverhead);
  if (want > snd_buf_.capacity()) {
    snd_buf_.raise_capacity(want);
    ++stats_.sndbuf_grown;
  }
}

void TcpSocket::ack_ofo() {
  // Linux __tcp_ack_snd_check with data queued out of order: at once when
  // over a segment is unacknowledged or in quick-ACK mode; otherwise three
  // duplicate ACKs per hole edge, then merged ones, sent when the timer
  // (tcp_comp_sack_delay_ns, at most 5% of the receiver's RTT) fires or
  // tcp_comp_sack_nr are waiting.
  const bool quick = cfg_.delayed_ack <= Duration::zero() || (quick_acks_ > 0 && !pingpong_);
  if (static_cast<uint32_t>(rcv_nxt_ - rcv_wup_) > rcv_mss_ || quick || !sack_ok_ || cfg_.comp_sack_nr == 0 ||
      compressed_acks_ >= cfg_.comp_sack_nr) {
    ack_now_ = true;
    return;
  }
  if (comp_rcv_nxt_ != rcv_nxt_) {
    comp_rcv_nxt_ = rcv_nxt_;
    dup_ack_counter_ = 0;
  }
  if (dup_ack_counter_ < kDupAcksBeforeCompression) {
    ++dup_ack_counter_;
    ack_now_ = true;
    return;
  }
  ++compressed_acks_;
  if (comp_sack_timer_.pending()) return;
  comp_sack_timer_.schedule_in(std::min(cfg_.comp_sack_delay, rcv_rtt_ / 20));
}

void TcpSocket::on_comp_sack_timer() {
  if (compressed_acks_ == 0 || !synchronized()) return;
  --compressed_acks_;  // this one is sent (Linux tcp_compressed_ack_kick)
  send_ack();
  flush_events();
}

uint64_t TcpSocket::tsq_limit() const {
  // Linux tcp_small_queue_check: ~1 ms at the pacing rate (sk_pacing_shift
  // 10), at least two segments' memory, at most tcp_limit_output_bytes. The
  // pacing rate is 200% of cwnd per SRTT in slow start (cwnd < ssthresh/2),
  // 120% after (tcp_update_pacing_rate); unlimited before an RTT sample.
  const uint64_t cap = cfg_.limit_output_bytes;
  if (srtt_ <= Duration::zero()) return cap;
  const uint64_t ratio = cwnd_ < ssthresh_ / 2 ? 200 : 120;
  const uint64_t bytes = std::max(cwnd_, flight_size());
  const u128 rate = static_cast<u128>(bytes) * ratio * 10'000'000 / static_cast<uint64_t>(srtt_.ns());
  const uint64_t per_ms = static_cast<uint64_t>(std::min<u128>(rate >> 10, cap));
  return std::min(std::max<uint64_t>(2 * (uint64_t{snd_mss_} + kSkbOverhead), per_ms), cap);
}

bool TcpSocket::tsq_throttle() {
  if (cfg_.limit_output_bytes == 0 || tsq_bytes_ <= tsq_limit()) return false;
  // Linux always sends when nothing, or one segment, is unacknowledged: no
  // TX completion may be needed to make progress.
  if (sent_.size() <= 1) return false;
  if (!tsq_throttled_) ++stats_.tsq_throttled;
  tsq_throttled_ = true;
  return true;
}

void TcpSocket::on_tx_complete(uint32_t frame_len) {
  const uint32_t charge = frame_len + kSkbOverhead;
  tsq_bytes_ = tsq_bytes_ > charge ? tsq_bytes_ - charge : 0;
  if (!tsq_throttled_) return;
  tsq_throttled_ = false;  // Linux tcp_tsq_handler: write what may go now
  output();
  flush_events();
}

void TcpSocket::on_local_drop(SeqNumber seq, SeqNumber end) {
  ++stats_.local_drops;
  local_drop_ = true;
  if (!(seq < end)) return;  // an ACK: nothing to resend
  // Linux: the frame never left (tcp_transmit_skb fails) and the host is
  // congested (tcp_enter_cwr): cwnd is reduced once per window. With RACK
  // the segment is marked lost, so recovery (PRR) resends it; otherwise the
  // window is cut at once and the segment recovered like any loss.
  if (rack_active()) {
    for (std::size_t i = sent_.lower_bound(seq); i < sent_.size() && sent_[i].start < end; ++i) {
      if (!sent_[i].has(SentSegment::kSacked)) mark_lost(sent_[i]);
    }
  }
  if (ca_state_ != CaState::Open || cwr_) return;
  if (rack_active() && lost_out_ > 0 && fast_retransmit_allowed()) {
    rack_enter_recovery();
    return;
  }
  ssthresh_ = cc_->ssthresh_after_loss(cwnd_, congestion_view(flight_size()));
  cwnd_ = std::max(std::min(cwnd_, ssthresh_), snd_mss_);
  cc_->on_event(CongestionEvent::EnterRecovery);
  cwr_ = true;
  cwr_high_ = snd_nxt_;
}

}  // namespace tcpmig::tcp
