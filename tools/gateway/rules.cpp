// nftables / iptables rule text (see rules.hpp).
#include "rules.hpp"

#include <cstdio>

namespace tcpmig::gateway_tool {

namespace {

std::string ip_text(wire::Ipv4Address a) {
  std::string out;
  a.append_to(out);
  return out;
}

std::string hex32(uint32_t v) {
  char buf[12];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

/// The nft queue statement; `client` is the hashed client address . port.
std::string nft_queue(const RuleSpec& s, const char* client) {
  if (s.queues <= 1) return "queue flags bypass num " + std::to_string(s.queue);
  return std::string("queue flags bypass to jhash ") + client + " mod " + std::to_string(s.queues) + " seed " +
         hex32(s.seed) + " offset " + std::to_string(s.queue);
}

std::string nft_to_service(const RuleSpec& s) {
  return "ip daddr " + ip_text(s.service.ip) + " tcp dport " + std::to_string(s.service.port) + " " +
         nft_queue(s, "ip saddr . tcp sport");
}

std::string nft_from(const RuleSpec& s, core::Endpoint e) {
  return "ip saddr " + ip_text(e.ip) + " tcp sport " + std::to_string(e.port) + " " +
         nft_queue(s, "ip daddr . tcp dport");
}

/// iptables rules for packets matching `match`; `to_service`: the client is the source.
std::string ipt_rules(const RuleSpec& s, const std::string& chain, const std::string& match, bool to_service) {
  const std::string head = "-A " + chain + " " + match;
  if (s.queues <= 1) return head + " -j NFQUEUE --queue-num " + std::to_string(s.queue) + " --queue-bypass\n";
  // HMARK hashes (min(src,dst), max(src,dst), ports likewise): zeroing the
  // server's address and port makes both directions hash (0, client, 0, port).
  const char* masks = to_service ? "--hmark-src-prefix 32 --hmark-dst-prefix 0 --hmark-sport-mask 0xffff --hmark-dport-mask 0"
                                 : "--hmark-src-prefix 0 --hmark-dst-prefix 32 --hmark-sport-mask 0 --hmark-dport-mask 0xffff";
  std::string out = head + " -j HMARK " + masks + " --hmark-proto-mask 0 --hmark-rnd " + hex32(s.seed) +
                    " --hmark-mod " + std::to_string(s.queues) + " --hmark-offset " + std::to_string(s.queue) + "\n";
  for (uint32_t q = s.queue; q < uint32_t{s.queue} + s.queues; ++q) {
    out += head + " -m mark --mark " + std::to_string(q) + " -j NFQUEUE --queue-num " + std::to_string(q) +
           " --queue-bypass\n";
  }
  return out;
}

std::string ipt_to_service(const RuleSpec& s, const std::string& chain) {
  return ipt_rules(s, chain, "-d " + ip_text(s.service.ip) + "/32 -p tcp --dport " + std::to_string(s.service.port),
                   true);
}

std::string ipt_from(const RuleSpec& s, const std::string& chain, core::Endpoint e) {
  return ipt_rules(s, chain, "-s " + ip_text(e.ip) + "/32 -p tcp --sport " + std::to_string(e.port), false);
}

}  // namespace

std::string rules_name(RulesBackend b, const RuleSpec& spec) {
  return (b == RulesBackend::Nft ? "tcpmig_q" : "TCPMIG_Q") + std::to_string(spec.queue);
}

std::string install_rules_text(RulesBackend b, const RuleSpec& spec) {
  const std::string name = rules_name(b, spec);
  if (b == RulesBackend::Nft) {
    // Declaring then deleting the table first replaces a stale one atomically.
    std::string out = "table ip " + name + "\ndelete table ip " + name + "\n";
    out += "table ip " + name + " {\n";
    out += "  chain prerouting {\n";
    out += "    type filter hook prerouting priority mangle; policy accept;\n";
    out += "    " + nft_to_service(spec) + "\n";
    out += "    " + nft_from(spec, spec.service) + "\n";
    for (const core::Endpoint& e : spec.backends) out += "    " + nft_from(spec, e) + "\n";
    out += "  }\n}\n";
    return out;
  }
  std::string out = "*mangle\n:" + name + " - [0:0]\n-A PREROUTING -p tcp -j " + name + "\n";
  out += ipt_to_service(spec, name);
  out += ipt_from(spec, name, spec.service);
  for (const core::Endpoint& e : spec.backends) out += ipt_from(spec, name, e);
  out += "COMMIT\n";
  return out;
}

std::string backend_rules_text(RulesBackend b, const RuleSpec& spec, core::Endpoint backend) {
  const std::string name = rules_name(b, spec);
  if (b == RulesBackend::Nft) return "add rule ip " + name + " prerouting " + nft_from(spec, backend) + "\n";
  return "*mangle\n" + ipt_from(spec, name, backend) + "COMMIT\n";
}

std::string remove_rules_text(RulesBackend b, const RuleSpec& spec) {
  const std::string name = rules_name(b, spec);
  if (b == RulesBackend::Nft) return "delete table ip " + name + "\n";
  return "*mangle\n-D PREROUTING -p tcp -j " + name + "\n-F " + name + "\n-X " + name + "\nCOMMIT\n";
}

std::vector<std::string> rules_command(RulesBackend b) {
  if (b == RulesBackend::Nft) return {"nft", "-f", "-"};
  return {"iptables-restore", "--noflush", "-w"};
}

}  // namespace tcpmig::gateway_tool
