// One worker of tcpmig-gateway: a thread serving one NFQUEUE queue with its
// own migration core (core::Migrator), raw socket and counters.
//
// Place in the layers: tools/gateway, Linux only. Call chain per packet:
//   NfQueue::read -> Worker::on_packet: direction (to the service: client ->
//   server; from the service or a backend: server -> client), partial
//   checksum completed if needed -> Migrator::process -> verdict (batched)
//   Migrator -> Worker::emit -> NfQueue::flush (earlier verdicts first) ->
//   RawSender::send; MigrationObserver callbacks -> Shared (records, hooks).
// Rules: the thread owns the core; other threads reach it only through
// post() (a mailbox woken by an eventfd), which runs the job between packet
// rounds and returns its result. poll() runs at next_deadline() and at least
// once a second.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "linux_io.hpp"
#include "metrics.hpp"
#include "nfqueue.hpp"
#include "tcpmig/core/migrator.hpp"
#include "tcpmig/sim/pcap.hpp"

namespace tcpmig::gateway_tool {

/// What the workers share with the main thread (everything behind its mutex).
class Shared {
 public:
  Shared(std::string name, std::size_t keep_records) : name_(std::move(name)), keep_(keep_records) {}
  /// Opens the --records file (append) and the --pcap file; false with `error`.
  bool open_records(const std::string& path, std::string& error);
  bool open_pcap(const std::string& path, std::string& error);
  /// A migration finished on queue `queue`: log, keep, append to --records.
  void finished(uint16_t queue, const core::MigrationRecord& r);
  /// A migration triggered: log; the main thread is told through wake_fd.
  void triggered(uint16_t queue, const core::MigrationRecord& r);
  /// Targets whose migrations triggered since the last call.
  std::vector<core::Endpoint> take_triggered();
  /// The records kept, oldest first, as one-line JSON objects.
  std::vector<std::string> records() const;
  std::size_t records_kept() const;
  /// Appends a packet to --pcap (if open); a partial checksum is completed in the copy written.
  void pcap(std::span<const uint8_t> ipv4, HostCounters& c, bool partial = false);
  void flush_pcap();
  void close_pcap();
  /// Written when a trigger is queued for the main thread (an eventfd).
  int wake_fd = -1;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string record_json(uint16_t queue, const core::MigrationRecord& r) const;

  mutable std::mutex m_;
  std::string name_;
  std::size_t keep_;
  std::deque<std::string> records_;       // one-line JSON, newest last
  std::vector<core::Endpoint> triggered_; // for the main thread
  std::FILE* records_file_ = nullptr;
  sim::PcapWriter pcap_;
  bool pcap_on_ = false;  // --pcap opened; set before the workers start, read without the lock
  std::vector<uint8_t> pcap_scratch_;  // a packet whose checksum is completed for the capture
};

class Worker final : private core::PacketSink, private core::MigrationObserver, private PacketHandler {
 public:
  Worker(uint16_t queue, const core::Config& cfg, core::Endpoint service, Shared& shared);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Binds the queue and opens the raw socket and the mailbox; false with `error`.
  bool open(bool fail_open, std::string& error);
  /// The thread body: serves the queue until stop() is called.
  void run();
  void stop();

  /// Runs `job` on the worker's thread (with its core) and returns its result.
  template <class F>
  auto call(F job) -> decltype(job(std::declval<Worker&>())) {
    using R = decltype(job(std::declval<Worker&>()));
    auto task = std::make_shared<std::packaged_task<R(Worker&)>>(std::move(job));
    std::future<R> f = task->get_future();
    post([task](Worker& w) { (*task)(w); });
    return f.get();
  }

  [[nodiscard]] uint16_t queue() const { return queue_; }
  /// For jobs (worker thread only).
  core::Migrator& core() { return core_; }
  const HostCounters& host() const { return host_; }
  /// Packets from `backend` are server -> client packets of the service's flows.
  void add_backend(core::Endpoint backend);
  /// Runs in jobs after a request so the next deadline is honoured.
  void flush() { nfq_.flush(host_); }

 private:
  void post(std::function<void(Worker&)> job);
  void run_jobs();
  void on_packet(const QueuedPacket& p) override;
  /// A truncated packet belongs to a flow that was migrated or is migrating.
  [[nodiscard]] bool moved_or_moving(std::span<const uint8_t> ipv4) const;
  void emit(std::span<const uint8_t> ipv4, core::Direction dir) override;
  void send_instead(uint32_t id, std::span<const uint8_t> ipv4);
  void on_triggered(const core::MigrationRecord& r) override;
  void on_finished(const core::MigrationRecord& r) override;

  uint16_t queue_;
  core::Endpoint service_;
  std::vector<core::Endpoint> backends_;
  Shared& shared_;
  core::Migrator core_;
  NfQueue nfq_;
  RawSender raw_;
  HostCounters host_;
  int event_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex jobs_m_;
  std::vector<std::function<void(Worker&)>> jobs_;
};

}  // namespace tcpmig::gateway_tool
