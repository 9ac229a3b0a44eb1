// What tcpmig-gateway counts, and the two forms the control socket gives it
// in: a JSON object (`stats`) and the Prometheus text exposition format
// (`stats prometheus`, https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Place in the layers: tools/gateway, std + core only (tested without root).
// Rules: every number is a sum over the workers (one per queue); metric
// names are tcpmig_gateway_*; counters end in _total; the core's verdicts
// are one counter with a reason label (core::reason_name), never one name
// per reason; both forms list the same metrics in the same order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcpmig/core/migrator.hpp"

namespace tcpmig::gateway_tool {

/// What the host part of one worker counts (the core counts the rest).
struct HostCounters {
  uint64_t received = 0;            ///< packets read from the queue
  uint64_t enobufs = 0;             ///< the queue socket overflowed (ENOBUFS): packets the kernel could not queue
  uint64_t receive_errors = 0;      ///< other receive errors
  uint64_t gso = 0;                 ///< GSO packets received (larger than the MTU)
  uint64_t checksum_completed = 0;  ///< partial TCP checksums of rewritten single (not GSO) packets completed
  uint64_t truncated = 0;           ///< packets copied short by the kernel (not seen by the core): dropped when their flow moved, else passed
  uint64_t unrelated = 0;           ///< IPv4/TCP packets neither to nor from the service or a backend: passed
  uint64_t accepted = 0;            ///< verdicts: accept unchanged
  uint64_t modified = 0;            ///< verdicts: accept with rewritten bytes
  uint64_t dropped = 0;             ///< verdicts: drop (held, consumed or stale; see the core's reasons)
  uint64_t verdict_errors = 0;      ///< verdict messages the kernel refused or that could not be sent
  uint64_t verdicts_lost = 0;       ///< rewritten packets dropped because their verdict could not be sent
  uint64_t modified_too_long = 0;   ///< rewritten packets too long for a verdict: sent on the raw socket, original dropped
  uint64_t emitted = 0;             ///< packets the core made or released
  uint64_t segmented = 0;           ///< of which: larger than the path MTU, split in software
  uint64_t sent = 0;                ///< packets sent on the raw socket (segments counted one by one)
  uint64_t send_errors = 0;         ///< raw socket sends that failed (unreachable, no buffer, ...)
  uint64_t pcap_records = 0;        ///< packets written to --pcap

  HostCounters& operator+=(const HostCounters& o);
};

/// Adds the core's counters of another worker.
void add_counters(core::Counters& sum, const core::Counters& more);
/// Adds the core's gauges of another worker.
void add_gauges(core::Gauges& sum, const core::Gauges& more);

/// Everything `stats` reports, summed over the workers.
struct StatsSnapshot {
  core::Counters core;
  HostCounters host;
  uint64_t flows = 0;          ///< flows in the tables now
  core::Gauges gauges;         ///< held packets, flows per state, rules, pending migrations (summed)
  uint64_t queues = 0;         ///< workers
  uint64_t records_kept = 0;   ///< finished migrations in the `records` ring
  uint64_t control_errors = 0; ///< control commands answered with an error
  uint64_t hook_failures = 0;  ///< --on-trigger commands that failed
};

/// One metric line: name (without the tcpmig_gateway_ prefix), label (may be
/// empty: `reason="held"`), value; help and type are those of its family.
struct Metric {
  std::string family;  ///< e.g. "packets_total"
  const char* help;
  const char* type;    ///< "counter" or "gauge"
  std::string label;   ///< `key="value"` or empty
  uint64_t value;
};

/// The metrics of a snapshot, families in a fixed order.
std::vector<Metric> metrics_of(const StatsSnapshot& s);
/// The Prometheus text format (each family: # HELP, # TYPE, its samples).
std::string prometheus_text(const StatsSnapshot& s);
/// {"ok":true,"stats":{family: value or {label value: value}}} on one line.
std::string stats_json(const StatsSnapshot& s);

}  // namespace tcpmig::gateway_tool
