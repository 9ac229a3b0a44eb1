// The pure rewrite functions (models/core/rewrite.hpp) by table, without a
// Migrator: one packet and one Mapping in, the rewritten packet out, every
// header field and option compared, both checksums recomputed in full.
// Each row names the part of rule 5 (core/migrator.hpp) it checks.
#include "packets.hpp"
#include "rewrite.hpp"
#include "segment.hpp"

namespace coretest {
namespace {

using core::detail::Mapping;
using core::detail::rescale_window;
using core::detail::rewrite_to_backend;
using core::detail::rewrite_to_client;
using core::detail::Segment;

/// S1 -> S2 after 1101 / 5201 (the standard flow of packets.hpp): seq_delta
/// maps S2's numbers to the client's view, ts_delta its TSvals.
Mapping s2_mapping() {
  Mapping m;
  m.service = kService;
  m.backend = kS2;
  m.seq_delta = 5201 - (kS2Isn + 1);
  m.ts_delta = 7001 - kS2Ts;
  m.c2s_from = m.c2s_to = 7;
  m.s2c_from = m.s2c_to = 7;
  m.backend_sack = true;
  return m;
}

struct RewriteRow {
  const char* what;       ///< the rule it checks
  bool to_backend;        ///< rewrite_to_backend, else rewrite_to_client
  Endpoint src, dst;      ///< the packet's addresses
  TcpRepr in;             ///< the packet
  Mapping map;            ///< the flow
  Endpoint want_src, want_dst;
  TcpRepr want;           ///< the packet after
};

void run(const RewriteRow& row, bool spoil_checksum = false) {
  const std::string what = row.what;
  CAPTURE(what);
  std::vector<uint8_t> bytes = packet(row.src, row.dst, row.in);
  if (spoil_checksum) bytes[bytes.size() - 1] ^= 0x55;  // payload byte: the TCP checksum no longer verifies
  Segment s;
  REQUIRE(Segment::parse(bytes, s) == Reason::Count);
  if (row.to_backend) {
    rewrite_to_backend(s, row.map);
  } else {
    rewrite_to_client(s, row.map);
  }
  if (spoil_checksum) {
    CHECK_FALSE(decode(bytes).tcp_csum);  // a damaged packet stays damaged
    CHECK(decode(bytes).ip_csum);
    return;
  }
  check_packet(bytes, row.want_src, row.want_dst, row.want);  // both checksums by full recompute
}

TEST_CASE("rewrite_to_backend / rewrite_to_client by table (rule 5)") {
  const Mapping m = s2_mapping();
  Mapping no_sack = m;
  no_sack.backend_sack = false;
  Mapping scale_2 = m;  // the target announced window scale 2 (the client's stays 7)
  scale_2.s2c_from = 2;
  Mapping unscaled = m;  // the target refused window scaling: both ways unscaled there
  unscaled.c2s_to = 0;
  unscaled.s2c_from = 0;
  const uint32_t d = m.seq_delta;
  const uint32_t td = m.ts_delta;
  const std::vector<RewriteRow> rows = {
      {"client ACK: destination, ack -= seq_delta, TSecr -= ts_delta", true, kClient, kService,
       with_ts(seg(flag::ACK, 1101, 5301), 104, 7100), m, kClient, kS2,
       with_ts(seg(flag::ACK, 1101, 5301 - d), 104, 7100 - td)},
      {"client data: the payload is untouched", true, kClient, kService,
       with_ts(seg(flag::ACK | flag::PSH, 1101, 5201, 40), 104, 7001), m, kClient, kS2,
       with_ts(seg(flag::ACK | flag::PSH, 1101, 5201 - d, 40), 104, 7001 - td)},
      {"TSecr 0 is not translated (no echo yet)", true, kClient, kService, with_ts(seg(flag::ACK, 1101, 5201), 104, 0),
       m, kClient, kS2, with_ts(seg(flag::ACK, 1101, 5201 - d), 104, 0)},
      {"a RST without ACK: only the address", true, kClient, kService, seg(flag::RST, 1101, 0), m, kClient, kS2,
       seg(flag::RST, 1101, 0)},
      {"SACK edges -= seq_delta", true, kClient, kService,
       with_sack(with_ts(seg(flag::ACK, 1101, 5201), 104, 7001), {{5301, 5401}, {5501, 5601}}), m, kClient, kS2,
       with_sack(with_ts(seg(flag::ACK, 1101, 5201 - d), 104, 7001 - td), {{5301 - d, 5401 - d}, {5501 - d, 5601 - d}})},
      {"SACK to a backend that refused it: NOPs (the option is gone)", true, kClient, kService,
       with_sack(seg(flag::ACK, 1101, 5201), {{5301, 5401}}), no_sack, kClient, kS2, seg(flag::ACK, 1101, 5201 - d)},
      {"client window to an unscaled backend: scaled up by 2^7, capped", true, kClient, kService,
       with_window(seg(flag::ACK, 1101, 5201), 3), unscaled, kClient, kS2,
       with_window(seg(flag::ACK, 1101, 5201 - d), 384)},
      {"backend data: source = service, seq += seq_delta, TSval += ts_delta", false, kS2, kClient,
       with_ts(seg(flag::ACK | flag::PSH, kS2Isn + 1, 1101, 30), kS2Ts + 5, 104), m, kService, kClient,
       with_ts(seg(flag::ACK | flag::PSH, 5201, 1101, 30), 7001 + 5, 104)},
      {"backend window in scale 2 for a client reading scale 7: rounded up", false, kS2, kClient,
       with_window(seg(flag::ACK, kS2Isn + 1, 1101), 1000), scale_2, kService, kClient,
       with_window(seg(flag::ACK, 5201, 1101), 32)},
      {"a backend window of 1 never becomes 0", false, kS2, kClient, with_window(seg(flag::ACK, kS2Isn + 1, 1101), 1),
       scale_2, kService, kClient, with_window(seg(flag::ACK, 5201, 1101), 1)},
      {"backend FIN", false, kS2, kClient, seg(flag::ACK | flag::FIN, kS2Isn + 1, 1101), m, kService, kClient,
       seg(flag::ACK | flag::FIN, 5201, 1101)},
  };
  for (const RewriteRow& row : rows) run(row);
  for (const RewriteRow& row : rows) run(row, true);
}

TEST_CASE("rewriting at sequence-number and TSval wrap-around (rule 5)") {
  Mapping m = s2_mapping();
  m.seq_delta = 0x10;       // backend 0xfffffff8 is client 0x00000008
  m.ts_delta = 0xfffffff0;  // backend TSval 0x20 is client 0x10
  run({"backend seq wraps", false, kS2, kClient, with_ts(seg(flag::ACK, 0xfffffff8U, 1101, 8), 0x20, 104), m,
       kService, kClient, with_ts(seg(flag::ACK, 0x00000008, 1101, 8), 0x10, 104)});
  run({"client ack wraps back", true, kClient, kService, with_ts(seg(flag::ACK, 1101, 0x00000004), 104, 0x10), m,
       kClient, kS2, with_ts(seg(flag::ACK, 1101, 0xfffffff4U), 104, 0x20)});
}

TEST_CASE("rescale_window: exact, rounded up, never 0 from nonzero, capped at 65535") {
  CHECK(rescale_window(100, 7, 7) == 100);
  CHECK(rescale_window(100, 7, 2) == 3200);
  CHECK(rescale_window(100, 2, 7) == 4);  // 400 bytes: 3.125 units, rounded up
  CHECK(rescale_window(1, 0, 14) == 1);
  CHECK(rescale_window(0, 0, 14) == 0);
  CHECK(rescale_window(65535, 14, 0) == 65535);
  CHECK(rescale_window(512, 7, 0) == 65535);
}

}  // namespace
}  // namespace coretest
