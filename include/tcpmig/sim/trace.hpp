// Text trace: one line per packet event, stable and diffable.
//
// Place in the layers: sim engine output sink (uses wire's summary formatter).
// Line format (documented in README.md, pinned by golden traces in tests/golden/):
//
//   <time> <node> <interface> <event> <summary>
//
//   time       simulated seconds with exactly nine decimals ("0.001234567")
//   node       node name as given by the topology
//   interface  interface name on that node ("eth0")
//   event      tx            the frame starts serialization on the interface
//              rx            the frame was fully received by the interface
//              drop:<reason> the frame was discarded here; reasons are the
//                            DropReason names of the model that dropped it
//   summary    tcpdump-like: addresses, ports, flags, seq, ack, win, options, length
//
// Fields are separated by one space; node and interface names never contain
// spaces (the scenario loader enforces it). Nothing is formatted when no output
// is attached.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::sim {

enum class TraceEvent : uint8_t { Tx, Rx, Drop };

class TraceWriter {
 public:
  TraceWriter() = default;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  ~TraceWriter();

  /// Writes to a new file at `path` (truncated). False + `error` on failure.
  bool open(const std::string& path, std::string& error);
  /// Writes to an already-open stream (e.g. stdout); not closed by this object.
  void attach(std::FILE* stream);
  /// Collects lines in memory instead (tests); read them with `text()`.
  void capture_to_string();
  [[nodiscard]] bool enabled() const { return file_ != nullptr || capture_; }
  [[nodiscard]] const std::string& text() const { return captured_; }

  /// One packet event. `reason` is used only for TraceEvent::Drop.
  void packet(Time t, std::string_view node, std::string_view iface, TraceEvent event,
              std::string_view reason, std::span<const uint8_t> frame);

  /// Lines written so far.
  [[nodiscard]] uint64_t lines() const { return lines_; }
  /// False once a write to the file failed (disk full, I/O error).
  [[nodiscard]] bool ok() const { return !failed_; }

  void flush();
  void close();

 private:
  void emit_line();

  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  bool capture_ = false;
  std::string line_;      // reused for every line: no allocation in steady state
  std::string pending_;   // buffered lines not yet written to file_
  std::string captured_;  // capture_to_string() target
  uint64_t lines_ = 0;
  bool failed_ = false;
};

}  // namespace tcpmig::sim
