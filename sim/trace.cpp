// Text trace writer (see tcpmig/sim/trace.hpp for the line format).
#include "tcpmig/sim/trace.hpp"

#include <cerrno>
#include <cstring>

#include "tcpmig/wire/format.hpp"

namespace tcpmig::sim {

namespace {
constexpr std::size_t flush_bytes = 1 << 16;
}  // namespace

TraceWriter::~TraceWriter() { close(); }

bool TraceWriter::open(const std::string& path, std::string& error) {
  close();
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  owns_file_ = true;
  pending_.reserve(flush_bytes + 512);
  return true;
}

void TraceWriter::attach(std::FILE* stream) {
  close();
  file_ = stream;
  owns_file_ = false;
  pending_.reserve(flush_bytes + 512);
}

void TraceWriter::capture_to_string() {
  close();
  capture_ = true;
}

void TraceWriter::packet(Time t, std::string_view node, std::string_view iface, TraceEvent event,
                         std::string_view reason, std::span<const uint8_t> frame) {
  if (!enabled()) return;
  line_.clear();
  append_time(line_, t);
  line_.push_back(' ');
  line_.append(node);
  line_.push_back(' ');
  line_.append(iface);
  switch (event) {
    case TraceEvent::Tx: line_.append(" tx "); break;
    case TraceEvent::Rx: line_.append(" rx "); break;
    case TraceEvent::Drop:
      line_.append(" drop:");
      line_.append(reason);
      line_.push_back(' ');
      break;
  }
  wire::append_summary(line_, frame);
  line_.push_back('\n');
  emit_line();
}

void TraceWriter::emit_line() {
  ++lines_;
  if (capture_) {
    captured_.append(line_);
    return;
  }
  pending_.append(line_);
  if (pending_.size() >= flush_bytes) flush();
}

void TraceWriter::flush() {
  if (file_ == nullptr || pending_.empty()) return;
  if (std::fwrite(pending_.data(), 1, pending_.size(), file_) != pending_.size() || std::fflush(file_) != 0) {
    failed_ = true;
  }
  pending_.clear();
}

void TraceWriter::close() {
  flush();
  if (file_ != nullptr && owns_file_ && std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  owns_file_ = false;
  capture_ = false;
}

}  // namespace tcpmig::sim
