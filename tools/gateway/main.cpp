// tcpmig-gateway: the migration core on a real Linux host, through NFQUEUE.
//
// Place in the layers: tools (the only program that includes Linux headers).
//   tcpmig-gateway --queue N --service IP:PORT [--migrate-to IP:PORT ...]
//   tcpmig-gateway ctl --control PATH COMMAND...
// Exit codes: 0 clean exit (SIGINT/SIGTERM; ctl: the reply is ok), 1 runtime
// failure (ctl: the reply is an error), 2 bad flags or usage (ctl: cannot connect).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control.hpp"
#include "gateway.hpp"
#include "tcpmig/scenario/units.hpp"

#ifndef TCPMIG_VERSION
#define TCPMIG_VERSION "0"
#endif

namespace gw = tcpmig::gateway_tool;

namespace {

constexpr const char* kFooter = R"(Exit codes: 0 clean exit (SIGINT or SIGTERM), 1 runtime failure (queue bind failed,
no privileges, rules could not be installed, ...), 2 bad flags or usage.
Control commands (--control PATH; client: tcpmig-gateway ctl --control PATH COMMAND...):
  migrate all TARGET_IP:PORT | migrate CLIENT_IP:PORT TARGET_IP:PORT | cancel [ID]
  status | flows | records | stats | stats prometheus
ctl exits 0 when the reply is ok, 1 when it is an error, 2 on usage or connection errors.)";

int ctl(const std::string& path, const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) line += (line.empty() ? "" : " ") + w;
  line += '\n';
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    std::fprintf(stderr, "tcpmig-gateway ctl: --control %s: path too long\n", path.c_str());
    return 2;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    std::fprintf(stderr, "tcpmig-gateway ctl: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
    return 2;
  }
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "tcpmig-gateway ctl: send: %s\n", std::strerror(errno));
    return 2;
  }
  std::string reply;
  char buf[65536];
  while (reply.find('\n') == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.find('\n') == std::string::npos) {
    std::fprintf(stderr, "tcpmig-gateway ctl: the gateway closed the connection without a reply\n");
    return 2;
  }
  reply.erase(reply.find('\n') + 1);
  const bool ok = reply.rfind("{\"ok\":true", 0) == 0;
  const auto text = ok && words.size() == 2 && words[0] == "stats" && words[1] == "prometheus"
                        ? gw::json_string_member(reply, "text")
                        : std::nullopt;
  std::fputs(text ? text->c_str() : reply.c_str(), stdout);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tcpmig-gateway: moves live TCP connections between backend servers (NFQUEUE)"};
  app.footer(kFooter);
  app.set_version_flag("--version", "tcpmig-gateway " TCPMIG_VERSION);
  gw::Options o;
  int queue = -1;
  std::string service, migrate_to, rules = "auto";
  uint64_t after = 0;
  app.add_option("--queue", queue, "first NFQUEUE queue number (0-65535)")->check(CLI::Range(0, 65535));
  app.add_option("--queues", o.queues, "how many queues from --queue, one worker thread each (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_option("--service", service, "IP:PORT clients connect to");
  app.add_option("--migrate-to", migrate_to, "IP:PORT of the backend to migrate to");
  auto* after_opt = app.add_option("--after-requests", after,
                                   "migrate every flow of the service after N client requests each (needs --migrate-to)")
                        ->check(CLI::Range(uint64_t{1}, uint64_t{65535}));
  app.add_option("--on-trigger", o.on_trigger,
                 "run CMD (/bin/sh -c, env TCPMIG_TARGET, TCPMIG_SERVICE) when the first migration to a target "
                 "triggers; migrations wait until it exits 0");
  app.add_option("--control", o.control, "Unix socket for control commands (mode 0600, removed on exit)");
  app.add_flag("--install-rules", o.install_rules,
               "add the packet filter rules that queue the service's packets; removed on exit");
  app.add_option("--rules", rules, "rule tool for --install-rules: auto (nft, else iptables), nft or iptables")
      ->check(CLI::IsMember({"auto", "nft", "iptables"}));
  app.add_option("--pcap", o.pcap, "write packets as they leave the gateway to FILE (pcap, raw IPv4)");
  app.add_option("--records", o.records, "append one JSON line per finished migration to FILE");
  app.add_option("--keep-records", o.keep_records, "finished migrations kept for the records command (default 1000)");
  app.add_option("--max-flows", o.max_flows, "flow table capacity per queue (default 65536)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{1} << 26));
  app.add_option("--name", o.name, "name in logs and records (default tcpmig-gateway)");
  bool no_fail_open = false;
  app.add_flag("--no-fail-open", no_fail_open,
               "drop packets when a queue is full (default: accept them unchanged, which ends migrated flows' "
               "connections when it happens)");
  std::string idle_timeout, syn_timeout;
  app.add_option("--idle-timeout", idle_timeout,
                 "forget flows with no packet this long (ns, us, ms or s; default 432000s = 5 days, conntrack's established timeout)");
  app.add_option("--syn-timeout", syn_timeout,
                 "forget flows whose handshake did not complete after this long (default 120s)");
  auto* ctl_cmd = app.add_subcommand("ctl", "send one control command to a running gateway and print the reply");
  std::string ctl_path;
  std::vector<std::string> ctl_words;
  ctl_cmd->add_option("--control", ctl_path, "the gateway's control socket")->required();
  ctl_cmd->add_option("command", ctl_words, "the command, e.g. status, or migrate all 10.0.2.3:8000")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*ctl_cmd) return ctl(ctl_path, ctl_words);

  const auto usage = [](const std::string& msg) {
    std::fprintf(stderr, "tcpmig-gateway: %s (see --help)\n", msg.c_str());
    return 2;
  };
  if (queue < 0) return usage("--queue is required");
  if (service.empty()) return usage("--service is required");
  const auto svc = tcpmig::scenario::parse_endpoint(service);
  if (!svc) return usage("--service '" + service + "' is not IP:PORT");
  o.service = *svc;
  if (!migrate_to.empty()) {
    const auto t = tcpmig::scenario::parse_endpoint(migrate_to);
    if (!t) return usage("--migrate-to '" + migrate_to + "' is not IP:PORT");
    if (*t == o.service) return usage("--migrate-to is the service itself");
    o.migrate_to = *t;
  }
  if (*after_opt && !o.migrate_to) return usage("--after-requests needs --migrate-to");
  if (!o.on_trigger.empty() && !*after_opt) return usage("--on-trigger needs --after-requests");
  if (queue + o.queues > 65536) return usage("--queue + --queues goes past queue 65535");
  if (*after_opt) o.after_requests = after;
  o.fail_open = !no_fail_open;
  for (auto [text, flag, out] : {std::tuple{&idle_timeout, "--idle-timeout", &o.idle_timeout},
                                 std::tuple{&syn_timeout, "--syn-timeout", &o.syn_timeout}}) {
    if (text->empty()) continue;
    const auto d = tcpmig::scenario::parse_duration(*text);
    // The core keeps last-seen times in ticks of 2^24 ns, at most 2^30 of them (about 208 days).
    if (!d || d->ns() <= 0 || d->ns() > (int64_t{1} << 54)) {
      return usage(std::string(flag) + " '" + *text + "' is not a duration between 1ns and 208 days (e.g. 300s, 7200s, 1500ms)");
    }
    *out = d->ns();
  }
  o.queue = static_cast<uint16_t>(queue);
  o.rules = rules == "nft" ? gw::RulesChoice::Nft : rules == "iptables" ? gw::RulesChoice::Iptables : gw::RulesChoice::Auto;

  gw::Gateway g(o);
  if (!g.start()) {
    g.shutdown();
    return 1;
  }
  g.run();
  g.shutdown();
  return 0;
}
