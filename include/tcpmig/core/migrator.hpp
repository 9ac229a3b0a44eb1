// The migration core: moves live client TCP connections from one backend
// server to another by replaying the client's handshake to the new server
// and rewriting every later packet in both directions.
//
// Place in the layers: core, on top of wire only (std only, no simulator, no
// OS header). Hosts: the simulator's gateway node (models/gateway) and the
// NFQUEUE gateway. Call chain per packet:
//   host -> Migrator::process(ipv4 bytes, direction, now)
//        -> flow lookup (open addressing, flow_table.hpp) -> per-flow tracking
//        -> rewrite in place (incremental RFC 1624 checksums) -> Verdict
//   host -> Migrator::poll(now) at next_deadline(): replayed-SYN retransmits,
//        time triggers, expiry of closed flows.
//   Migrator -> PacketSink::emit(): packets the core makes (replayed SYN, the
//        third ACK, RST to the old server) and packets it held and releases.
//
// Terms. A *flow* is one client connection, keyed by what the client sees:
// client ip:port <-> service ip:port (the address the client connected to).
// Its *backend* is the server that currently holds the connection; it starts
// as the service address itself. Sequence numbers are kept in the client's
// view: the client's own numbers never change; the server's numbers are
// translated (client view = backend value + seq_delta).
//
// Rules (README "Migration core" says the same for users):
// 1. Tracking. A client SYN (direction ClientToServer, SYN without ACK)
//    creates a flow and records its options (MSS, window scale,
//    SACK-permitted, timestamps). The SYN-ACK records what the server
//    accepted. Afterwards the core follows the highest sequence number sent
//    and acknowledged in each direction and the last TSval each way.
//    Connections whose handshake the core did not see are unknown: they pass
//    unchanged (counter unknown_flow) and cannot be migrated.
// 2. Triggers. A migration request names a flow (migrate_flow) or every flow
//    of a service (migrate_service), a target backend and a trigger: now, at
//    a time, or after N client requests / data segments / payload bytes.
//    A *request* is a client data segment that follows server data (or is
//    the first client data): one turn of a request/response exchange. A
//    service request also applies to flows opened after it, each when its
//    own count is reached (count triggers), or to the flows present at the
//    time (time triggers). A migration whose target is not yet up
//    (wait_for_target) stays triggered until target_ready() names it.
//    One migration runs per flow at a time; a request for a flow that has
//    one pending is queued behind it (at most Config::max_queued) and begins
//    when it ends, whatever its outcome; a service's count rules apply to a
//    new flow in request order, the first begins, the others queue. Every
//    queued request has its record from the start (outcome pending).
// 3. Safe point (SafePoint): the replay starts only where no byte can be
//    lost or answered twice.
//    - ClientData (default for count triggers, the seed's packet_m): the
//      cut is the first new client data after the trigger. Client data at
//      or beyond the cut is held; once the old backend has acknowledged
//      every byte before the cut and the client every byte of server data,
//      the replay starts. The old backend keeps getting everything it still
//      needs: retransmissions below the cut and pure ACKs pass; a held
//      segment that straddles the cut is also sent trimmed to the cut, and
//      one whose acknowledgement is new is also sent as a pure ACK (made by
//      the core), so the old backend can finish sending. The core cannot see
//      data a server has not sent yet: "everything acknowledged" is the best
//      a transparent gateway can observe (it knows no application state).
//    - Quiescent (default for time triggers and `now`): both directions
//      fully acknowledged; the cut is the client's next sequence number.
//      Checked at the trigger and after every packet of the flow.
//    A flow that has sent or received a FIN or RST is not migrated: the
//    request ends as aborted (flow closing).
// 4. Replay. A SYN from the client's address to the target with
//    seq = cut - 1 and only the options the old server accepted (values from
//    the client's SYN; TSval = the client's TSval at the cut, so no held
//    packet is older than the target's TS.Recent). Every client packet of
//    the flow is held meanwhile (up to Config::hold_packets per flow; more
//    are dropped, counter hold_overflow, and the client retransmits them).
//    The SYN is retransmitted after replay_rto, doubling, replay_retries
//    times. On the target's SYN-ACK (ack == cut): record its ISN and
//    options, send the third ACK, release the held packets rewritten, then
//    send a RST to the old backend (Config::reset_old_backend). Abort (the
//    flow stays on the old backend, held packets are released to it,
//    rewritten for it as any of its packets): a RST from the target (with
//    ACK = cut); new data, a FIN or a RST from the old backend during the
//    replay (the target's half-open connection is reset); no answer one
//    doubled timeout after the last retry (a RST with seq = cut is sent to
//    the target, in case it answers late), or a SYN-ACK without timestamps
//    when the client uses them (the client would drop every segment; a RST
//    is sent to the target). A target SYN-ACK whose ACK is not the cut is
//    dropped (replay_handshake) and changes nothing.
// 5. Rewriting after a migration. Client -> server: destination = backend,
//    ack -= seq_delta, TSecr -= ts_delta, SACK edges -= seq_delta, window
//    field rescaled when the target did not accept window scaling, SACK
//    options turned into NOPs when the target did not accept SACK.
//    Server -> client: source = service address, seq += seq_delta,
//    TSval += ts_delta, window field rescaled from the backend's shift to
//    the one the client knows (rounded up, never to 0 from nonzero).
//    Checksums are updated incrementally (RFC 1624); an incoming checksum
//    that was wrong stays wrong, so the receiver still drops the packet.
//    Packets from a former backend of a flow (the service address or any
//    server it was on before) are dropped (stale_backend).
//    In a chain, "the options the old server accepted" are those the flow's
//    original server accepted: the client's view of the connection never
//    changes, so every replay offers the same options.
// 6. Chains and returns: every migration computes its deltas from the
//    client's view, so S1 -> S2 -> S3 and S2 -> S1 compose.
// 7. Bad packets never crash the core. Not IPv4, IPv4 fragments, non-TCP,
//    truncated headers or malformed TCP options: passed unchanged and
//    counted (a router is not the place to drop them; the end host will).
//    A tracked flow's packet with malformed options is passed unchanged
//    before a migration and dropped after one (rewriting it is impossible).
// 8. Table: Config::max_flows flows (open addressing, no allocation per
//    packet); a SYN when the table is full passes untracked (table_full).
//    A flow is forgotten close_linger after both FINs were acknowledged or a
//    RST passed.
// 9. A migration never hurts the connection it moves.
//    - A target equal to the flow's backend is refused (Refusal::SameBackend
//      from migrate_flow; a service request leaves such flows alone and
//      counts them, RequestInfo::on_target; a queued migration whose target
//      is the backend by the time it would begin ends `refused`).
//    - Every RST the core sends goes to a connection that no longer carries
//      the flow: the old backend after completion, the target after an abort
//      (never the backend), a former backend.
//    - The old backend's connection ends even when that RST is lost
//      (Config::reset_old_backend): a packet from a former backend that
//      carries an ACK is answered with a RST whose seq is that ACK; and a
//      target answering the replayed SYN with a plain ACK (the challenge ACK
//      of RFC 5961 section 4 from a connection it still holds on that tuple,
//      say after a lost RST when a flow returns) gets a RST with seq = that
//      ACK, the exact value its RCV.NXT needs, and the SYN is sent again at
//      once (it counts as a retry).
//    - Only a client segment that occupies sequence space (data, SYN, FIN)
//      moves the client's highest sequence number: a pure ACK sent after an
//      upstream loss must not make the retransmitted request look old (it
//      is counted as a request and can be the cut).
// 10. Long-running hosts (README "Running the gateway").
//    - Idle expiry: a flow with no packet for Config::idle_timeout (one whose
//      handshake never completed, the client's ACK of the SYN-ACK included:
//      Config::syn_timeout, so a SYN flood the server answers cannot hold the
//      table for days) leaves the table.
//      Every packet sets a "seen" bit in the flow's cache line, which the
//      packet writes anyway (no extra memory touched per packet). The table
//      is swept in slices as the host calls process() and poll(), every
//      Config::sweep_interval, so all of it is visited every 64 intervals at
//      most; a visit that finds the bit clears it and stores the time as the
//      flow's last-seen tick (2^24 ns, about 17 ms; 4 bytes in the flow's
//      cold part). That time can be one cycle late, and the visit that expires
//      the flow one cycle after the timeout: a flow leaves between its
//      timeout and two sweep cycles later, never earlier. A migrated flow that
//      expires loses its mapping: its next packet passes unrewritten and the
//      connection ends, so idle_timeout must exceed the idle periods of the
//      connections a host migrates. next_deadline()
//      does not include sweeps: a host
//      with no traffic still calls poll() every sweep_interval. A migration
//      not yet replaying on an expired flow ends aborted-idle; a flow whose
//      replay is under way is never expired (its own timers end it).
//    - Records: with Config::keep_records (the default; the simulator's runs
//      end) records() holds every migration. A host that runs for months sets
//      it false: a finished record is handed to MigrationObserver::on_finished
//      and then forgotten; pending_records() lists those still pending.
//    - Rules: rules() lists the service requests that still reach flows (count
//      triggers, and time triggers not yet fired), in request order, which is
//      also their precedence: when several match a new flow, the first
//      begins and the others queue behind it (rule 2). cancel() ends a
//      request: its rule stops, its migrations that have not begun their
//      replay end `cancelled` (held packets go to the old backend); a replay
//      under way finishes on its own.
//    - target_down(): migrations to the target that have not begun their
//      replay end aborted-target-down, and new ones are refused
//      (Refusal::TargetDown) until target_ready() names it again; service
//      rules to it skip new flows meanwhile (no record).
//    - The flow hash is keyed (Config::hash_seed, a 128-bit multiply mix of
//      the addresses and ports with four keys derived from the seed), so
//      clients that choose their ports cannot aim at one index cluster
//      without knowing the seed.
//    - Partial checksums (Checksum::Partial): the TCP checksum field holds
//      only the pseudo-header sum, as Linux hands over packets whose
//      checksum the NIC or GSO completes (NFQUEUE's CSUMNOTREADY). The core
//      keeps it so: an address change adjusts that sum, changes inside the
//      TCP header do not touch it. A held partial packet is completed before
//      it is emitted (emitted packets always carry full checksums).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/result.hpp"

namespace tcpmig::core {

using wire::Ipv4Address;

/// Time in integer nanoseconds, from whatever epoch the host uses.
using Nanos = int64_t;
/// "No deadline".
inline constexpr Nanos kNever = std::numeric_limits<Nanos>::max();

/// An IPv4 address and TCP port.
struct Endpoint {
  Ipv4Address ip;
  uint16_t port = 0;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};
/// "a.b.c.d:port".
std::string endpoint_text(const Endpoint& e);

/// A flow as the client sees it.
struct FlowKey {
  Endpoint client;
  Endpoint service;
  friend constexpr bool operator==(const FlowKey&, const FlowKey&) = default;
};

/// Which way a packet travels; the host decides (e.g. by ingress interface).
enum class Direction : uint8_t { ClientToServer, ServerToClient };

/// What the TCP checksum field of a packet holds (rule 10).
enum class Checksum : uint8_t {
  Complete,  ///< the full checksum (or a wrong one, which stays wrong)
  Partial,   ///< only the pseudo-header sum; something below completes it later
};

/// What the host does with the packet it passed to process().
enum class Action : uint8_t {
  Pass,      ///< forward unchanged
  Modified,  ///< forward; the bytes were rewritten in place
  Drop,      ///< discard (the core may have kept a copy to emit later)
};

/// Every outcome the core counts, one counter each (Counters::by_reason).
enum class Reason : uint8_t {
  // Passed unchanged.
  NotIpv4,          ///< not an IPv4 header (version) or shorter than one
  Fragment,         ///< IPv4 fragment
  NotTcp,           ///< IPv4, protocol not TCP
  Malformed,        ///< IPv4/TCP header or TCP options malformed (tracked or not)
  UnknownFlow,      ///< TCP, no tracked flow
  TableFull,        ///< a client SYN not tracked: table full
  Tracked,          ///< a tracked flow's packet before any migration
  // Rewritten.
  Rewritten,        ///< a migrated flow's packet, rewritten
  // Dropped.
  Held,             ///< client packet held during a migration (emitted later)
  HoldOverflow,     ///< client packet dropped: the flow's hold queue was full
  ReplayHandshake,  ///< the target's SYN-ACK or RST to the replayed SYN (consumed)
  StaleBackend,     ///< packet from a former backend of the flow
  MalformedMigrated,  ///< a migrated flow's packet that cannot be rewritten
  Count
};
/// Stable lower-case name ("hold-overflow").
const char* reason_name(Reason r);

/// The answer to process().
struct Verdict {
  Action action = Action::Pass;
  Reason reason = Reason::UnknownFlow;
};

/// Why a migration request was refused (migrate_flow's error; a record's
/// `refusal` when its outcome is Refused).
enum class Refusal : uint8_t {
  UnknownFlow,          ///< no tracked flow has this key
  HandshakeIncomplete,  ///< the server's SYN-ACK has not been seen yet
  Closing,              ///< the flow saw a FIN or a RST
  SameBackend,          ///< the target is the flow's backend (or the target of its last queued migration)
  QueueFull,            ///< Config::max_queued migrations already wait for this flow
  TargetDown,           ///< the target was marked down (target_down) and not ready since
  Count
};
/// Stable lower-case name ("same-backend").
const char* refusal_name(Refusal r);

/// When the replay may start (rule 3).
enum class SafePoint : uint8_t {
  Auto,        ///< ClientData for count triggers, Quiescent for time/now
  ClientData,  ///< at new client data, once everything before it is acknowledged
  Quiescent,   ///< when both directions are fully acknowledged
  Count
};

/// When a migration fires (rule 2).
struct Trigger {
  enum class Kind : uint8_t { Now, AtTime, AfterRequests, AfterSegments, AfterBytes, Count };
  Kind kind = Kind::Now;
  Nanos at = 0;        ///< AtTime: when
  uint64_t count = 0;  ///< After*: how many client requests (at most 65535) / data segments (2^32 - 1) / bytes (2^32 - 1)
  SafePoint safe_point = SafePoint::Auto;

  static Trigger now() { return {}; }
  static Trigger at_time(Nanos t) { return {Kind::AtTime, t, 0, SafePoint::Auto}; }
  static Trigger after_requests(uint64_t n) { return {Kind::AfterRequests, 0, n, SafePoint::Auto}; }
  static Trigger after_segments(uint64_t n) { return {Kind::AfterSegments, 0, n, SafePoint::Auto}; }
  static Trigger after_bytes(uint64_t n) { return {Kind::AfterBytes, 0, n, SafePoint::Auto}; }
};
/// "now", "at 1.5s", "after 2 requests", ... (durations exact, in the largest unit reached).
std::string trigger_text(const Trigger& t);

/// Options of one side of a handshake.
struct TcpOptions {
  uint16_t mss = 0;                     ///< 0: none
  std::optional<uint8_t> window_scale;  ///< shift
  bool sack_permitted = false;
  bool timestamps = false;
  friend constexpr bool operator==(const TcpOptions&, const TcpOptions&) = default;
};
/// "mss 1460, wscale 7, sackOK, TS" ("none" when empty).
std::string options_text(const TcpOptions& o);

/// Where a flow is in its life.
enum class FlowState : uint8_t {
  SynSent,      ///< client SYN seen
  Established,  ///< SYN-ACK seen; traffic flows
  Armed,        ///< a migration is requested, its trigger has not fired
  WaitTarget,   ///< triggered; the target is not up yet
  WaitSafePoint,  ///< triggered; waiting for the safe point (client data may be held)
  Replaying,    ///< replayed SYN sent, client packets held
  Closing,      ///< FIN/RST seen; kept for close_linger
  Count
};
const char* flow_state_name(FlowState s);

/// One flow, for status queries.
struct FlowStatus {
  FlowKey key;
  FlowState state = FlowState::SynSent;
  Endpoint backend;          ///< current backend
  uint32_t migrations = 0;   ///< completed migrations of this flow
  uint32_t seq_delta = 0;    ///< client view of server seq = backend seq + seq_delta
  uint32_t ts_delta = 0;     ///< client view of server TSval = backend TSval + ts_delta
  uint64_t client_bytes = 0; ///< client payload bytes seen (new data)
  uint32_t requests = 0;     ///< client requests seen (rule 2)
  uint32_t segments = 0;     ///< client data segments seen (new data)
  uint32_t queued = 0;       ///< migrations queued behind the pending one (rule 2)
};

/// How a migration ended.
enum class Outcome : uint8_t {
  Pending,        ///< not finished
  Completed,      ///< the flow is on the target
  AbortedRst,     ///< the target answered the replayed SYN with RST
  AbortedTimeout, ///< no SYN-ACK after the last retry
  AbortedOptions, ///< the target refused timestamps the client uses
  AbortedClosing, ///< the flow saw FIN/RST before the replay
  AbortedTable,   ///< the target's key is in use by another flow, or the table is full
  AbortedServer,  ///< the old backend sent new data, a FIN or a RST during the replay
  Refused,        ///< queued, but could not begin (MigrationRecord::refusal says why)
  Cancelled,      ///< cancel() ended it before its replay began
  AbortedTargetDown,  ///< target_down() named its target before its replay began
  AbortedIdle,    ///< the flow expired idle before the replay began (rule 10)
  Count
};
const char* outcome_name(Outcome o);

/// What happened in one migration (the CLI's summary and JSON).
struct MigrationRecord {
  uint64_t id = 0;             ///< index in records(), in the order of the requests (and of the
                               ///< flows a service request reached)
  uint64_t request = 0;        ///< the request it came from (migrate_service's result; one number
                               ///< per accepted migrate_flow and per migrate_service call, from 0)
  FlowKey flow;
  Endpoint from, to;           ///< old backend, target
  Trigger trigger;
  Outcome outcome = Outcome::Pending;
  Refusal refusal = Refusal::Count;  ///< why, when the outcome is Refused
  Nanos requested_at = kNever;   ///< request made (a queued migration begins later)
  Nanos triggered_at = kNever;   ///< trigger fired
  Nanos safe_point_at = kNever;  ///< replay started (first SYN)
  Nanos synack_at = kNever;      ///< target's SYN-ACK arrived
  Nanos finished_at = kNever;    ///< completed or aborted
  Nanos first_hold_at = kNever;  ///< first client packet held
  uint32_t syn_sent = 0;         ///< replayed SYNs (1 + retransmissions)
  uint32_t target_resets = 0;    ///< RSTs sent to clear a stale connection the target held on the tuple
  uint32_t held = 0;             ///< client packets held
  uint32_t hold_dropped = 0;     ///< client packets dropped: hold queue full
  uint32_t cut = 0;              ///< client sequence number of the cut (target's IRS + 1)
  uint32_t seq_delta = 0;        ///< after completion
  uint32_t ts_delta = 0;         ///< after completion
  TcpOptions client_options;     ///< the client's SYN
  TcpOptions old_options;        ///< what the old backend accepted
  TcpOptions new_options;        ///< what the target accepted
  /// Replay handshake round trip (synack_at - safe_point_at, first SYN).
  [[nodiscard]] Nanos replay_rtt() const { return synack_at == kNever ? kNever : synack_at - safe_point_at; }
  /// Time the client's packets waited in the core (finished_at - first_hold_at), 0 if none held.
  [[nodiscard]] Nanos client_stall() const { return first_hold_at == kNever ? 0 : finished_at - first_hold_at; }
};

/// Counters, by reason and of events.
struct Counters {
  std::array<uint64_t, static_cast<std::size_t>(Reason::Count)> by_reason{};
  uint64_t packets = 0;           ///< process() calls
  uint64_t flows_created = 0;
  uint64_t flows_expired = 0;
  uint64_t syn_sent = 0;          ///< replayed SYNs, retransmissions included
  uint64_t resets_sent = 0;       ///< RSTs sent, all kinds (rule 9)
  uint64_t stale_resets = 0;      ///< of which: answers to packets from former backends
  uint64_t target_resets = 0;     ///< of which: answers to a target's challenge ACK during a replay
  uint64_t migrations_requested = 0;
  uint64_t migrations_completed = 0;
  uint64_t migrations_aborted = 0;   ///< every other end: aborts, refusals once queued, cancels
  uint64_t migrations_cancelled = 0; ///< of which: cancel()
  uint64_t flows_idle = 0;           ///< flows_expired of which: idle (rule 10)
  uint64_t emitted = 0;              ///< packets handed to PacketSink::emit (made or released)
  [[nodiscard]] uint64_t operator[](Reason r) const { return by_reason[static_cast<std::size_t>(r)]; }
};

/// What one request (migrate_flow or migrate_service) reached.
struct RequestInfo {
  uint32_t records = 0;    ///< records made: migrations begun or queued (or refused once queued)
  uint32_t on_target = 0;  ///< flows of the service left alone: already on the target
  uint32_t closing = 0;    ///< flows of the service left alone: closing
};

/// What the core holds now (Migrator::gauges; computed on demand, O(flows)).
struct Gauges {
  uint64_t held = 0;  ///< client packets held by pending migrations
  std::array<uint64_t, static_cast<std::size_t>(FlowState::Count)> flows_by_state{};  ///< flows in each state
  uint64_t rules = 0;    ///< service rules that still reach flows
  uint64_t pending = 0;  ///< migrations not finished (begun or queued)
};

/// A service request that still reaches flows (Migrator::rules).
struct RuleStatus {
  uint64_t request = 0;      ///< its request number (MigrationRecord::request)
  Endpoint service, target;  ///< which flows, where to
  Trigger trigger;           ///< when each flow goes
  bool wait_for_target = false;
  uint32_t records = 0;      ///< migrations it made so far
};

/// What cancel() ended.
struct CancelInfo {
  bool rule = false;        ///< a service rule stopped
  uint32_t migrations = 0;  ///< migrations ended `cancelled` (begun or queued)
};

/// One packet of a burst (Migrator::process_burst).
struct BurstPacket {
  std::span<uint8_t> ipv4;                            ///< the whole IPv4 packet, rewritten in place
  Direction dir = Direction::ClientToServer;          ///< as for process()
  Checksum checksum = Checksum::Complete;             ///< as for process()
  Verdict verdict;                                    ///< set by process_burst
};

/// Receives the packets the core makes or releases: complete IPv4 packets
/// with valid checksums, to be routed like any forwarded packet in the
/// given direction. The bytes are valid only during the call, which runs
/// inside the core: it must not call back into the Migrator. Packets made
/// while the core handles a packet are emitted before that packet's verdict
/// is returned (the host forwards them first).
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void emit(std::span<const uint8_t> ipv4, Direction dir) = 0;
};

/// Told about migration progress (optional). Callbacks run inside the core:
/// they must not call into the Migrator (schedule the work for later).
class MigrationObserver {
 public:
  virtual ~MigrationObserver() = default;
  /// A trigger fired (the flow now waits for its target or safe point).
  virtual void on_triggered(const MigrationRecord&) {}
  /// A migration completed or aborted.
  virtual void on_finished(const MigrationRecord&) {}
};

/// Tuning; the defaults suit a LAN gateway.
struct Config {
  uint32_t max_flows = 65536;        ///< flow table capacity (memory ~ 128 bytes x max_flows)
  uint32_t hold_packets = 64;        ///< held client packets per migrating flow
  uint32_t max_queued = 16;          ///< migrations that may queue behind a flow's pending one
  Nanos replay_rto = 1'000'000'000;  ///< first replayed-SYN timeout (doubles)
  uint32_t replay_retries = 3;       ///< replayed-SYN retransmissions before aborting
  Nanos close_linger = 60'000'000'000;  ///< flows are forgotten this long after closing
  bool reset_old_backend = true;     ///< send a RST to the old backend after migrating, and to
                                     ///< former backends that still send (rule 9)
  uint8_t ttl = 64;                  ///< TTL of packets the core makes
  /// Flows with no packet this long leave the table (rule 10); the default is
  /// Linux conntrack's nf_conntrack_tcp_timeout_established (5 days). At most
  /// 2^30 ticks (about 208 days).
  Nanos idle_timeout = 432'000'000'000'000;
  /// Flows whose handshake never completed leave after this long without a
  /// packet (conntrack's SYN_SENT timeout, 120 s).
  Nanos syn_timeout = 120'000'000'000;
  /// How often a slice of the table is swept for idle flows (rule 10).
  Nanos sweep_interval = 1'000'000'000;
  /// Keep every record (records()); false: a finished record is forgotten
  /// once MigrationObserver::on_finished saw it (rule 10).
  bool keep_records = true;
  /// Key of the flow hash (rule 10); hosts facing the Internet pick it at
  /// random. The same seed gives the same table layout.
  uint64_t hash_seed = 0;
  /// Where the flow table (flows + index, all of it allocated when the core
  /// is made) lives; nullptr: operator new. At millions of flows every packet
  /// touches two random pages, so a host can hand out 2 MiB pages here (on
  /// Linux: mmap + madvise(MADV_HUGEPAGE)) to save the TLB misses; the core
  /// itself makes no OS call. Must outlive the Migrator.
  std::pmr::memory_resource* table_memory = nullptr;
};

/// The migration core. Single-threaded; one instance per gateway.
class Migrator {
 public:
  Migrator(const Config& cfg, PacketSink& sink);
  ~Migrator();
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  /// One packet: `ipv4` is the whole IPv4 packet, rewritten in place when the
  /// verdict is Modified (its length never changes). `now` must not go back.
  /// `sum` says what its TCP checksum field holds (rule 10).
  Verdict process(std::span<uint8_t> ipv4, Direction dir, Nanos now, Checksum sum = Checksum::Complete);
  /// process() for each packet of `burst`, in order, with the same results
  /// and verdicts; a packet's flow-table slot is prefetched 16 packets ahead
  /// and its flow 8 ahead, so their cache misses overlap instead of being
  /// paid one packet at a time (how NFQUEUE batches and packet I/O
  /// frameworks hand packets over anyway).
  void process_burst(std::span<BurstPacket> burst, Nanos now);
  /// Runs what is due at `now` (call at next_deadline(); extra calls are harmless).
  void poll(Nanos now);
  /// The earliest time poll() has work, or kNever.
  [[nodiscard]] Nanos next_deadline() const;

  /// Requests the migration of one tracked flow to `target`; returns the id
  /// of its record (queued behind a pending migration of the flow, rule 2),
  /// or why it was refused.
  wire::Result<uint64_t, Refusal> migrate_flow(const FlowKey& flow, Endpoint target, Trigger trigger, Nanos now,
                                               bool wait_for_target = false);
  /// Requests the migration of every flow of `service` (rule 2); returns the
  /// request number its records carry. Flows already on `target` are left
  /// alone (counted in request_info()).
  uint64_t migrate_service(Endpoint service, Endpoint target, Trigger trigger, Nanos now,
                           bool wait_for_target = false);
  /// What a request reached so far (a service request keeps reaching new flows).
  [[nodiscard]] RequestInfo request_info(uint64_t request) const;
  /// The target is up: migrations waiting for it continue (at `now`).
  void target_ready(Endpoint target, Nanos now);
  /// The target is down (rule 10): migrations to it that have not begun their
  /// replay end aborted-target-down; new ones are refused until target_ready().
  /// Returns how many migrations ended.
  uint32_t target_down(Endpoint target, Nanos now);
  /// Ends request `request` (rule 10): its rule, its migrations not replaying yet.
  CancelInfo cancel(uint64_t request, Nanos now);
  /// cancel() for every request.
  CancelInfo cancel_all(Nanos now);
  /// Service rules that still reach flows, in precedence (request) order.
  [[nodiscard]] std::vector<RuleStatus> rules() const;

  /// A flow's state, if tracked.
  [[nodiscard]] std::optional<FlowStatus> status(const FlowKey& flow) const;
  /// Up to `max` flows, in table order (for a host's status queries).
  [[nodiscard]] std::vector<FlowStatus> flows(std::size_t max) const;
  /// Flows in the table.
  [[nodiscard]] std::size_t flow_count() const;
  /// Held packets, flows per state, rules, pending migrations.
  [[nodiscard]] Gauges gauges() const;
  [[nodiscard]] const Counters& counters() const;
  /// Every migration so far, in id order (with Config::keep_records; without
  /// it the vector's contents are unspecified: use pending_records() and the
  /// observer).
  [[nodiscard]] const std::vector<MigrationRecord>& records() const;
  /// Migrations not finished yet (begun or queued), in id order.
  [[nodiscard]] std::vector<MigrationRecord> pending_records() const;
  /// Bytes the flow table occupies (flows + index), for the 128-bytes-per-flow budget.
  [[nodiscard]] std::size_t table_bytes() const;
  void set_observer(MigrationObserver* o);
  [[nodiscard]] const Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // flow table, state machine, counters, records (models/core)
};

}  // namespace tcpmig::core
