// Gateway metrics (see metrics.hpp).
#include "metrics.hpp"

#include "tcpmig/records/json.hpp"

namespace tcpmig::gateway_tool {

HostCounters& HostCounters::operator+=(const HostCounters& o) {
  received += o.received;
  enobufs += o.enobufs;
  receive_errors += o.receive_errors;
  gso += o.gso;
  checksum_completed += o.checksum_completed;
  truncated += o.truncated;
  unrelated += o.unrelated;
  accepted += o.accepted;
  modified += o.modified;
  dropped += o.dropped;
  verdict_errors += o.verdict_errors;
  verdicts_lost += o.verdicts_lost;
  modified_too_long += o.modified_too_long;
  emitted += o.emitted;
  segmented += o.segmented;
  sent += o.sent;
  send_errors += o.send_errors;
  pcap_records += o.pcap_records;
  return *this;
}

void add_counters(core::Counters& sum, const core::Counters& more) {
  for (std::size_t i = 0; i < sum.by_reason.size(); ++i) sum.by_reason[i] += more.by_reason[i];
  sum.packets += more.packets;
  sum.flows_created += more.flows_created;
  sum.flows_expired += more.flows_expired;
  sum.syn_sent += more.syn_sent;
  sum.resets_sent += more.resets_sent;
  sum.stale_resets += more.stale_resets;
  sum.target_resets += more.target_resets;
  sum.migrations_requested += more.migrations_requested;
  sum.migrations_completed += more.migrations_completed;
  sum.migrations_aborted += more.migrations_aborted;
  sum.migrations_cancelled += more.migrations_cancelled;
  sum.flows_idle += more.flows_idle;
  sum.emitted += more.emitted;
}

void add_gauges(core::Gauges& sum, const core::Gauges& more) {
  sum.held += more.held;
  for (std::size_t i = 0; i < sum.flows_by_state.size(); ++i) sum.flows_by_state[i] += more.flows_by_state[i];
  sum.rules += more.rules;
  sum.pending += more.pending;
}

std::vector<Metric> metrics_of(const StatsSnapshot& s) {
  std::vector<Metric> m;
  const auto counter = [&](const char* family, const char* help, uint64_t v) {
    m.push_back({family, help, "counter", {}, v});
  };
  const auto gauge = [&](const char* family, const char* help, uint64_t v) {
    m.push_back({family, help, "gauge", {}, v});
  };
  const HostCounters& h = s.host;
  const core::Counters& c = s.core;
  gauge("queues", "NFQUEUE queues served (one worker each).", s.queues);
  gauge("flows", "Flows in the flow tables.", s.flows);
  for (std::size_t i = 0; i < s.gauges.flows_by_state.size(); ++i) {
    m.push_back({"flows_by_state", "Flows in the flow tables, by state.", "gauge",
                 std::string("state=\"") + core::flow_state_name(static_cast<core::FlowState>(i)) + "\"",
                 s.gauges.flows_by_state[i]});
  }
  gauge("held_packets", "Client packets held by migrations under way.", s.gauges.held);
  gauge("pending_migrations", "Migrations not finished (begun or queued).", s.gauges.pending);
  gauge("rules", "Service rules that still reach new flows.", s.gauges.rules);
  counter("received_total", "Packets read from NFQUEUE.", h.received);
  counter("enobufs_total", "Times the queue socket overflowed (ENOBUFS): the kernel dropped packets it could not queue.",
          h.enobufs);
  counter("receive_errors_total", "Other errors reading the queue socket.", h.receive_errors);
  counter("gso_total", "GSO packets received (larger than the MTU).", h.gso);
  counter("checksum_completed_total", "Partial TCP checksums of rewritten single packets completed in user space.",
          h.checksum_completed);
  counter("truncated_total", "Packets the kernel copied short (not seen by the core): dropped when their flow moved, else passed.", h.truncated);
  counter("unrelated_total", "TCP packets neither to nor from the service or a backend: passed.", h.unrelated);
  const char* verdict_help = "Verdicts given to queued packets.";
  m.push_back({"verdicts_total", verdict_help, "counter", "verdict=\"accept\"", h.accepted});
  m.push_back({"verdicts_total", verdict_help, "counter", "verdict=\"modified\"", h.modified});
  m.push_back({"verdicts_total", verdict_help, "counter", "verdict=\"drop\"", h.dropped});
  counter("verdict_errors_total", "Verdicts that could not be sent or that the kernel refused.", h.verdict_errors);
  counter("verdicts_lost_total",
          "Rewritten packets dropped because their verdict could not be sent (TCP retransmits them).",
          h.verdicts_lost);
  counter("modified_too_long_total",
          "Rewritten packets too long for a verdict (over 65531 bytes): sent on the raw socket instead.",
          h.modified_too_long);
  counter("packets_total", "Packets the migration core processed.", c.packets);
  for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
    m.push_back({"packets_by_reason_total", "Packets by the core's verdict reason.", "counter",
                 std::string("reason=\"") + core::reason_name(static_cast<core::Reason>(i)) + "\"", c.by_reason[i]});
  }
  counter("emitted_total", "Packets the core made or released (sent on the raw socket).", h.emitted);
  counter("segmented_total", "Emitted packets larger than the path MTU, split into segments in software.",
          h.segmented);
  counter("sent_total", "Packets sent on the raw socket (each segment counted).", h.sent);
  counter("send_errors_total", "Raw socket sends that failed.", h.send_errors);
  counter("pcap_records_total", "Packets written to the --pcap file.", h.pcap_records);
  counter("flows_created_total", "Flows the core started tracking.", c.flows_created);
  counter("flows_expired_total", "Flows the core forgot.", c.flows_expired);
  counter("flows_idle_total", "Flows forgotten after the idle or SYN timeout (of flows_expired).", c.flows_idle);
  counter("replayed_syns_total", "Replayed SYNs sent, retransmissions included.", c.syn_sent);
  counter("resets_sent_total", "RSTs the core sent (all kinds).", c.resets_sent);
  counter("stale_resets_total", "RSTs answering packets from former backends.", c.stale_resets);
  counter("target_resets_total", "RSTs clearing a stale connection a target held.", c.target_resets);
  const char* mig_help = "Migrations by what happened to them.";
  m.push_back({"migrations_total", mig_help, "counter", "event=\"requested\"", c.migrations_requested});
  m.push_back({"migrations_total", mig_help, "counter", "event=\"completed\"", c.migrations_completed});
  m.push_back({"migrations_total", mig_help, "counter", "event=\"aborted\"", c.migrations_aborted});
  m.push_back({"migrations_total", mig_help, "counter", "event=\"cancelled\"", c.migrations_cancelled});
  gauge("records_kept", "Finished migrations kept for the records command.", s.records_kept);
  counter("control_errors_total", "Control commands answered with an error.", s.control_errors);
  counter("hook_failures_total", "--on-trigger commands that failed.", s.hook_failures);
  return m;
}

std::string prometheus_text(const StatsSnapshot& s) {
  std::string out;
  std::string last;
  for (const Metric& m : metrics_of(s)) {
    const std::string name = "tcpmig_gateway_" + m.family;
    if (m.family != last) {
      out += "# HELP " + name + " " + m.help + "\n";
      out += "# TYPE " + name + " " + m.type + "\n";
      last = m.family;
    }
    out += name;
    if (!m.label.empty()) out += "{" + m.label + "}";
    out += " " + std::to_string(m.value) + "\n";
  }
  return out;
}

std::string stats_json(const StatsSnapshot& s) {
  records::JsonWriter w(records::JsonWriter::Layout::OneLine);
  w.begin_object();
  w.key("ok");
  w.value(true);
  w.key("stats");
  w.begin_object();
  const std::vector<Metric> metrics = metrics_of(s);
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const Metric& m = metrics[i];
    if (m.label.empty()) {
      w.key(m.family);
      w.value(m.value);
      continue;
    }
    // A labelled family: one object keyed by the label's value.
    if (i == 0 || metrics[i - 1].family != m.family) {
      w.key(m.family);
      w.begin_object();
    }
    const std::size_t q = m.label.find('"');
    w.key(std::string_view(m.label).substr(q + 1, m.label.size() - q - 2));
    w.value(m.value);
    if (i + 1 == metrics.size() || metrics[i + 1].family != m.family) w.end_object();
  }
  w.end_object();
  w.end_object();
  return w.text();
}

}  // namespace tcpmig::gateway_tool
