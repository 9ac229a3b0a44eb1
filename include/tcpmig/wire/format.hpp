// One-line, tcpdump-like packet summaries: the packet part of the text trace.
//
// Place in the layers: wire, top (uses every decoder). The simulator's trace
// sink calls append_summary() once per packet event. The format is stable
// (golden traces and tests/wire/format_test.cpp pin it):
//
//   IPv4/TCP   10.0.0.1.40000 > 10.0.0.2.80: Flags [S.], seq 1000, ack 2000, win 65535,
//              options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//              (one line). Absolute seq/ack as `tcpdump -S`. Unlike tcpdump, seq is
//              always printed, as `seq A` without payload and `seq A:A+len` with.
//              Flags in bit order as tcpdump: F S R P . U E W, "none" if no flag.
//              `ack N` only with ACK; `urg N` only with URG; `options [...]` only
//              if the header has options: mss N, sackOK, TS val N ecr N, nop, eol,
//              wscale N, sack K {l:r}{l:r}, unknown-<kind> <len>. length = payload bytes.
//   IPv4/UDP   10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 100   (payload bytes)
//   IPv4/other 10.0.0.1 > 10.0.0.2: ip-proto-1, length 64       (IPv4 payload bytes)
//   fragment   10.0.0.1 > 10.0.0.2: ip-proto-17, length 1480, frag 4660@0+
//              (ident@byte offset, '+' when more fragments follow; not decoded further)
//   non-IPv4   ethertype 0x0806, length 42                     (frame bytes)
//
// Markers at the end of the line, in this order: " [bad ip cksum]", then
// " [bad tcp cksum]" / " [bad udp cksum]", then an undecodable part as
// " [<layer>: <error_name>]" (layers: ethernet, ipv4, tcp, udp). A frame too
// short for Ethernet is just "[ethernet: truncated]", a bad IPv4 header just
// "[ipv4: <error>]"; a bad TCP/UDP header keeps the addresses:
// "10.0.0.1 > 10.0.0.2: [tcp: truncated]". Malformed TCP options print the
// options decoded before the bad one, then the rest of the line, then
// " [tcp: malformed]".
//
// Appends only (append/push_back and a small integer formatter): no allocation
// when `out` has enough capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/result.hpp"
#include "tcpmig/wire/tcp.hpp"
#include "tcpmig/wire/udp.hpp"

namespace tcpmig::wire {

namespace detail {

/// Appends " [<layer>: <error_name>]" (without the leading space if `lead` is false).
inline void append_layer_error(std::string& out, const char* layer, Error e, bool lead = true) {
  if (lead) out.push_back(' ');
  out.push_back('[');
  out.append(layer);
  out.append(": ");
  out.append(error_name(e));
  out.push_back(']');
}

/// Appends "a.b.c.d.port".
inline void append_endpoint(std::string& out, Ipv4Address addr, std::uint16_t port) {
  addr.append_to(out);
  out.push_back('.');
  append_decimal(out, port);
}

/// Appends "src.sport > dst.dport: ".
inline void append_endpoints(std::string& out, Ipv4Address src, std::uint16_t sport, Ipv4Address dst,
                             std::uint16_t dport) {
  append_endpoint(out, src, sport);
  out.append(" > ");
  append_endpoint(out, dst, dport);
  out.append(": ");
}

/// Appends tcpdump's flag letters (F S R P . U E W) or "none".
inline void append_tcp_flags(std::string& out, std::uint8_t flags) {
  constexpr char kLetters[] = {'F', 'S', 'R', 'P', '.', 'U', 'E', 'W'};
  if (flags == 0) {
    out.append("none");
    return;
  }
  for (int bit = 0; bit < 8; ++bit) {
    if ((flags >> bit) & 1) out.push_back(kLetters[bit]);
  }
}

/// Appends one decoded option in tcpdump's words.
inline void append_tcp_option(std::string& out, const TcpOption& opt) {
  switch (opt.kind()) {
    case TcpOptionKind::End: out.append("eol"); return;
    case TcpOptionKind::Nop: out.append("nop"); return;
    case TcpOptionKind::Mss:
      out.append("mss ");
      append_decimal(out, opt.mss());
      return;
    case TcpOptionKind::WindowScale:
      out.append("wscale ");
      append_decimal(out, opt.window_scale());
      return;
    case TcpOptionKind::SackPermitted: out.append("sackOK"); return;
    case TcpOptionKind::Sack:
      out.append("sack ");
      append_decimal(out, opt.sack_block_count());
      out.push_back(' ');
      for (std::size_t i = 0; i < opt.sack_block_count(); ++i) {
        const auto [left, right] = opt.sack_block(i);
        out.push_back('{');
        append_decimal(out, left.raw());
        out.push_back(':');
        append_decimal(out, right.raw());
        out.push_back('}');
      }
      return;
    case TcpOptionKind::Timestamps:
      out.append("TS val ");
      append_decimal(out, opt.tsval());
      out.append(" ecr ");
      append_decimal(out, opt.tsecr());
      return;
  }
  out.append("unknown-");
  append_decimal(out, opt.raw_kind());
  out.push_back(' ');
  append_decimal(out, opt.size());
}

/// Appends the TCP part; returns the L4 error to report at the end of the line, if any.
inline std::optional<Error> append_tcp(std::string& out, const ConstIpv4Packet& ip, bool& bad_cksum) {
  auto seg = ConstTcpSegment::check(ip.payload());
  if (!seg) {
    ip.src().append_to(out);
    out.append(" > ");
    ip.dst().append_to(out);
    out.push_back(':');
    return seg.error();
  }
  append_endpoints(out, ip.src(), seg->src_port(), ip.dst(), seg->dst_port());
  out.append("Flags [");
  append_tcp_flags(out, seg->flags());
  out.append("], seq ");
  const std::size_t len = seg->payload().size();
  append_decimal(out, seg->seq().raw());
  if (len > 0) {
    out.push_back(':');
    append_decimal(out, (seg->seq() + len).raw());
  }
  if ((seg->flags() & tcp_flag::ACK) != 0) {
    out.append(", ack ");
    append_decimal(out, seg->ack().raw());
  }
  out.append(", win ");
  append_decimal(out, seg->window());
  if ((seg->flags() & tcp_flag::URG) != 0) {
    out.append(", urg ");
    append_decimal(out, seg->urgent());
  }
  std::optional<Error> error;
  if (!seg->options().empty()) {
    out.append(", options [");
    bool first = true;
    for (TcpOptionReader reader(seg->options()); !reader.done();) {
      auto opt = reader.next();
      if (!opt) {
        error = opt.error();
        break;
      }
      if (!first) out.push_back(',');
      first = false;
      append_tcp_option(out, *opt);
    }
    out.push_back(']');
  }
  out.append(", length ");
  append_decimal(out, len);
  bad_cksum = !seg->verify_checksum(ip.src(), ip.dst());
  return error;
}

/// Appends the UDP part; returns the L4 error to report at the end of the line, if any.
inline std::optional<Error> append_udp(std::string& out, const ConstIpv4Packet& ip, bool& bad_cksum) {
  auto dgram = ConstUdpDatagram::check(ip.payload());
  if (!dgram) {
    ip.src().append_to(out);
    out.append(" > ");
    ip.dst().append_to(out);
    out.push_back(':');
    return dgram.error();
  }
  append_endpoints(out, ip.src(), dgram->src_port(), ip.dst(), dgram->dst_port());
  out.append("UDP, length ");
  append_decimal(out, dgram->payload().size());
  bad_cksum = !dgram->verify_checksum(ip.src(), ip.dst());
  return std::nullopt;
}

}  // namespace detail

/// Appends the one-line summary of an Ethernet frame (format above) to `out`.
inline void append_summary(std::string& out, std::span<const std::uint8_t> frame) {
  auto eth = ConstEthernetFrame::check(frame);
  if (!eth) {
    detail::append_layer_error(out, "ethernet", eth.error(), false);
    return;
  }
  if (eth->ethertype() != ethertype::ipv4) {
    out.append("ethertype 0x");
    detail::append_hex(out, eth->ethertype(), 4);
    out.append(", length ");
    detail::append_decimal(out, frame.size());
    return;
  }
  auto ip = ConstIpv4Packet::check(eth->payload());
  if (!ip) {
    detail::append_layer_error(out, "ipv4", ip.error(), false);
    return;
  }
  bool bad_l4_cksum = false;
  const char* l4_layer = nullptr;
  std::optional<Error> l4_error;
  if (!ip->is_fragment() && ip->protocol() == ip_proto::tcp) {
    l4_layer = "tcp";
    l4_error = detail::append_tcp(out, *ip, bad_l4_cksum);
  } else if (!ip->is_fragment() && ip->protocol() == ip_proto::udp) {
    l4_layer = "udp";
    l4_error = detail::append_udp(out, *ip, bad_l4_cksum);
  } else {
    ip->src().append_to(out);
    out.append(" > ");
    ip->dst().append_to(out);
    out.append(": ip-proto-");
    detail::append_decimal(out, ip->protocol());
    out.append(", length ");
    detail::append_decimal(out, ip->payload().size());
    if (ip->is_fragment()) {
      out.append(", frag ");
      detail::append_decimal(out, ip->ident());
      out.push_back('@');
      detail::append_decimal(out, ip->frag_offset());
      if (ip->more_frags()) out.push_back('+');
    }
  }
  if (!ip->verify_checksum()) out.append(" [bad ip cksum]");
  if (bad_l4_cksum) {
    out.append(" [bad ");
    out.append(l4_layer);
    out.append(" cksum]");
  }
  if (l4_error) detail::append_layer_error(out, l4_layer, *l4_error);
}

/// The summary as a new string (allocates; for tests and tools).
inline std::string summary(std::span<const std::uint8_t> frame) {
  std::string s;
  append_summary(s, frame);
  return s;
}

}  // namespace tcpmig::wire
