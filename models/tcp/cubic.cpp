// CUBIC congestion control (RFC 9438), in integer arithmetic so every
// compiler gives the same bits: C = 0.4 segments/s^3, beta = 0.7, fast
// convergence, the Reno-friendly region (alpha = 3(1 - beta)/(1 + beta) =
// 9/17), the target W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd]. Time is
// counted in milliseconds from the start of the congestion-avoidance epoch
// (the first ACK in avoidance after a loss), as Linux's bictcp counts in
// jiffies-like units. Slow start ends early by HyStart as Linux's
// tcp_cubic.c (hystart=1, hystart_detect=3, hystart_low_window=16,
// hystart_ack_delta_us=2000): per round of ACKs, an ACK train spanning half
// the minimum delay, or the round's minimum RTT (of its first 8 samples)
// above the connection's minimum by min/8 clamped to [4 ms, 16 ms], sets
// ssthresh = cwnd.
#include <algorithm>

#include "algorithms.hpp"

namespace tcpmig::tcp {

namespace {

__extension__ using i128 = __int128;  // intermediate products only

/// The integer cube root of x (the largest r with r^3 <= x).
uint64_t icbrt(uint64_t x) {
  uint64_t lo = 0, hi = 2'097'152;  // 2^21: (2^21)^3 = 2^63 > any x used here
  while (lo < hi) {
    const uint64_t mid = (lo + hi + 1) / 2;
    if (static_cast<i128>(mid) * mid * mid <= static_cast<i128>(x)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

class Cubic final : public CongestionControl {
 public:
  [[nodiscard]] std::string_view name() const override { return "cubic"; }

  void reset() override { *this = Cubic(); }

  void on_ack_sample(uint32_t cwnd, uint32_t& ssthresh, const CongestionView& v) override {
    // Linux cubictcp_acked: delay samples right after a reduction are
    // discarded (for a second); delay_min tracks the smallest RTT.
    if (epoch_ && v.now - epoch_start_ < sim::Duration::seconds(1)) return;
    const sim::Duration delay = std::max(v.rtt, sim::Duration::nanoseconds(1));
    if (delay_min_ <= sim::Duration::zero() || delay < delay_min_) delay_min_ = delay;
    if (found_ || cwnd >= ssthresh || cwnd < kLowWindow * std::max<uint32_t>(v.mss, 1) || !round_set_) return;
    // ACK train (Linux hystart_update, HYSTART_ACK_TRAIN): ACKs closer than
    // 2 ms apart; the round has lasted half the minimum delay (plus the
    // ACK delay Linux allows, 1 ms at these rates): the pipe is full.
    if (v.now - last_ack_ <= kAckDelta) {
      last_ack_ = v.now;
      const sim::Duration threshold = (delay_min_ + kAckDelay) / 2;
      if (v.now - round_start_ > threshold) {
        found_ = true;
        ssthresh = cwnd;
        return;
      }
    }
    // Delay increase (HYSTART_DELAY).
    if (curr_rtt_ <= sim::Duration::zero() || delay < curr_rtt_) curr_rtt_ = delay;
    if (samples_ < kMinSamples) {
      ++samples_;
    } else if (curr_rtt_ > delay_min_ + std::clamp(delay_min_ / 8, kDelayMin, kDelayMax)) {
      found_ = true;
      ssthresh = cwnd;
    }
  }

  void on_ack(uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, const CongestionView& v) override {
    if (cwnd < ssthresh && (!round_set_ || v.ack > round_end_)) {
      // A new round of HyStart (Linux bictcp_hystart_reset).
      round_set_ = true;
      round_start_ = v.now;
      last_ack_ = v.now;
      round_end_ = v.snd_nxt;
      curr_rtt_ = sim::Duration::zero();
      samples_ = 0;
    }
    if (cwnd < ssthresh) {
      cwnd = std::min(cwnd + acked, std::max(ssthresh, cwnd));  // slow start (RFC 9438 4.10)
      return;
    }
    const uint64_t mss = std::max<uint32_t>(v.mss, 1);
    if (!epoch_) {
      // RFC 9438 4.2: K from the distance to W_max at the epoch's start.
      epoch_ = true;
      epoch_start_ = v.now;
      if (w_max_ <= cwnd) {
        k_ms_ = 0;
        origin_ = cwnd;
      } else {
        // K^3 = (W_max - cwnd) / C segments -> ms^3: bytes * 1e9 / (0.4 mss).
        k_ms_ = static_cast<int64_t>(icbrt(static_cast<uint64_t>(
            static_cast<i128>(w_max_ - cwnd) * 2'500'000'000LL / static_cast<i128>(mss))));
        origin_ = w_max_;
      }
      w_est_ = cwnd;
      est_acc_ = 0;
      grow_acc_ = 0;
    }
    const int64_t t_ms = (v.now - epoch_start_).ns() / 1'000'000;
    const int64_t rtt_ms = v.srtt.ns() / 1'000'000;
    // RFC 9438 4.3: the Reno-friendly estimate grows alpha segments per cwnd acked.
    est_acc_ += 9 * mss * acked;
    w_est_ += est_acc_ / (17 * uint64_t{cwnd});
    est_acc_ %= 17 * uint64_t{cwnd};
    if (w_cubic(t_ms, mss) < static_cast<i128>(w_est_)) {
      cwnd = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(cwnd, w_est_), 0x7fff'ffff));
      return;
    }
    // RFC 9438 4.4/4.5: towards W_cubic(t + RTT), at most 1.5 cwnd.
    const i128 target = std::clamp(w_cubic(t_ms + rtt_ms, mss), static_cast<i128>(cwnd),
                                   static_cast<i128>(cwnd) + cwnd / 2);
    grow_acc_ += static_cast<uint64_t>(target - cwnd) * acked;
    const uint64_t inc = grow_acc_ / cwnd;
    grow_acc_ %= cwnd;
    cwnd = static_cast<uint32_t>(std::min<uint64_t>(cwnd + inc, 0x7fff'ffff));
  }

  [[nodiscard]] uint32_t ssthresh_after_loss(uint32_t cwnd, const CongestionView& v) override {
    epoch_ = false;
    // RFC 9438 4.7 fast convergence: a flow whose window shrank releases room.
    w_max_ = cwnd < w_max_ ? static_cast<uint32_t>(uint64_t{cwnd} * 17 / 20) : cwnd;
    return std::max(static_cast<uint32_t>(uint64_t{cwnd} * 7 / 10), 2 * v.mss);  // beta = 0.7 (RFC 9438 4.6)
  }

  void on_event(CongestionEvent e) override {
    if (e != CongestionEvent::RecoveryDone) epoch_ = false;  // a new epoch after any cut
    if (e == CongestionEvent::Loss) {
      // Linux cubictcp_state(TCP_CA_Loss): bictcp_reset, HyStart again.
      found_ = false;
      delay_min_ = sim::Duration::zero();
      round_set_ = false;
    }
  }

 private:
  /// W_cubic(t) in bytes: origin + C (t - K)^3 segments, t in ms.
  [[nodiscard]] i128 w_cubic(int64_t t_ms, uint64_t mss) const {
    const int64_t d = std::clamp<int64_t>(t_ms - k_ms_, -2'000'000, 2'000'000);
    return static_cast<i128>(origin_) + static_cast<i128>(d) * d * d * 4 * static_cast<i128>(mss) / 10'000'000'000LL;
  }

  static constexpr uint32_t kLowWindow = 16;  // hystart_low_window, segments
  static constexpr uint32_t kMinSamples = 8;  // HYSTART_MIN_SAMPLES
  static constexpr sim::Duration kAckDelta = sim::Duration::milliseconds(2);  // hystart_ack_delta_us
  static constexpr sim::Duration kAckDelay = sim::Duration::milliseconds(1);  // hystart_ack_delay's cap
  static constexpr sim::Duration kDelayMin = sim::Duration::milliseconds(4);  // HYSTART_DELAY_MIN
  static constexpr sim::Duration kDelayMax = sim::Duration::milliseconds(16);  // HYSTART_DELAY_MAX

  // HyStart.
  bool found_ = false;            // slow start has been ended by HyStart
  sim::Duration delay_min_{};     // smallest RTT seen (zero: none)
  bool round_set_ = false;        // a round is running
  sim::Time round_start_;         // when it began
  sim::Time last_ack_;            // the last ACK of the current train
  wire::SeqNumber round_end_;     // snd_nxt when it began: an ACK past it starts the next
  sim::Duration curr_rtt_{};      // the round's smallest RTT (zero: none)
  uint32_t samples_ = 0;          // samples in the round so far
  // CUBIC.
  bool epoch_ = false;        // an avoidance epoch is running
  sim::Time epoch_start_;     // its first ACK
  int64_t k_ms_ = 0;          // K: when W_cubic reaches origin_ again
  uint32_t origin_ = 0;       // W_cubic's plateau (W_max, or cwnd above it)
  uint32_t w_max_ = 0;        // window before the last reduction
  uint64_t w_est_ = 0;        // Reno-friendly window, bytes
  uint64_t est_acc_ = 0;      // remainder of its growth
  uint64_t grow_acc_ = 0;     // remainder of cwnd's growth, bytes * cwnd
};

}  // namespace

std::unique_ptr<CongestionControl> make_cubic() { return std::make_unique<Cubic>(); }

}  // namespace tcpmig::tcp
