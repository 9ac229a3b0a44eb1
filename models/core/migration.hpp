// The migration state machine (rules 2-6 of migrator.hpp): requests and
// service rules, triggers, the safe point, the replayed handshake, held
// packets, completion and aborts, and every deadline of the core.
//
// Place in the layers: core (private). Migrator::process tracks each packet
// (tracking.hpp) and, for a flow in a migrating state, hands it here: one
// handler per state (client_* for client packets, target_* / backend_* for
// server packets). Migrator::poll runs the deadlines. Packets go out through
// the host's PacketSink; nothing here reads a clock or allocates per packet
// (hold buffers, pending slots and the deadline heap are recycled).
#pragma once

#include <cstdint>
#include <map>
#include <memory_resource>
#include <span>
#include <vector>

#include "flow_table.hpp"
#include "segment.hpp"
#include "tracking.hpp"

namespace tcpmig::core::detail {

/// What the Migrator and its state machine share (owned by Migrator::Impl).
struct Shared {
  Shared(const Config& c, PacketSink& s)
      : cfg(c),
        sink(&s),
        table(c.max_flows, c.table_memory != nullptr ? c.table_memory : std::pmr::new_delete_resource(),
              c.hash_seed) {}
  Config cfg;                            ///< the core's configuration
  PacketSink* sink;                      ///< where made and released packets go
  MigrationObserver* observer = nullptr; ///< told about triggers and outcomes
  Counters counters;                     ///< every counter of the core
  /// Records by slot: with cfg.keep_records every migration by id (slot ==
  /// id); without, a finished record's slot is reused (rule 10).
  std::vector<MigrationRecord> records;
  FlowTable table;                       ///< the flows
  /// Packets out to the host (counted).
  void emit(std::span<const uint8_t> pkt, Direction dir) {
    ++counters.emitted;
    sink->emit(pkt, dir);
  }
};

/// Requests, pending migrations, hold buffers and deadlines.
class Migrations {
 public:
  explicit Migrations(Shared& s) : s_(s), scratch_(65535) {}

  // ---- requests (the Migrator's API)
  /// A migration of the tracked flow `fi`: its record id, or why it is refused.
  wire::Result<uint64_t, Refusal> request_flow(uint32_t fi, Endpoint target, const Trigger& trigger, Nanos now,
                                               bool wait_target);
  /// A migration of every flow of `service`; returns the request number.
  uint64_t request_service(Endpoint service, Endpoint target, const Trigger& trigger, Nanos now, bool wait_target);
  /// What request number `request` reached (zeros for an unknown number, or
  /// one long forgotten without keep_records).
  [[nodiscard]] RequestInfo request_info(uint64_t request) const {
    const auto it = info_.find(request);
    return it == info_.end() ? RequestInfo{} : it->second;
  }
  /// Migrations waiting for `target` go on.
  void target_ready(Endpoint target, Nanos now);
  /// Migrations to `target` not replaying yet end; new ones are refused.
  uint32_t target_down(Endpoint target, Nanos now);
  /// Ends request `request` (every request when `all`).
  CancelInfo cancel(uint64_t request, bool all, Nanos now);
  /// Rules still reaching flows, in request order.
  [[nodiscard]] std::vector<RuleStatus> rules() const;
  /// Pending records (begun or queued), in id order.
  [[nodiscard]] std::vector<MigrationRecord> pending_records() const;
  /// Held packets and pending migrations now (Gauges).
  void gauge(Gauges& g) const;
  /// Sweeps a slice of the table for idle flows when one is due (rule 10).
  void maybe_sweep(Nanos now) {
    if (now >= sweep_due_) sweep(now);
  }
  /// Migrations queued behind flow fi's pending one.
  [[nodiscard]] uint32_t queued(uint32_t fi) const;

  // ---- the flow's life (Migrator::process)
  /// A connection starts on flow `fi` (new, or a reused tuple).
  void opened(uint32_t fi, Nanos now);
  /// The flow saw a FIN or a RST: a migration that has not replayed yet is
  /// aborted; once both directions are finished, the flow expires later.
  void closing(uint32_t fi, Nanos now);
  /// `remote` is the target of flow fi's replay (an extra key of the flow).
  [[nodiscard]] bool is_replay_target(uint32_t fi, Endpoint remote) const;
  /// Flow fi is replaying its handshake to `remote` (which may be the service
  /// address itself, a key of the flow anyway).
  [[nodiscard]] bool replaying_to(uint32_t fi, Endpoint remote) const;

  // ---- packets of a migrating flow, one handler per state
  /// A tracked client packet `pkt` (not yet rewritten); returns `v`, or a
  /// Drop when the packet is held or dropped.
  Verdict on_client(uint32_t fi, std::span<const uint8_t> pkt, const Segment& s, const ClientStep& step, Verdict v,
                    Nanos now);
  /// After a client packet: count triggers and the safe point.
  void after_client(uint32_t fi, Nanos now);
  /// A packet from the target of a replay under way (consumed).
  void on_target(uint32_t fi, const Segment& s, Nanos now);
  /// After a packet from the flow's backend (`prev_nxt`: server_nxt before it).
  void after_backend(uint32_t fi, SeqNumber prev_nxt, const Segment& s, Nanos now);
  /// A packet from a former backend of flow fi (dropped by the caller): its
  /// connection is reset when it carries an ACK (rule 9).
  void former_backend_spoke(uint32_t fi, const Segment& s);

  // ---- deadlines
  /// Runs what is due at `now`.
  void poll(Nanos now);
  /// The earliest deadline, or kNever.
  [[nodiscard]] Nanos next_deadline() const { return heap_.empty() ? kNever : heap_.front().at; }
  /// Drops dead deadlines from the top, so next_deadline() is a real one
  /// (once per packet: nothing to do when there is no deadline).
  void prune() {
    if (!heap_.empty()) prune_dead();
  }

 private:
  /// A request waiting for the flow's pending migration to end.
  struct Queued {
    uint32_t record;   // its record (outcome Pending)
    bool wait_target;  // wait for target_ready()
  };
  /// A migration in progress (one per flow at most).
  struct Pending {
    uint32_t flow = kNone;     // flow slot
    uint32_t record = 0;       // index in records
    Endpoint target;           // where the flow goes
    Endpoint old_backend;      // backend when the replay started
    SafePoint safe = SafePoint::ClientData;  // resolved mode
    bool wait_target = false;  // wait for target_ready()
    bool cut_set = false;      // the cut is known
    bool target_key = false;   // the target's key is in the index
    SeqNumber cut;             // first client sequence number for the target
    uint32_t syn_tsval = 0;    // TSval of the replayed SYN and third ACK: the client's at the cut,
                               // so no held packet is older than the target's TS.Recent (PAWS)
    uint32_t syn_tries = 0;    // SYNs sent
    uint32_t generation = 0;   // bumped when the slot is reused
    Nanos syn_due = kNever;    // when the last SYN's retransmission is due (older deadlines are stale)
    uint32_t challenge_answered = 0;  // syn_tries when a challenge ACK was last answered (once per SYN)
    std::vector<uint32_t> held;  // hold buffers, in arrival order
    std::vector<Queued> queue;   // migrations of the flow waiting behind this one, in request order
    uint32_t next_free = kNone;  // free-list link
  };
  /// One deadline; stale entries are skipped by their generation.
  struct Deadline {
    Nanos at;        // when
    uint64_t order;  // insertion order: ties fire first-in first-out
    enum class Kind : uint8_t { Trigger, SynRetransmit, Expire, RuleTrigger } kind;
    uint32_t index;  // pending, flow or rule
    uint32_t generation;  // of the pending or flow it was made for
    bool operator>(const Deadline& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  /// A service-wide request.
  struct Rule {
    Endpoint service, target;  // which flows, where to
    Trigger trigger;           // when
    bool wait_target;          // wait for target_ready()
    bool active;               // applies to new flows (count triggers); else a time trigger not fired yet
    uint64_t request;          // its request number
  };
  [[nodiscard]] std::size_t rule_index(uint64_t request) const;  // in rules_, or rules_.size()
  void trim_info();  // without keep_records, at most 4096 request numbers besides the rules'

  // ---- starting and triggering
  uint32_t new_record(uint32_t fi, Endpoint target, const Trigger& trig, uint64_t request, Nanos now);
  void request(uint32_t fi, uint32_t record, bool wait_target, Nanos now);
  void start(uint32_t fi, uint32_t record, bool wait_target, Nanos now);
  void end_unstarted(uint32_t record, Outcome outcome, Refusal refusal, Nanos now);
  void forget_record(uint32_t record);
  /// Ends what `match(record)` selects: queued migrations, then pending ones
  /// not replaying; returns how many ended.
  template <class Match>
  uint32_t end_matching(Match&& match, Outcome outcome, Nanos now);
  void sweep(Nanos now);
  void expire_idle(uint32_t fi, Nanos now);
  [[nodiscard]] bool target_is_down(const Endpoint& t) const;
  void start_next(uint32_t fi, std::vector<Queued> queue, Nanos now);
  void check_count(uint32_t pi, Nanos now);
  void fire(uint32_t pi, Nanos now);
  void try_safe_point(uint32_t pi, Nanos now);
  void apply_rule(Rule rule, Nanos now);
  // ---- one handler per state
  Verdict client_waiting_safe_point(Pending& p, std::span<const uint8_t> pkt, const Segment& s,
                                    const ClientStep& step, Verdict v, Nanos now);
  Verdict client_replaying(Pending& p, std::span<const uint8_t> pkt, bool partial, Nanos now);
  // ---- the replay
  void start_replay(uint32_t pi, Nanos now);
  void send_syn(uint32_t pi, Nanos now);
  void on_synack(uint32_t pi, const Segment& s, Nanos now);
  void finish(uint32_t pi, Outcome outcome, Nanos now);
  std::vector<Queued> end(uint32_t pi, Outcome outcome, Nanos now);
  void then_next(uint32_t fi, std::vector<Queued> queue, Nanos now);
  // ---- packets
  Verdict hold(Pending& p, std::span<const uint8_t> pkt, bool partial, Nanos now);
  void forward_before_cut(const Flow& f, const Segment& s, SeqNumber cut);
  std::span<uint8_t> build(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst);
  void emit(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst);
  void send_rst(const Flow& f, Endpoint to, SeqNumber seq);
  // ---- helpers
  void push_deadline(Nanos at, Deadline::Kind kind, uint32_t index, uint32_t generation);
  [[nodiscard]] bool live(const Deadline& d) const;
  void prune_dead();
  [[nodiscard]] bool target_is_ready(const Endpoint& t) const;
  MigrationRecord& record_of(const Pending& p) { return s_.records[p.record]; }
  Flow& flow_of(const Pending& p) { return s_.table.flow(p.flow); }

  Shared& s_;                                 // the core's state
  std::vector<Pending> pendings_;             // by slot
  uint32_t free_pending_ = kNone;             // first free slot
  std::vector<std::vector<uint8_t>> buffers_; // hold buffers
  std::vector<uint8_t> buffer_partial_;       // by hold buffer: its packet's checksum is partial
  std::vector<uint32_t> free_buffers_;        // unused hold buffers
  std::vector<Deadline> heap_;                // min-heap by (at, order)
  uint64_t deadline_order_ = 0;               // next Deadline::order
  std::vector<Rule> rules_;                   // service requests still reaching flows, in request order
  std::map<uint64_t, RequestInfo> info_;      // by request number (flow and service requests)
  uint64_t next_request_ = 0;                 // the next request number
  uint64_t next_id_ = 0;                      // the next record id
  std::vector<uint32_t> free_records_;        // reusable record slots (without keep_records)
  std::vector<Endpoint> ready_;               // targets known to be up
  std::vector<Endpoint> down_;                // targets marked down
  Nanos sweep_due_ = 0;                       // next idle sweep
  uint32_t sweep_cursor_ = 0;                 // next flow slot the sweep looks at
  std::vector<uint8_t> scratch_;              // packets the core makes (an IPv4 packet at most)
};

}  // namespace tcpmig::core::detail
