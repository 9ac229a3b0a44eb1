// NFQUEUE over netlink (see nfqueue.hpp).
#include "nfqueue.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace tcpmig::gateway_tool {

namespace {

constexpr std::size_t kRxBytes = 0xffff + 4096;       // one packet message
constexpr std::size_t kTxBytes = std::size_t{1} << 20;  // collected verdicts
constexpr std::size_t kMessageRoom = 0xffff + 512;    // a verdict with a whole packet
// A netlink attribute's length is 16 bits and counts its 4-byte header.
constexpr std::size_t kMaxPacket = 0xffff - NLA_HDRLEN;
// One datagram (one sendmsg): the kernel refuses longer than SO_SNDBUF - 32
// with EMSGSIZE, and allocates each as one buffer.
constexpr std::size_t kDatagramBytes = std::size_t{128} << 10;
constexpr int kReceiveBuffer = 32 << 20;
constexpr uint32_t kQueueLength = 8192;  // packets waiting for a verdict (the kernel's default: 1024)
constexpr int kSendBuffer = 1 << 20;
constexpr int kSendRetries = 3;
// A drop verdict: header, nfgenmsg and the verdict attribute.
constexpr std::size_t kDropMessage =
    NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(sizeof(nfgenmsg)) + NLA_ALIGN(NLA_HDRLEN + sizeof(nfqnl_msg_verdict_hdr));

std::string bind_error(int err, uint16_t num) {
  switch (err) {
    case EPERM:
    case EACCES: return "need CAP_NET_ADMIN (run as root)";
    case EBUSY: return "queue " + std::to_string(num) + " is in use by another program";
    case EPROTONOSUPPORT:
    case ENOENT: return "the kernel has no NFQUEUE support (module nfnetlink_queue missing?)";
    default: return "queue " + std::to_string(num) + ": " + std::strerror(err);
  }
}

}  // namespace

NfQueue::~NfQueue() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

int NfQueue::fd() const { return nl_ == nullptr ? -1 : mnl_socket_get_fd(nl_); }

bool NfQueue::config(const std::vector<uint8_t>& msg, std::string& error) {
  if (mnl_socket_sendto(nl_, msg.data(), reinterpret_cast<const nlmsghdr*>(msg.data())->nlmsg_len) < 0) {
    error = bind_error(errno, num_);
    return false;
  }
  const ssize_t n = mnl_socket_recvfrom(nl_, rx_.data(), rx_.size());
  if (n < 0) {
    error = bind_error(errno, num_);
    return false;
  }
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data());
  if (mnl_nlmsg_ok(nlh, static_cast<int>(n)) && nlh->nlmsg_type == NLMSG_ERROR) {
    const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (e->error != 0) {
      error = bind_error(-e->error, num_);
      return false;
    }
  }
  return true;
}

bool NfQueue::open(uint16_t num, bool fail_open, std::string& error) {
  num_ = num;
  rx_.assign(kRxBytes, 0);
  tx_.assign(kTxBytes, 0);
  nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl_ == nullptr) {
    error = "netlink socket: " + std::string(errno == EPROTONOSUPPORT ? "the kernel has no nfnetlink" : std::strerror(errno));
    return false;
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    error = std::string("netlink bind: ") + std::strerror(errno);
    return false;
  }
  portid_ = mnl_socket_get_portid(nl_);
  const int fd = mnl_socket_get_fd(nl_);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSendBuffer, sizeof kSendBuffer) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof kSendBuffer);
  }
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 32) {
    datagram_bytes_ = std::min(kDatagramBytes, static_cast<std::size_t>(sndbuf) - 32);
  }
  if (datagram_bytes_ < kMessageRoom) {
    error = "netlink send buffer too small for a verdict with a whole packet (" + std::to_string(sndbuf) + " bytes)";
    return false;
  }
  std::vector<uint8_t> msg(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(msg.data()), NFQNL_MSG_CONFIG, num);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  if (!config(msg, error)) return false;
  nlh = nfq_nlmsg_put(reinterpret_cast<char*>(msg.data()), NFQNL_MSG_CONFIG, num);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, kQueueLength);
  // Fail-open (the default) accepts a packet the queue has no room for with
  // its original bytes: traffic keeps flowing through an overloaded gateway,
  // but a migrated flow's packet that leaves unrewritten ends that connection.
  // Without it a full queue drops, and TCP retransmits (--no-fail-open).
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0U)));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
  if (!config(msg, error)) {
    error = "queue " + std::to_string(num) + " configuration: " + error;
    return false;
  }
  return true;
}

void NfQueue::read(PacketHandler& h, std::size_t max, HostCounters& c) {
  for (std::size_t i = 0; i < max; ++i) {
    const ssize_t n = ::recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        ++c.enobufs;
        continue;
      }
      ++c.receive_errors;
      return;
    }
    handle(std::span<uint8_t>(rx_.data(), static_cast<std::size_t>(n)), h, c);
  }
}

void NfQueue::handle(std::span<uint8_t> buf, PacketHandler& h, HostCounters& c) {
  int len = static_cast<int>(buf.size());
  for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (e->error != 0) ++c.verdict_errors;
      continue;
    }
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE || NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET) {
      continue;
    }
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) {
      ++c.receive_errors;
      continue;
    }
    const auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    QueuedPacket p;
    p.id = ntohl(ph->packet_id);
    if (attr[NFQA_PAYLOAD] != nullptr) {
      p.payload = std::span<uint8_t>(static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
                                     mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
    }
    if (attr[NFQA_SKB_INFO] != nullptr) {
      const uint32_t info = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
      p.gso = (info & NFQA_SKB_GSO) != 0;
      p.partial_checksum = (info & NFQA_SKB_CSUMNOTREADY) != 0;
    }
    if (attr[NFQA_CAP_LEN] != nullptr) p.truncated = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) != p.payload.size();
    ++c.received;
    h.on_packet(p);
  }
}

char* NfQueue::put(std::size_t room) {
  if (tx_used_ + room > tx_.size()) send_tx();
  if (datagrams_.empty() || tx_used_ - datagrams_.back().begin + room > datagram_bytes_) {
    datagrams_.push_back({tx_used_, guarded_ids_.size()});
  }
  return reinterpret_cast<char*>(tx_.data() + tx_used_);
}

void NfQueue::end_batch() {
  if (!batch_open_) return;
  batch_open_ = false;
  auto* nlh = nfq_nlmsg_put(put(64), NFQNL_MSG_VERDICT_BATCH, num_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(batch_last_), NF_ACCEPT);
  tx_used_ += nlh->nlmsg_len;
}

void NfQueue::accept(uint32_t id) {
  batch_open_ = true;
  batch_last_ = id;
}

bool NfQueue::accept_modified(uint32_t id, std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxPacket) return false;
  end_batch();
  auto* nlh = nfq_nlmsg_put(put(kMessageRoom), NFQNL_MSG_VERDICT, num_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
  nfq_nlmsg_verdict_put_pkt(nlh, bytes.data(), static_cast<uint32_t>(bytes.size()));
  tx_used_ += nlh->nlmsg_len;
  guarded_ids_.push_back(id);
  return true;
}

void NfQueue::drop(uint32_t id) {
  end_batch();
  auto* nlh = nfq_nlmsg_put(put(64), NFQNL_MSG_VERDICT, num_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_DROP);
  tx_used_ += nlh->nlmsg_len;
  guarded_ids_.push_back(id);  // a held packet must not leave by a later batch accept either
}

void NfQueue::send_tx() {
  if (tx_used_ == 0) return;
  const std::size_t n = datagrams_.size();
  iov_.resize(n);
  mmsg_.resize(n);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t end = i + 1 < n ? datagrams_[i + 1].begin : tx_used_;
    iov_[i] = {tx_.data() + datagrams_[i].begin, end - datagrams_[i].begin};
    mmsg_[i] = {};
    mmsg_[i].msg_hdr.msg_name = &kernel;
    mmsg_[i].msg_hdr.msg_namelen = sizeof kernel;
    mmsg_[i].msg_hdr.msg_iov = &iov_[i];
    mmsg_[i].msg_hdr.msg_iovlen = 1;
  }
  const int fd = mnl_socket_get_fd(nl_);
  std::size_t done = 0;
  int retries = 0;
  while (done < n) {
    const int r = ::sendmmsg(fd, mmsg_.data() + done, static_cast<unsigned>(n - done), 0);
    if (r > 0) {
      done += static_cast<std::size_t>(r);
      retries = 0;
      continue;
    }
    if (errno == EINTR) continue;
    // No memory for the message in the kernel: it may have some on a second try.
    if ((errno == ENOBUFS || errno == ENOMEM) && ++retries <= kSendRetries) continue;
    // Datagram `done` is lost. Its plain accepts are repeated by a later
    // batch verdict; its rewritten and dropped packets must not be: a later
    // batch would accept their original bytes. They are dropped again.
    ++tx_errors_;
    const std::size_t mods_end = done + 1 < n ? datagrams_[done + 1].modified : guarded_ids_.size();
    drop_lost(std::span<const uint32_t>(guarded_ids_).subspan(datagrams_[done].modified,
                                                               mods_end - datagrams_[done].modified));
    ++done;
    retries = 0;
  }
  tx_used_ = 0;
  datagrams_.clear();
  guarded_ids_.clear();
}

void NfQueue::drop_lost(std::span<const uint32_t> ids) {
  std::array<char, 64 * 32> buf{};
  std::size_t used = 0;
  const auto send = [&] {
    if (used == 0) return;
    if (mnl_socket_sendto(nl_, buf.data(), used) < 0) {
      ++tx_errors_;
    } else {
      lost_dropped_ += used / kDropMessage;
    }
    used = 0;
  };
  for (const uint32_t id : ids) {
    if (used + kDropMessage > buf.size()) send();
    auto* nlh = nfq_nlmsg_put(buf.data() + used, NFQNL_MSG_VERDICT, num_);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_DROP);
    used += kDropMessage;
  }
  send();
}

void NfQueue::flush(HostCounters& c) {
  end_batch();
  send_tx();
  c.verdict_errors += tx_errors_;
  c.verdicts_lost += lost_dropped_;
  tx_errors_ = 0;
  lost_dropped_ = 0;
}

}  // namespace tcpmig::gateway_tool
