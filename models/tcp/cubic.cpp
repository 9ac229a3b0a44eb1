// CUBIC congestion control (RFC 9438), in integer arithmetic so every
// compiler gives the same bits: C = 0.4 segments/s^3, beta = 0.7, fast
// convergence, the Reno-friendly region (alpha = 3(1 - beta)/(1 + beta) =
// 9/17), the target W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd]. Time is
// counted in milliseconds from the start of the congestion-avoidance epoch
// (the first ACK in avoidance after a loss), as Linux's bictcp counts in
// jiffies-like units. Slow start is standard (HyStart is not here yet: it
// needs an RTT sample per ACK, which the socket takes once per flight).
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

  void on_ack(uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, const CongestionView& v) override {
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
  }

 private:
  /// W_cubic(t) in bytes: origin + C (t - K)^3 segments, t in ms.
  [[nodiscard]] i128 w_cubic(int64_t t_ms, uint64_t mss) const {
    const int64_t d = std::clamp<int64_t>(t_ms - k_ms_, -2'000'000, 2'000'000);
    return static_cast<i128>(origin_) + static_cast<i128>(d) * d * d * 4 * static_cast<i128>(mss) / 10'000'000'000LL;
  }

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
