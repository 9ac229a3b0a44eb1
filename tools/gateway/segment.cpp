// Checksum completion and software segmentation (see segment.hpp).
#include "segment.hpp"

#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

namespace tcpmig::gateway_tool {

bool complete_tcp_checksum(std::span<uint8_t> ipv4) {
  auto ip = wire::Ipv4Packet::check(ipv4);
  if (!ip || ip->protocol() != wire::ip_proto::tcp || ip->is_fragment()) return false;
  auto tcp = wire::TcpSegment::check(ip->payload());
  if (!tcp) return false;
  tcp->fill_checksum(ip->src(), ip->dst());
  return true;
}

bool segment_tcp(std::span<const uint8_t> ipv4, std::size_t mtu, std::vector<std::vector<uint8_t>>& out) {
  out.clear();
  auto ip = wire::ConstIpv4Packet::check(ipv4);
  if (!ip || ip->protocol() != wire::ip_proto::tcp || ip->is_fragment()) return false;
  auto tcp = wire::ConstTcpSegment::check(ip->payload());
  if (!tcp) return false;
  const std::size_t headers = ip->header_len() + tcp->header_len();
  if (mtu <= headers) return false;
  const std::size_t mss = mtu - headers;
  const std::span<const uint8_t> data = tcp->payload();
  const std::size_t count = data.empty() ? 1 : (data.size() + mss - 1) / mss;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t from = i * mss;
    const std::size_t len = std::min(mss, data.size() - from);
    std::vector<uint8_t>& seg = out.emplace_back(headers + len);
    std::copy_n(ipv4.begin(), ip->header_len(), seg.begin());
    std::copy_n(tcp->buffer().begin(), tcp->header_len(), seg.begin() + static_cast<std::ptrdiff_t>(ip->header_len()));
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(from), len,
                seg.begin() + static_cast<std::ptrdiff_t>(headers));
    wire::store_be16(seg.data() + wire::ipv4::field::LENGTH, static_cast<uint16_t>(seg.size()));
    auto sip = wire::Ipv4Packet::check(seg);
    if (!sip) return false;  // cannot happen: the header was valid and the length matches
    sip->set_ident(static_cast<uint16_t>(ip->ident() + i));
    sip->fill_checksum();
    auto stcp = wire::TcpSegment::check(sip->payload());
    if (!stcp) return false;
    stcp->set_seq(tcp->seq() + static_cast<uint32_t>(from));
    uint8_t flags = tcp->flags();
    if (i + 1 != count) flags &= static_cast<uint8_t>(~(wire::tcp_flag::FIN | wire::tcp_flag::PSH));
    if (i != 0) flags &= static_cast<uint8_t>(~wire::tcp_flag::CWR);
    stcp->set_flags(flags);
    stcp->fill_checksum(sip->src(), sip->dst());
  }
  return true;
}

}  // namespace tcpmig::gateway_tool
