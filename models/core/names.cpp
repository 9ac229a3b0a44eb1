// Names and texts of the core's values (migrator.hpp): one table per enum,
// indexed by the enumerator, whose size is checked against its Count; the
// names are stable (they appear in traces, summaries and JSON).
#include <array>
#include <string>

#include "tcpmig/core/migrator.hpp"

namespace tcpmig::core {

namespace {

template <class Enum>
constexpr std::size_t count_of() {
  return static_cast<std::size_t>(Enum::Count);
}

constexpr std::array<const char*, count_of<Reason>()> kReasonNames{
    "not-ipv4", "fragment", "not-tcp", "malformed", "unknown-flow", "table-full", "tracked",
    "rewritten", "held", "hold-overflow", "replay-handshake", "stale-backend", "malformed-migrated",
};
constexpr std::array<const char*, count_of<FlowState>()> kFlowStateNames{
    "syn-sent", "established", "armed", "wait-target", "wait-safe-point", "replaying", "closing",
};
constexpr std::array<const char*, count_of<Outcome>()> kOutcomeNames{
    "pending",         "completed",      "aborted-rst",   "aborted-timeout",
    "aborted-options", "aborted-closing", "aborted-table", "aborted-server", "refused",
    "cancelled",       "aborted-target-down", "aborted-idle",
};
constexpr std::array<const char*, count_of<Refusal>()> kRefusalNames{
    "unknown-flow", "handshake-incomplete", "closing", "same-backend", "queue-full", "target-down",
};

template <class Enum, std::size_t N>
const char* name_in(const std::array<const char*, N>& names, Enum e) {
  const auto i = static_cast<std::size_t>(e);
  return i < names.size() ? names[i] : "?";
}

/// "1.5s", "250ms", "12.5us", "7ns": the largest unit the value reaches,
/// with as many decimals as it needs (exact).
void append_duration(std::string& out, Nanos ns) {
  struct Unit {
    Nanos size;
    const char* name;
    int digits;
  };
  static constexpr Unit units[] = {{1'000'000'000, "s", 9}, {1'000'000, "ms", 6}, {1'000, "us", 3}};
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  for (const Unit& u : units) {
    if (ns < u.size) continue;
    out += std::to_string(ns / u.size);
    std::string frac = std::to_string(ns % u.size);
    frac.insert(0, static_cast<std::size_t>(u.digits) - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) out += "." + frac;
    out += u.name;
    return;
  }
  out += std::to_string(ns) + "ns";
}

}  // namespace

const char* reason_name(Reason r) { return name_in(kReasonNames, r); }
const char* flow_state_name(FlowState s) { return name_in(kFlowStateNames, s); }
const char* outcome_name(Outcome o) { return name_in(kOutcomeNames, o); }
const char* refusal_name(Refusal r) { return name_in(kRefusalNames, r); }

std::string endpoint_text(const Endpoint& e) { return wire::to_string(e.ip) + ":" + std::to_string(e.port); }

std::string trigger_text(const Trigger& t) {
  std::string s;
  switch (t.kind) {
    case Trigger::Kind::Now: s = "now"; break;
    case Trigger::Kind::AtTime:
      s = "at ";
      append_duration(s, t.at);
      break;
    case Trigger::Kind::AfterRequests: s = "after " + std::to_string(t.count) + " requests"; break;
    case Trigger::Kind::AfterSegments: s = "after " + std::to_string(t.count) + " segments"; break;
    case Trigger::Kind::AfterBytes: s = "after " + std::to_string(t.count) + " bytes"; break;
    case Trigger::Kind::Count: break;
  }
  if (t.safe_point == SafePoint::ClientData) s += ", safe point client-data";
  if (t.safe_point == SafePoint::Quiescent) s += ", safe point quiescent";
  return s;
}

std::string options_text(const TcpOptions& o) {
  std::string s;
  auto add = [&](const std::string& part) {
    if (!s.empty()) s += ", ";
    s += part;
  };
  if (o.mss != 0) add("mss " + std::to_string(o.mss));
  if (o.window_scale) add("wscale " + std::to_string(*o.window_scale));
  if (o.sack_permitted) add("sackOK");
  if (o.timestamps) add("TS");
  return s.empty() ? "none" : s;
}

}  // namespace tcpmig::core
