// NewReno congestion control (RFC 5681 growth, RFC 6582 recovery in the
// socket), as Linux's "reno": slow start grows cwnd by the bytes acked, up
// to ssthresh (tcp_slow_start); congestion avoidance adds one MSS per cwnd
// of bytes acked (tcp_cong_avoid_ai); after a loss ssthresh is half the
// flight, at least two segments (RFC 5681 (4)).
#include <algorithm>

#include "algorithms.hpp"

namespace tcpmig::tcp {

namespace {

class NewReno final : public CongestionControl {
 public:
  [[nodiscard]] std::string_view name() const override { return "newreno"; }
  void reset() override { ca_acked_ = 0; }
  void on_ack(uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, const CongestionView& v) override {
    if (cwnd < ssthresh) {
      cwnd = std::min(cwnd + acked, std::max(ssthresh, cwnd));  // slow start, bytes acked (Linux)
      return;
    }
    ca_acked_ += acked;  // congestion avoidance: +1 MSS per cwnd acked
    if (ca_acked_ >= cwnd) {
      ca_acked_ -= cwnd;
      cwnd += v.mss;
    }
  }
  [[nodiscard]] uint32_t ssthresh_after_loss(uint32_t /*cwnd*/, const CongestionView& v) override {
    return std::max(v.flight / 2, 2 * v.mss);  // RFC 5681 (4)
  }
  void on_event(CongestionEvent) override { ca_acked_ = 0; }

 private:
  uint32_t ca_acked_ = 0;  // bytes acked toward the next +1 MSS
};

}  // namespace

std::unique_ptr<CongestionControl> make_newreno() { return std::make_unique<NewReno>(); }

}  // namespace tcpmig::tcp
