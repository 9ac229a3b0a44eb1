// Real packets captured from the Linux stack (kernel 6.18, Python sockets),
// used as fixed byte arrays by the wire tests and as the fuzz seed corpus
// (tests/fuzz/corpus/wire/*.bin hold the same bytes).
//
// Capture: two network namespaces joined by a veth pair, 10.99.0.1
// (02:00:00:00:00:01, client, port 40000) and 10.99.0.2 (02:00:00:00:00:02,
// server, port 80), checksum/segmentation offloads off so the captured bytes
// carry real checksums, static neighbours (no ARP). tc netem is not available
// on this host, so the SACK block is provoked by injecting (AF_PACKET, from the
// server side) one out-of-order segment 1000 bytes past the server's next
// sequence number: the client's kernel answers with a real duplicate ACK
// carrying "sack 1". The injected segment itself is not used here (it was made
// by a script, not by Linux). Everything was deleted afterwards
// (`ip netns del tmw-a; ip netns del tmw-b`).
//
// Commands (as root, in one directory holding the four scripts below):
//   #!/bin/sh
//   # Captures real Linux packets between two namespaces for the wire tests.
//   set -e
//   cd /tmp/wirecap
//   ip netns add tmw-a; ip netns add tmw-b
//   ip link add tmw-va netns tmw-a type veth peer name tmw-vb netns tmw-b
//   for ns in a b; do
//     ip netns exec tmw-$ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
//   done
//   ip -n tmw-a link set tmw-va address 02:00:00:00:00:01
//   ip -n tmw-b link set tmw-vb address 02:00:00:00:00:02
//   ip -n tmw-a addr add 10.99.0.1/24 dev tmw-va
//   ip -n tmw-b addr add 10.99.0.2/24 dev tmw-vb
//   ip -n tmw-a link set tmw-va up; ip -n tmw-b link set tmw-vb up
//   ip -n tmw-a link set lo up; ip -n tmw-b link set lo up
//   ip netns exec tmw-a python3 offload_off.py tmw-va
//   ip netns exec tmw-b python3 offload_off.py tmw-vb
//   ip -n tmw-a neigh replace 10.99.0.2 lladdr 02:00:00:00:00:02 dev tmw-va nud permanent
//   ip -n tmw-b neigh replace 10.99.0.1 lladdr 02:00:00:00:00:01 dev tmw-vb nud permanent
//   ip netns exec tmw-a tshark -q -i tmw-va -w /tmp/wirecap/cap.pcap -f "tcp or udp" &
//   TS=$!
//   sleep 2
//   ip netns exec tmw-b python3 inject_ooo.py &
//   ip netns exec tmw-b python3 server.py &
//   sleep 0.5
//   ip netns exec tmw-a python3 client.py
//   sleep 1
//   kill $TS; wait $TS || true
//   ip netns del tmw-a; ip netns del tmw-b
//   editcap -F pcap cap.pcap cap-classic.pcap  # then dumped to C++ by a few lines of Python
//
// offload_off.py (what `ethtool -K IF tx off sg off tso off gso off gro off` does; no ethtool here):
//   # Turn off tx checksum offload, scatter-gather, TSO, GSO, GRO on an interface
//   # (what `ethtool -K IF tx off sg off tso off gso off gro off` does), via SIOCETHTOOL.
//   import fcntl, socket, struct, sys
//   SIOCETHTOOL = 0x8946
//   CMDS = {"tx": 0x17, "sg": 0x19, "tso": 0x1f, "gso": 0x24, "gro": 0x2c}
//   ifname = sys.argv[1]
//   s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
//   for name, cmd in CMDS.items():
//       buf = bytearray(struct.pack("II", cmd, 0))
//       import ctypes
//       addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
//       ifr = struct.pack("16sP", ifname.encode(), addr)
//       fcntl.ioctl(s, SIOCETHTOOL, ifr)
//       print(ifname, name, "off")
//
// server.py:
//   import socket, time
//   s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
//   s.bind(("10.99.0.2", 80)); s.listen(1)
//   c, _ = s.accept()
//   req = c.recv(100)
//   time.sleep(0.5)          # the injector (inject_ooo.py) sends an out-of-order segment meanwhile
//   c.sendall(b"x" * 2000)   # first segment: 1448 bytes + TS = a 1514-byte frame
//   time.sleep(0.2)
//   c.close()
//
// client.py:
//   import socket, time
//   c = socket.socket()
//   c.bind(("10.99.0.1", 40000))
//   c.connect(("10.99.0.2", 80))
//   time.sleep(0.05)
//   c.sendall(b"hello")
//   n = 0
//   while True:
//       d = c.recv(65536)
//       if not d: break
//       n += len(d)
//   c.close()
//   print("client got", n)
//   u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
//   u.bind(("10.99.0.1", 5000))
//   u.sendto(b"tcpmig udp probe", ("10.99.0.2", 6000))
//
// inject_ooo.py:
//   # Runs in the server's namespace. Sniffs tmw-vb; when the client's 5-byte
//   # request arrives, injects (as if from the server) 100 bytes at server seq
//   # ISN+1+1000, leaving a 1000-byte hole, so the client's Linux stack answers
//   # with a duplicate ACK carrying a SACK block.
//   import socket, struct, time
//   ETH_P_ALL = 3
//   s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
//   s.bind(("tmw-vb", 0))
//   def csum(b):
//       if len(b) % 2: b += b"\0"
//       t = sum(struct.unpack("!%dH" % (len(b)//2), b))
//       while t >> 16: t = (t & 0xffff) + (t >> 16)
//       return (~t) & 0xffff
//   def tsopt(opts):
//       i = 0
//       while i < len(opts):
//           k = opts[i]
//           if k == 0: break
//           if k == 1: i += 1; continue
//           l = opts[i+1]
//           if k == 8: return struct.unpack("!II", opts[i+2:i+10])
//           i += l
//       return None
//   server_isn = None; server_tsval = None; server_win = 0; client_next = None
//   deadline = None
//   s.settimeout(0.02)
//   while deadline is None or time.time() < deadline:
//       try:
//           f = s.recv(65535)
//       except socket.timeout:
//           continue
//       if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 6: continue
//       ihl = (f[14] & 15) * 4; tcp = f[14+ihl:]
//       sport, dport, seq, ack, off = struct.unpack("!HHIIB", tcp[:13])
//       hl = (off >> 4) * 4; flags = tcp[13]; opts = tcp[20:hl]
//       tot = struct.unpack("!H", f[16:18])[0]; plen = tot - ihl - hl
//       ts = tsopt(opts)
//       if sport == 80:
//           if flags & 0x12 == 0x12: server_isn = seq
//           if ts: server_tsval = ts[0]
//           server_win = struct.unpack("!H", tcp[14:16])[0]
//       if dport == 80 and plen == 5:
//           # keep sniffing 100 ms to learn the server's latest TSval (PAWS)
//           client_next = seq + 5; client_tsval = ts[0]; deadline = time.time() + 0.1
//   payload = b"x" * 100
//   opt = b"\x01\x01\x08\x0a" + struct.pack("!II", server_tsval, client_tsval)
//   tcph = struct.pack("!HHIIBBHHH", 80, 40000, (server_isn + 1 + 1000) & 0xffffffff,
//                      client_next, (32 // 4) << 4, 0x18, server_win, 0, 0) + opt
//   src = socket.inet_aton("10.99.0.2"); dst = socket.inet_aton("10.99.0.1")
//   seglen = len(tcph) + len(payload)
//   c = csum(src + dst + struct.pack("!BBH", 0, 6, seglen) + tcph + payload)
//   tcph = tcph[:16] + struct.pack("!H", c) + tcph[18:]
//   iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + seglen, 0x4242, 0x4000, 64, 6, 0, src, dst)
//   iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
//   eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
//   s.send(eth + iph + tcph + payload)
//   print("injected out-of-order segment")
//
// tshark's view of the frames used below (`tshark -r cap.pcap -o tcp.relative_sequence_numbers:FALSE`):
//   1 10.99.0.1 -> 10.99.0.2 TCP 74 40000 -> 80 [SYN] Seq=3991910258 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=355620451 TSecr=0 WS=1024
//   2 10.99.0.2 -> 10.99.0.1 TCP 74 80 -> 40000 [SYN, ACK] Seq=3125585180 Ack=3991910259 Win=65160 Len=0 MSS=1460 SACK_PERM TSval=3562641306 TSecr=355620451 WS=1024
//   4 10.99.0.1 -> 10.99.0.2 TCP 71 40000 -> 80 [PSH, ACK] Seq=3991910259 Ack=3125585181 Win=64512 Len=5 TSval=355620501 TSecr=3562641306
//   7 10.99.0.1 -> 10.99.0.2 TCP 78 40000 -> 80 [ACK] Seq=3991910264 Ack=3125585181 Win=64512 Len=0 TSval=355620603 TSecr=3562641356 SLE=3125586181 SRE=3125586281
//   8 10.99.0.2 -> 10.99.0.1 TCP 1514 80 -> 40000 [ACK] Seq=3125585181 Ack=3991910264 Win=65536 Len=1448 TSval=3562641857 TSecr=355620603
//  12 10.99.0.2 -> 10.99.0.1 TCP 66 80 -> 40000 [FIN, ACK] Seq=3125587181 Ack=3991910264 Win=65536 Len=0 TSval=3562642057 TSecr=355621002
//  15 10.99.0.1 -> 10.99.0.2 UDP 58 5000 -> 6000 Len=16
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tcpmig::wire::test {

// Frame 1 of the capture: client SYN: mss 1460, sackOK, TS, nop, wscale 10.
// `tshark -r cap.pcap -Y frame.number==1 -x`
inline constexpr std::array<std::uint8_t, 74> kSyn = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x82, 0x7d, 0x40, 0x00, 0x40, 0x06,
    0xa3, 0x76, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x9c, 0x40,
    0x00, 0x50, 0xed, 0xef, 0xb7, 0x72, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x8a, 0xbb, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
    0x08, 0x0a, 0x15, 0x32, 0x56, 0x63, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
    0x03, 0x0a,
};

// Frame 2 of the capture: server SYN-ACK: mss 1460, sackOK, TS, nop, wscale 10.
// `tshark -r cap.pcap -Y frame.number==2 -x`
inline constexpr std::array<std::uint8_t, 74> kSynAck = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
    0x25, 0xf4, 0x0a, 0x63, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x50,
    0x9c, 0x40, 0xba, 0x4c, 0xa5, 0x1c, 0xed, 0xef, 0xb7, 0x73, 0xa0, 0x12,
    0xfe, 0x88, 0xbb, 0xb4, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
    0x08, 0x0a, 0xd4, 0x59, 0x97, 0x9a, 0x15, 0x32, 0x56, 0x63, 0x01, 0x03,
    0x03, 0x0a,
};

// Frame 4 of the capture: client data segment, PSH|ACK, nop,nop,TS, payload "hello".
// `tshark -r cap.pcap -Y frame.number==4 -x`
inline constexpr std::array<std::uint8_t, 71> kData = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x39, 0x82, 0x7f, 0x40, 0x00, 0x40, 0x06,
    0xa3, 0x77, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x9c, 0x40,
    0x00, 0x50, 0xed, 0xef, 0xb7, 0x73, 0xba, 0x4c, 0xa5, 0x1d, 0x80, 0x18,
    0x00, 0x3f, 0xa4, 0xbc, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x15, 0x32,
    0x56, 0x95, 0xd4, 0x59, 0x97, 0x9a, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

// Frame 7 of the capture: client duplicate ACK with nop,nop,TS,nop,nop,sack 1 (answer to the injected out-of-order segment).
// `tshark -r cap.pcap -Y frame.number==7 -x`
inline constexpr std::array<std::uint8_t, 78> kSackAck = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x40, 0x82, 0x80, 0x40, 0x00, 0x40, 0x06,
    0xa3, 0x6f, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x9c, 0x40,
    0x00, 0x50, 0xed, 0xef, 0xb7, 0x78, 0xba, 0x4c, 0xa5, 0x1d, 0xb0, 0x10,
    0x00, 0x3f, 0xea, 0xde, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x15, 0x32,
    0x56, 0xfb, 0xd4, 0x59, 0x97, 0xcc, 0x01, 0x01, 0x05, 0x0a, 0xba, 0x4c,
    0xa9, 0x05, 0xba, 0x4c, 0xa9, 0x69,
};

// Frame 12 of the capture: server FIN|ACK with nop,nop,TS.
// `tshark -r cap.pcap -Y frame.number==12 -x`
inline constexpr std::array<std::uint8_t, 66> kFinAck = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x34, 0x4b, 0x98, 0x40, 0x00, 0x40, 0x06,
    0xda, 0x63, 0x0a, 0x63, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x50,
    0x9c, 0x40, 0xba, 0x4c, 0xac, 0xed, 0xed, 0xef, 0xb7, 0x78, 0x80, 0x11,
    0x00, 0x40, 0xdb, 0xe0, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xd4, 0x59,
    0x9a, 0x89, 0x15, 0x32, 0x58, 0x8a,
};

// Frame 15 of the capture: UDP 10.99.0.1.5000 > 10.99.0.2.6000, payload "tcpmig udp probe".
// `tshark -r cap.pcap -Y frame.number==15 -x`
inline constexpr std::array<std::uint8_t, 58> kUdp = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x2c, 0xd1, 0xdd, 0x40, 0x00, 0x40, 0x11,
    0x54, 0x1b, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x13, 0x88,
    0x17, 0x70, 0x00, 0x18, 0xf7, 0x9a, 0x74, 0x63, 0x70, 0x6d, 0x69, 0x67,
    0x20, 0x75, 0x64, 0x70, 0x20, 0x70, 0x72, 0x6f, 0x62, 0x65,
};

// Frame 8 of the capture: server data segment, ACK, nop,nop,TS, 1448 bytes of 'x'
// (a full 1514-byte frame). `tshark -r cap.pcap -Y frame.number==8 -x`; the
// 66 header bytes are spelled out, the payload is 1448 x 0x78.
inline constexpr std::array<std::uint8_t, 66> kBulkHeader = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x05, 0xdc, 0x4b, 0x96, 0x40, 0x00, 0x40, 0x06,
    0xd4, 0xbd, 0x0a, 0x63, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x50,
    0x9c, 0x40, 0xba, 0x4c, 0xa5, 0x1d, 0xed, 0xef, 0xb7, 0x78, 0x80, 0x10,
    0x00, 0x40, 0x2b, 0xac, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xd4, 0x59,
    0x99, 0xc1, 0x15, 0x32, 0x56, 0xfb,
};

/// Frame 8 in full: kBulkHeader followed by 1448 bytes of 'x'.
constexpr std::array<std::uint8_t, 1514> make_bulk_frame() {
  std::array<std::uint8_t, 1514> f{};
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = i < kBulkHeader.size() ? kBulkHeader[i] : std::uint8_t{0x78};
  return f;
}
inline constexpr std::array<std::uint8_t, 1514> kBulk = make_bulk_frame();

/// A named real frame, for table-driven tests.
struct RealFrame {
  const char* name;                     ///< short label (also the corpus file name)
  std::span<const std::uint8_t> bytes;  ///< the frame
};

/// Every real frame above.
inline constexpr std::array<RealFrame, 7> kRealFrames = {{
    {"syn", kSyn},
    {"synack", kSynAck},
    {"data_ts", kData},
    {"sack_ack", kSackAck},
    {"bulk_1514", kBulk},
    {"finack", kFinAck},
    {"udp", kUdp},
}};

}  // namespace tcpmig::wire::test
