// Classic pcap writer (see tcpmig/sim/pcap.hpp for the format rules).
#include "tcpmig/sim/pcap.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tcpmig::sim {

namespace {
// Flush threshold: buffer at most this many bytes before writing them out.
constexpr std::size_t buffer_bytes = 1 << 16;
}  // namespace

PcapWriter::~PcapWriter() { close(); }

bool PcapWriter::open(const std::string& path, std::string& error, uint32_t linktype) {
  close();
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  buffer_.clear();
  buffer_.reserve(buffer_bytes + snaplen + 16);
  records_ = 0;
  failed_ = false;
  put32(magic_nanoseconds);
  put16(2);  // version major
  put16(4);  // version minor
  put32(0);  // thiszone (GMT)
  put32(0);  // sigfigs
  put32(snaplen);
  put32(linktype);
  flush();
  return true;
}

void PcapWriter::put32(uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);  // host byte order, as libpcap writes it
  buffer_.insert(buffer_.end(), b, b + 4);
}

void PcapWriter::put16(uint16_t v) {
  uint8_t b[2];
  std::memcpy(b, &v, 2);
  buffer_.insert(buffer_.end(), b, b + 2);
}

void PcapWriter::write(Time t, std::span<const uint8_t> frame) {
  if (file_ == nullptr) return;
  const int64_t ns = t.ns() < 0 ? 0 : t.ns();
  const auto incl = static_cast<uint32_t>(std::min<std::size_t>(frame.size(), snaplen));
  put32(static_cast<uint32_t>(ns / 1'000'000'000));
  put32(static_cast<uint32_t>(ns % 1'000'000'000));
  put32(incl);
  put32(static_cast<uint32_t>(frame.size()));
  buffer_.insert(buffer_.end(), frame.begin(), frame.begin() + incl);
  ++records_;
  if (buffer_.size() >= buffer_bytes) flush();
}

void PcapWriter::flush() {
  if (file_ == nullptr || buffer_.empty()) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() || std::fflush(file_) != 0) {
    failed_ = true;
  }
  buffer_.clear();
}

void PcapWriter::close() {
  if (file_ == nullptr) return;
  flush();
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
}

}  // namespace tcpmig::sim
