// tcpmig-gateway's std-only parts: control command parsing (every kind of
// bad command gets its own message), reply formats, Prometheus text, the
// nft / iptables rule text, checksum completion and software segmentation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "control.hpp"
#include "metrics.hpp"
#include "rules.hpp"
#include "segment.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/tcp.hpp"

using namespace tcpmig;
using namespace tcpmig::gateway_tool;

namespace {

core::Endpoint ep(uint32_t ip, uint16_t port) { return {wire::Ipv4Address{ip}, port}; }

std::string parse_error(std::string_view line) {
  auto r = parse_command(line);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

/// An IPv4/TCP packet with `payload_len` bytes 0, 1, 2, ... and valid checksums.
std::vector<uint8_t> tcp_packet(std::size_t payload_len, uint8_t flags) {
  const std::size_t ihl = 20, thl = 32;  // 12 bytes of options (NOP NOP TS)
  std::vector<uint8_t> b(ihl + thl + payload_len, 0);
  b[0] = 0x45;
  wire::store_be16(b.data() + 2, static_cast<uint16_t>(b.size()));
  wire::store_be16(b.data() + 4, 0x1000);
  b[6] = 0x40;  // DF
  b[8] = 64;
  b[9] = wire::ip_proto::tcp;
  wire::store_be32(b.data() + 12, 0x0a000102);
  wire::store_be32(b.data() + 16, 0x0a000203);
  uint8_t* t = b.data() + ihl;
  wire::store_be16(t + 0, 40000);
  wire::store_be16(t + 2, 8000);
  wire::store_be32(t + 4, 0xfffffff0);  // wraps inside the packet
  wire::store_be32(t + 8, 1234);
  t[12] = static_cast<uint8_t>((thl / 4) << 4);
  t[13] = flags;
  wire::store_be16(t + 14, 512);
  t[20] = 1;
  t[21] = 1;
  t[22] = 8;
  t[23] = 10;
  for (std::size_t i = 0; i < payload_len; ++i) b[ihl + thl + i] = static_cast<uint8_t>(i * 7);
  auto ip = wire::Ipv4Packet::check(b);
  REQUIRE(ip.ok());
  ip->fill_checksum();
  auto tcp = wire::TcpSegment::check(ip->payload());
  REQUIRE(tcp.ok());
  tcp->fill_checksum(ip->src(), ip->dst());
  return b;
}

}  // namespace

TEST_CASE("control: good commands") {
  auto all = parse_command("migrate all 10.0.2.3:8000");
  REQUIRE(all.ok());
  CHECK(std::get<MigrateAll>(*all).target == ep(0x0a000203, 8000));
  auto one = parse_command("  migrate\t10.0.1.2:40000   10.0.2.3:8000\r");
  REQUIRE(one.ok());
  CHECK(std::get<MigrateFlow>(*one).client == ep(0x0a000102, 40000));
  CHECK(std::get<MigrateFlow>(*one).target == ep(0x0a000203, 8000));
  CHECK_FALSE(std::get<Cancel>(*parse_command("cancel")).request.has_value());
  CHECK(std::get<Cancel>(*parse_command("cancel 17")).request == 17U);
  CHECK(std::holds_alternative<Status>(*parse_command("status")));
  CHECK(std::holds_alternative<Flows>(*parse_command("flows")));
  CHECK(std::holds_alternative<Records>(*parse_command("records")));
  CHECK_FALSE(std::get<Stats>(*parse_command("stats")).prometheus);
  CHECK(std::get<Stats>(*parse_command("stats prometheus")).prometheus);
}

TEST_CASE("control: every bad command says what is wrong") {
  CHECK(parse_error("").find("empty command") == 0);
  CHECK(parse_error("   ").find("empty command") == 0);
  CHECK(parse_error("frobnicate").find("unknown command 'frobnicate'") == 0);
  CHECK(parse_error("migrate") == "migrate needs two words: 'all' or CLIENT_IP:PORT, then TARGET_IP:PORT");
  CHECK(parse_error("migrate all") == "migrate needs two words: 'all' or CLIENT_IP:PORT, then TARGET_IP:PORT");
  CHECK(parse_error("migrate all 10.0.2.3:8000 x") == "too many words after 'migrate all 10.0.2.3:8000'");
  CHECK(parse_error("migrate all 10.0.2.3") == "target '10.0.2.3' is not IP:PORT (a.b.c.d:1-65535)");
  CHECK(parse_error("migrate all 10.0.2.3:0") == "target '10.0.2.3:0' is not IP:PORT (a.b.c.d:1-65535)");
  CHECK(parse_error("migrate all 10.0.2.3:65536") == "target '10.0.2.3:65536' is not IP:PORT (a.b.c.d:1-65535)");
  CHECK(parse_error("migrate 300.0.0.1:5 10.0.2.3:8000") ==
        "client '300.0.0.1:5' is not IP:PORT (a.b.c.d:1-65535) and not 'all'");
  CHECK(parse_error("cancel x") == "request id 'x' is not a decimal number");
  CHECK(parse_error("cancel -1") == "request id '-1' is not a decimal number");
  CHECK(parse_error("cancel 1 2") == "too many words after 'cancel 1'");
  CHECK(parse_error("stats json") == "unknown stats format 'json' (only 'prometheus')");
  CHECK(parse_error("stats prometheus x") == "too many words after 'stats prometheus'");
  CHECK(parse_error("status now") == "too many words after 'status'");
  CHECK(parse_error("flows 1") == "too many words after 'flows'");
  CHECK(parse_error("records all") == "too many words after 'records'");
  CHECK(parse_error(std::string("status\x01")) == "control character in the command");
  CHECK(parse_error(std::string(kMaxCommandLength + 1, 'a')).find("command longer than") == 0);
}

TEST_CASE("control: error replies are one JSON line; ctl reads string members back") {
  const std::string r = error_reply("bad \"thing\"\n");
  CHECK(r == "{\"ok\":false,\"error\":\"bad \\\"thing\\\"\\n\"}\n");
  CHECK(json_string_member(r, "error") == std::string("bad \"thing\"\n"));
  CHECK(json_string_member("{\"text\":\"a\\u00e9\\\\b\"}", "text") == std::string("a\xc3\xa9\\b"));
  CHECK_FALSE(json_string_member(r, "text").has_value());
  CHECK_FALSE(json_string_member("{\"text\":\"unterminated", "text").has_value());
}

TEST_CASE("metrics: Prometheus text and JSON list the same numbers") {
  StatsSnapshot s;
  s.queues = 2;
  s.flows = 5;
  s.host.received = 100;
  s.host.enobufs = 3;
  s.host.modified = 40;
  s.core.by_reason[static_cast<std::size_t>(core::Reason::Held)] = 7;
  s.core.migrations_completed = 2;
  HostCounters more;
  more.received = 1;
  s.host += more;
  const std::string p = prometheus_text(s);
  CHECK(p.find("# HELP tcpmig_gateway_received_total Packets read from NFQUEUE.\n"
               "# TYPE tcpmig_gateway_received_total counter\n"
               "tcpmig_gateway_received_total 101\n") != std::string::npos);
  CHECK(p.find("# TYPE tcpmig_gateway_flows gauge\ntcpmig_gateway_flows 5\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_flows_by_state{state=\"replaying\"} 0\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_held_packets 0\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_enobufs_total 3\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_verdicts_total{verdict=\"modified\"} 40\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_packets_by_reason_total{reason=\"held\"} 7\n") != std::string::npos);
  CHECK(p.find("tcpmig_gateway_migrations_total{event=\"completed\"} 2\n") != std::string::npos);
  // One HELP and one TYPE per family, even for labelled ones.
  std::size_t helps = 0;
  for (std::size_t at = 0; (at = p.find("# HELP tcpmig_gateway_packets_by_reason_total", at)) != std::string::npos; ++at) {
    ++helps;
  }
  CHECK(helps == 1);
  const std::string j = stats_json(s);
  CHECK(j.find("{\"ok\":true,\"stats\":{\"queues\":2,\"flows\":5,\"flows_by_state\":{\"syn-sent\":0,") == 0);
  CHECK(j.find("\"received_total\":101,") != std::string::npos);
  CHECK(j.find("\"packets_by_reason_total\":{\"not-ipv4\":0,") != std::string::npos);
  CHECK(j.find("\"held\":7") != std::string::npos);
  CHECK(j.back() == '\n');
  CHECK(j.find('\n') == j.size() - 1);
}

TEST_CASE("rules: nft and iptables text for one queue") {
  RuleSpec s;
  s.queue = 3;
  s.service = ep(0x0a000202, 8000);
  s.backends = {ep(0x0a000203, 8000)};
  CHECK(install_rules_text(RulesBackend::Nft, s) ==
        "table ip tcpmig_q3\n"
        "delete table ip tcpmig_q3\n"
        "table ip tcpmig_q3 {\n"
        "  chain prerouting {\n"
        "    type filter hook prerouting priority mangle; policy accept;\n"
        "    ip daddr 10.0.2.2 tcp dport 8000 queue flags bypass num 3\n"
        "    ip saddr 10.0.2.2 tcp sport 8000 queue flags bypass num 3\n"
        "    ip saddr 10.0.2.3 tcp sport 8000 queue flags bypass num 3\n"
        "  }\n"
        "}\n");
  CHECK(remove_rules_text(RulesBackend::Nft, s) == "delete table ip tcpmig_q3\n");
  CHECK(backend_rules_text(RulesBackend::Nft, s, ep(0x0a000204, 9000)) ==
        "add rule ip tcpmig_q3 prerouting ip saddr 10.0.2.4 tcp sport 9000 queue flags bypass num 3\n");
  CHECK(install_rules_text(RulesBackend::Iptables, s) ==
        "*mangle\n"
        ":TCPMIG_Q3 - [0:0]\n"
        "-A PREROUTING -p tcp -j TCPMIG_Q3\n"
        "-A TCPMIG_Q3 -d 10.0.2.2/32 -p tcp --dport 8000 -j NFQUEUE --queue-num 3 --queue-bypass\n"
        "-A TCPMIG_Q3 -s 10.0.2.2/32 -p tcp --sport 8000 -j NFQUEUE --queue-num 3 --queue-bypass\n"
        "-A TCPMIG_Q3 -s 10.0.2.3/32 -p tcp --sport 8000 -j NFQUEUE --queue-num 3 --queue-bypass\n"
        "COMMIT\n");
  CHECK(remove_rules_text(RulesBackend::Iptables, s) ==
        "*mangle\n-D PREROUTING -p tcp -j TCPMIG_Q3\n-F TCPMIG_Q3\n-X TCPMIG_Q3\nCOMMIT\n");
  CHECK(rules_command(RulesBackend::Nft) == std::vector<std::string>{"nft", "-f", "-"});
}

TEST_CASE("rules: two queues hash the client's address and port both ways") {
  RuleSpec s;
  s.queue = 0;
  s.queues = 2;
  s.service = ep(0x0a000202, 8000);
  s.seed = 0x1234abcd;
  CHECK(install_rules_text(RulesBackend::Nft, s) ==
        "table ip tcpmig_q0\n"
        "delete table ip tcpmig_q0\n"
        "table ip tcpmig_q0 {\n"
        "  chain prerouting {\n"
        "    type filter hook prerouting priority mangle; policy accept;\n"
        "    ip daddr 10.0.2.2 tcp dport 8000 queue flags bypass to jhash ip saddr . tcp sport mod 2 seed "
        "0x1234abcd offset 0\n"
        "    ip saddr 10.0.2.2 tcp sport 8000 queue flags bypass to jhash ip daddr . tcp dport mod 2 seed "
        "0x1234abcd offset 0\n"
        "  }\n"
        "}\n");
  CHECK(install_rules_text(RulesBackend::Iptables, s) ==
        "*mangle\n"
        ":TCPMIG_Q0 - [0:0]\n"
        "-A PREROUTING -p tcp -j TCPMIG_Q0\n"
        "-A TCPMIG_Q0 -d 10.0.2.2/32 -p tcp --dport 8000 -j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 0 "
        "--hmark-sport-mask 0xffff --hmark-dport-mask 0 --hmark-proto-mask 0 --hmark-rnd 0x1234abcd --hmark-mod 2 "
        "--hmark-offset 0\n"
        "-A TCPMIG_Q0 -d 10.0.2.2/32 -p tcp --dport 8000 -m mark --mark 0 -j NFQUEUE --queue-num 0 --queue-bypass\n"
        "-A TCPMIG_Q0 -d 10.0.2.2/32 -p tcp --dport 8000 -m mark --mark 1 -j NFQUEUE --queue-num 1 --queue-bypass\n"
        "-A TCPMIG_Q0 -s 10.0.2.2/32 -p tcp --sport 8000 -j HMARK --hmark-src-prefix 0 --hmark-dst-prefix 32 "
        "--hmark-sport-mask 0 --hmark-dport-mask 0xffff --hmark-proto-mask 0 --hmark-rnd 0x1234abcd --hmark-mod 2 "
        "--hmark-offset 0\n"
        "-A TCPMIG_Q0 -s 10.0.2.2/32 -p tcp --sport 8000 -m mark --mark 0 -j NFQUEUE --queue-num 0 --queue-bypass\n"
        "-A TCPMIG_Q0 -s 10.0.2.2/32 -p tcp --sport 8000 -m mark --mark 1 -j NFQUEUE --queue-num 1 --queue-bypass\n"
        "COMMIT\n");
}

TEST_CASE("segment: a partial checksum (pseudo-header sum only) is completed") {
  std::vector<uint8_t> b = tcp_packet(100, wire::tcp_flag::ACK | wire::tcp_flag::PSH);
  auto ip = wire::Ipv4Packet::check(b);
  REQUIRE(ip.ok());
  auto tcp = wire::TcpSegment::check(ip->payload());
  REQUIRE(tcp.ok());
  const uint16_t good = tcp->checksum();
  // What CHECKSUM_PARTIAL leaves in the field: the folded pseudo-header sum.
  tcp->set_checksum(wire::checksum_fold(wire::pseudo_header_sum(ip->src(), ip->dst(), wire::ip_proto::tcp,
                                                                static_cast<uint16_t>(tcp->buffer().size()))));
  CHECK_FALSE(tcp->verify_checksum(ip->src(), ip->dst()));
  CHECK(complete_tcp_checksum(b));
  CHECK(tcp->checksum() == good);
  CHECK(tcp->verify_checksum(ip->src(), ip->dst()));
  std::vector<uint8_t> udp = b;
  udp[9] = 17;
  CHECK_FALSE(complete_tcp_checksum(udp));
  std::vector<uint8_t> shortp(b.begin(), b.begin() + 30);
  CHECK_FALSE(complete_tcp_checksum(shortp));
}

TEST_CASE("segment: an oversized packet becomes MSS-sized segments with valid checksums") {
  const std::size_t payload = 4000;
  const std::vector<uint8_t> big =
      tcp_packet(payload, wire::tcp_flag::ACK | wire::tcp_flag::PSH | wire::tcp_flag::FIN | wire::tcp_flag::CWR);
  std::vector<std::vector<uint8_t>> out;
  REQUIRE(segment_tcp(big, 1500, out));
  const std::size_t mss = 1500 - 20 - 32;
  REQUIRE(out.size() == 3);
  std::vector<uint8_t> data;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto ip = wire::ConstIpv4Packet::check(out[i]);
    REQUIRE(ip.ok());
    CHECK(ip->verify_checksum());
    CHECK(ip->total_len() == out[i].size());
    CHECK(out[i].size() <= 1500);
    CHECK(ip->ident() == 0x1000 + i);
    CHECK(ip->dont_frag());
    auto tcp = wire::ConstTcpSegment::check(ip->payload());
    REQUIRE(tcp.ok());
    CHECK(tcp->verify_checksum(ip->src(), ip->dst()));
    CHECK(tcp->seq() == wire::SeqNumber{0xfffffff0} + static_cast<uint32_t>(i * mss));
    CHECK(tcp->ack() == wire::SeqNumber{1234});
    CHECK(tcp->options().size() == 12);  // options copied to every segment
    const bool last = i + 1 == out.size();
    CHECK(tcp->has_flags(wire::tcp_flag::FIN) == last);
    CHECK(tcp->has_flags(wire::tcp_flag::PSH) == last);
    CHECK(tcp->has_flags(wire::tcp_flag::CWR) == (i == 0));
    CHECK(tcp->has_flags(wire::tcp_flag::ACK));
    data.insert(data.end(), tcp->payload().begin(), tcp->payload().end());
  }
  CHECK(data == std::vector<uint8_t>(big.end() - static_cast<std::ptrdiff_t>(payload), big.end()));
  // No room for data, or not TCP: left alone.
  CHECK_FALSE(segment_tcp(big, 52, out));
  CHECK(out.empty());
  std::vector<uint8_t> frag = big;
  frag[6] |= 0x20;  // MF
  CHECK_FALSE(segment_tcp(frag, 1500, out));
}
