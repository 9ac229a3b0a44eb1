// A UDP probe pair ("ping over UDP"): exercises forwarding, queues, loss and
// pcaps end to end without a TCP stack.
//
// Place in the layers: models/net (a minimal application on a Node).
// Protocol: each probe is one UDP datagram whose payload starts with the probe
// number (u32, big-endian) and the send time in ns (i64, big-endian), followed
// by a deterministic byte pattern (byte k = (number + k) mod 251). The echo
// returns the payload unchanged; the prober checks the pattern and computes the
// round-trip time from the echoed send time. One UDP user per node: each
// registers itself as its node's handler for IP protocol 17.
#pragma once

#include <cstdint>
#include <vector>

#include "tcpmig/net/network.hpp"

namespace tcpmig::net {

/// Answers every datagram to `port` with the same payload.
class UdpEcho final : public IpHandler {
 public:
  UdpEcho(Node& node, uint16_t port);
  ~UdpEcho() override;
  void receive_ipv4(Interface& in, PacketPtr p) override;
  [[nodiscard]] uint64_t echoed() const { return echoed_; }

 private:
  Node& node_;
  uint16_t port_;
  uint64_t echoed_ = 0;
};

struct ProbeConfig {
  Ipv4Address dst;                                  // where the echo runs
  uint16_t dst_port = 7;                            // its port
  uint16_t src_port = 40000;                        // our port
  uint32_t count = 10;                              // probes to send
  Duration interval = Duration::milliseconds(10);   // between sends
  uint32_t payload_len = 64;                        // >= 12 (number + time)
  Time start = Time::zero();                        // first send
};

struct ProbeStats {
  uint32_t sent = 0;
  uint32_t received = 0;      // distinct probes answered
  uint32_t duplicates = 0;    // answers for a probe already answered
  uint32_t out_of_order = 0;  // answers with a lower number than one seen before
  uint32_t corrupt = 0;       // answers whose pattern or length is wrong
  Duration rtt_min = Duration::max();
  Duration rtt_max = Duration::zero();
  Duration rtt_sum = Duration::zero();
};

/// Sends `count` probes and collects the answers.
class UdpProber final : public IpHandler {
 public:
  UdpProber(Node& node, const ProbeConfig& cfg);
  ~UdpProber() override;
  void receive_ipv4(Interface& in, PacketPtr p) override;
  [[nodiscard]] const ProbeStats& stats() const { return stats_; }

 private:
  void send_next();

  Node& node_;
  ProbeConfig cfg_;
  sim::Timer timer_;
  ProbeStats stats_;
  std::vector<uint8_t> answered_;  // per probe number
  int64_t highest_seen_ = -1;
};

}  // namespace tcpmig::net
