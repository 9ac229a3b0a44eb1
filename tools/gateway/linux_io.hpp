// The Linux services tcpmig-gateway uses besides NFQUEUE: the monotonic
// clock, the raw socket packets leave through, child processes (rule
// installers, --on-trigger hooks) and huge-page memory for the flow table.
//
// Place in the layers: tools/gateway, Linux only. Call chain:
//   core -> Worker::emit -> RawSender::send -> segment_tcp (if > path MTU)
//        -> sendto(IPPROTO_RAW, IP_HDRINCL)
//   Gateway -> run_with_input (nft / iptables-restore), spawn_shell (hooks)
#pragma once

#include <cstdint>
#include <memory_resource>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics.hpp"
#include "tcpmig/core/migrator.hpp"

namespace tcpmig::gateway_tool {

/// CLOCK_MONOTONIC in nanoseconds (the core's `now`).
core::Nanos monotonic_ns();
/// CLOCK_REALTIME in nanoseconds since the epoch (pcap timestamps, records' wall times).
int64_t realtime_ns();

/// Sends complete IPv4 packets with their own header (IP_HDRINCL). Packets
/// longer than the path MTU toward their destination (IP_MTU of a connected
/// UDP socket, cached per destination; 1500 when unknown) are segmented in
/// software first. Failures are counted, never fatal.
class RawSender {
 public:
  RawSender() = default;
  ~RawSender();
  RawSender(const RawSender&) = delete;
  RawSender& operator=(const RawSender&) = delete;

  /// Opens the socket; false with `error` set (EPERM: needs CAP_NET_RAW).
  bool open(std::string& error);
  /// Sends `ipv4`; `sent(segment)` is called for every packet that left (for --pcap).
  template <class Sent>
  void send(std::span<const uint8_t> ipv4, HostCounters& c, Sent&& sent) {
    if (ipv4.size() > path_mtu(ipv4) && split(ipv4, c)) {
      for (const std::vector<uint8_t>& seg : segments_) {
        if (send_one(seg, c)) sent(std::span<const uint8_t>(seg));
      }
      return;
    }
    if (send_one(ipv4, c)) sent(ipv4);
  }

 private:
  std::size_t path_mtu(std::span<const uint8_t> ipv4);
  bool split(std::span<const uint8_t> ipv4, HostCounters& c);
  bool send_one(std::span<const uint8_t> ipv4, HostCounters& c);

  int fd_ = -1;
  std::unordered_map<uint32_t, uint16_t> mtu_;     // destination -> path MTU
  std::vector<std::vector<uint8_t>> segments_;     // reused by split()
};

/// Runs argv[0] (searched in PATH) with `input` on its stdin and waits.
/// Returns its exit status (0 = success); on failure `error` holds its stderr
/// or why it could not run ("nft: not found").
int run_with_input(const std::vector<std::string>& argv, const std::string& input, std::string& error);

/// A started `/bin/sh -c CMD`: its pid and a pidfd that becomes readable when it exits.
struct Child {
  int pid = -1;
  int pidfd = -1;
};
/// Starts `/bin/sh -c command` with `env` added to the environment
/// ("KEY=value"), signals unblocked and at their defaults; false with `error` set.
bool spawn_shell(const std::string& command, const std::vector<std::string>& env, Child& child, std::string& error);
/// Reaps an exited child (closes its pidfd); its exit code, or 128 + signal.
int reap(Child& child);

/// Memory for the flow table: anonymous mappings advised MADV_HUGEPAGE
/// (transparent huge pages), falling back to plain pages when refused.
class HugePageResource final : public std::pmr::memory_resource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  [[nodiscard]] bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

}  // namespace tcpmig::gateway_tool
