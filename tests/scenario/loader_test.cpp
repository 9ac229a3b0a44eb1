// The scenario loader: good files read into the expected description, one
// test per error class with the exact FILE:LINE:COLUMN, parameters and
// overrides, and every file under tests/scenario/bad/ (each names its
// expected error in its first line).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tcpmig/scenario/apps.hpp"
#include "tcpmig/scenario/scenario.hpp"

using namespace tcpmig;
using namespace tcpmig::scenario;
using namespace tcpmig::sim::literals;

namespace {

const std::string kSource = TCPMIG_SOURCE_DIR;

wire::Ipv4Address ip(const char* s) { return *wire::Ipv4Address::parse(s); }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(static_cast<bool>(in), path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A small valid topology: c -- gw -- s, with `topo` added inside
/// <topology> and `rest` after it.
std::string with(const std::string& topo, const std::string& rest = "") {
  return "<scenario name=\"t\">\n"
         "  <topology>\n"
         "    <host name=\"c\"/>\n"
         "    <gateway name=\"gw\" client-facing=\"c\"/>\n"
         "    <host name=\"s\"/>\n"
         "    <link a=\"c\" a-addr=\"10.0.1.1/24\" b=\"gw\" b-addr=\"10.0.1.254/24\"/>\n"
         "    <link a=\"gw\" a-addr=\"10.0.2.254/24\" b=\"s\" b-addr=\"10.0.2.10/24\"/>\n" +
         topo + "  </topology>\n" + rest + "</scenario>\n";
}

/// Loads `marked` with its one '@' removed and checks that the error is
/// "t.xml:L:C: error: ..." at the '@' and contains every fragment.
void expect_error(std::string marked, std::initializer_list<const char*> fragments,
                  const std::vector<Override>& overrides = {}) {
  const auto at = marked.find('@');
  REQUIRE_MESSAGE(at != std::string::npos, "test input needs an '@' marker");
  marked.erase(at, 1);
  const uint32_t line = 1 + static_cast<uint32_t>(std::count(marked.begin(), marked.begin() + static_cast<long>(at), '\n'));
  const auto line_start = marked.rfind('\n', at == 0 ? 0 : at - 1);
  const std::size_t first = line_start == std::string::npos || at == 0 ? 0 : line_start + 1;
  uint32_t col = 1;  // in characters: UTF-8 continuation bytes do not count
  for (std::size_t i = first; i < at; ++i) {
    if ((static_cast<unsigned char>(marked[i]) & 0xc0) != 0x80) ++col;
  }
  const LoadResult r = load_scenario(marked, "t.xml", overrides);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error);
  const std::string text = r.error->text();
  CAPTURE(text);
  CHECK(text.rfind("t.xml:" + std::to_string(line) + ":" + std::to_string(col) + ": error: ", 0) == 0);
  CHECK(text.find("; expected ") != std::string::npos);
  CHECK(text.find('\n') == std::string::npos);
  for (const char* f : fragments) {
    CAPTURE(f);
    CHECK(text.find(f) != std::string::npos);
  }
}

Scenario load_ok(const std::string& text, const std::vector<Override>& overrides = {}) {
  const LoadResult r = load_scenario(text, "t.xml", overrides);
  if (!r.ok()) FAIL(r.error->text());
  return *r.scenario;
}

}  // namespace

TEST_CASE("the seed scenario loads into the expected description") {
  const std::string path = kSource + "/tests/scenario/good/migrate_mid_stream.xml";
  const LoadResult r = load_scenario_file(path);
  if (!r.ok()) FAIL(r.error->text());
  const Scenario& s = *r.scenario;
  CHECK(s.file == path);
  CHECK(s.name == "migrate_mid_stream");
  CHECK(s.description.rfind("client sends 10 requests", 0) == 0);
  REQUIRE(s.params.size() == 3);
  CHECK(s.params[0].name == "loss");
  CHECK(s.params[0].value == "0");
  CHECK_FALSE(s.params[0].overridden);

  REQUIRE(s.nodes.size() == 5);
  CHECK(s.nodes[0].name == "client");
  CHECK(s.nodes[0].type == NodeType::Host);
  CHECK(s.nodes[0].tcp.timestamps);  // Linux default
  CHECK(s.nodes[1].type == NodeType::Gateway);
  CHECK(s.nodes[1].client_facing == std::vector<std::string>{"client"});
  CHECK(s.nodes[1].gateway.max_flows == core::Config{}.max_flows);
  CHECK(s.nodes[2].type == NodeType::Switch);
  CHECK_FALSE(s.nodes[3].runtime());
  CHECK(s.nodes[4].runtime());
  CHECK(s.nodes[4].add_on == "m1");
  CHECK(s.nodes[4].boot_delay == 10_ms);

  REQUIRE(s.links.size() == 4);
  CHECK(s.links[0].a == "client");
  CHECK(s.links[0].a_addr->ip == ip("10.0.1.1"));
  CHECK(s.links[0].a_addr->prefix_len == 24);
  CHECK(s.links[0].ab.rate_bps == 100'000'000);
  CHECK(s.links[0].ab.delay == 1_ms);
  CHECK(s.links[0].ab.loss == 0.0);
  CHECK_FALSE(s.links[1].b_addr.has_value());
  CHECK(s.links[1].ab.rate_bps == 1'000'000'000);
  CHECK(s.links[1].ba.delay == 100_us);

  REQUIRE(s.apps.size() == 3);
  CHECK(s.apps[0].kind == find_app_kind("response-server"));
  CHECK(s.apps[0].node == "server1");
  CHECK(s.apps[0].label == "server1");
  CHECK(s.apps[0].settings_as<ResponseServerSettings>().config.response == "Hello, I'm Server 1");
  CHECK(s.apps[2].kind == find_app_kind("request-client"));
  const auto& client = s.apps[2].settings_as<RequestClientSettings>();
  CHECK(client.config.server == ip("10.0.2.10"));
  CHECK(client.config.count == 10);
  CHECK(client.config.interval == 100_ms);
  CHECK(client.config.start == sim::Time::zero() + 100_ms);
  CHECK(client.instances == 1);
  CHECK(client.expect_responses == 10);

  REQUIRE(s.migrations.size() == 1);
  const MigrationSpec& m = s.migrations[0];
  CHECK(m.name == "m1");
  CHECK(m.gateway == "gw");
  CHECK(m.service == core::Endpoint{ip("10.0.2.10"), 80});
  CHECK(m.target == core::Endpoint{ip("10.0.2.20"), 80});
  CHECK(m.trigger.kind == core::Trigger::Kind::AfterRequests);
  CHECK(m.trigger.count == 2);
  CHECK(m.trigger.safe_point == core::SafePoint::Auto);
  CHECK(m.expect == Expect::Completed);
  CHECK(m.provisioned_by == "server2");
  CHECK_FALSE(m.flow_client.has_value());
  CHECK(s.outputs.pcap);
  CHECK(s.outputs.trace);
  CHECK(s.outputs.summary);
}

TEST_CASE("every attribute of the format is read") {
  const LoadResult r = load_scenario_file(kSource + "/tests/scenario/good/every_attribute.xml");
  if (!r.ok()) FAIL(r.error->text());
  const Scenario& s = *r.scenario;
  const tcp::TcpConfig& t = s.find_node("client")->tcp;
  CHECK(t.mss == 1400);
  CHECK(t.initial_cwnd_segments == 4);
  CHECK(t.rto_min == 100_ms);
  CHECK(t.rto_initial == 2_s);
  CHECK(t.rto_max == 60_s);
  CHECK(t.rto_after_syn_retransmit == 2_s);
  CHECK(t.delayed_ack == 0_s);
  CHECK_FALSE(t.quickack);
  CHECK_FALSE(t.timestamps);
  CHECK_FALSE(t.sack);
  CHECK_FALSE(t.dsack);
  CHECK_FALSE(t.window_scaling);
  CHECK_FALSE(t.nagle);
  CHECK(t.time_wait == 1_s);
  CHECK(t.fin_wait2_timeout == 2_s);
  CHECK(t.syn_retries == 3);
  CHECK(t.synack_retries == 2);
  CHECK(t.retries == 5);
  CHECK(t.recv_buffer == 65536);
  CHECK(t.send_buffer == 32768);
  CHECK(t.window_scale_space == 1048576);
  CHECK(t.ts_tick == 10_ms);
  CHECK_FALSE(t.ts_random_offset);
  CHECK(t.isn == std::optional<uint32_t>(1000));
  CHECK(t.ephemeral_port_min == 40000);
  CHECK(t.ephemeral_port_max == 40010);
  CHECK_FALSE(t.slow_start_after_idle);
  CHECK(t.invalid_ack_ratelimit == 0_s);
  CHECK(t.challenge_ack_limit == 100);
  CHECK(t.dupthresh == 4);
  CHECK(t.congestion_control == "newreno");
  CHECK(t.loss_detection == tcp::TcpConfig::LossDetection::Dupthresh);
  CHECK_FALSE(t.tail_loss_probe);
  CHECK(t.rmem == std::array<uint32_t, 3>{4096, 65536, 1048576});
  CHECK(t.wmem == std::array<uint32_t, 3>{8192, 16384, 2097152});
  CHECK_FALSE(t.moderate_rcvbuf);
  CHECK(t.comp_sack_delay == 500_us);
  CHECK(t.comp_sack_nr == 0);
  CHECK(t.limit_output_bytes == 0);

  const NodeSpec& gw = *s.find_node("gw");
  CHECK(gw.client_facing == std::vector<std::string>{"client", "client2"});
  CHECK(gw.gateway.max_flows == 1024);
  CHECK(gw.gateway.hold_packets == 8);
  CHECK(gw.gateway.replay_rto == 250'000'000);
  CHECK(gw.gateway.replay_retries == 2);
  CHECK(gw.gateway.close_linger == 5'000'000'000);
  CHECK_FALSE(gw.gateway.reset_old_backend);
  CHECK(gw.gateway.ttl == 32);
  CHECK(s.find_node("r1")->type == NodeType::Router);
  CHECK(s.find_node("server2")->add_at == std::optional<sim::Duration>(2_s));
  CHECK(s.find_node("server2")->boot_delay == 5_ms);
  CHECK(s.find_node("server3")->add_on == "m2");
  CHECK(s.find_node("server3")->boot_delay == 0_s);

  const LinkSpec& l = s.links[0];
  CHECK(l.ab.rate_bps == 10'000'000);
  CHECK(l.ba.rate_bps == 20'000'000);
  CHECK(l.ab.delay == 3_ms);
  CHECK(l.ba.delay == 2_ms);
  CHECK(l.ab.queue_packets == 60);
  CHECK(l.ba.queue_packets == 70);
  CHECK(l.ab.queue_bytes == 32'000);
  CHECK(l.ba.queue_bytes == 16'000);
  CHECK(l.ab.loss == 0.5);
  CHECK(l.ba.loss == 0.0);
  CHECK(l.ab.duplicate == 0.02);
  CHECK(l.ba.duplicate == 0.03);
  CHECK(l.ab.reorder == 0.2);
  CHECK(l.ba.reorder == 0.3);
  CHECK(l.ab.reorder_delay == 3_ms);
  CHECK(l.ba.reorder_delay == 4_ms);
  CHECK(l.mtu == 1400);
  CHECK(s.links[1].ab.rate_bps == 0);  // infinite
  CHECK(s.links[1].ab.loss == 0.0);    // default, not the ${loss} of another link
  CHECK_FALSE(s.links[1].add_at.has_value());
  CHECK(s.links.back().add_at == std::optional<sim::Duration>(2500_ms));

  REQUIRE(s.apps.size() == 7);
  CHECK(s.apps[6].settings_as<BulkSinkSettings>().continues == std::optional<std::size_t>(5));
  CHECK_FALSE(s.apps[5].settings_as<BulkSinkSettings>().continues.has_value());
  const auto& srv = s.apps[0].settings_as<ResponseServerSettings>().config;
  CHECK(srv.port == 8080);
  CHECK(srv.response == "one");
  CHECK(srv.name == "srv1");
  CHECK(s.apps[0].label == "srv1");
  CHECK(srv.backlog == 16);
  CHECK(srv.nodelay);
  const auto& cli = s.apps[3].settings_as<RequestClientSettings>();
  CHECK(cli.config.count == 5);
  CHECK(cli.config.first_index == 3);
  CHECK(cli.config.interval == 10_ms);
  CHECK(cli.config.start == sim::Time::zero() + 1_ms);
  CHECK(cli.config.name == "cli");
  CHECK(cli.config.request_prefix == "GET ");
  CHECK_FALSE(cli.config.close_when_done);
  CHECK(cli.config.nodelay);
  CHECK(cli.instances == 3);
  CHECK(cli.expect_responses == 4);
  CHECK(s.apps[4].kind == find_app_kind("bulk-sender"));
  const auto& tx = s.apps[4].settings_as<BulkSenderSettings>();
  CHECK(tx.config.bytes == 1'500'000);
  CHECK(tx.config.start == sim::Time::zero() + 2_ms);
  CHECK(tx.config.name == "tx");
  CHECK(s.apps[5].kind == find_app_kind("bulk-sink"));
  const auto& rx = s.apps[5].settings_as<BulkSinkSettings>();
  CHECK(rx.config.name == "rx");
  CHECK_FALSE(rx.config.verify);
  CHECK(rx.expect_bytes == std::optional<uint64_t>(1'500'000));

  REQUIRE(s.migrations.size() == 4);
  CHECK(s.migrations[0].trigger.kind == core::Trigger::Kind::AtTime);
  CHECK(s.migrations[0].trigger.at == 3'000'000'000);
  CHECK(s.migrations[0].trigger.safe_point == core::SafePoint::Quiescent);
  CHECK(s.migrations[0].expect == Expect::Any);
  CHECK(s.migrations[0].request_at == 1_s);
  CHECK(s.migrations[0].service.port == 8080);
  CHECK(s.migrations[1].trigger.kind == core::Trigger::Kind::AfterBytes);
  CHECK(s.migrations[1].trigger.count == 1024);
  CHECK(s.migrations[1].trigger.safe_point == core::SafePoint::ClientData);
  CHECK(s.migrations[1].expect == Expect::Aborted);
  CHECK(s.migrations[1].provisioned_by == "server3");
  CHECK(s.migrations[2].trigger.kind == core::Trigger::Kind::AfterSegments);
  CHECK(s.migrations[2].trigger.count == 7);
  REQUIRE(s.migrations[2].flow_client.has_value());
  CHECK(*s.migrations[2].flow_client == core::Endpoint{ip("10.0.3.1"), 40000});
  CHECK(s.migrations[3].trigger.kind == core::Trigger::Kind::Now);
  CHECK_FALSE(s.outputs.pcap);
  CHECK(s.outputs.trace);
  CHECK_FALSE(s.outputs.summary);
}

TEST_CASE("parameters: defaults, overrides, substitution inside values") {
  const std::string text = R"(<scenario name="p">
  <param name="loss" default="0"/>
  <param name="rate" default="100"/>
  <param name="n" default="3"/>
  <topology>
    <host name="c"/><host name="s"/>
    <link a="c" a-addr="10.0.1.1/24" b="s" b-addr="10.0.1.2/24" rate="${rate}Mbps" loss="${loss}"/>
  </topology>
  <apps>
    <request-client node="c" server="10.0.1.2" count="${n}" name="c${n}x"/>
    <response-server node="s" response="${rate}${n} and $ and }"/>
  </apps>
</scenario>)";
  const Scenario d = load_ok(text);
  CHECK(d.links[0].ab.rate_bps == 100'000'000);
  CHECK(d.links[0].ab.loss == 0.0);
  CHECK(d.apps[0].settings_as<RequestClientSettings>().config.count == 3);
  CHECK(d.apps[0].settings_as<RequestClientSettings>().config.name == "c3x");
  CHECK(d.apps[1].settings_as<ResponseServerSettings>().config.response == "1003 and $ and }");

  const Scenario o = load_ok(text, {{"loss", "5%"}, {"rate", "1000"}, {"n", "7"}, {"n", "8"}});
  CHECK(o.links[0].ab.loss == 0.05);
  CHECK(o.links[0].ba.loss == 0.05);
  CHECK(o.links[0].ab.rate_bps == 1'000'000'000);
  CHECK(o.apps[0].settings_as<RequestClientSettings>().config.count == 8);  // the last --set wins
  CHECK(o.params[0].value == "5%");
  CHECK(o.params[0].default_value == "0");
  CHECK(o.params[0].overridden);
  CHECK_FALSE(load_ok(text, {{"n", "8"}}).params[1].overridden);

  // An override that is not a valid value is reported where it is used.
  expect_error(R"(<scenario name="p">
  <param name="loss" default="0"/>
  <topology>
    <host name="c"/><host name="s"/>
    <link a="c" a-addr="10.0.1.1/24" b="s" b-addr="10.0.1.2/24" @loss="${loss}"/>
  </topology>
</scenario>)",
               {"loss=\"${loss}\" (= \"2\")", "expected a probability"}, {{"loss", "2"}});

  // An override of an undeclared parameter has no position.
  const LoadResult r = load_scenario(text, "t.xml", std::vector<Override>{{"los", "1"}});
  REQUIRE(r.error);
  CHECK(r.error->text() == "t.xml: error: --set los=1 names no parameter of this scenario; expected one of: loss, rate, n");
  const LoadResult none = load_scenario(with(""), "t.xml", std::vector<Override>{{"x", "1"}});
  REQUIRE(none.error);
  CHECK(none.error->text().find("declares no parameters") != std::string::npos);
}

TEST_CASE("errors: XML syntax and document structure") {
  expect_error("<scenario name=\"t\">\n  <topology>\n    <host name=\"c\"\n  @</topology>\n</scenario>\n",
               {"malformed XML"});
  expect_error("@", {"malformed XML", "well-formed XML"});
  expect_error("<?xml version=\"1.0\"?>\n@<scenarios name=\"t\"/>\n", {"root element <scenarios>", "<scenario>"});
  expect_error(with("") + "@<scenario name=\"u\"/>\n", {"second top-level element"});
  expect_error(std::string("<scenario name=\"t\">@\0</scenario>", 31), {"NUL byte"});
  expect_error("@<scenario name=\"t\">\n</scenario>\n", {"without <topology>"});
  expect_error("<scenario name=\"t\">\n  <topology><host name=\"a\"/></topology>\n  @<topology/>\n</scenario>\n",
               {"<topology> after <topology>", "in the order description, param, topology"});
  expect_error(with("", "  <outputs/>\n  @<apps/>\n"), {"<apps> after <outputs>"});
  expect_error(with("", "  @<extras/>\n"), {"element <extras> inside <scenario>"});
  expect_error(with("    @<hots name=\"x\"/>\n"), {"element <hots> inside <topology>", "<host>, <gateway>"});
  expect_error(with("    <host name=\"x\"><tcp/>@<tcp/></host>\n"), {"a second <tcp>"});
  expect_error(with("    <router name=\"r\">@hello</router>\n"), {"text \"hello\" inside <router>", "an empty element"});
  expect_error(with("", "  <apps>\n    <bulk-sink node=\"s\">@<x/></bulk-sink>\n  </apps>\n"),
               {"element <x> inside <bulk-sink>", "no child elements"});
}

TEST_CASE("errors: unknown, duplicate and missing attributes") {
  expect_error(with("    <host name=\"x\" @bogus=\"1\"/>\n"),
               {"unknown attribute bogus on <host>", "one of: name, add-at, add-on, boot-delay"});
  expect_error(with("    <host name=\"x\">\n      <tcp timestamps=\"false\" @timestamp=\"true\"/>\n    </host>\n"),
               {"unknown attribute timestamp on <tcp>"});
  expect_error(with("    <switch name=\"x\" @name=\"y\"/>\n"), {"attribute name given twice"});
  expect_error("<scenario name=\"t\" @version=\"2\">\n</scenario>\n", {"unknown attribute version on <scenario>"});
  expect_error(with("    @<link a=\"c\" a-addr=\"10.0.3.1/24\"/>\n"), {"<link> without attribute b"});
  expect_error(with("    @<host/>\n"), {"<host> without attribute name"});
  expect_error(with("    @<gateway name=\"g2\"/>\n"), {"<gateway> without attribute client-facing"});
  expect_error("@<scenario>\n  <topology/>\n</scenario>\n", {"<scenario> without attribute name"});
  expect_error(with("", "  <apps>\n    @<request-client node=\"c\"/>\n  </apps>\n"),
               {"<request-client> without attribute server"});
}

TEST_CASE("errors: values with bad units, numbers, names and addresses") {
  const std::string l = "    <link a=\"c\" a-addr=\"10.0.3.1/24\" b=\"gw\" b-addr=\"10.0.3.254/24\" ";
  expect_error(with(l + "@delay=\"10\"/>\n"), {"delay=\"10\"", "expected a duration: a number with ns, us, ms or s"});
  expect_error(with(l + "@delay=\"-1ms\"/>\n"), {"delay=\"-1ms\"", "expected a duration"});
  expect_error(with(l + "@reorder-delay-ba=\"5 ms\"/>\n"), {"reorder-delay-ba=\"5 ms\""});
  expect_error(with(l + "@rate=\"100Mbit\"/>\n"), {"rate=\"100Mbit\"", "expected a rate"});
  expect_error(with(l + "@queue-bytes=\"10XB\"/>\n"), {"expected a size in bytes"});
  expect_error(with(l + "@loss=\"1.5\"/>\n"), {"loss=\"1.5\"", "expected a probability from 0 to 1"});
  expect_error(with(l + "@loss-ab=\"120%\"/>\n"), {"loss-ab=\"120%\""});
  expect_error(with(l + "@queue=\"-5\"/>\n"), {"expected an integer from 0 to 1000000000"});
  expect_error(with(l + "@mtu=\"9000\"/>\n"), {"expected an integer from 68 to 1522"});
  expect_error(with("    <link a=\"c\" @a-addr=\"10.0.3.1/33\" b=\"gw\" b-addr=\"10.0.3.254/24\"/>\n"),
               {"a-addr=\"10.0.3.1/33\"", "len 0 to 32"});
  expect_error(with("    <link a=\"c\" @a-addr=\"10.0.3.1\" b=\"gw\" b-addr=\"10.0.3.254/24\"/>\n"),
               {"expected an IPv4 address with prefix length"});
  expect_error(with("    <host name=\"x\"><tcp @sack=\"yes\"/></host>\n"), {"sack=\"yes\"", "expected true or false"});
  expect_error(with("    <host name=\"x\"><tcp @mss=\"40\"/></host>\n"), {"from 88 to 65535, or 0"});
  expect_error(with("    <host name=\"x\"><tcp @rto-min=\"0s\"/></host>\n"), {"a duration above 0"});
  expect_error(with("    <host name=\"x\"><tcp @rto-min=\"200s\"/></host>\n"), {"makes rto-min above rto-max"});
  expect_error(with("    <host @name=\"a b\"/>\n"), {"name=\"a b\"", "expected a name of letters"});
  expect_error("<scenario @name=\"../x\">\n  <topology/>\n</scenario>\n", {"name=\"../x\""});
  expect_error(with("    <gateway name=\"g2\" @client-facing=\"c,\"/>\n"), {"comma-separated list"});
  expect_error(with("    <gateway name=\"g2\" client-facing=\"c\" @ttl=\"0\"/>\n"), {"from 1 to 255"});
  expect_error(with("    <gateway name=\"g2\" client-facing=\"c\" @replay-rto=\"0s\"/>\n"), {"above 0"});
  const std::string apps = "  <apps>\n    <response-server node=\"s\" ";
  expect_error(with("", apps + "@port=\"0\"/>\n  </apps>\n"), {"port=\"0\"", "from 1 to 65535"});
  expect_error(with("", apps + "@port=\"65536\"/>\n  </apps>\n"), {"port=\"65536\""});
  expect_error(with("", apps + "@response=\"a&#10;b\"/>\n  </apps>\n"), {"one line of text"});
  expect_error(with("", apps + "@response=\"\"/>\n  </apps>\n"), {"one line of text"});
  expect_error(with("", "  <apps>\n    <request-client node=\"c\" @server=\"10.0.2\"/>\n  </apps>\n"),
               {"server=\"10.0.2\"", "expected an IPv4 address"});
  expect_error(with("", "  <apps>\n    <request-client node=\"c\" server=\"10.0.2.10\" @count=\"0\"/>\n  </apps>\n"),
               {"count=\"0\"", "from 1 to"});
  expect_error(with("", "  <apps>\n    <request-client node=\"c\" server=\"10.0.2.10\" count=\"3\" "
                        "@expect-responses=\"4\"/>\n  </apps>\n"),
               {"from 0 to 3"});
}

TEST_CASE("errors: names that refer to nothing or to the wrong kind of node") {
  expect_error(with("    <link a=\"c\" a-addr=\"10.0.3.1/24\" @b=\"gw2\" b-addr=\"10.0.3.254/24\"/>\n"),
               {"b=\"gw2\" names no node", "a node of the topology: c, gw, s"});
  expect_error(with("    <link a=\"c\" a-addr=\"10.0.3.1/24\" @b=\"c\" b-addr=\"10.0.3.254/24\"/>\n"),
               {"same node as a"});
  expect_error(with("    <host @name=\"s\"/>\n"), {"duplicate node name \"s\"", "first used at line 5"});
  expect_error(with("    <switch @name=\"gw\"/>\n"), {"duplicate node name \"gw\""});
  expect_error(with("    <host name=\"x\"/>\n    <link a=\"x\" @a-addr=\"10.0.2.10/24\" b=\"gw\" b-addr=\"10.0.2.99/24\"/>\n"),
               {"repeats an address", "first assigned at line 7"});
  expect_error(with("    @<host name=\"lonely\"/>\n"), {"host lonely has no link"});
  expect_error(with("    <switch name=\"sw\"/>\n    <link a=\"sw\" @a-addr=\"10.0.2.1/24\" b=\"s\" b-addr=\"10.0.2.11/24\"/>\n"),
               {"on the switch sw"});
  expect_error(with("    <host name=\"x\"/>\n    @<link a=\"x\" b=\"gw\" b-addr=\"10.0.3.254/24\"/>\n"),
               {"<link> without a-addr for the host x"});
  expect_error(with("    <host name=\"x\"/>\n    <gateway name=\"g2\" @client-facing=\"c\"/>\n"
                    "    <link a=\"x\" a-addr=\"10.0.5.1/24\" b=\"g2\" b-addr=\"10.0.5.254/24\"/>\n"),
               {"names c, which has no link to g2"});
  expect_error(with("", "  <apps>\n    <bulk-sink @node=\"gw\"/>\n  </apps>\n"),
               {"node=\"gw\" names the gateway gw", "a host"});
  expect_error(with("", "  <apps>\n    <bulk-sink @node=\"nobody\"/>\n  </apps>\n"), {"names no node"});
  expect_error(with("", "  <apps>\n    <bulk-sink node=\"s\" port=\"80\"/>\n    @<response-server node=\"s\"/>\n"
                        "  </apps>\n"),
               {"a second listener on s port 80"});
  const std::string mig = "  <migrations>\n    <migration name=\"m\" ";
  expect_error(with("", mig + "@gateway=\"s\" service=\"10.0.2.10:80\" target=\"10.0.2.20:80\" trigger=\"now\"/>\n"
                              "  </migrations>\n"),
               {"gateway=\"s\" names the host s", "the name of a <gateway>"});
  expect_error(with("", mig + "gateway=\"gw\" service=\"10.0.2.10:80\" target=\"10.0.2.20:80\" trigger=\"now\"/>\n"
                              "    <migration @name=\"m\" gateway=\"gw\" service=\"10.0.2.10:80\" "
                              "target=\"10.0.2.20:80\" trigger=\"now\"/>\n  </migrations>\n"),
               {"duplicate migration name", "first used at line 10"});
}

TEST_CASE("errors: runtime hosts and migrations") {
  expect_error(with("    <host name=\"x\" add-at=\"1s\" @add-on=\"m\"/>\n"), {"together with add-at"});
  expect_error(with("    <host name=\"x\" @boot-delay=\"1s\"/>\n"), {"on a host present from the start"});
  expect_error(with("    <host name=\"x\" @add-on=\"m9\"/>\n"
                    "    <link a=\"x\" a-addr=\"10.0.2.20/24\" b=\"gw\" b-addr=\"10.0.2.253/24\"/>\n"),
               {"add-on=\"m9\" names no migration", "there are none"});
  const std::string mig = "  <migrations>\n    <migration name=\"m\" gateway=\"gw\" service=\"10.0.2.10:80\" ";
  expect_error(with("    <host name=\"x\" @add-on=\"m\"/>\n"
                    "    <link a=\"x\" a-addr=\"10.0.2.30/24\" b=\"gw\" b-addr=\"10.0.2.253/24\"/>\n",
                    mig + "target=\"10.0.2.20:80\" trigger=\"now\"/>\n  </migrations>\n"),
               {"whose target 10.0.2.20:80 is not an address of x"});
  expect_error(with("", "  <apps>\n    <bulk-sink node=\"s\" @continues=\"c\"/>\n  </apps>\n"),
               {"continues=\"c\" names no earlier <bulk-sink>"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" @trigger=\"later\"/>\n  </migrations>\n"),
               {"trigger=\"later\"", "now, at, after-requests"});
  expect_error(with("", "  <migrations>\n    @<migration name=\"m\" gateway=\"gw\" service=\"10.0.2.10:80\" "
                        "target=\"10.0.2.20:80\" trigger=\"at\"/>\n  </migrations>\n"),
               {"trigger=\"at\" without attribute at"});
  expect_error(with("", "  <migrations>\n    @<migration name=\"m\" gateway=\"gw\" service=\"10.0.2.10:80\" "
                        "target=\"10.0.2.20:80\" trigger=\"after-requests\"/>\n  </migrations>\n"),
               {"without attribute count"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"after-requests\" @count=\"0\"/>\n  </migrations>\n"),
               {"count=\"0\"", "from 1 to"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"now\" @count=\"1\"/>\n  </migrations>\n"),
               {"count only with trigger"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"now\" @at=\"1s\"/>\n  </migrations>\n"),
               {"at only with trigger=\"at\""});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"now\" @safe-point=\"soon\"/>\n  </migrations>\n"),
               {"auto, client-data or quiescent"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"now\" @expect=\"done\"/>\n  </migrations>\n"),
               {"completed, aborted or any"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"at\" at=\"1s\" @request-at=\"2s\"/>\n"
                              "  </migrations>\n"),
               {"request-at <= at"});
  expect_error(with("", mig + "target=\"10.0.2.20:80\" trigger=\"now\" @flow=\"10.0.1.1\"/>\n  </migrations>\n"),
               {"flow=\"10.0.1.1\"", "a.b.c.d:port"});
}

TEST_CASE("runtime links: add-at is read; each end is present by then") {
  const Scenario d = load_ok(with("    <host name=\"x\" add-at=\"1s\"/>\n"
                                  "    <link a=\"x\" a-addr=\"10.0.5.1/24\" b=\"gw\" b-addr=\"10.0.5.254/24\" "
                                  "add-at=\"1s\"/>\n"
                                  "    <link a=\"c\" a-addr=\"10.0.6.1/24\" b=\"s\" b-addr=\"10.0.6.2/24\" "
                                  "add-at=\"250ms\"/>\n"));
  REQUIRE(d.links.size() == 4);
  CHECK_FALSE(d.links[0].add_at.has_value());
  CHECK(d.links[2].add_at == std::optional<sim::Duration>(1_s));  // same time as its runtime end: allowed
  CHECK(d.links[3].add_at == std::optional<sim::Duration>(250_ms));

  // A runtime host end must join no later than the link.
  expect_error(with("    <host name=\"x\" add-at=\"2s\"/>\n"
                    "    <link a=\"gw\" a-addr=\"10.0.5.254/24\" b=\"x\" b-addr=\"10.0.5.1/24\" @add-at=\"1s\"/>\n"),
               {"add-at=\"1s\" is earlier than host x joins (add-at=\"2s\" at line 8)",
                "a link add-at no earlier than the add-at of each runtime host it links"});
  // An add-on host joins at a time only the run knows.
  expect_error(with("    <host name=\"x\" add-on=\"m\"/>\n"
                    "    <link a=\"x\" a-addr=\"10.0.2.20/24\" b=\"gw\" b-addr=\"10.0.2.253/24\" @add-at=\"0s\"/>\n",
                    "  <migrations>\n    <migration name=\"m\" gateway=\"gw\" service=\"10.0.2.10:80\" "
                    "target=\"10.0.2.20:80\" trigger=\"now\"/>\n  </migrations>\n"),
               {"add-at=\"0s\" on a link to x, which joins when migration m triggers",
                "no add-at on a link to an add-on host"});
  expect_error(with("    <link a=\"c\" a-addr=\"10.0.6.1/24\" b=\"s\" b-addr=\"10.0.6.2/24\" @add-at=\"soon\"/>\n"),
               {"add-at=\"soon\"", "expected a duration"});
  // Checked like every link: a repeated address, at the attribute ...
  expect_error(with("    <link a=\"c\" @a-addr=\"10.0.2.10/24\" b=\"s\" b-addr=\"10.0.2.99/24\" add-at=\"1s\"/>\n"),
               {"repeats an address", "first assigned at line 7"});
  // ... and in the scratch network, in the order a run creates links: the
  // runtime link closes the switch loop even though it comes first in the file.
  expect_error(with("    <switch name=\"s1\"/><switch name=\"s2\"/>\n"
                    "    @<link a=\"s1\" b=\"s2\" add-at=\"2s\"/>\n    <link a=\"s2\" b=\"s1\" add-at=\"1s\"/>\n"),
               {"a link the network model rejects", "would close a loop of switches"});
  expect_error(with("    <switch name=\"s1\"/><switch name=\"s2\"/>\n"
                    "    @<link a=\"s1\" b=\"s2\" add-at=\"0s\"/>\n    <link a=\"s2\" b=\"s1\"/>\n"),
               {"would close a loop of switches"});
}

TEST_CASE("errors: parameter references") {
  expect_error(R"(<scenario name="t">
  <param name="a" default="1"/>
  <topology>
    <host name="c"/><host name="s"/>
    <link a="c" a-addr="10.0.1.1/24" b="s" b-addr="10.0.1.2/24" @delay="${b}ms"/>
  </topology>
</scenario>)",
               {"uses ${b}, which is not declared", "a declared parameter: a"});
  expect_error(with("    <link a=\"c\" a-addr=\"10.0.3.1/24\" b=\"gw\" b-addr=\"10.0.3.254/24\" @delay=\"${x\"/>\n"),
               {"unterminated ${"});
  expect_error("<scenario name=\"t\">\n  <param name=\"a\" default=\"1\"/>\n  <param @name=\"a\" default=\"2\"/>\n"
               "  <topology/>\n</scenario>\n",
               {"first declared at line 2"});
  expect_error("<scenario name=\"t\">\n  <param name=\"a\" @default=\"${b}\"/>\n  <topology/>\n</scenario>\n",
               {"a literal default"});
  expect_error("<scenario name=\"t\">\n  @<param name=\"a\"/>\n  <topology/>\n</scenario>\n",
               {"<param> without attribute default"});
}

TEST_CASE("errors the network model raises are reported at the element") {
  // Three switches in a loop: the third link closes it.
  expect_error(with("    <switch name=\"s1\"/><switch name=\"s2\"/><switch name=\"s3\"/>\n"
                    "    <link a=\"s1\" b=\"s2\"/>\n    <link a=\"s2\" b=\"s3\"/>\n    @<link a=\"s3\" b=\"s1\"/>\n"),
               {"a link the network model rejects"});
}

TEST_CASE("positions count characters, not bytes, and lines from 1") {
  expect_error("<scenario name=\"t\">\n<!-- äöü -->  <topology>\n  <host name=\"a\" @x=\"1\"/>\n</topology>\n</scenario>",
               {"unknown attribute x"});
  expect_error("<scenario name=\"t\"><topology><!--ä--><host name=\"b\" @x=\"1\"/></topology></scenario>",
               {"unknown attribute x"});
}

TEST_CASE("a missing or unreadable file is an error without position") {
  const LoadResult r = load_scenario_file(kSource + "/tests/scenario/no-such-file.xml");
  REQUIRE(r.error);
  CHECK(r.error->pos.line == 0);
  CHECK(r.error->text().find("no-such-file.xml: error: cannot open the file (") != std::string::npos);
  const LoadResult d = load_scenario_file(kSource + "/tests/scenario");
  REQUIRE(d.error);
  CHECK(d.error->text().find("a directory; expected a scenario file") != std::string::npos);
}

TEST_CASE("every file in tests/scenario/bad fails with the error its first line names") {
  // First line: <!-- expect LINE:COLUMN: fragment -->
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(kSource + "/tests/scenario/bad")) {
    if (e.path().extension() == ".xml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  CHECK(files.size() >= 5);
  for (const auto& f : files) {
    CAPTURE(f.string());
    const std::string text = read(f.string());
    const std::string head = text.substr(0, text.find('\n'));
    const std::string prefix = "<!-- expect ";
    REQUIRE(head.rfind(prefix, 0) == 0);
    const std::string spec = head.substr(prefix.size(), head.size() - prefix.size() - 4);
    const auto colon2 = spec.find(": ");
    const std::string where = spec.substr(0, colon2);
    const std::string fragment = spec.substr(colon2 + 2);
    const LoadResult r = load_scenario_file(f.string());
    REQUIRE(r.error);
    const std::string got = r.error->text();
    CAPTURE(got);
    CHECK(got.rfind(f.string() + ":" + where + ": error: ", 0) == 0);
    CHECK(got.find(fragment) != std::string::npos);
  }
}

TEST_CASE("every good test scenario loads") {
  for (const auto& e : std::filesystem::directory_iterator(kSource + "/tests/scenario/good")) {
    if (e.path().extension() != ".xml") continue;
    CAPTURE(e.path().string());
    const LoadResult r = load_scenario_file(e.path().string());
    if (!r.ok()) FAIL(r.error->text());
  }
}

TEST_CASE("loading stays linear: a chain of 10,000 switches and 100,000 parameters load") {
  // Before the name indexes and the union-find loop check, a chain of 4,000
  // switches took 22 s to load (cubic) and 40,000 parameters 4 s (quadratic);
  // these sizes would take minutes. Speed itself is measured by the
  // ScenarioLoad* benchmarks, not here.
  std::string chain = "<scenario name=\"chain\"><topology><host name=\"a\"/><host name=\"b\"/>\n";
  const int n = 10'000;
  for (int i = 0; i < n; ++i) chain += "<switch name=\"s" + std::to_string(i) + "\"/>\n";
  chain += "<link a=\"a\" a-addr=\"10.0.0.1/16\" b=\"s0\"/>\n";
  for (int i = 0; i + 1 < n; ++i) {
    chain += "<link a=\"s" + std::to_string(i) + "\" b=\"s" + std::to_string(i + 1) + "\"/>\n";
  }
  chain += "<link a=\"s" + std::to_string(n - 1) + "\" b=\"b\" b-addr=\"10.0.0.2/16\"/>\n</topology></scenario>\n";
  const LoadResult c = load_scenario(chain, "chain.xml");
  REQUIRE(c.ok());
  CHECK(c.scenario->nodes.size() == n + 2);
  // One more link between two switches of the chain closes a loop.
  std::string loop = chain;
  loop.insert(loop.find("</topology>"), "<link a=\"s0\" b=\"s" + std::to_string(n - 1) + "\"/>\n");
  const LoadResult l = load_scenario(loop, "chain.xml");
  REQUIRE_FALSE(l.ok());
  CHECK(l.error->message.find("would close a loop of switches") != std::string::npos);

  std::string params = "<scenario name=\"params\">\n";
  const int p = 100'000;
  for (int i = 0; i < p; ++i) params += "<param name=\"p" + std::to_string(i) + "\" default=\"" + std::to_string(i % 100) + "\"/>\n";
  params += "<topology><host name=\"a\"/><host name=\"b\"/><link a=\"a\" a-addr=\"10.0.0.1/24\" b=\"b\" "
            "b-addr=\"10.0.0.2/24\" delay=\"${p99999}ms\"/></topology></scenario>\n";
  const LoadResult q = load_scenario(params, "params.xml", std::vector<Override>{{"p5", "7"}});
  REQUIRE(q.ok());
  CHECK(q.scenario->params.size() == p);
  CHECK(q.scenario->links[0].ab.delay == 99_ms);
  CHECK(q.scenario->params[5].value == "7");

  // A chain of 3,000 add-on hosts, each waiting for the next (no cycle): the
  // cycle check visits each host once (it walked every chain from every host).
  const int h = 3'000;
  const auto host_addr = [](int k) {
    return "10.1." + std::to_string(k / 200) + "." + std::to_string(k % 200 + 1);
  };
  std::string adds = "<scenario name=\"adds\"><topology><host name=\"c\"/><gateway name=\"gw\" client-facing=\"c\"/>"
                     "<switch name=\"sw\"/><host name=\"s\"/>\n";
  for (int k = 0; k < h; ++k) adds += "<host name=\"h" + std::to_string(k) + "\" add-on=\"m" + std::to_string(k) + "\"/>\n";
  adds += "<link a=\"c\" a-addr=\"10.0.0.1/24\" b=\"gw\" b-addr=\"10.0.0.254/24\"/>"
          "<link a=\"gw\" a-addr=\"10.1.255.254/16\" b=\"sw\"/><link a=\"sw\" b=\"s\" b-addr=\"10.1.255.1/16\"/>\n";
  for (int k = 0; k < h; ++k) {
    adds += "<link a=\"sw\" b=\"h" + std::to_string(k) + "\" b-addr=\"" + host_addr(k) + "/16\"/>\n";
  }
  adds += "</topology><migrations>\n";
  for (int k = 0; k < h; ++k) {
    const std::string service = k + 1 < h ? host_addr(k + 1) : "10.1.255.1";
    adds += "<migration name=\"m" + std::to_string(k) + "\" gateway=\"gw\" service=\"" + service +
            ":80\" target=\"" + host_addr(k) + ":80\" trigger=\"now\"/>\n";
  }
  adds += "</migrations></scenario>\n";
  const LoadResult chained = load_scenario(adds, "adds.xml");
  REQUIRE_MESSAGE(chained.ok(), (chained.ok() ? "" : chained.error->text()));
  CHECK(chained.scenario->migrations.size() == h);
}
