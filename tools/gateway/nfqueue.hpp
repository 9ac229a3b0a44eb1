// One NFQUEUE queue over netlink (libmnl + libnetfilter_queue's nfq_nlmsg_*
// helpers): bind, configure, read packets, send verdicts in batches.
//
// Place in the layers: tools/gateway, Linux only. Call chain:
//   Worker::run -> NfQueue::read -> PacketHandler::on_packet (per packet)
//               -> NfQueue::accept / verdict (queued) -> NfQueue::flush
// Rules:
// - Configuration: copy whole packets (NFQNL_COPY_PACKET, 0xffff bytes),
//   NFQA_CFG_F_GSO (GSO packets arrive whole, not segmented for us), room
//   for 8192 packets and a 32 MiB receive buffer (SO_RCVBUFFORCE when
//   allowed). NFQA_CFG_F_FAIL_OPEN is set unless the host asks otherwise
//   (--no-fail-open): when the queue is full the kernel accepts the packet
//   unchanged, which keeps unmigrated flows going but ends a migrated flow's
//   connection (its packet leaves with the new server's numbers); without it
//   the kernel drops the packet and TCP retransmits. (The rules' bypass, for
//   a queue nobody listens on, is another matter: see rules.hpp.)
// - Verdicts: a run of plain accepts is one NFQNL_MSG_VERDICT_BATCH message
//   (every id up to the last one); a rewritten packet (its bytes) or a drop
//   gets its own message. Messages are collected and sent together by
//   flush(), which the worker calls after each read round and before it
//   sends a packet of its own (so earlier packets leave first).
// - Sending: the collected messages go out in order as datagrams of at most
//   128 KiB (and SO_SNDBUF - 32, which the kernel enforces with EMSGSIZE;
//   the send buffer is raised to 1 MiB), all in one sendmmsg() when they can.
//   A datagram the kernel refuses after retries is lost; its rewritten and
//   dropped packets are then dropped again by id (TCP retransmits them),
//   since a later batch would otherwise accept their original bytes (counted
//   in verdicts_lost). Rewritten bytes longer than a netlink attribute carries
//   (65531) are refused by accept_modified; the caller deals with them.
// - ENOBUFS on read (the kernel could not queue a message: the socket was
//   full) is counted and reading goes on; error replies to verdicts are counted.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "metrics.hpp"

struct mnl_socket;

namespace tcpmig::gateway_tool {

/// One packet from the queue; `payload` is valid during on_packet only.
struct QueuedPacket {
  uint32_t id = 0;
  std::span<uint8_t> payload;  ///< the IPv4 packet (possibly truncated: see truncated)
  bool gso = false;            ///< NFQA_SKB_GSO: larger than the MTU, segmented by the kernel later
  bool partial_checksum = false;  ///< NFQA_SKB_CSUMNOTREADY: the TCP checksum field holds only the pseudo-header sum
  bool truncated = false;      ///< the kernel copied less than the whole packet (NFQA_CAP_LEN)
};

class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  virtual void on_packet(const QueuedPacket& p) = 0;
};

class NfQueue {
 public:
  NfQueue() = default;
  ~NfQueue();
  NfQueue(const NfQueue&) = delete;
  NfQueue& operator=(const NfQueue&) = delete;

  /// Binds queue `num` and configures it; false with `error` saying why
  /// ("need CAP_NET_ADMIN (run as root)", "queue 0 is in use by another program", ...).
  bool open(uint16_t num, bool fail_open, std::string& error);
  [[nodiscard]] int fd() const;
  /// Reads up to `max` packets without blocking and hands each to `h`.
  void read(PacketHandler& h, std::size_t max, HostCounters& c);
  /// Accepts the packet unchanged (joins the current batch).
  void accept(uint32_t id);
  /// Accepts the packet with new bytes; false, and no verdict given, when
  /// they are longer than a netlink attribute carries (kMaxPacket).
  [[nodiscard]] bool accept_modified(uint32_t id, std::span<const uint8_t> bytes);
  /// Drops the packet.
  void drop(uint32_t id);
  /// Sends every collected verdict.
  void flush(HostCounters& c);

 private:
  void end_batch();
  char* put(std::size_t room);
  void send_tx();
  void drop_lost(std::span<const uint32_t> ids);
  bool config(const std::vector<uint8_t>& msg, std::string& error);
  void handle(std::span<uint8_t> buf, PacketHandler& h, HostCounters& c);

  mnl_socket* nl_ = nullptr;
  uint16_t num_ = 0;
  uint32_t portid_ = 0;
  std::vector<uint8_t> rx_;       // one message (a packet up to 64 KiB + attributes)
  std::vector<uint8_t> tx_;       // collected verdict messages
  std::size_t tx_used_ = 0;
  // tx_ cut into datagrams of at most datagram_bytes_ (sent by one sendmmsg);
  // `modified`: index in guarded_ids_ of the datagram's first rewritten packet.
  struct Datagram {
    std::size_t begin;
    std::size_t modified;
  };
  std::vector<Datagram> datagrams_;
  std::vector<uint32_t> guarded_ids_;  // ids given rewritten bytes or a drop in tx_, in order
  std::size_t datagram_bytes_ = 0;      // set by open() from SO_SNDBUF
  std::vector<iovec> iov_;              // reused by send_tx()
  std::vector<mmsghdr> mmsg_;
  uint64_t tx_errors_ = 0;        // verdict sends that failed, not yet added to the counters
  uint64_t lost_dropped_ = 0;     // rewritten packets dropped after their verdict was lost, not yet counted
  bool batch_open_ = false;       // accepts not yet sent as a batch
  uint32_t batch_last_ = 0;       // highest id of the open batch
};

}  // namespace tcpmig::gateway_tool
