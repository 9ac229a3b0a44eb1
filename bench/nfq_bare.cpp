// tcpmig-nfq-bare: the cheapest useful NFQUEUE loop, the yardstick for
// tcpmig-gateway's throughput (bench/gateway_throughput.sh). It binds one
// queue, asks for whole packets (as a rewriting gateway must) and accepts
// every one:
//
//   --mode per-packet  one verdict message per packet; the kernel segments GSO
//                      packets before queueing them
//   --mode batch       one NFQNL_MSG_VERDICT_BATCH per burst of packets read
//   --mode gso         batched verdicts and NFQA_CFG_F_GSO: GSO packets arrive
//                      whole (up to 64 KiB), with partial checksums
//   --mode mangle      as gso, but every packet is accepted with its bytes
//                      handed back (unchanged, except that a partial checksum
//                      of a packet the kernel will not segment is completed,
//                      as the kernel then forwards the bytes as they are):
//                      the least any NFQUEUE loop that rewrites a packet
//                      pays for it; verdicts are collected per burst and sent
//                      in datagrams of at most 128 KiB
//
// Prints its counters on stderr when SIGTERM or SIGINT ends it.
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <signal.h>
#include <sys/socket.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include "segment.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

enum class Mode { PerPacket, Batch, Gso, Mangle };

struct Loop {
  mnl_socket* nl = nullptr;
  unsigned portid = 0;
  uint16_t queue = 0;
  Mode mode = Mode::Batch;
  std::vector<char> send_buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
  uint64_t packets = 0, bytes = 0, verdict_msgs = 0, recv_errors = 0;
  uint32_t last_id = 0;
  bool have_id = false;
  // Mangle: verdict messages of the current burst, sent in datagrams of at
  // most kDatagram bytes.
  static constexpr std::size_t kDatagram = 128 * 1024;
  std::vector<char> tx = std::vector<char>(2 * kDatagram);
  std::size_t tx_used = 0;

  bool flush_tx() {
    const bool ok = tx_used == 0 || mnl_socket_sendto(nl, tx.data(), tx_used) >= 0;
    if (!ok) std::perror("tcpmig-nfq-bare: mnl_socket_sendto");
    tx_used = 0;
    return ok;
  }

  bool hand_back(uint32_t id, uint8_t* pkt, std::size_t len, uint32_t skb_info) {
    if ((skb_info & NFQA_SKB_CSUMNOTREADY) != 0 && (skb_info & NFQA_SKB_GSO) == 0) {
      tcpmig::gateway_tool::complete_tcp_checksum({pkt, len});
    }
    const std::size_t room = MNL_ALIGN(sizeof(nlmsghdr)) + MNL_ALIGN(sizeof(nfgenmsg)) +
                             MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(nfqnl_msg_verdict_hdr)) + MNL_ALIGN(MNL_ATTR_HDRLEN + len);
    if (tx_used + room > kDatagram && !flush_tx()) return false;
    nlmsghdr* nlh = nfq_nlmsg_put(tx.data() + tx_used, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
    nfq_nlmsg_verdict_put_pkt(nlh, pkt, static_cast<uint32_t>(len));
    tx_used += nlh->nlmsg_len;
    ++verdict_msgs;
    return true;
  }

  bool send_nlh(nlmsghdr* nlh) {
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      std::perror("tcpmig-nfq-bare: mnl_socket_sendto");
      return false;
    }
    return true;
  }

  bool verdict(uint32_t id, int type) {
    nlmsghdr* nlh = nfq_nlmsg_put(send_buf.data(), type, queue);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
    ++verdict_msgs;
    return send_nlh(nlh);
  }

  static int on_packet(const nlmsghdr* nlh, void* data) {
    auto* self = static_cast<Loop*>(data);
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return MNL_CB_ERROR;
    auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    uint32_t id = ntohl(ph->packet_id);
    ++self->packets;
    if (attr[NFQA_PAYLOAD] != nullptr) self->bytes += mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    if (self->mode == Mode::Mangle && attr[NFQA_PAYLOAD] != nullptr) {
      const uint32_t info = attr[NFQA_SKB_INFO] != nullptr ? ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) : 0;
      return self->hand_back(id, static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
                             mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), info)
                 ? MNL_CB_OK
                 : MNL_CB_ERROR;
    }
    if (self->mode == Mode::PerPacket) return self->verdict(id, NFQNL_MSG_VERDICT) ? MNL_CB_OK : MNL_CB_ERROR;
    self->last_id = id;
    self->have_id = true;
    return MNL_CB_OK;
  }

  bool configure() {
    nlmsghdr* nlh = nfq_nlmsg_put(send_buf.data(), NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    if (!send_nlh(nlh)) return false;
    nlh = nfq_nlmsg_put(send_buf.data(), NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
    uint32_t flags = mode == Mode::Gso || mode == Mode::Mangle ? NFQA_CFG_F_GSO : 0;
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
    if (!send_nlh(nlh)) return false;
    nlh = nfq_nlmsg_put(send_buf.data(), NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, 8192);
    return send_nlh(nlh);
  }

  int run() {
    nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == nullptr) {
      std::perror("tcpmig-nfq-bare: mnl_socket_open");
      return 1;
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      std::perror("tcpmig-nfq-bare: mnl_socket_bind");
      return 1;
    }
    portid = mnl_socket_get_portid(nl);
    int one = 1;
    mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof one);
    int rcvbuf = 64 << 20;
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    int sndbuf = 1 << 20;  // room for a whole datagram of verdicts
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    if (!configure()) return 1;
    std::printf("bound queue %u\n", queue);
    std::fflush(stdout);

    // One packet message per recv; a burst is what is ready without waiting.
    std::vector<char> buf(0xffff + (MNL_SOCKET_BUFFER_SIZE / 2));
    constexpr int kBurst = 64;
    while (!g_stop) {
      have_id = false;
      for (int i = 0; i < kBurst; ++i) {
        ssize_t n = ::recv(mnl_socket_get_fd(nl), buf.data(), buf.size(), i == 0 ? 0 : MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR) break;
          ++recv_errors;  // ENOBUFS and the like: counted, the loop goes on
          break;
        }
        if (mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, portid, on_packet, this) < 0) {
          std::perror("tcpmig-nfq-bare: mnl_cb_run");
          return 1;
        }
      }
      if (!flush_tx()) return 1;
      if (have_id && !verdict(last_id, NFQNL_MSG_VERDICT_BATCH)) return 1;
    }
    std::fprintf(stderr,
                 "tcpmig-nfq-bare: packets %" PRIu64 " bytes %" PRIu64 " verdict_messages %" PRIu64
                 " recv_errors %" PRIu64 "\n",
                 packets, bytes, verdict_msgs, recv_errors);
    mnl_socket_close(nl);
    return 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tcpmig-nfq-bare: accept every packet of one NFQUEUE (benchmark baseline)"};
  Loop loop;
  std::string mode = "batch";
  app.add_option("--queue", loop.queue, "queue number")->required();
  app.add_option("--mode", mode, "per-packet | batch | gso | mangle")
      ->check(CLI::IsMember({"per-packet", "batch", "gso", "mangle"}));
  CLI11_PARSE(app, argc, argv);
  loop.mode = mode == "per-packet" ? Mode::PerPacket : mode == "gso" ? Mode::Gso : mode == "mangle" ? Mode::Mangle : Mode::Batch;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  return loop.run();
}
