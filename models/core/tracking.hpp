// Following a flow's handshake and both directions (rule 1 of migrator.hpp):
// pure functions of a flow record and a segment, no table and no Migrator.
//
// Place in the layers: core (private). Called by Migrator::process for every
// packet of a tracked flow, before the migration state machine looks at it.
// Rules:
// - Only a segment that occupies sequence space (data, SYN or FIN) moves the
//   highest sequence number of its sender: a pure ACK's sequence number says
//   where its sender is, not what it sent, and after an upstream loss it is
//   ahead of what the gateway saw (the retransmission must still count as new
//   data: a request, and possibly the cut).
// - Acknowledgments and TSvals only move forward (wrap-aware, RFC 7323 5.3
//   for TSvals): a reordered old segment does not pull them back.
// - Client data is *new* when it ends beyond every byte the client sent
//   before; new data after server data (or the first data) is one request.
#pragma once

#include "flow.hpp"
#include "segment.hpp"

namespace tcpmig::core::detail {

/// The client's options (its SYN), as recorded.
TcpOptions client_options(const Flow& f, const FlowCold& c);
/// What the current backend accepted, as recorded.
TcpOptions backend_options(const Flow& f, const FlowCold& c);

/// The client's SYN (first or retransmitted): its ISN and options.
void record_client_syn(Flow& f, FlowCold& c, const Segment& syn);

/// The first server's SYN-ACK: what it accepted (each option only if the
/// client offered it) and its ISN.
void record_server_synack(Flow& f, FlowCold& c, const Segment& synack);

/// What a client segment changed.
struct ClientStep {
  SeqNumber prev_nxt;  ///< client_nxt before the segment
  SeqNumber prev_ack;  ///< client_ack before the segment
  bool new_data = false;  ///< the segment carries bytes beyond prev_nxt
};

/// Tracks a client segment (not a SYN of a new connection): highest sequence
/// number, acknowledgment, TSval, window, requests and segments, FIN and RST.
ClientStep track_client(Flow& f, const Segment& s);

/// Tracks a backend segment (not the first SYN-ACK) in the client's view;
/// returns server_nxt before the segment.
SeqNumber track_server(Flow& f, const Segment& s);

/// The handshake has not completed: no SYN-ACK, or the client has not
/// acknowledged it yet (rule 10: such flows leave after Config::syn_timeout).
[[nodiscard]] bool half_open(const Flow& f);

/// Both FINs sent and acknowledged, or a RST passed: nothing more will come.
[[nodiscard]] bool finished(const Flow& f);

}  // namespace tcpmig::core::detail
