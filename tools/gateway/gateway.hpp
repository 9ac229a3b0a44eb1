// tcpmig-gateway's main thread: workers, rules, the control socket, hooks
// and signals.
//
// Place in the layers: tools/gateway, Linux only. Call chain:
//   main -> Gateway::start (control socket, queues, rules, threads,
//   --after-requests) -> Gateway::run (poll: signals, control clients, hook
//   exits, triggers) -> Gateway::shutdown (threads, rules, socket, files).
// Exit codes: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on bad usage
// (checked by main before a Gateway exists).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control.hpp"
#include "linux_io.hpp"
#include "rules.hpp"
#include "worker.hpp"

namespace tcpmig::gateway_tool {

enum class RulesChoice : uint8_t { Auto, Nft, Iptables };

struct Options {
  std::string name = "tcpmig-gateway";
  uint16_t queue = 0;
  uint16_t queues = 1;
  core::Endpoint service;
  std::optional<core::Endpoint> migrate_to;
  std::optional<uint64_t> after_requests;
  std::string on_trigger;
  std::string control;
  bool install_rules = false;
  RulesChoice rules = RulesChoice::Auto;
  std::string pcap;
  std::string records;
  std::size_t keep_records = 1000;
  uint32_t max_flows = 65536;
  bool fail_open = true;  ///< NFQA_CFG_F_FAIL_OPEN on the queues (--no-fail-open clears it)
  core::Nanos idle_timeout = core::Config{}.idle_timeout;
  core::Nanos syn_timeout = core::Config{}.syn_timeout;
};

class Gateway {
 public:
  explicit Gateway(Options o);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Everything up to serving; false with the reason logged (exit 1).
  bool start();
  /// Serves until SIGINT or SIGTERM.
  void run();
  /// Stops the workers, removes the rules and the socket, closes the files.
  void shutdown();

 private:
  struct Client {
    int fd = -1;
    std::string in;
  };
  struct Hook {
    core::Endpoint target;
    Child child;
  };
  enum class HookState : uint8_t { Running, Ready, Failed };

  bool open_control(std::string& error);
  bool install_rules(std::string& error);
  void remove_rules();
  bool add_backend(core::Endpoint e, std::string& error);
  void on_control_readable(Client& c);
  std::string execute(const Command& cmd);
  std::string migrate_all(core::Endpoint target, core::Trigger trigger, bool wait);
  std::string migrate_flow(const MigrateFlow& m);
  std::string status();
  std::string flows();
  std::string cancel(const Cancel& c);
  /// target_down() on every worker; how many migrations ended.
  uint32_t mark_down(core::Endpoint target);
  std::string records_reply();
  StatsSnapshot snapshot();
  void on_triggers();
  void on_hook_exit(std::size_t i);

  Options o_;
  Shared shared_;
  core::Config cfg_;
  HugePageResource table_memory_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  RuleSpec spec_;
  std::optional<RulesBackend> installed_;
  int signal_fd_ = -1;
  int listen_fd_ = -1;
  int trigger_fd_ = -1;
  bool socket_made_ = false;
  std::vector<Client> clients_;
  std::vector<Hook> hooks_;
  std::map<std::string, HookState> hook_state_;  // by endpoint_text(target)
  std::vector<std::vector<std::optional<uint64_t>>> requests_;  // gateway request -> core request per worker
  core::Nanos started_ = 0;
  uint64_t control_errors_ = 0;
  uint64_t hook_failures_ = 0;
};

}  // namespace tcpmig::gateway_tool
