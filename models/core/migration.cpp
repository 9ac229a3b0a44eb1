// The migration state machine (rules in migration.hpp and migrator.hpp).
#include "migration.hpp"

#include <algorithm>
#include <functional>

#include "rewrite.hpp"

namespace tcpmig::core::detail {

namespace {

namespace flag = wire::tcp_flag;

bool count_trigger(const Trigger& t) {
  return t.kind == Trigger::Kind::AfterRequests || t.kind == Trigger::Kind::AfterSegments ||
         t.kind == Trigger::Kind::AfterBytes;
}

}  // namespace

// ---------------------------------------------------------------- requests

wire::Result<uint64_t, Refusal> Migrations::request_flow(uint32_t fi, Endpoint target, const Trigger& trigger,
                                                         Nanos now, bool wait_target) {
  const Flow& f = s_.table.flow(fi);
  if (!f.has(kSynAcked)) return Refusal::HandshakeIncomplete;
  if (f.state == FlowState::Closing || f.has(kEnded)) return Refusal::Closing;
  if (migrating(f.state)) {
    // Compared with where the flow will be once the migrations before it are done.
    const Pending& p = pendings_[s_.table.cold(fi).migration];
    const Endpoint last = p.queue.empty() ? p.target : s_.records[p.queue.back().record].to;
    if (last == target) return Refusal::SameBackend;
    if (p.queue.size() >= s_.cfg.max_queued) return Refusal::QueueFull;
  } else if (f.on(target)) {
    return Refusal::SameBackend;
  }
  if (target_is_down(target)) return Refusal::TargetDown;
  const uint64_t number = next_request_++;
  info_[number];
  trim_info();
  const uint32_t record = new_record(fi, target, trigger, number, now);
  const uint64_t id = s_.records[record].id;
  request(fi, record, wait_target, now);
  prune();
  return id;
}

uint64_t Migrations::request_service(Endpoint service, Endpoint target, const Trigger& trigger, Nanos now,
                                     bool wait_target) {
  const uint64_t number = next_request_++;
  info_[number];
  trim_info();
  const Rule rule{service, target, trigger, wait_target, count_trigger(trigger), number};
  if (trigger.kind == Trigger::Kind::AtTime && trigger.at > now) {
    rules_.push_back(rule);
    push_deadline(trigger.at, Deadline::Kind::RuleTrigger, static_cast<uint32_t>(number),
                  static_cast<uint32_t>(number >> 32));
    return number;
  }
  if (rule.active) rules_.push_back(rule);
  apply_rule(rule, now);
  prune();
  return number;
}

void Migrations::trim_info() {
  if (s_.cfg.keep_records) return;
  // Bounded history (rule 10): the oldest numbers that no rule uses are forgotten.
  constexpr std::size_t kKeep = 4096;
  for (auto it = info_.begin(); info_.size() > kKeep && it != info_.end();) {
    it = rule_index(it->first) == rules_.size() ? info_.erase(it) : std::next(it);
  }
}

std::size_t Migrations::rule_index(uint64_t request) const {
  std::size_t i = 0;
  while (i < rules_.size() && rules_[i].request != request) ++i;
  return i;
}

/// `rule` reaches every flow of its service present now: each begins, or
/// queues behind its pending migration; flows on the target or closing are
/// left alone (and counted).
void Migrations::apply_rule(Rule rule, Nanos now) {  // a copy: request() calls the observer
  FlowTable& t = s_.table;
  for (uint32_t i = 0; i < t.slots(); ++i) {
    const Flow& f = t.flow(i);
    if (f.has(kFree) || !(f.service() == rule.service)) continue;
    RequestInfo& info = info_[rule.request];
    if (f.state == FlowState::Closing) {
      ++info.closing;
    } else if (!migrating(f.state) && f.on(rule.target)) {
      ++info.on_target;
    } else {
      request(i, new_record(i, rule.target, rule.trigger, rule.request, now), rule.wait_target, now);
    }
  }
}

void Migrations::target_ready(Endpoint target, Nanos now) {
  if (!target_is_ready(target)) ready_.push_back(target);
  std::erase(down_, target);
  for (uint32_t pi = 0; pi < pendings_.size(); ++pi) {
    Pending& p = pendings_[pi];
    if (p.flow == kNone) continue;
    Flow& f = flow_of(p);
    if (f.state != FlowState::WaitTarget || s_.table.cold(p.flow).migration != pi || !(p.target == target)) continue;
    f.state = FlowState::WaitSafePoint;
    try_safe_point(pi, now);
  }
  prune();
}

bool Migrations::target_is_ready(const Endpoint& t) const {
  return std::find(ready_.begin(), ready_.end(), t) != ready_.end();
}

bool Migrations::target_is_down(const Endpoint& t) const {
  return !down_.empty() && std::find(down_.begin(), down_.end(), t) != down_.end();
}

uint32_t Migrations::target_down(Endpoint target, Nanos now) {
  std::erase(ready_, target);
  if (!target_is_down(target)) down_.push_back(target);
  const uint32_t n = end_matching([&](const MigrationRecord& r) { return r.to == target; },
                                  Outcome::AbortedTargetDown, now);
  prune();
  return n;
}

CancelInfo Migrations::cancel(uint64_t request, bool all, Nanos now) {
  CancelInfo out;
  if (all) {
    out.rule = !rules_.empty();
    rules_.clear();
  } else if (const std::size_t i = rule_index(request); i < rules_.size()) {
    rules_.erase(rules_.begin() + static_cast<std::ptrdiff_t>(i));
    out.rule = true;
  }
  out.migrations = end_matching([&](const MigrationRecord& r) { return all || r.request == request; },
                                Outcome::Cancelled, now);
  s_.counters.migrations_cancelled += out.migrations;
  prune();
  return out;
}

template <class Match>
uint32_t Migrations::end_matching(Match&& match, Outcome outcome, Nanos now) {
  uint32_t n = 0;
  // Queued ones first, so ending a pending migration starts none of them.
  for (Pending& p : pendings_) {
    if (p.flow == kNone) continue;
    std::vector<Queued> ended;
    std::erase_if(p.queue, [&](const Queued& q) {
      if (!match(s_.records[q.record])) return false;
      ended.push_back(q);
      return true;
    });
    for (const Queued& q : ended) {
      end_unstarted(q.record, outcome, Refusal::Count, now);
      ++n;
    }
  }
  for (uint32_t pi = 0; pi < pendings_.size(); ++pi) {
    const Pending& p = pendings_[pi];
    if (p.flow == kNone || flow_of(p).state == FlowState::Replaying || !match(s_.records[p.record])) continue;
    finish(pi, outcome, now);
    ++n;
  }
  return n;
}

std::vector<RuleStatus> Migrations::rules() const {
  std::vector<RuleStatus> out;
  for (const Rule& r : rules_) {
    out.push_back(RuleStatus{r.request, r.service, r.target, r.trigger, r.wait_target, request_info(r.request).records});
  }
  return out;
}

std::vector<MigrationRecord> Migrations::pending_records() const {
  std::vector<MigrationRecord> out;
  for (const Pending& p : pendings_) {
    if (p.flow == kNone) continue;
    out.push_back(s_.records[p.record]);
    for (const Queued& q : p.queue) out.push_back(s_.records[q.record]);
  }
  std::sort(out.begin(), out.end(), [](const MigrationRecord& a, const MigrationRecord& b) { return a.id < b.id; });
  return out;
}

void Migrations::gauge(Gauges& g) const {
  for (const Pending& p : pendings_) {
    if (p.flow == kNone) continue;
    g.held += p.held.size();
    g.pending += 1 + p.queue.size();
  }
  g.rules = rules_.size();
}

// ---------------------------------------------------------------- the flow's life

void Migrations::opened(uint32_t fi, Nanos now) {
  ++s_.counters.flows_created;
  // Service rules with count triggers apply to new flows too, in request
  // order: the first begins, the others queue behind it. A new flow is on the
  // service address: a rule back to it only makes sense behind another one.
  const Flow& f = s_.table.flow(fi);
  bool any = false;
  for (std::size_t r = 0; r < rules_.size(); ++r) {
    const Rule rule = rules_[r];  // a copy: request() calls the observer
    if (!rule.active || !(rule.service == f.service()) || target_is_down(rule.target)) continue;
    if (!any && rule.target == f.service()) {
      ++info_[rule.request].on_target;
      continue;
    }
    any = true;
    request(fi, new_record(fi, rule.target, rule.trigger, rule.request, now), rule.wait_target, now);
  }
}

void Migrations::closing(uint32_t fi, Nanos now) {
  Flow& f = s_.table.flow(fi);
  if (migrating(f.state) && f.state != FlowState::Replaying) {
    finish(s_.table.cold(fi).migration, Outcome::AbortedClosing, now);
  }
  if (!migrating(f.state)) f.state = FlowState::Closing;
  if (finished(f) && s_.table.cold(fi).expiring == 0) {
    s_.table.cold(fi).expiring = 1;
    push_deadline(now + s_.cfg.close_linger, Deadline::Kind::Expire, fi, s_.table.cold(fi).generation);
  }
}

bool Migrations::is_replay_target(uint32_t fi, Endpoint remote) const {
  const Flow& f = s_.table.flow(fi);
  if (!migrating(f.state)) return false;
  const Pending& p = pendings_[s_.table.cold(fi).migration];
  return p.target_key && p.target == remote;
}

uint32_t Migrations::queued(uint32_t fi) const {
  const Flow& f = s_.table.flow(fi);
  return migrating(f.state) ? static_cast<uint32_t>(pendings_[s_.table.cold(fi).migration].queue.size()) : 0;
}

bool Migrations::replaying_to(uint32_t fi, Endpoint remote) const {
  return s_.table.flow(fi).state == FlowState::Replaying && pendings_[s_.table.cold(fi).migration].target == remote;
}

// ---------------------------------------------------------------- starting and triggering

/// The record of a request reaching flow `fi` (outcome Pending).
uint32_t Migrations::new_record(uint32_t fi, Endpoint target, const Trigger& trig, uint64_t request, Nanos now) {
  const Flow& f = s_.table.flow(fi);
  MigrationRecord rec;
  rec.id = next_id_++;
  rec.request = request;
  rec.flow = f.key();
  rec.from = f.backend();
  rec.to = target;
  rec.trigger = trig;
  rec.requested_at = now;
  uint32_t slot;
  if (!free_records_.empty()) {
    slot = free_records_.back();
    free_records_.pop_back();
    s_.records[slot] = rec;
  } else {
    slot = static_cast<uint32_t>(s_.records.size());
    s_.records.push_back(rec);
  }
  ++info_[request].records;
  ++s_.counters.migrations_requested;
  return slot;
}

/// Without keep_records, a finished record's slot is reused (rule 10).
void Migrations::forget_record(uint32_t record) {
  if (!s_.cfg.keep_records) free_records_.push_back(record);
}

/// A request reaches flow `fi`: it begins, or queues behind the pending one.
void Migrations::request(uint32_t fi, uint32_t record, bool wait_target, Nanos now) {
  const Flow& f = s_.table.flow(fi);
  if (!migrating(f.state)) {
    start(fi, record, wait_target, now);
    return;
  }
  Pending& p = pendings_[s_.table.cold(fi).migration];
  if (p.queue.size() >= s_.cfg.max_queued) {
    end_unstarted(record, Outcome::Refused, Refusal::QueueFull, now);
    return;
  }
  p.queue.push_back(Queued{record, wait_target});
}

/// A migration that never began ends: refused, or aborted for a closing flow.
void Migrations::end_unstarted(uint32_t record, Outcome outcome, Refusal refusal, Nanos now) {
  MigrationRecord& rec = s_.records[record];
  rec.outcome = outcome;
  rec.refusal = refusal;
  rec.finished_at = now;
  ++s_.counters.migrations_aborted;
  if (s_.observer != nullptr) s_.observer->on_finished(rec);
  forget_record(record);
}

/// Begins the migration of `record` on flow `fi` (not migrating): its
/// trigger is armed, or fires at once.
void Migrations::start(uint32_t fi, uint32_t record, bool wait_target, Nanos now) {
  Flow& f = s_.table.flow(fi);
  MigrationRecord& rec = s_.records[record];
  rec.from = f.backend();
  if (f.state == FlowState::Closing || f.has(kEnded)) {
    end_unstarted(record, Outcome::AbortedClosing, Refusal::Count, now);
    return;
  }
  if (f.on(rec.to)) {  // rule 9: never a migration to where the flow is
    end_unstarted(record, Outcome::Refused, Refusal::SameBackend, now);
    return;
  }
  if (target_is_down(rec.to)) {
    end_unstarted(record, Outcome::Refused, Refusal::TargetDown, now);
    return;
  }
  uint32_t pi;
  if (free_pending_ != kNone) {
    pi = free_pending_;
    free_pending_ = pendings_[pi].next_free;
  } else {
    pi = static_cast<uint32_t>(pendings_.size());
    pendings_.emplace_back();
  }
  Pending& p = pendings_[pi];
  const uint32_t gen = p.generation + 1;
  std::vector<uint32_t> held = std::move(p.held);  // keep the storage
  held.clear();
  std::vector<Queued> queue = std::move(p.queue);
  queue.clear();
  p = Pending{};
  p.held = std::move(held);
  p.queue = std::move(queue);
  p.generation = gen;
  p.flow = fi;
  p.record = record;
  p.target = rec.to;
  p.wait_target = wait_target;
  const Trigger trig = rec.trigger;
  p.safe = trig.safe_point != SafePoint::Auto ? trig.safe_point
                                              : (count_trigger(trig) ? SafePoint::ClientData : SafePoint::Quiescent);
  s_.table.cold(fi).migration = pi;
  f.state = FlowState::Armed;
  switch (trig.kind) {
    case Trigger::Kind::Now: fire(pi, now); break;
    case Trigger::Kind::AtTime:
      if (trig.at <= now) {
        fire(pi, now);
      } else {
        push_deadline(trig.at, Deadline::Kind::Trigger, pi, p.generation);
      }
      break;
    default: check_count(pi, now); break;
  }
}

/// The flow's migration ended: the first queued one begins (each that cannot
/// ends at once, and the next is tried), the rest queue behind it.
void Migrations::start_next(uint32_t fi, std::vector<Queued> queue, Nanos now) {
  for (std::size_t i = 0; i < queue.size(); ++i) {
    if (migrating(s_.table.flow(fi).state)) {
      Pending& p = pendings_[s_.table.cold(fi).migration];
      p.queue.insert(p.queue.end(), queue.begin() + static_cast<std::ptrdiff_t>(i), queue.end());
      return;
    }
    start(fi, queue[i].record, queue[i].wait_target, now);
  }
}

/// Count triggers: fire once the flow reached the count.
void Migrations::check_count(uint32_t pi, Nanos now) {
  Pending& p = pendings_[pi];
  const Flow& f = flow_of(p);
  if (f.state != FlowState::Armed) return;
  const Trigger& t = record_of(p).trigger;
  uint64_t have = 0;
  switch (t.kind) {
    case Trigger::Kind::AfterRequests: have = f.requests; break;
    case Trigger::Kind::AfterSegments: have = f.segments; break;
    case Trigger::Kind::AfterBytes:
      have = f.has(kSynAcked) ? uint64_t{static_cast<uint32_t>(f.client_nxt - s_.table.cold(p.flow).client_isn) - 1}
                              : 0;
      break;
    default: return;
  }
  if (have >= t.count) fire(pi, now);
}

/// The trigger fired: wait for the target, or for the safe point.
void Migrations::fire(uint32_t pi, Nanos now) {
  const uint32_t fi = pendings_[pi].flow;
  record_of(pendings_[pi]).triggered_at = now;
  if (s_.observer != nullptr) s_.observer->on_triggered(record_of(pendings_[pi]));
  // Looked up again: observers must not call into the core, but if one does
  // the vectors may have moved.
  Pending& p = pendings_[pi];
  Flow& f = s_.table.flow(fi);
  if (!migrating(f.state) || s_.table.cold(fi).migration != pi) return;
  if (f.has(kEnded)) {
    finish(pi, Outcome::AbortedClosing, now);
    return;
  }
  if (p.wait_target && !target_is_ready(p.target)) {
    f.state = FlowState::WaitTarget;
    return;
  }
  f.state = FlowState::WaitSafePoint;
  try_safe_point(pi, now);
}

/// Starts the replay if the flow is at its safe point (rule 3).
void Migrations::try_safe_point(uint32_t pi, Nanos now) {
  Pending& p = pendings_[pi];
  const Flow& f = flow_of(p);
  if (f.state != FlowState::WaitSafePoint) return;
  if (f.has(kEnded)) {
    finish(pi, Outcome::AbortedClosing, now);
    return;
  }
  if (!f.has(kSynAcked)) return;
  const bool server_acked = f.client_ack == f.server_nxt;
  if (p.safe == SafePoint::Quiescent) {
    if (server_acked && f.server_ack == f.client_nxt) {
      p.cut = f.client_nxt;
      p.syn_tsval = f.client_tsval;
      p.cut_set = true;
      start_replay(pi, now);
    }
    return;
  }
  if (p.cut_set && server_acked && f.server_ack == p.cut) start_replay(pi, now);
}

// ---------------------------------------------------------------- packets, one handler per state

Verdict Migrations::on_client(uint32_t fi, std::span<const uint8_t> pkt, const Segment& s, const ClientStep& step,
                              Verdict v, Nanos now) {
  const Flow& f = s_.table.flow(fi);
  Pending& p = pendings_[s_.table.cold(fi).migration];
  switch (f.state) {
    case FlowState::WaitSafePoint:
      return p.safe == SafePoint::ClientData ? client_waiting_safe_point(p, pkt, s, step, v, now) : v;
    case FlowState::Replaying: return client_replaying(p, pkt, s.partial(), now);
    default: return v;  // Armed, WaitTarget: the packet only counts (after_client)
  }
}

/// ClientData safe point (rule 3): the first new client data is the cut; data
/// and FINs at or beyond it are held; what the old backend still needs of a
/// held segment reaches it.
Verdict Migrations::client_waiting_safe_point(Pending& p, std::span<const uint8_t> pkt, const Segment& s,
                                              const ClientStep& step, Verdict v, Nanos now) {
  const Flow& f = flow_of(p);
  if (!p.cut_set && step.new_data && s.seq() == step.prev_nxt && !s.any(flag::FIN | flag::RST)) {
    p.cut = s.seq();
    p.syn_tsval = f.client_tsval;  // this packet's TSval when it has one
    p.cut_set = true;
  }
  // Data or FIN at or beyond the cut is held; pure ACKs pass to the old backend.
  if (!p.cut_set || !(s.end() > p.cut) || (s.payload_len() == 0 && !s.any(flag::FIN | flag::RST))) return v;
  if (p.held.size() >= s_.cfg.hold_packets) {
    ++record_of(p).hold_dropped;
    return {Action::Drop, Reason::HoldOverflow};
  }
  const bool straddle = p.cut > s.seq() && s.payload_len() > 0;
  const bool new_ack = s.any(flag::ACK) && s.ack() > step.prev_ack;
  if ((straddle || new_ack) && !s.any(flag::RST)) forward_before_cut(f, s, p.cut);
  return hold(p, pkt, s.partial(), now);
}

/// Replaying: every client packet waits for the outcome.
Verdict Migrations::client_replaying(Pending& p, std::span<const uint8_t> pkt, bool partial, Nanos now) {
  if (p.held.size() >= s_.cfg.hold_packets) {
    ++record_of(p).hold_dropped;
    return {Action::Drop, Reason::HoldOverflow};
  }
  return hold(p, pkt, partial, now);
}

void Migrations::after_client(uint32_t fi, Nanos now) {
  const Flow& f = s_.table.flow(fi);
  if (!migrating(f.state)) return;
  const uint32_t pi = s_.table.cold(fi).migration;
  if (f.state == FlowState::Armed) check_count(pi, now);
  if (f.state == FlowState::WaitSafePoint && s_.table.cold(fi).migration == pi) try_safe_point(pi, now);
}

void Migrations::on_target(uint32_t fi, const Segment& s, Nanos now) {
  const uint32_t pi = s_.table.cold(fi).migration;
  Pending& p = pendings_[pi];
  if (s.any(flag::RST)) {
    if (s.any(flag::ACK) && s.ack() == p.cut) finish(pi, Outcome::AbortedRst, now);
  } else if (s.only(flag::SYN | flag::ACK, flag::SYN | flag::ACK) && s.ack() == p.cut && !s.options().malformed) {
    on_synack(pi, s, now);
  } else if (s.only(flag::SYN | flag::ACK, flag::ACK) && p.challenge_answered != p.syn_tries) {
    // A challenge ACK (RFC 5961 section 4): the target still holds a
    // connection on this tuple (a lost RST when the flow left it). Its ACK is
    // that connection's RCV.NXT: a RST there ends it (rule 9), and the SYN
    // goes again at once, as a Linux client does after resetting. Once per
    // SYN sent: a copy or a late one could otherwise reset the half-open
    // connection the new SYN just made (its RCV.NXT may be that same number).
    send_rst(flow_of(p), p.target, s.ack());
    ++record_of(p).target_resets;
    ++s_.counters.target_resets;
    if (p.syn_tries <= s_.cfg.replay_retries) send_syn(pi, now);
    p.challenge_answered = p.syn_tries;
  }
}

void Migrations::former_backend_spoke(uint32_t fi, const Segment& s) {
  if (!s_.cfg.reset_old_backend || !s.any(flag::ACK) || s.any(flag::RST)) return;
  send_rst(s_.table.flow(fi), s.src(), s.ack());
  ++s_.counters.stale_resets;
}

void Migrations::after_backend(uint32_t fi, SeqNumber prev_nxt, const Segment& s, Nanos now) {
  const Flow& f = s_.table.flow(fi);
  const uint32_t pi = s_.table.cold(fi).migration;
  if (f.state == FlowState::WaitSafePoint) try_safe_point(pi, now);
  // The old backend moved on during the replay: its new bytes (or FIN)
  // could not be retransmitted once it is reset, so the flow stays.
  if (f.state == FlowState::Replaying && (f.server_nxt > prev_nxt || s.any(flag::RST))) {
    finish(pi, Outcome::AbortedServer, now);
  }
}

// ---------------------------------------------------------------- the replay

void Migrations::start_replay(uint32_t pi, Nanos now) {
  Pending& p = pendings_[pi];
  Flow& f = flow_of(p);
  p.old_backend = f.backend();
  if (!(p.target == f.service())) {
    const uint32_t other = s_.table.find_by_remote(f.client(), p.target, [&](uint32_t i) {
      return is_replay_target(i, p.target);
    });
    if (other != kNone || !s_.table.add_key(p.flow, p.target)) {
      finish(pi, Outcome::AbortedTable, now);
      return;
    }
    p.target_key = true;
  }
  f.state = FlowState::Replaying;
  MigrationRecord& rec = record_of(p);
  rec.safe_point_at = now;
  rec.cut = p.cut.raw();
  rec.client_options = client_options(f, s_.table.cold(p.flow));
  rec.old_options = backend_options(f, s_.table.cold(p.flow));
  send_syn(pi, now);
}

void Migrations::send_syn(uint32_t pi, Nanos now) {
  Pending& p = pendings_[pi];
  const Flow& f = flow_of(p);
  const FlowCold& c = s_.table.cold(p.flow);
  wire::TcpRepr syn;
  syn.src_port = f.client_port;
  syn.dst_port = p.target.port;
  syn.seq = p.cut - 1;
  syn.flags = flag::SYN;
  syn.window = c.client_syn_window;
  if (c.client_mss != 0) syn.mss = c.client_mss;
  if ((f.opts & kOrigWs) && f.client_ws != kNoScale) syn.window_scale = f.client_ws;
  syn.sack_permitted = (f.opts & kOrigSack) != 0;
  if (f.opts & kOrigTs) syn.timestamps = std::pair<uint32_t, uint32_t>{p.syn_tsval, 0};
  emit(syn, f.client_ip, p.target.ip.value);
  ++p.syn_tries;
  ++record_of(p).syn_sent;
  ++s_.counters.syn_sent;
  Nanos rto = s_.cfg.replay_rto;  // doubled per retry, saturating
  for (uint32_t i = 1; i < p.syn_tries && rto < kNever / 4; ++i) rto *= 2;
  p.syn_due = now + rto;
  push_deadline(p.syn_due, Deadline::Kind::SynRetransmit, pi, p.generation);
}

/// The target's SYN-ACK to the replayed SYN.
void Migrations::on_synack(uint32_t pi, const Segment& s, Nanos now) {
  Pending& p = pendings_[pi];
  Flow& f = flow_of(p);
  const SegmentOptions& o = s.options();
  MigrationRecord& rec = record_of(p);
  rec.synack_at = now;
  rec.new_options = o.values;
  if ((f.opts & kOrigTs) && !o.values.timestamps) {
    send_rst(f, p.target, p.cut);
    finish(pi, Outcome::AbortedOptions, now);
    return;
  }
  const SeqNumber isn = s.seq();
  f.seq_delta = static_cast<uint32_t>(f.server_nxt - (isn + 1));
  f.ts_delta = o.values.timestamps ? f.server_tsval - o.tsval : 0;
  f.opts = static_cast<uint8_t>(f.opts & ~(kBackSack | kBackTs | kBackWs));
  if ((f.opts & kOrigSack) && o.values.sack_permitted) f.opts |= kBackSack;
  if ((f.opts & kOrigTs) && o.values.timestamps) f.opts |= kBackTs;
  if ((f.opts & kOrigWs) && o.values.window_scale) {
    f.opts |= kBackWs;
    f.backend_ws = *o.values.window_scale;
  } else {
    f.backend_ws = kNoScale;
  }
  // Switch the flow to the target (its key is in place: it becomes the backend key).
  const Endpoint old = p.old_backend;
  s_.table.switch_backend(p.flow, old, p.target);
  s_.table.cold(p.flow).backend_mss = o.values.mss;
  p.target_key = false;
  f.flags |= kMapped;
  ++s_.table.cold(p.flow).migrations;
  // The third ACK, in the target's numbers.
  wire::TcpRepr ack;
  ack.src_port = f.client_port;
  ack.dst_port = p.target.port;
  ack.seq = p.cut;
  ack.ack = isn + 1;
  ack.flags = flag::ACK;
  const Mapping m = mapping_of(f);
  ack.window = rescale_window(f.client_window, m.c2s_from, m.c2s_to);
  if (f.opts & kBackTs) ack.timestamps = std::pair<uint32_t, uint32_t>{p.syn_tsval, o.tsval};
  emit(ack, f.client_ip, p.target.ip.value);
  rec.seq_delta = f.seq_delta;
  rec.ts_delta = f.ts_delta;
  const uint32_t fi = p.flow;
  std::vector<Queued> queue = end(pi, Outcome::Completed, now);
  // The old backend's connection goes before a queued migration may begin:
  // it may be that migration's target (S1 -> S2 -> S1 asked at once).
  if (s_.cfg.reset_old_backend) send_rst(f, old, f.server_ack);
  then_next(fi, std::move(queue), now);
}

/// Ends a migration, then begins the next queued one of the flow.
void Migrations::finish(uint32_t pi, Outcome outcome, Nanos now) {
  const uint32_t fi = pendings_[pi].flow;
  std::vector<Queued> queue = end(pi, outcome, now);
  then_next(fi, std::move(queue), now);
}

/// The flow's migration ended: the next queued one begins, or the flow closes.
void Migrations::then_next(uint32_t fi, std::vector<Queued> queue, Nanos now) {
  start_next(fi, std::move(queue), now);
  if (s_.table.flow(fi).has(kEnded)) closing(fi, now);
}

/// Ends a migration: records the outcome, releases held packets (rewritten
/// for the flow's backend now), frees the slot; returns the flow's queue.
std::vector<Migrations::Queued> Migrations::end(uint32_t pi, Outcome outcome, Nanos now) {
  Pending& p = pendings_[pi];
  const uint32_t fi = p.flow;
  Flow& f = s_.table.flow(fi);
  MigrationRecord& rec = record_of(p);
  rec.outcome = outcome;
  rec.finished_at = now;
  if (outcome == Outcome::Completed) {
    ++s_.counters.migrations_completed;
  } else {
    ++s_.counters.migrations_aborted;
    if (p.target_key) {
      s_.table.remove_key(fi, p.target);
      p.target_key = false;
    }
    // A target that may hold a half-open connection is reset (seq = cut is
    // its RCV.NXT once it got the SYN).
    if (outcome == Outcome::AbortedTimeout || outcome == Outcome::AbortedServer) send_rst(f, p.target, p.cut);
  }
  s_.table.cold(fi).migration = kNone;
  f.state = f.has(kEnded) ? FlowState::Closing : f.has(kSynAcked) ? FlowState::Established : FlowState::SynSent;
  // Release what was held, in order.
  const Mapping m = mapping_of(f);
  for (const uint32_t b : p.held) {
    std::vector<uint8_t>& buf = buffers_[b];
    Segment held;
    if (Segment::parse(buf, held) == Reason::Count && !held.options().malformed) {
      held.set_partial(buffer_partial_[b] != 0);
      rewrite_to_backend(held, m);
      if (held.partial()) held.complete_checksum();  // emitted packets carry full checksums
      s_.emit(buf, Direction::ClientToServer);
    }
    free_buffers_.push_back(b);
  }
  p.held.clear();
  std::vector<Queued> queue = std::move(p.queue);
  p.queue = {};
  ++p.generation;
  p.flow = kNone;
  p.next_free = free_pending_;
  free_pending_ = pi;
  if (s_.observer != nullptr) s_.observer->on_finished(rec);
  forget_record(p.record);
  return queue;
}

// ---------------------------------------------------------------- packets the core keeps or makes

Verdict Migrations::hold(Pending& p, std::span<const uint8_t> pkt, bool partial, Nanos now) {
  uint32_t b;
  if (!free_buffers_.empty()) {
    b = free_buffers_.back();
    free_buffers_.pop_back();
  } else {
    b = static_cast<uint32_t>(buffers_.size());
    buffers_.emplace_back();
    buffer_partial_.push_back(0);
  }
  buffers_[b].assign(pkt.begin(), pkt.end());
  buffer_partial_[b] = partial ? 1 : 0;
  p.held.push_back(b);
  MigrationRecord& rec = record_of(p);
  ++rec.held;
  if (rec.first_hold_at == kNever) rec.first_hold_at = now;
  return {Action::Drop, Reason::Held};
}

/// While the cut is set, gives the current backend what a held client
/// segment carries for it (rule 3): the bytes before the cut when the
/// segment straddles it, else its acknowledgment as a pure ACK. Made in the
/// client's view, then rewritten like any client packet of the flow.
void Migrations::forward_before_cut(const Flow& f, const Segment& s, SeqNumber cut) {
  const bool straddle = cut > s.seq();
  wire::TcpRepr t;
  t.src_port = f.client_port;
  t.dst_port = f.service_port;
  t.seq = straddle ? s.seq() : cut;
  t.ack = s.ack();
  t.flags = static_cast<uint8_t>(flag::ACK | (straddle ? flag::PSH : 0));
  t.window = s.window();
  const SegmentOptions& o = s.options();
  if (o.values.timestamps) t.timestamps = std::pair<uint32_t, uint32_t>{o.tsval, o.tsecr};
  if (straddle) t.payload = s.payload().first(static_cast<uint32_t>(cut - s.seq()));
  const std::span<uint8_t> buf = build(t, f.client_ip, f.service_ip);
  if (buf.empty()) return;
  Segment out;
  if (Segment::parse(buf, out) != Reason::Count) return;
  if (f.has(kMapped)) rewrite_to_backend(out, mapping_of(f));
  s_.emit(buf, Direction::ClientToServer);
}

/// Writes IPv4 + `tcp` into the scratch buffer; empty if it does not fit.
std::span<uint8_t> Migrations::build(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst) {
  wire::Ipv4Repr ip;
  ip.src = wire::Ipv4Address{src};
  ip.dst = wire::Ipv4Address{dst};
  ip.protocol = wire::ip_proto::tcp;
  ip.ttl = s_.cfg.ttl;
  const std::size_t l4 = tcp.buffer_len();
  if (l4 > scratch_.size() - wire::Ipv4Repr::header_len()) return {};
  ip.payload_len = static_cast<uint16_t>(l4);
  const auto buf = std::span<uint8_t>(scratch_.data(), wire::Ipv4Repr::header_len() + l4);
  auto seg = tcp.emit(buf.subspan(wire::Ipv4Repr::header_len()), ip.src, ip.dst);
  auto hdr = ip.emit(buf);
  if (!seg || !hdr) return {};
  return buf;
}

void Migrations::emit(const wire::TcpRepr& tcp, uint32_t src, uint32_t dst) {
  if (const auto buf = build(tcp, src, dst); !buf.empty()) s_.emit(buf, Direction::ClientToServer);
}

void Migrations::send_rst(const Flow& f, Endpoint to, SeqNumber seq) {
  wire::TcpRepr rst;
  rst.src_port = f.client_port;
  rst.dst_port = to.port;
  rst.seq = seq;
  rst.flags = flag::RST;
  emit(rst, f.client_ip, to.ip.value);
  ++s_.counters.resets_sent;
}

// ---------------------------------------------------------------- deadlines

void Migrations::push_deadline(Nanos at, Deadline::Kind kind, uint32_t index, uint32_t generation) {
  heap_.push_back(Deadline{at, deadline_order_++, kind, index, generation});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

bool Migrations::live(const Deadline& d) const {
  switch (d.kind) {
    case Deadline::Kind::Trigger:
      return pendings_[d.index].generation == d.generation &&
             s_.table.flow(pendings_[d.index].flow).state == FlowState::Armed;
    case Deadline::Kind::SynRetransmit:
      return pendings_[d.index].generation == d.generation && pendings_[d.index].syn_due == d.at &&
             s_.table.flow(pendings_[d.index].flow).state == FlowState::Replaying;
    case Deadline::Kind::Expire:
      return s_.table.cold(d.index).generation == d.generation && !s_.table.flow(d.index).has(kFree);
    case Deadline::Kind::RuleTrigger:
      return rule_index(uint64_t{d.generation} << 32 | d.index) < rules_.size();
  }
  return false;
}

void Migrations::prune_dead() {
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

void Migrations::poll(Nanos now) {
  while (!heap_.empty() && heap_.front().at <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    const Deadline d = heap_.back();
    heap_.pop_back();
    switch (d.kind) {
      case Deadline::Kind::Trigger:
        if (d.generation == pendings_[d.index].generation &&
            s_.table.flow(pendings_[d.index].flow).state == FlowState::Armed) {
          fire(d.index, d.at);
        }
        break;
      case Deadline::Kind::SynRetransmit: {
        const Pending& p = pendings_[d.index];
        if (d.generation != p.generation || p.syn_due != d.at || flow_of(p).state != FlowState::Replaying) break;
        if (p.syn_tries > s_.cfg.replay_retries) {
          finish(d.index, Outcome::AbortedTimeout, d.at);
        } else {
          send_syn(d.index, d.at);
        }
        break;
      }
      case Deadline::Kind::Expire: {
        Flow& f = s_.table.flow(d.index);
        if (d.generation != s_.table.cold(d.index).generation || f.has(kFree) || s_.table.cold(d.index).expiring == 0) {
          break;
        }
        if (migrating(f.state)) {
          // A replay still runs: when it ends, finish() -> closing() schedules
          // the expiry again.
          s_.table.cold(d.index).expiring = 0;
          break;
        }
        s_.table.release(d.index);
        ++s_.counters.flows_expired;
        break;
      }
      case Deadline::Kind::RuleTrigger: {
        const std::size_t i = rule_index(uint64_t{d.generation} << 32 | d.index);
        if (i == rules_.size()) break;  // cancelled
        const Rule rule = rules_[i];
        rules_.erase(rules_.begin() + static_cast<std::ptrdiff_t>(i));
        apply_rule(rule, d.at);
        break;
      }
    }
  }
  maybe_sweep(now);
  prune();
}

// ---------------------------------------------------------------- idle flows (rule 10)

/// One slice of the table: at least 1024 slots, and all of it every 64 sweeps.
void Migrations::sweep(Nanos now) {
  sweep_due_ = now + s_.cfg.sweep_interval;
  FlowTable& t = s_.table;
  const uint32_t slots = t.slots();
  if (slots == 0) return;
  const uint32_t slice = std::min(slots, std::max<uint32_t>(1024, (slots + 63) / 64));
  const uint32_t tick = FlowTable::tick_of(now);
  const uint32_t idle = FlowTable::ticks_of(s_.cfg.idle_timeout);
  const uint32_t syn = FlowTable::ticks_of(s_.cfg.syn_timeout);
  for (uint32_t n = 0; n < slice; ++n) {
    const uint32_t i = sweep_cursor_ < slots ? sweep_cursor_ : 0;
    sweep_cursor_ = i + 1;
    Flow& f = t.flow(i);
    FlowCold& c = t.cold(i);
    if (f.has(kFree)) continue;
    if (f.has(kSeen)) {  // a packet since the last look: idle from now at most
      f.flags &= static_cast<uint8_t>(~kSeen);
      c.last_seen = tick;
      continue;
    }
    if (c.expiring != 0 || f.state == FlowState::Replaying) continue;
    if (tick - c.last_seen > (half_open(f) ? syn : idle)) expire_idle(i, now);
  }
}

void Migrations::expire_idle(uint32_t fi, Nanos now) {
  if (migrating(s_.table.flow(fi).state)) {
    const uint32_t pi = s_.table.cold(fi).migration;
    Pending& p = pendings_[pi];
    std::vector<Queued> queue = std::move(p.queue);
    p.queue = {};
    for (const Queued& q : queue) end_unstarted(q.record, Outcome::AbortedIdle, Refusal::Count, now);
    (void)end(pi, Outcome::AbortedIdle, now);  // its queue is empty
  }
  s_.table.release(fi);
  ++s_.counters.flows_expired;
  ++s_.counters.flows_idle;
}

}  // namespace tcpmig::core::detail
