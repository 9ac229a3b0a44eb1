// The scenario runner: turns a loaded Scenario into a simulation (network,
// TCP stacks, gateways, applications, migration requests, runtime hosts and
// links), runs it, writes the outputs and collects the results; and the run
// report (text summary for stdout, summary.json).
//
// Place in the layers: scenario loading (tools/scenario), on the models
// (net, tcp, apps, gateway). Used by tcpmig-sim and the scenario tests.
// Rules (scenarios/README.md says the same for users):
// - Objects are created in document order: nodes, then links between nodes
//   present from the start (but not links with add-at), TCP stacks of present
//   hosts, their applications, then the migration requests due at t = 0.
//   Same scenario + seed = same run.
// - A runtime host joins (with each of its links whose other end exists and
//   that has no add-at of its own) at add-at, or in an event at the time its
//   add-on migration triggers; after boot-delay its TCP stack and
//   applications start and the gateway is told the migration's target is
//   ready (target_ready). The observer never calls the migrator itself:
//   everything it starts is a simulator event.
// - A link with add-at is created in an event at that time, scheduled after
//   the runtime hosts' (so a host joining at the same time is there first),
//   through the same add_links() path; its console line is
//   "<a> link to <b> is up". Routes are recomputed lazily by the network.
// - A gateway interface is client-facing when the node at the other end of
//   its link is named in the gateway's client-facing list.
// - Migration requests: every flow of the service (migrate_service), or one
//   flow (migrate_flow, refused with the core's reason, e.g. when the flow is
//   not tracked at request-at),
//   waiting for the target when a host has add-on = the migration.
// - Outputs go to RunOptions::out_dir, created by run_scenario (never by the
//   loader), unless RunOptions::write_files is false (then nothing is
//   written and the trace has no fingerprint): <node>-<iface>.pcap, trace.txt, summary.json. All are opened
//   before the simulation runs (a runtime host's pcaps when it joins), so an
//   unwritable output stops the run before it starts. The trace fingerprint
//   is FNV-1a 64 over trace.txt.
// - Expectations (exit 1 in the CLI): each migration's records end as its
//   `expect` says (completed; aborted: any other end, a refusal included;
//   and there is at least one unless expect="any" or a flow request was
//   refused with expect="aborted"); then what each application kind expects
//   (AppKind::expect): each request client gets expect-responses responses,
//   each bulk sink with expect-bytes receives exactly that many and no sink
//   sees a wrong byte, each bulk sender's transfer completes unless
//   expect="any".
// - Report times: instants as seconds with nine decimals, durations as
//   milliseconds with three decimals (truncated), integer arithmetic only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/scenario/scenario.hpp"
#include "tcpmig/sim/time.hpp"
#include "tcpmig/tcp/socket.hpp"

namespace tcpmig::scenario {

/// How to run a scenario.
struct RunOptions {
  uint64_t seed = 1;                  ///< root of every random stream
  std::string out_dir;                ///< output directory (created; must be non-empty unless !write_files)
  bool write_files = true;            ///< false: no directory and no file at all (sweeps keep only the results)
  bool pcap = true;                   ///< write pcaps (only if the scenario's outputs also say so)
  bool force_trace = false;           ///< write trace.txt even when outputs trace="false"
  std::optional<sim::Time> until;     ///< stop at this simulated time (run to the end otherwise)
  bool quiet = false;                 ///< no console lines while running
  std::FILE* console = stdout;        ///< where console lines go (unless quiet)
};

/// One migration record of one gateway.
struct MigrationRow {
  std::string gateway;            ///< gateway node name
  std::string migration;          ///< name of the <migration> it belongs to ("" if none matches)
  core::MigrationRecord record;   ///< what the core recorded
};

/// A flow migration request the gateway refused.
struct RefusedRequest {
  std::string migration;  ///< <migration> name
  sim::Time at;           ///< when it was requested
  core::Refusal reason = core::Refusal::UnknownFlow;  ///< why (core::refusal_name)
};

/// Counters of one gateway after the run.
struct GatewayResult {
  std::string name;          ///< gateway node name
  core::Counters counters;   ///< the core's counters
  std::size_t flows = 0;     ///< flows still in the table at the end
};

/// What one application did (one entry per request-client instance).
/// The fields are shared by every kind (sweeps and scripts read them by
/// name); each kind fills those it has and its AppKind prints them.
struct AppResult {
  const AppKind* kind = nullptr;              ///< which app
  std::string node;                           ///< its host
  std::string name;                           ///< console label
  bool started = false;                       ///< created (false: its runtime host never booted)
  uint64_t sent = 0;                          ///< request-client: requests sent; bulk-sender: bytes queued
  uint64_t responses = 0;                     ///< request-client: responses received
  uint64_t expected = 0;                      ///< request-client: expect-responses; bulk-sink: expect-bytes;
                                              ///< bulk-sender: its bytes
  bool has_expected = false;                  ///< `expected` is required (bulk-sender: expect="completed")
  std::optional<tcp::CloseReason> closed;     ///< clients and senders: how the connection ended
  uint64_t requests = 0;                      ///< response-server: requests received
  uint64_t connections = 0;                   ///< response-server: connections accepted
  uint64_t bytes = 0;                         ///< bulk-sink: bytes received; request-client: payload
                                              ///< bytes of the responses (lines with their '\n')
  uint64_t errors = 0;                        ///< bulk-sink: bytes that differ from the pattern
  uint64_t goodput_bps = 0;                   ///< bulk-sink: goodput
  std::optional<sim::Time> finished;          ///< bulk-sink: the sender's FIN arrived
  // Deliveries (request-client, bulk-sink): a delivery is one on_readable
  // that read new in-order bytes (apps::DeliveryTimes).
  std::optional<sim::Time> first_rx;          ///< first delivery of payload to the app (nullopt: none)
  std::optional<sim::Time> last_rx;           ///< last delivery (nullopt: none)
  sim::Duration max_gap;                      ///< longest time between two successive deliveries (zero
                                              ///< with fewer than two); a bulk-sink that `continues`
                                              ///< another also counts the gap from that one's last
                                              ///< delivery to its own first
  /// request-client: the last of `count` responses arrived; bulk-sink: the
  /// sender's FIN arrived (= finished); bulk-sender: the connection closed
  /// normally after every byte was handed to TCP. nullopt: never.
  std::optional<sim::Time> completed;
};

/// Everything a run produced besides its files.
struct RunResults {
  uint64_t seed = 1;                            ///< the seed used
  uint64_t events = 0;                          ///< simulator events executed
  sim::Time end_time;                           ///< simulated time at the end
  uint64_t trace_lines = 0;                     ///< lines in trace.txt
  std::optional<uint64_t> trace_fingerprint;    ///< FNV-1a 64 of trace.txt (when written)
  std::string trace_path;                       ///< trace.txt path, empty when not written
  std::vector<MigrationRow> migrations;         ///< every record, by gateway (document order) then id
  std::vector<RefusedRequest> refused;          ///< refused flow requests
  std::vector<GatewayResult> gateways;          ///< document order
  std::vector<AppResult> apps;                  ///< document order (instances in order)
  /// TCP segments retransmitted (any cause), summed over every host's stack
  /// and every socket it had, closed ones included: by sockets that opened
  /// with connect() (client side) and by accepted ones (server side).
  uint64_t client_retransmits = 0;
  uint64_t server_retransmits = 0;
  /// RTO expirations, counted the same way (each one a stall of at least rto_min).
  uint64_t client_timeouts = 0;
  uint64_t server_timeouts = 0;
  std::vector<std::string> failures;            ///< expectations not met, one line each
  std::vector<std::string> files;               ///< every file the run opened for writing, also when it failed
};

/// Runs `s` and writes its outputs. Returns false with `error` set (exit 2)
/// when the output cannot be written or the topology fails while running;
/// expectation failures are in results.failures. Either way results.files
/// lists the files it opened for writing, for a caller that abandons the run
/// to remove.
bool run_scenario(const Scenario& s, const RunOptions& opts, RunResults& results, std::string& error);

/// Prints the summary: migrations (every record, or the first 3 and an
/// aggregate when there are more than 10), gateway counters, application
/// results (not when `quiet`), events, end time and the trace fingerprint.
void print_summary(std::FILE* out, const Scenario& s, const RunResults& r, bool quiet);

/// summary.json: scenario, file (the scenario file's name without folders,
/// the same from any working folder), seed, params, events, end time,
/// fingerprint, migrations, refused requests, gateways, apps, tcp
/// ({"client_retransmits", "server_retransmits", "client_timeouts",
/// "server_timeouts"}), failures (stable key
/// order, times in integer nanoseconds, null for "never"). Apps that read a
/// stream (request-client, bulk-sink) have "first_rx_ns", "last_rx_ns",
/// "max_gap_ns"; they and bulk-sender have "completed_ns"; request-client
/// also has "bytes".
std::string summary_json(const Scenario& s, const RunResults& r);

/// Milliseconds with three decimals from integer nanoseconds ("12.345"), truncated; "-" for core::kNever.
std::string format_ms(int64_t ns);

}  // namespace tcpmig::scenario
