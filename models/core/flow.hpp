// A tracked client connection as the core stores it: 64 bytes that every
// packet touches (one cache line), 24 bytes that only handshakes, migrations
// and the idle sweep use, plus its share of the flow index (flow_table.hpp).
//
// Place in the layers: core (private). Sequence numbers are kept in the
// client's view (migrator.hpp, "Terms"): the client's own numbers are never
// translated; the server's are (client view = backend value + seq_delta).
#pragma once

#include <cstdint>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/seq.hpp"

namespace tcpmig::core::detail {

using wire::SeqNumber;

/// "No index" for flows, pending migrations, buffers.
inline constexpr uint32_t kNone = 0xffffffffU;
/// "No window scale option".
inline constexpr uint8_t kNoScale = 0xff;

/// Flow::flags bits.
enum : uint8_t {
  kClientFin = 1,    ///< the client sent a FIN
  kServerFin = 2,    ///< the server sent a FIN
  kReset = 4,        ///< a RST passed
  kServerSpoke = 8,  ///< server data since the client's last new data (the next client data is a request)
  kMapped = 16,      ///< migrated at least once: every packet is rewritten
  kSeen = 32,        ///< a packet since the idle sweep last looked (rule 10 of migrator.hpp)
  kFree = 64,        ///< the slot holds no flow
  kSynAcked = 128,   ///< the server's SYN-ACK was seen
};
/// Any of the bits that end a connection.
inline constexpr uint8_t kEnded = kClientFin | kServerFin | kReset;

/// Flow::opts bits: what the client offered, what its original server and its
/// current backend accepted.
enum : uint8_t {
  kOrigSack = 1, kOrigTs = 2, kOrigWs = 4,    ///< accepted by the flow's first server
  kBackSack = 8, kBackTs = 16, kBackWs = 32,  ///< accepted by the current backend
  kClientSack = 64, kClientTs = 128,          ///< offered in the client's SYN
};

/// The part of a flow every packet touches: one cache line.
struct alignas(64) Flow {
  uint32_t client_ip, service_ip, backend_ip;  ///< addresses (host order)
  uint16_t client_port, service_port, backend_port;
  uint16_t client_window;  ///< last window field from the client (in the client's scaling)
  uint16_t requests;       ///< client requests (rule 2), saturating at 65535
  FlowState state;         ///< where the flow is in its life
  uint8_t flags;           ///< kClientFin...
  uint8_t opts;            ///< kOrigSack...
  uint8_t client_ws;       ///< the client's window scale (kNoScale: none)
  uint8_t orig_ws;         ///< the first server's window scale (kNoScale: none)
  uint8_t backend_ws;      ///< the current backend's window scale (kNoScale: none)
  SeqNumber client_nxt;    ///< one past the highest client sequence number that carried data, SYN or FIN
  SeqNumber server_ack;    ///< highest acknowledgment from the server (client sequence space)
  SeqNumber server_nxt;    ///< one past the highest server sequence number that carried data, SYN or FIN (client view)
  SeqNumber client_ack;    ///< highest acknowledgment from the client (client view of server numbers)
  uint32_t seq_delta;      ///< client view = backend seq + seq_delta
  uint32_t ts_delta;       ///< client view = backend TSval + ts_delta
  uint32_t client_tsval;   ///< highest TSval from the client
  uint32_t server_tsval;   ///< highest TSval from the server (client view)
  uint32_t segments;       ///< client segments that carried new data

  [[nodiscard]] Endpoint client() const { return {wire::Ipv4Address{client_ip}, client_port}; }
  [[nodiscard]] Endpoint service() const { return {wire::Ipv4Address{service_ip}, service_port}; }
  [[nodiscard]] Endpoint backend() const { return {wire::Ipv4Address{backend_ip}, backend_port}; }
  [[nodiscard]] FlowKey key() const { return {client(), service()}; }
  [[nodiscard]] bool on(const Endpoint& e) const { return backend_ip == e.ip.value && backend_port == e.port; }
  [[nodiscard]] bool on_service() const { return backend_ip == service_ip && backend_port == service_port; }
  [[nodiscard]] bool has(uint8_t flag_bits) const { return (flags & flag_bits) != 0; }
};
static_assert(sizeof(Flow) == 64, "a flow's per-packet state is one cache line");

/// The part of a flow that handshakes and migrations use.
struct FlowCold {
  SeqNumber client_isn;         ///< the client's SYN sequence number
  uint32_t migration;           ///< its pending migration's slot, kNone; the next free flow while kFree
  uint32_t generation : 31;     ///< bumped whenever the slot changes connection (stale deadlines skip it)
  uint32_t expiring : 1;        ///< its close_linger expiry deadline is scheduled
  uint32_t last_seen;           ///< tick (flow_table.hpp) when the idle sweep last found kSeen set
  uint16_t client_mss;          ///< MSS of the client's SYN (0: none)
  uint16_t client_syn_window;   ///< window field of the client's SYN
  uint16_t migrations;          ///< completed migrations
  uint16_t backend_mss;         ///< MSS the current backend announced (0: none)
};
static_assert(sizeof(Flow) + sizeof(FlowCold) <= 88, "flow budget: 88 bytes + at most 40 bytes of index");

/// True while a migration of the flow is pending (FlowCold::migration is set).
constexpr bool migrating(FlowState s) {
  return s == FlowState::Armed || s == FlowState::WaitTarget || s == FlowState::WaitSafePoint ||
         s == FlowState::Replaying;
}

/// A window scale shift as used on the wire: the option's value when both
/// sides agreed to scaling, else 0.
constexpr uint8_t shift_of(uint8_t ws, bool negotiated) { return negotiated && ws != kNoScale ? ws : 0; }

}  // namespace tcpmig::core::detail
