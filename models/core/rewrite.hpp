// Rewriting a migrated flow's packets (rule 5 of migrator.hpp): pure
// functions of a Segment and a Mapping, with no flow table and no Migrator,
// so each can be tested by table on its own (tests/core/rewrite_rules_test.cpp).
//
// Place in the layers: core (private). Called by Migrator::process for every
// packet of a flow that has been migrated, and by the migration state machine
// for packets it releases or makes in the client's name (for a flow still on
// its first server the Mapping changes nothing).
#pragma once

#include <cstdint>

#include "flow.hpp"
#include "segment.hpp"

namespace tcpmig::core::detail {

/// Everything the rewrite needs to know about a migrated flow.
struct Mapping {
  Endpoint service;         ///< what the client connected to: the source of packets towards it
  Endpoint backend;         ///< where the flow lives now: the destination of packets towards it
  uint32_t seq_delta = 0;   ///< client view of server numbers = backend value + seq_delta
  uint32_t ts_delta = 0;    ///< client view of server TSvals = backend TSval + ts_delta
  uint8_t c2s_from = 0;     ///< shift the client's window field is in (what its first server agreed)
  uint8_t c2s_to = 0;       ///< shift the backend reads the client's window field with
  uint8_t s2c_from = 0;     ///< shift the backend's window field is in
  uint8_t s2c_to = 0;       ///< shift the client reads server window fields with (its first server's)
  bool backend_sack = true; ///< the backend accepted SACK (else SACK options become NOPs)
};

/// The Mapping of a flow as it stands.
[[nodiscard]] inline Mapping mapping_of(const Flow& f) {
  Mapping m;
  m.service = f.service();
  m.backend = f.backend();
  m.seq_delta = f.seq_delta;
  m.ts_delta = f.ts_delta;
  m.c2s_from = shift_of(f.client_ws, (f.opts & kOrigWs) != 0);
  m.c2s_to = shift_of(f.client_ws, (f.opts & kBackWs) != 0);
  m.s2c_from = shift_of(f.backend_ws, (f.opts & kBackWs) != 0);
  m.s2c_to = shift_of(f.orig_ws, (f.opts & kOrigWs) != 0);
  m.backend_sack = (f.opts & kBackSack) != 0;
  return m;
}

/// A window field scaled by `from` re-expressed for a reader scaling by `to`:
/// rounded up (a window never shrinks to 0 from nonzero), at most 65535.
[[nodiscard]] constexpr uint16_t rescale_window(uint16_t field, uint8_t from, uint8_t to) {
  if (from == to) return field;
  const uint64_t bytes = uint64_t{field} << from;
  const uint64_t out = (bytes + (uint64_t{1} << to) - 1) >> to;
  return static_cast<uint16_t>(out < 0xffff ? out : 0xffff);
}

/// Client -> backend: destination = backend, ack and SACK edges -= seq_delta,
/// TSecr -= ts_delta (when nonzero on an ACK), window rescaled (not on a
/// SYN), SACK options NOPed when the backend refused SACK.
void rewrite_to_backend(Segment& s, const Mapping& m);

/// Backend -> client: source = service, seq += seq_delta, TSval += ts_delta,
/// window rescaled (not on a SYN).
void rewrite_to_client(Segment& s, const Mapping& m);

}  // namespace tcpmig::core::detail
