// A gateway worker (see worker.hpp).
#include "worker.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <optional>
#include <utility>

#include "segment.hpp"
#include "tcpmig/records/json.hpp"
#include "tcpmig/records/migration.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/ipv4.hpp"

namespace tcpmig::gateway_tool {

namespace {

/// Packets read per round before the verdicts are sent.
constexpr std::size_t kRound = 64;
/// poll() at least this often (idle expiry, retransmits, the 1 s rule).
constexpr core::Nanos kMaxSleep = 1'000'000'000;

void wake(int fd) {
  const uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

/// The source and destination of an IPv4 + TCP packet (enough of it to read
/// the ports); nothing for anything else.
std::optional<std::pair<core::Endpoint, core::Endpoint>> tcp_endpoints(std::span<const uint8_t> b) {
  const std::size_t ihl = b.size() >= 20 ? std::size_t{static_cast<uint8_t>(b[0] & 0x0f)} * 4 : 0;
  if (b.size() < 20 || (b[0] >> 4) != 4 || b[9] != wire::ip_proto::tcp || ihl < 20 || b.size() < ihl + 4) {
    return std::nullopt;
  }
  return std::pair{core::Endpoint{wire::Ipv4Address{wire::load_be32(b.data() + 12)}, wire::load_be16(b.data() + ihl)},
                   core::Endpoint{wire::Ipv4Address{wire::load_be32(b.data() + 16)},
                                  wire::load_be16(b.data() + ihl + 2)}};
}

}  // namespace

// --- Shared

bool Shared::open_records(const std::string& path, std::string& error) {
  records_file_ = std::fopen(path.c_str(), "a");
  if (records_file_ == nullptr) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool Shared::open_pcap(const std::string& path, std::string& error) {
  pcap_on_ = pcap_.open(path, error, sim::PcapWriter::linktype_raw);
  return pcap_on_;
}

std::string Shared::record_json(uint16_t queue, const core::MigrationRecord& r) const {
  records::JsonWriter w(records::JsonWriter::Layout::OneLine);
  w.begin_object();
  w.key("gateway");
  w.value(name_);
  w.key("migration");
  w.null();
  records::write_migration_fields(w, r);
  w.key("queue");
  w.value(uint64_t{queue});
  w.key("request");
  w.value(r.request);
  w.key("finished_wall_ns");
  w.value(int64_t{realtime_ns()});
  w.end_object();
  std::string s = w.text();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

void Shared::finished(uint16_t queue, const core::MigrationRecord& r) {
  const std::string refusal =
      r.outcome == core::Outcome::Refused ? std::string(" (") + core::refusal_name(r.refusal) + ")" : std::string();
  std::fprintf(stderr, "%s: migration %" PRIu64 " (queue %u) client %s: %s -> %s %s%s\n", name_.c_str(), r.id, queue,
               core::endpoint_text(r.flow.client).c_str(), core::endpoint_text(r.from).c_str(),
               core::endpoint_text(r.to).c_str(), core::outcome_name(r.outcome), refusal.c_str());
  std::string line = record_json(queue, r);
  const std::lock_guard lock(m_);
  if (records_file_ != nullptr) {
    std::fputs(line.c_str(), records_file_);
    std::fputc('\n', records_file_);
    std::fflush(records_file_);
  }
  if (keep_ == 0) return;
  if (records_.size() == keep_) records_.pop_front();
  records_.push_back(std::move(line));
}

void Shared::triggered(uint16_t queue, const core::MigrationRecord& r) {
  std::fprintf(stderr, "%s: migration %" PRIu64 " (queue %u) client %s: %s -> %s triggered (%s)\n", name_.c_str(),
               r.id, queue, core::endpoint_text(r.flow.client).c_str(), core::endpoint_text(r.from).c_str(),
               core::endpoint_text(r.to).c_str(), core::trigger_text(r.trigger).c_str());
  {
    const std::lock_guard lock(m_);
    triggered_.push_back(r.to);
  }
  if (wake_fd >= 0) wake(wake_fd);
}

std::vector<core::Endpoint> Shared::take_triggered() {
  const std::lock_guard lock(m_);
  return std::exchange(triggered_, {});
}

std::vector<std::string> Shared::records() const {
  const std::lock_guard lock(m_);
  return {records_.begin(), records_.end()};
}

std::size_t Shared::records_kept() const {
  const std::lock_guard lock(m_);
  return records_.size();
}

void Shared::pcap(std::span<const uint8_t> ipv4, HostCounters& c, bool partial) {
  if (!pcap_on_) return;  // no lock per packet without --pcap
  const std::lock_guard lock(m_);
  if (!pcap_.is_open()) return;
  if (partial) {
    // The kernel or the NIC completes this checksum later; the capture shows
    // the packet as it will be on the wire (tcpdump on the host would show
    // the partial sum and call it "incorrect").
    pcap_scratch_.assign(ipv4.begin(), ipv4.end());
    complete_tcp_checksum(pcap_scratch_);
    ipv4 = pcap_scratch_;
  }
  pcap_.write(sim::Time::from_ns(realtime_ns()), ipv4);
  ++c.pcap_records;
}

void Shared::flush_pcap() {
  const std::lock_guard lock(m_);
  if (pcap_.is_open()) pcap_.flush();
}

void Shared::close_pcap() {
  const std::lock_guard lock(m_);
  pcap_.close();
  if (records_file_ != nullptr) std::fclose(records_file_);
  records_file_ = nullptr;
}

// --- Worker

Worker::Worker(uint16_t queue, const core::Config& cfg, core::Endpoint service, Shared& shared)
    : queue_(queue), service_(service), shared_(shared), core_(cfg, *this) {
  core_.set_observer(this);
}

Worker::~Worker() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

bool Worker::open(bool fail_open, std::string& error) {
  if (!nfq_.open(queue_, fail_open, error)) return false;
  if (!raw_.open(error)) return false;
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void Worker::add_backend(core::Endpoint backend) {
  if (backend == service_) return;
  for (const core::Endpoint& e : backends_) {
    if (e == backend) return;
  }
  backends_.push_back(backend);
}

void Worker::post(std::function<void(Worker&)> job) {
  {
    const std::lock_guard lock(jobs_m_);
    jobs_.push_back(std::move(job));
  }
  wake(event_fd_);
}

void Worker::run_jobs() {
  uint64_t n = 0;
  while (::read(event_fd_, &n, sizeof n) < 0 && errno == EINTR) {
  }
  std::vector<std::function<void(Worker&)>> jobs;
  {
    const std::lock_guard lock(jobs_m_);
    jobs.swap(jobs_);
  }
  for (auto& job : jobs) job(*this);
  nfq_.flush(host_);
}

void Worker::stop() {
  stop_ = true;
  if (event_fd_ >= 0) wake(event_fd_);
}

void Worker::run() {
  core::Nanos last_poll = monotonic_ns();
  while (!stop_) {
    const core::Nanos now = monotonic_ns();
    const core::Nanos deadline = std::min(core_.next_deadline(), last_poll + kMaxSleep);
    const core::Nanos wait = std::max<core::Nanos>(deadline - now, 0);
    pollfd fds[2] = {{nfq_.fd(), POLLIN, 0}, {event_fd_, POLLIN, 0}};
    const int r = ::poll(fds, 2, static_cast<int>((wait + 999'999) / 1'000'000));
    if (r > 0 && (fds[1].revents & POLLIN) != 0) run_jobs();
    if (r > 0 && (fds[0].revents & POLLIN) != 0) {
      nfq_.read(*this, kRound, host_);
      nfq_.flush(host_);
    }
    const core::Nanos after = monotonic_ns();
    if (after >= core_.next_deadline() || after >= last_poll + kMaxSleep) {
      core_.poll(after);
      last_poll = after;
      nfq_.flush(host_);
    }
  }
  // Jobs posted while stopping still get their answer.
  run_jobs();
}

void Worker::on_packet(const QueuedPacket& p) {
  if (p.gso) ++host_.gso;
  if (p.payload.empty()) {
    ++host_.truncated;
    ++host_.accepted;
    nfq_.accept(p.id);
    return;
  }
  const std::span<uint8_t> b = p.payload;
  if (p.truncated) {
    // Copied short (longer than 65535 bytes: BIG TCP): the core cannot see it
    // whole. A flow that has moved, or is moving, must not get it with its
    // original bytes: dropped (TCP sends it again). Any other passes.
    ++host_.truncated;
    if (moved_or_moving(b)) {
      ++host_.dropped;
      nfq_.drop(p.id);
    } else {
      ++host_.accepted;
      nfq_.accept(p.id);
    }
    return;
  }
  // Direction: to the service is client -> server; from the service or a
  // backend is server -> client. Anything else the core counts as it sees fit
  // (not IPv4, not TCP, fragment, malformed) or is unrelated traffic.
  core::Direction dir = core::Direction::ClientToServer;
  if (const auto ends = tcp_endpoints(b)) {
    const auto& [src, dst] = *ends;
    bool from_server = src == service_;
    for (std::size_t i = 0; !from_server && i < backends_.size(); ++i) from_server = src == backends_[i];
    if (from_server) {
      dir = core::Direction::ServerToClient;
    } else if (dst != service_) {
      ++host_.unrelated;
      ++host_.accepted;
      shared_.pcap(b, host_, p.partial_checksum);
      nfq_.accept(p.id);
      return;
    }
  }
  // A partial checksum (CHECKSUM_PARTIAL: only the pseudo-header sum) stays
  // partial through the core (core rule 10). An unchanged packet keeps its
  // partial state in the kernel; a GSO packet is cut into segments whose
  // checksums the kernel computes; but a single rewritten packet is forwarded
  // as it is (nfqnl_mangle marks it CHECKSUM_NONE), so that one is completed here.
  const core::Verdict v = core_.process(b, dir, monotonic_ns(),
                                        p.partial_checksum ? core::Checksum::Partial : core::Checksum::Complete);
  if (v.action == core::Action::Modified && p.partial_checksum && !p.gso && complete_tcp_checksum(b)) {
    ++host_.checksum_completed;
  }
  switch (v.action) {
    case core::Action::Pass:
      ++host_.accepted;
      shared_.pcap(b, host_, p.partial_checksum);
      nfq_.accept(p.id);
      break;
    case core::Action::Modified:
      ++host_.modified;
      shared_.pcap(b, host_, p.partial_checksum && p.gso);
      if (!nfq_.accept_modified(p.id, b)) send_instead(p.id, b);
      break;
    case core::Action::Drop:
      ++host_.dropped;
      nfq_.drop(p.id);
      break;
  }
}

void Worker::send_instead(uint32_t id, std::span<const uint8_t> ipv4) {
  // Too long for a verdict: the rewritten bytes leave through the raw socket
  // (segmented to the path MTU) and the queued original is dropped.
  ++host_.modified_too_long;
  nfq_.drop(id);
  nfq_.flush(host_);
  raw_.send(ipv4, host_, [](std::span<const uint8_t>) {});
}

bool Worker::moved_or_moving(std::span<const uint8_t> b) const {
  const auto ends = tcp_endpoints(b);
  if (!ends) return false;
  const auto& [src, dst] = *ends;
  // Client -> service, or a server -> the client (keyed by the service).
  const auto st = dst == service_ ? core_.status({src, service_}) : core_.status({dst, service_});
  return st && (st->migrations > 0 || st->state == core::FlowState::WaitSafePoint ||
                st->state == core::FlowState::Replaying);
}

void Worker::emit(std::span<const uint8_t> ipv4, core::Direction /*dir*/) {
  ++host_.emitted;
  nfq_.flush(host_);  // earlier packets leave first
  raw_.send(ipv4, host_, [this](std::span<const uint8_t> sent) { shared_.pcap(sent, host_); });
}

void Worker::on_triggered(const core::MigrationRecord& r) { shared_.triggered(queue_, r); }
void Worker::on_finished(const core::MigrationRecord& r) { shared_.finished(queue_, r); }

}  // namespace tcpmig::gateway_tool
