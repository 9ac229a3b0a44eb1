// Migration records as JSON (see include/tcpmig/records/migration.hpp).
#include "tcpmig/records/migration.hpp"

namespace tcpmig::records {

void write_time(JsonWriter& w, std::string_view key, core::Nanos ns) {
  w.key(key);
  if (ns == core::kNever) {
    w.null();
  } else {
    w.value(int64_t{ns});
  }
}

void write_options(JsonWriter& w, std::string_view key, const core::TcpOptions& o) {
  w.key(key);
  w.begin_object();
  w.key("mss");
  w.value(uint64_t{o.mss});
  w.key("window_scale");
  if (o.window_scale) {
    w.value(uint64_t{*o.window_scale});
  } else {
    w.null();
  }
  w.key("sack_permitted");
  w.value(o.sack_permitted);
  w.key("timestamps");
  w.value(o.timestamps);
  w.end_object();
}

void write_migration_fields(JsonWriter& w, const core::MigrationRecord& m) {
  w.key("id");
  w.value(m.id);
  w.key("client");
  w.value(core::endpoint_text(m.flow.client));
  w.key("service");
  w.value(core::endpoint_text(m.flow.service));
  w.key("from");
  w.value(core::endpoint_text(m.from));
  w.key("to");
  w.value(core::endpoint_text(m.to));
  w.key("trigger");
  w.value(core::trigger_text(m.trigger));
  w.key("safe_point");
  const auto sp = static_cast<std::size_t>(m.trigger.safe_point);
  w.value(sp < safe_point_words.size() ? safe_point_words[sp] : std::string_view("?"));
  w.key("outcome");
  w.value(core::outcome_name(m.outcome));
  w.key("refusal");
  if (m.outcome == core::Outcome::Refused) {
    w.value(core::refusal_name(m.refusal));
  } else {
    w.null();
  }
  write_time(w, "requested_at_ns", m.requested_at);
  write_time(w, "triggered_at_ns", m.triggered_at);
  write_time(w, "safe_point_at_ns", m.safe_point_at);
  write_time(w, "synack_at_ns", m.synack_at);
  write_time(w, "finished_at_ns", m.finished_at);
  write_time(w, "first_hold_at_ns", m.first_hold_at);
  write_time(w, "replay_rtt_ns", m.replay_rtt());
  write_time(w, "client_stall_ns",
             m.finished_at == core::kNever && m.first_hold_at != core::kNever ? core::kNever : m.client_stall());
  w.key("syn_sent");
  w.value(m.syn_sent);
  w.key("target_resets");
  w.value(m.target_resets);
  w.key("held");
  w.value(m.held);
  w.key("hold_dropped");
  w.value(m.hold_dropped);
  w.key("cut");
  w.value(m.cut);
  w.key("seq_delta");
  w.value(m.seq_delta);
  w.key("ts_delta");
  w.value(m.ts_delta);
  write_options(w, "client_options", m.client_options);
  write_options(w, "old_options", m.old_options);
  write_options(w, "new_options", m.new_options);
}

}  // namespace tcpmig::records
