// Classic pcap writer with nanosecond timestamps.
//
// Place in the layers: sim engine output sink (std only; no OS headers).
// Format: the libpcap "savefile" format (https://www.tcpdump.org/manpages/pcap-savefile.5.html),
// version 2.4, magic 0xa1b23c4d (nanosecond resolution), written in the host's byte
// order like libpcap does; LINKTYPE_ETHERNET (1) unless told otherwise. Records are appended to an
// in-memory buffer and written out in whole records, so the file on disk is
// always a valid capture (a prefix of the run) even if the run is stopped early.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::sim {

class PcapWriter {
 public:
  /// LINKTYPE_ETHERNET: frames start with a 14-byte Ethernet II header.
  static constexpr uint32_t linktype_ethernet = 1;
  /// LINKTYPE_RAW: records start with the IPv4 (or IPv6) header (tcpmig-gateway's --pcap).
  static constexpr uint32_t linktype_raw = 101;
  /// Nanosecond-resolution savefile magic.
  static constexpr uint32_t magic_nanoseconds = 0xa1b23c4d;
  /// Largest frame stored whole; longer frames are truncated to this (incl_len).
  static constexpr uint32_t snaplen = 65535;

  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  /// Creates (truncates) `path` and writes the global header with `linktype`.
  /// Returns false and fills `error` ("path: reason") when the file cannot be created.
  bool open(const std::string& path, std::string& error, uint32_t linktype = linktype_ethernet);
  [[nodiscard]] bool is_open() const { return file_ != nullptr; }

  /// Appends one record stamped with simulated time `t` (t >= 0).
  void write(Time t, std::span<const uint8_t> frame);

  /// Writes out buffered records; the file stays open.
  void flush();
  /// Flushes and closes; later writes are ignored. Safe to call twice.
  void close();

  /// Records written so far.
  [[nodiscard]] uint64_t records() const { return records_; }
  /// False once a write to the file failed (disk full, I/O error).
  [[nodiscard]] bool ok() const { return !failed_; }

 private:
  void put32(uint32_t v);
  void put16(uint16_t v);

  std::FILE* file_ = nullptr;
  std::vector<uint8_t> buffer_;  // whole records only; capacity reserved at open
  uint64_t records_ = 0;
  bool failed_ = false;
};

}  // namespace tcpmig::sim
