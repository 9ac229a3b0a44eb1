// The packet filter rules --install-rules adds and removes: they send to the
// gateway's queues exactly the TCP packets it must see, and nothing else.
//
// Place in the layers: tools/gateway, std + core only: the rule text is made
// here (tested without root) and fed to `nft -f -` or `iptables-restore
// --noflush -w` by the Linux part.
// Rules:
// - Queued: TCP to the service (client -> server) and TCP from the service
//   or from a backend (server -> client), in PREROUTING at priority mangle
//   (-150), so the kernel routes the rewritten destination. Nothing else.
// - `bypass`: when no gateway listens on a queue the kernel accepts the
//   packet instead of dropping it (fail open).
// - Several queues (queue .. queue + queues - 1): a flow's packets reach the
//   same queue both ways, before and after a migration, because the queue is
//   a keyed hash of the client's address and port only: `ip saddr . tcp
//   sport` one way, `ip daddr . tcp dport` the other, same seed and offset
//   (nftables jhash; with iptables, HMARK with mirrored masks sets the mark
//   and one NFQUEUE rule per mark picks the queue).
// - nftables: a table of its own, `table ip tcpmig_q<queue>`; installing
//   replaces a stale table of that name in the same transaction; removing
//   deletes the table. iptables (kernels without the nft queue expression):
//   a chain of its own, TCPMIG_Q<queue> in the mangle table, jumped to from
//   PREROUTING; removing unhooks, flushes and deletes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcpmig/core/migrator.hpp"

namespace tcpmig::gateway_tool {

enum class RulesBackend : uint8_t { Nft, Iptables };

struct RuleSpec {
  uint16_t queue = 0;                  ///< first queue number
  uint16_t queues = 1;                 ///< how many
  core::Endpoint service;              ///< what clients connect to
  std::vector<core::Endpoint> backends;  ///< servers whose packets are queued too (not the service)
  uint32_t seed = 0;                   ///< hash key when queues > 1
};

/// The nft table or iptables chain name ("tcpmig_q0" / "TCPMIG_Q0").
std::string rules_name(RulesBackend b, const RuleSpec& spec);
/// Text that installs the rules for the service and every backend of `spec`.
std::string install_rules_text(RulesBackend b, const RuleSpec& spec);
/// Text that adds the rules for one more backend to installed rules.
std::string backend_rules_text(RulesBackend b, const RuleSpec& spec, core::Endpoint backend);
/// Text that removes everything install_rules_text added (and later backends).
std::string remove_rules_text(RulesBackend b, const RuleSpec& spec);
/// The program and arguments that read such text on stdin.
std::vector<std::string> rules_command(RulesBackend b);

}  // namespace tcpmig::gateway_tool
