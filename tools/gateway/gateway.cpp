// tcpmig-gateway's main thread (see gateway.hpp).
#include "gateway.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "metrics.hpp"
#include "tcpmig/records/json.hpp"

namespace tcpmig::gateway_tool {

namespace {

void log(const std::string& name, const std::string& line) { std::fprintf(stderr, "%s: %s\n", name.c_str(), line.c_str()); }

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), std::min(path.size(), sizeof sa.sun_path - 1));
  return sa;
}

records::JsonWriter ok_writer() {
  records::JsonWriter w(records::JsonWriter::Layout::OneLine);
  w.begin_object();
  w.key("ok");
  w.value(true);
  return w;
}

/// Control clients connected at once.
constexpr std::size_t kMaxClients = 64;

/// Sends all of `text` on a non-blocking socket, waiting up to 2 s each time it is full.
bool send_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::string finish(records::JsonWriter& w) {
  w.end_object();
  return w.text();
}

}  // namespace

Gateway::Gateway(Options o) : o_(std::move(o)), shared_(o_.name, o_.keep_records) {
  cfg_.max_flows = o_.max_flows;
  cfg_.table_memory = &table_memory_;
  cfg_.idle_timeout = o_.idle_timeout;
  cfg_.syn_timeout = o_.syn_timeout;
  cfg_.keep_records = false;  // finished records reach the ring and --records through the observer
  if (getrandom(&cfg_.hash_seed, sizeof cfg_.hash_seed, 0) != sizeof cfg_.hash_seed) {
    cfg_.hash_seed = static_cast<uint64_t>(monotonic_ns());
  }
  spec_.queue = o_.queue;
  spec_.queues = o_.queues;
  spec_.service = o_.service;
  if (o_.migrate_to) spec_.backends.push_back(*o_.migrate_to);
  if (getrandom(&spec_.seed, sizeof spec_.seed, 0) != sizeof spec_.seed) spec_.seed = static_cast<uint32_t>(monotonic_ns());
}

Gateway::~Gateway() { shutdown(); }

bool Gateway::open_control(std::string& error) {
  const std::string& path = o_.control;
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    error = "--control " + path + ": path too long for a Unix socket";
    return false;
  }
  const sockaddr_un sa = unix_address(path);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = "--control " + path + ": exists and is not a socket";
      return false;
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      error = "--control " + path + ": another gateway is answering there";
      return false;
    }
    ::unlink(path.c_str());  // stale socket of a gateway that did not clean up
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) {
    error = std::string("control socket: ") + std::strerror(errno);
    return false;
  }
  const mode_t old = ::umask(0177);  // mode 0600
  const int rc = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0 || ::listen(listen_fd_, 16) != 0) {
    error = "--control " + path + ": " + std::strerror(errno);
    return false;
  }
  socket_made_ = true;
  return true;
}

bool Gateway::install_rules(std::string& error) {
  std::vector<RulesBackend> tries;
  if (o_.rules != RulesChoice::Iptables) tries.push_back(RulesBackend::Nft);
  if (o_.rules != RulesChoice::Nft) tries.push_back(RulesBackend::Iptables);
  for (const RulesBackend b : tries) {
    std::string why;
    if (b == RulesBackend::Iptables) {
      // A chain left by a gateway that did not clean up would make the install fail.
      std::string ignored;
      run_with_input(rules_command(b), remove_rules_text(b, spec_), ignored);
    }
    if (run_with_input(rules_command(b), install_rules_text(b, spec_), why) == 0) {
      installed_ = b;
      log(o_.name, "rules installed: " + std::string(b == RulesBackend::Nft ? "nft table ip " : "iptables mangle chain ") +
                       rules_name(b, spec_));
      return true;
    }
    if (!error.empty()) error += "; ";
    error += why;
    if (b == RulesBackend::Nft && tries.size() > 1) {
      log(o_.name, "nft rules failed (" + why + "); trying iptables (the kernel may lack the nft queue expression)");
    }
  }
  error = "--install-rules: " + error;
  return false;
}

void Gateway::remove_rules() {
  if (!installed_) return;
  std::string error;
  if (run_with_input(rules_command(*installed_), remove_rules_text(*installed_, spec_), error) != 0) {
    log(o_.name, "removing rules failed: " + error);
  } else {
    log(o_.name, "rules removed: " + rules_name(*installed_, spec_));
  }
  installed_.reset();
}

bool Gateway::add_backend(core::Endpoint e, std::string& error) {
  bool known = e == spec_.service;
  for (const core::Endpoint& b : spec_.backends) known = known || b == e;
  if (known) return true;
  if (installed_ &&
      run_with_input(rules_command(*installed_), backend_rules_text(*installed_, spec_, e), error) != 0) {
    error = "adding rules for backend " + core::endpoint_text(e) + ": " + error;
    return false;
  }
  if (!installed_) {
    log(o_.name, "backend " + core::endpoint_text(e) + " is new: its packets reach the gateway only if the rules queue them");
  }
  spec_.backends.push_back(e);
  for (auto& w : workers_) w->call([e](Worker& wk) { wk.add_backend(e); return 0; });
  return true;
}

bool Gateway::start() {
  started_ = monotonic_ns();
  std::string error;
  // Signals are read from a signalfd; every thread started later inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  // SIGHUP and SIGQUIT end the gateway like SIGTERM (rules removed): a
  // terminal closing must not leave the rules behind.
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  trigger_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  shared_.wake_fd = trigger_fd_;
  const auto fail = [&](const std::string& why) {
    log(o_.name, "error: " + why);
    return false;
  };
  if (!o_.records.empty() && !shared_.open_records(o_.records, error)) return fail("--records " + error);
  if (!o_.pcap.empty() && !shared_.open_pcap(o_.pcap, error)) return fail("--pcap " + error);
  if (!o_.control.empty() && !open_control(error)) return fail(error);
  for (uint16_t i = 0; i < o_.queues; ++i) {
    auto w = std::make_unique<Worker>(static_cast<uint16_t>(o_.queue + i), cfg_, o_.service, shared_);
    if (!w->open(o_.fail_open, error)) return fail(error);
    for (const core::Endpoint& b : spec_.backends) w->add_backend(b);
    workers_.push_back(std::move(w));
  }
  if (o_.install_rules && !install_rules(error)) return fail(error);
  for (auto& w : workers_) threads_.emplace_back([p = w.get()] { p->run(); });
  log(o_.name, "serving " + core::endpoint_text(o_.service) + " on queue " + std::to_string(o_.queue) +
                   (o_.queues > 1 ? ".." + std::to_string(o_.queue + o_.queues - 1) : ""));
  if (o_.after_requests && o_.migrate_to) {
    const std::string reply =
        migrate_all(*o_.migrate_to, core::Trigger::after_requests(*o_.after_requests), !o_.on_trigger.empty());
    log(o_.name, "requested: every flow of " + core::endpoint_text(o_.service) + " to " +
                     core::endpoint_text(*o_.migrate_to) + " after " + std::to_string(*o_.after_requests) +
                     " requests: " + reply.substr(0, reply.size() - 1));
  }
  return true;
}

void Gateway::run() {
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd_, POLLIN, 0});
    fds.push_back({trigger_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
    const std::size_t hooks_at = fds.size();
    for (const Hook& h : hooks_) fds.push_back({h.child.pidfd, POLLIN, 0});
    const int r = ::poll(fds.data(), fds.size(), 1000);
    shared_.flush_pcap();
    if (r <= 0) continue;
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      if (::read(signal_fd_, &si, sizeof si) == sizeof si && si.ssi_signo != SIGPIPE) {
        log(o_.name, std::string("stopping on ") + sigabbrev_np(static_cast<int>(si.ssi_signo)));
        return;
      }
    }
    if ((fds[1].revents & POLLIN) != 0) on_triggers();
    // Only the hooks polled above: on_triggers() may have appended new ones.
    for (std::size_t i = fds.size() - hooks_at; i-- > 0;) {
      if ((fds[hooks_at + i].revents & POLLIN) != 0) on_hook_exit(i);
    }
    for (std::size_t i = clients_.size(); i-- > 0;) {
      if (fds[3 + i].revents != 0) on_control_readable(clients_[i]);
      if (clients_[i].fd < 0) clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if ((fds[2].revents & POLLIN) != 0) {
      // At most kMaxClients at once: a further one is answered and closed. If
      // no descriptor is left (EMFILE) the connection waits in the backlog.
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0 && clients_.size() >= kMaxClients) {
        ++control_errors_;
        const std::string reply = error_reply("too many control clients (" + std::to_string(kMaxClients) + ")");
        (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(fd);
      } else if (fd >= 0) {
        clients_.push_back({fd, {}});
      } else if (errno == EMFILE || errno == ENFILE) {
        ::usleep(10'000);  // no busy loop while descriptors are short
      }
    }
  }
}

void Gateway::shutdown() {
  for (auto& w : workers_) w->stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  remove_rules();
  for (Client& c : clients_) ::close(c.fd);
  clients_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  if (socket_made_) ::unlink(o_.control.c_str());
  socket_made_ = false;
  shared_.close_pcap();
  for (int* fd : {&signal_fd_, &trigger_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void Gateway::on_control_readable(Client& c) {
  char buf[4096];
  // Bounded per wake-up (one client cannot hold the loop); the rest is read next time.
  for (int reads = 0; reads < 16 && c.in.size() <= kMaxCommandLength + 2; ++reads) {
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      ::close(c.fd);
      c.fd = -1;
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t nl;
  while ((nl = c.in.find('\n')) != std::string::npos) {
    const std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    auto cmd = parse_command(line);
    std::string reply;
    if (!cmd) {
      reply = error_reply(cmd.error());
    } else {
      reply = execute(*cmd);
    }
    if (reply.rfind("{\"ok\":false", 0) == 0) ++control_errors_;
    // `records` and `flows` can exceed the socket buffer: the reply goes out
    // whole, waiting for the client to read; one that reads nothing for 2 s
    // is dropped.
    if (!send_all(c.fd, reply)) {
      ::close(c.fd);
      c.fd = -1;
      return;
    }
  }
  if (c.in.size() > kMaxCommandLength + 2) {
    const std::string reply = error_reply("command longer than " + std::to_string(kMaxCommandLength) + " bytes");
    ++control_errors_;
    ::send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(c.fd);
    c.fd = -1;
  }
}

std::string Gateway::execute(const Command& cmd) {
  if (const auto* m = std::get_if<MigrateAll>(&cmd)) return migrate_all(m->target, core::Trigger::now(), false);
  if (const auto* m = std::get_if<MigrateFlow>(&cmd)) return migrate_flow(*m);
  if (const auto* c = std::get_if<Cancel>(&cmd)) return cancel(*c);
  if (std::holds_alternative<Status>(cmd)) return status();
  if (std::holds_alternative<Flows>(cmd)) return flows();
  if (std::holds_alternative<Records>(cmd)) return records_reply();
  const auto& s = std::get<Stats>(cmd);
  if (!s.prometheus) return stats_json(snapshot());
  records::JsonWriter w = ok_writer();
  w.key("text");
  w.value(prometheus_text(snapshot()));
  return finish(w);
}

std::string Gateway::migrate_all(core::Endpoint target, core::Trigger trigger, bool wait) {
  std::string error;
  if (!add_backend(target, error)) return error_reply(error);
  struct Answer {
    uint64_t request;
    core::RequestInfo info;
  };
  const uint64_t id = requests_.size();
  std::vector<std::optional<uint64_t>>& per = requests_.emplace_back();
  core::RequestInfo sum;
  for (auto& w : workers_) {
    const Answer a = w->call([&](Worker& wk) {
      const core::Nanos now = monotonic_ns();
      const uint64_t req = wk.core().migrate_service(o_.service, target, trigger, now, wait);
      wk.flush();
      return Answer{req, wk.core().request_info(req)};
    });
    per.emplace_back(a.request);
    sum.records += a.info.records;
    sum.on_target += a.info.on_target;
    sum.closing += a.info.closing;
  }
  log(o_.name, "request " + std::to_string(id) + ": every flow of " + core::endpoint_text(o_.service) + " to " +
                   core::endpoint_text(target) + " (" + core::trigger_text(trigger) + "): " +
                   std::to_string(sum.records) + " flows now");
  records::JsonWriter w = ok_writer();
  w.key("request");
  w.value(id);
  w.key("migrations");
  w.value(sum.records);
  w.key("on_target");
  w.value(sum.on_target);
  w.key("closing");
  w.value(sum.closing);
  return finish(w);
}

std::string Gateway::migrate_flow(const MigrateFlow& m) {
  std::string error;
  if (!add_backend(m.target, error)) return error_reply(error);
  const core::FlowKey key{m.client, o_.service};
  std::optional<core::Refusal> refusal;
  std::optional<std::pair<std::size_t, uint64_t>> ok;  // worker, record id
  std::optional<uint64_t> core_request;                // the core's number of the request, while pending
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    struct Answer {
      wire::Result<uint64_t, core::Refusal> res;
      std::optional<uint64_t> request;
    };
    const Answer a = workers_[i]->call([&](Worker& wk) {
      Answer out{wk.core().migrate_flow(key, m.target, core::Trigger::now(), monotonic_ns()), std::nullopt};
      if (out.res) {
        for (const core::MigrationRecord& r : wk.core().pending_records()) {
          if (r.id == *out.res) out.request = r.request;
        }
      }
      wk.flush();
      return out;
    });
    if (a.res) {
      ok.emplace(i, *a.res);
      core_request = a.request;
    } else if (a.res.error() != core::Refusal::UnknownFlow || !refusal) {
      refusal = a.res.error();
    }
  }
  if (!ok) return error_reply(core::refusal_name(refusal.value_or(core::Refusal::UnknownFlow)));
  const uint64_t id = requests_.size();
  auto& per = requests_.emplace_back(workers_.size());
  // The core numbers flow requests too (the record's `request`); `cancel ID` uses it.
  per[ok->first] = core_request;
  log(o_.name, "request " + std::to_string(id) + ": flow " + core::endpoint_text(m.client) + " to " +
                   core::endpoint_text(m.target) + " (now): record " + std::to_string(ok->second));
  records::JsonWriter w = ok_writer();
  w.key("request");
  w.value(id);
  w.key("queue");
  w.value(uint64_t{workers_[ok->first]->queue()});
  w.key("record");
  w.value(ok->second);
  return finish(w);
}

std::string Gateway::cancel(const Cancel& c) {
  if (c.request && *c.request >= requests_.size()) {
    return error_reply("no request " + std::to_string(*c.request) + " (requests so far: " +
                       std::to_string(requests_.size()) + ")");
  }
  core::CancelInfo sum;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    std::optional<uint64_t> number;
    if (c.request) {
      number = requests_[*c.request][i];
      if (!number) continue;  // that request reached no flow on this queue
    }
    const core::CancelInfo got = workers_[i]->call([&](Worker& wk) {
      const core::CancelInfo r = number ? wk.core().cancel(*number, monotonic_ns()) : wk.core().cancel_all(monotonic_ns());
      wk.flush();
      return r;
    });
    sum.rule = sum.rule || got.rule;
    sum.migrations += got.migrations;
  }
  log(o_.name, (c.request ? "request " + std::to_string(*c.request) : std::string("every request")) +
                   " cancelled: " + std::to_string(sum.migrations) + " migrations ended" +
                   (sum.rule ? ", rule stopped" : ""));
  records::JsonWriter w = ok_writer();
  w.key("rule");
  w.value(sum.rule);
  w.key("migrations");
  w.value(uint64_t{sum.migrations});
  return finish(w);
}

StatsSnapshot Gateway::snapshot() {
  StatsSnapshot s;
  for (auto& w : workers_) {
    struct Part {
      core::Counters c;
      HostCounters h;
      std::size_t flows;
      core::Gauges g;
    };
    const Part p = w->call([](Worker& wk) {
      return Part{wk.core().counters(), wk.host(), wk.core().flow_count(), wk.core().gauges()};
    });
    add_counters(s.core, p.c);
    add_gauges(s.gauges, p.g);
    s.host += p.h;
    s.flows += p.flows;
  }
  s.queues = workers_.size();
  s.records_kept = shared_.records_kept();
  s.control_errors = control_errors_;
  s.hook_failures = hook_failures_;
  return s;
}

std::string Gateway::status() {
  const StatsSnapshot s = snapshot();
  records::JsonWriter w = ok_writer();
  w.key("name");
  w.value(o_.name);
  w.key("service");
  w.value(core::endpoint_text(o_.service));
  w.key("backends");
  w.begin_array();
  for (const core::Endpoint& e : spec_.backends) w.value(core::endpoint_text(e));
  w.end_array();
  w.key("queues");
  w.begin_array();
  for (const auto& wk : workers_) w.value(uint64_t{wk->queue()});
  w.end_array();
  w.key("rules");
  if (installed_) {
    w.value(rules_name(*installed_, spec_));
  } else {
    w.null();
  }
  w.key("uptime_ns");
  w.value(int64_t{monotonic_ns() - started_});
  w.key("flows");
  w.value(s.flows);
  w.key("requests");
  w.value(uint64_t{requests_.size()});
  w.key("migrations_requested");
  w.value(s.core.migrations_requested);
  w.key("migrations_completed");
  w.value(s.core.migrations_completed);
  w.key("migrations_aborted");
  w.value(s.core.migrations_aborted);
  w.key("hooks_running");
  w.value(uint64_t{hooks_.size()});
  return finish(w);
}

std::string Gateway::flows() {
  // At most kMaxListed flows a queue, in table order; `total` says how many there are.
  constexpr std::size_t kMaxListed = 1000;
  records::JsonWriter w = ok_writer();
  w.key("flows");
  w.begin_array();
  uint64_t total = 0;
  for (auto& wk : workers_) {
    struct Part {
      std::vector<core::FlowStatus> flows;
      std::size_t total;
    };
    const Part p = wk->call([](Worker& x) { return Part{x.core().flows(kMaxListed), x.core().flow_count()}; });
    total += p.total;
    for (const core::FlowStatus& f : p.flows) {
      w.begin_object();
      w.key("queue");
      w.value(uint64_t{wk->queue()});
      w.key("client");
      w.value(core::endpoint_text(f.key.client));
      w.key("service");
      w.value(core::endpoint_text(f.key.service));
      w.key("backend");
      w.value(core::endpoint_text(f.backend));
      w.key("state");
      w.value(core::flow_state_name(f.state));
      w.key("migrations");
      w.value(f.migrations);
      w.key("requests");
      w.value(f.requests);
      w.key("client_bytes");
      w.value(f.client_bytes);
      w.key("queued");
      w.value(f.queued);
      w.end_object();
    }
  }
  w.end_array();
  w.key("total");
  w.value(total);
  return finish(w);
}

std::string Gateway::records_reply() {
  // The kept records are one-line JSON objects already: spliced in as they are.
  std::string out = "{\"ok\":true,\"records\":[";
  const std::vector<std::string> recs = shared_.records();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (i != 0) out += ',';
    out += recs[i];
  }
  out += "]}\n";
  return out;
}

void Gateway::on_triggers() {
  uint64_t n = 0;
  while (::read(trigger_fd_, &n, sizeof n) < 0 && errno == EINTR) {
  }
  for (const core::Endpoint& target : shared_.take_triggered()) {
    if (o_.on_trigger.empty()) continue;
    const std::string key = core::endpoint_text(target);
    const auto it = hook_state_.find(key);
    if (it != hook_state_.end()) {
      // Later migrations to a target already up are released at once.
      if (it->second == HookState::Ready) {
        for (auto& w : workers_) w->call([target](Worker& wk) { wk.core().target_ready(target, monotonic_ns()); wk.flush(); return 0; });
      }
      continue;
    }
    Hook h{target, {}};
    std::string error;
    if (!spawn_shell(o_.on_trigger, {"TCPMIG_TARGET=" + key, "TCPMIG_SERVICE=" + core::endpoint_text(o_.service)},
                     h.child, error)) {
      ++hook_failures_;
      hook_state_[key] = HookState::Failed;
      log(o_.name, "--on-trigger for " + key + " could not start: " + error + "; target down, " +
                       std::to_string(mark_down(target)) + " migrations to it aborted, their flows stay");
      continue;
    }
    hook_state_[key] = HookState::Running;
    log(o_.name, "--on-trigger for " + key + " started (pid " + std::to_string(h.child.pid) + ")");
    hooks_.push_back(h);
  }
}

void Gateway::on_hook_exit(std::size_t i) {
  Hook h = hooks_[i];
  hooks_.erase(hooks_.begin() + static_cast<std::ptrdiff_t>(i));
  const int code = reap(h.child);
  const std::string key = core::endpoint_text(h.target);
  if (code == 0) {
    hook_state_[key] = HookState::Ready;
    log(o_.name, "--on-trigger for " + key + " exited 0: target ready, waiting migrations continue");
    for (auto& w : workers_) {
      w->call([t = h.target](Worker& wk) { wk.core().target_ready(t, monotonic_ns()); wk.flush(); return 0; });
    }
    return;
  }
  ++hook_failures_;
  hook_state_[key] = HookState::Failed;
  log(o_.name, "--on-trigger for " + key + " failed (exit " + std::to_string(code) + "): target down, " +
                   std::to_string(mark_down(h.target)) + " migrations to it aborted, their flows stay");
}

uint32_t Gateway::mark_down(core::Endpoint target) {
  uint32_t ended = 0;
  for (auto& w : workers_) {
    ended += w->call([target](Worker& wk) {
      const uint32_t n = wk.core().target_down(target, monotonic_ns());
      wk.flush();
      return n;
    });
  }
  return ended;
}

}  // namespace tcpmig::gateway_tool
