// The runner and the report: the seed scenario end to end in-process
// (results, outputs, determinism), runtime hosts joining at a time, a link
// added at a time, client instances, refused flow requests and failed
// expectations, the text summary with many records, and the JSON writer.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../test_output.hpp"
#include "tcpmig/records/json.hpp"
#include "tcpmig/scenario/runner.hpp"
#include "tcpmig/scenario/scenario.hpp"
#include "tcpmig/scenario/units.hpp"

using namespace tcpmig;
using namespace tcpmig::scenario;

namespace {

const std::string kSource = TCPMIG_SOURCE_DIR;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Scenario load(const std::string& text) {
  const LoadResult r = load_scenario(text, "t.xml");
  if (!r.ok()) FAIL(r.error->text());
  return *r.scenario;
}

/// The scenario of scenarios/<name>.
Scenario load_example(const std::string& name) {
  const LoadResult r = load_scenario_file(kSource + "/scenarios/" + name);
  if (!r.ok()) FAIL(r.error->text());
  return *r.scenario;
}

/// Runs `s` into a fresh test directory with the console captured to a file; returns its text.
std::string run(const Scenario& s, const std::string& dir_name, RunResults& results, uint64_t seed = 1) {
  RunOptions o;
  o.seed = seed;
  o.out_dir = testing::test_out_dir(dir_name);
  std::FILE* console = std::tmpfile();
  REQUIRE(console != nullptr);
  o.console = console;
  std::string error;
  const bool ok = run_scenario(s, o, results, error);
  CHECK_MESSAGE(ok, error);
  print_summary(console, s, results, false);
  std::fflush(console);
  std::rewind(console);
  std::string text;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, console)) text.append(buf, n);
  std::fclose(console);
  return text;
}

}  // namespace

TEST_CASE("the seed scenario: 2 answers from server1, 8 from server2, one completed migration") {
  const LoadResult lr = load_scenario_file(kSource + "/tests/scenario/good/migrate_mid_stream.xml");
  REQUIRE(lr.ok());
  const Scenario& s = *lr.scenario;
  RunResults r;
  const std::string out = run(s, "scenario/seed", r);
  REQUIRE(r.migrations.size() == 1);
  const MigrationRow& m = r.migrations[0];
  CHECK(m.gateway == "gw");
  CHECK(m.migration == "m1");
  CHECK(m.record.outcome == core::Outcome::Completed);
  CHECK(m.record.syn_sent == 1);
  CHECK(r.failures.empty());
  REQUIRE(r.apps.size() == 3);
  CHECK(r.apps[0].requests == 2);  // server1
  CHECK(r.apps[1].requests == 8);  // server2, booted on the trigger
  CHECK(r.apps[1].started);
  CHECK(r.apps[2].responses == 10);
  REQUIRE(r.gateways.size() == 1);
  CHECK(r.gateways[0].counters.migrations_completed == 1);
  REQUIRE(r.trace_fingerprint.has_value());

  // Console: server2 joins on the trigger, is up 10 ms later, answers the rest.
  CHECK(out.find("gw migration 0 triggered (after 2 requests)") != std::string::npos);
  CHECK(out.find("server2 joins the network; up after 0.010000000 s") != std::string::npos);
  CHECK(out.find("server2 is up") != std::string::npos);
  CHECK(out.find("trace fingerprint " + hex16(*r.trace_fingerprint)) != std::string::npos);

  // Outputs, and the fingerprint is FNV-1a of trace.txt.
  const std::string dir = std::string(std::getenv("TCPMIG_TEST_OUT") ? std::getenv("TCPMIG_TEST_OUT") : "test-output") +
                          "/scenario/seed";
  const std::string trace = read(dir + "/trace.txt");
  Fnv1a h;
  h.update(trace);
  CHECK(h.value() == *r.trace_fingerprint);
  CHECK(std::filesystem::exists(dir + "/server2-eth0.pcap"));
  const std::string json = read(dir + "/summary.json");
  CHECK(json == summary_json(s, r));
  CHECK(json.find("\"outcome\": \"completed\"") != std::string::npos);
  CHECK(json.find("\"trace_fingerprint\": \"" + hex16(*r.trace_fingerprint) + "\"") != std::string::npos);

  // Same seed: the same run; another seed: another trace.
  RunResults again;
  CHECK(run(s, "scenario/seed-again", again) == out);
  CHECK(again.trace_fingerprint == r.trace_fingerprint);
  RunResults other;
  run(s, "scenario/seed-other", other, 2);
  CHECK(other.trace_fingerprint != r.trace_fingerprint);
}

TEST_CASE("a host added at a time, client instances, a refused flow request, failed expectations") {
  const Scenario s = load(R"(<scenario name="misc">
  <topology>
    <host name="client"/>
    <gateway name="gw" client-facing="client"/>
    <switch name="sw"/>
    <host name="server1"/>
    <host name="late" add-at="20ms" boot-delay="5ms"/>
    <link a="client" a-addr="10.0.1.1/24" b="gw" b-addr="10.0.1.254/24"/>
    <link a="gw" a-addr="10.0.2.254/24" b="sw"/>
    <link a="sw" b="server1" b-addr="10.0.2.10/24"/>
    <link a="sw" b="late" b-addr="10.0.2.30/24"/>
  </topology>
  <apps>
    <response-server node="server1"/>
    <response-server node="late" port="81" response="late"/>
    <request-client node="client" server="10.0.2.10" count="2" interval="1ms" instances="2"/>
    <request-client node="late" name="from-late" server="10.0.2.10" count="1" start="1ms"/>
    <request-client node="client" name="to-nowhere" server="10.0.2.99" port="81" count="1" expect-responses="1"/>
  </apps>
  <migrations>
    <migration name="lost" gateway="gw" service="10.0.2.10:80" target="10.0.2.30:81"
               flow="10.0.1.1:9" trigger="now" request-at="10ms"/>
    <migration name="ok" gateway="gw" service="10.0.2.10:80" target="10.0.2.30:81" trigger="now" expect="any"/>
  </migrations>
  <outputs pcap="false" summary="false"/>
</scenario>)");
  RunResults r;
  const std::string out = run(s, "scenario/misc", r);
  CHECK(out.find("late joins the network") != std::string::npos);
  CHECK(out.find("0.025000000 late is up") != std::string::npos);
  CHECK(out.find("client/0 sent: Hi, I'm Client0") != std::string::npos);
  CHECK(out.find("client/1 sent: Hi, I'm Client0") != std::string::npos);
  CHECK(out.find("from-late received:") != std::string::npos);
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].migration == "lost");
  CHECK(r.refused[0].at == sim::Time::zero() + sim::Duration::milliseconds(10));
  REQUIRE(r.apps.size() == 6);
  CHECK(r.apps[2].name == "client/0");
  CHECK(r.apps[3].name == "client/1");
  CHECK(r.apps[4].name == "from-late");
  CHECK(r.apps[4].responses == 1);
  CHECK(r.apps[5].name == "to-nowhere");
  // Failures: the refused flow request, and the client whose server does not exist.
  REQUIRE(r.failures.size() == 2);
  CHECK(r.refused[0].reason == core::Refusal::UnknownFlow);
  CHECK(r.failures[0] == "migration lost was refused by the gateway (unknown-flow); expected completed");
  CHECK(r.failures[1].find("request-client to-nowhere got 0 of 1 expected responses") == 0);
  CHECK(out.find("expectation failed: migration lost") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(std::string(std::getenv("TCPMIG_TEST_OUT") ? std::getenv("TCPMIG_TEST_OUT")
                                                                                 : "test-output") +
                                      "/scenario/misc/summary.json"));
}

TEST_CASE("a link added at a time: the client's SYN gets through once the server is linked") {
  // r1 routes 10.0.2.0/24 onto sw from the start, but server is cabled to sw
  // only at 1 s: the first SYN dies at r1 (no neighbour), the retransmission
  // at 1 s (RTO 1 s) finds the new link, routes recomputed.
  const Scenario s = load(R"(<scenario name="late-link">
  <topology>
    <host name="client"/>
    <router name="r1"/>
    <switch name="sw"/>
    <host name="server"/>
    <link a="client" a-addr="10.0.1.1/24" b="r1" b-addr="10.0.1.254/24"/>
    <link a="r1" a-addr="10.0.2.254/24" b="sw"/>
    <link a="sw" b="server" b-addr="10.0.2.10/24" add-at="1s"/>
  </topology>
  <apps>
    <response-server node="server"/>
    <request-client node="client" server="10.0.2.10" count="3" interval="10ms"/>
  </apps>
  <outputs pcap="false" summary="false"/>
</scenario>)");
  RunResults r;
  const std::string out = run(s, "scenario/late-link", r);
  CHECK(r.failures.empty());
  REQUIRE(r.apps.size() == 2);
  CHECK(r.apps[0].connections == 1);
  CHECK(r.apps[0].requests == 3);
  CHECK(r.apps[1].responses == 3);
  CHECK(out.find("1.000000000 sw link to server is up\n") != std::string::npos);
  // The connection is made after the link is up, and only once.
  const auto up = out.find("sw link to server is up");
  const auto connected = out.find("client connected 10.0.1.1:");
  REQUIRE(connected != std::string::npos);
  CHECK(connected > up);
  const auto line_start = out.rfind('\n', connected);
  const std::string when = out.substr(line_start == std::string::npos ? 0 : line_start + 1, 11);
  CHECK(when.rfind("1.00", 0) == 0);
  CHECK(out.find(" connected ", connected + 7) == std::string::npos);
  // Before the link, r1 had nowhere to deliver the SYN.
  const std::string trace = read(r.trace_path);
  const auto drop = trace.find(" r1 eth0 drop:no-neighbour 10.0.1.1.");
  REQUIRE(drop != std::string::npos);
  CHECK(trace.substr(trace.rfind('\n', drop) + 1, 4) == "0.00");  // the first SYN, at about 1 ms

  // Without the link the client never gets through.
  Scenario never = s;
  never.links[2].add_at = sim::Duration::seconds(1000);
  RunResults rn;
  run(never, "scenario/late-link-never", rn);
  CHECK(rn.apps[1].responses == 0);
  CHECK(rn.apps[0].connections == 0);
}

TEST_CASE("an unwritable output directory is an error, not a crash") {
  const LoadResult lr = load_scenario_file(kSource + "/tests/scenario/good/migrate_mid_stream.xml");
  REQUIRE(lr.ok());
  const std::string dir = testing::test_out_dir("scenario/blocked");
  { std::ofstream(dir + "/file") << "x"; }
  RunOptions o;
  o.out_dir = dir + "/file/sub";
  o.quiet = true;
  RunResults r;
  std::string error;
  CHECK_FALSE(run_scenario(*lr.scenario, o, r, error));
  CHECK(error.find("cannot create the output directory") == 0);
}

TEST_CASE("the summary shows the first 3 of many records and an aggregate") {
  Scenario s;
  s.name = "many";
  RunResults r;
  for (int i = 0; i < 12; ++i) {
    MigrationRow row;
    row.gateway = "gw";
    row.record.id = static_cast<uint64_t>(i);
    row.record.outcome = i < 10 ? core::Outcome::Completed : core::Outcome::AbortedTimeout;
    row.record.triggered_at = 1'000'000;
    row.record.safe_point_at = 2'000'000;
    row.record.first_hold_at = 2'000'000;
    if (i < 10) row.record.synack_at = 2'000'000 + 1'000'000 * i;  // RTT i ms
    row.record.finished_at = 3'000'000 + 1'000'000 * i;
    r.migrations.push_back(row);
  }
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  print_summary(f, s, r, true);
  std::rewind(f);
  std::string text;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, f)) text.append(buf, n);
  std::fclose(f);
  CHECK(text.find("gw #2") != std::string::npos);
  CHECK(text.find("gw #3") == std::string::npos);
  CHECK(text.find("... 9 more; all 12 migrations:") != std::string::npos);
  CHECK(text.find("outcomes: completed 10, aborted-timeout 2") != std::string::npos);
  CHECK(text.find("replay RTT min / median / max: 0.000 / 4.000 / 9.000 ms (10)") != std::string::npos);
  CHECK(text.find("client-visible stall min / median / max: 1.000 / 6.000 / 12.000 ms (12)") != std::string::npos);
}

TEST_CASE("milliseconds with three decimals, from integer nanoseconds") {
  CHECK(format_ms(0) == "0.000");
  CHECK(format_ms(402'368) == "0.402");
  CHECK(format_ms(1'002'416'000) == "1002.416");
  CHECK(format_ms(-1'500'000) == "-1.500");
  CHECK(format_ms(core::kNever) == "-");
}

TEST_CASE("JSON writer: structure, key order, escapes, invalid UTF-8") {
  JsonWriter w;
  w.begin_object();
  w.key("b");
  w.value(uint64_t{1});
  w.key("a");
  w.begin_array();
  w.value("x\"\\\n\t\x01");
  w.value(int64_t{-5});
  w.value(true);
  w.null();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.key("u");
  w.value(std::string_view("\xc3\xa4 \xff \xed\xa0\x80 \xe2\x82"));
  w.end_object();
  CHECK(w.text() ==
        "{\n"
        "  \"b\": 1,\n"
        "  \"a\": [\n"
        "    \"x\\\"\\\\\\n\\t\\u0001\",\n"
        "    -5,\n"
        "    true,\n"
        "    null,\n"
        "    {}\n"
        "  ],\n"
        "  \"u\": \"\xc3\xa4 \\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"\n"
        "}\n");
}

TEST_CASE("a bulk transfer that does not complete fails the run without any expect-bytes") {
  // Before: a sender that gave up (or never finished) passed unnoticed unless
  // a sink named expect-bytes.
  const auto scenario = [](const std::string& sender_attrs) {
    return load(R"(<scenario name="bulk">
  <topology>
    <host name="c"/><host name="s"/>
    <link a="c" a-addr="10.0.0.1/24" b="s" b-addr="10.0.0.2/24" rate="10Mbps" delay="1ms"/>
  </topology>
  <apps>
    <bulk-sink node="s" port="5001"/>
    <bulk-sender node="c" name="tx" server="10.0.0.2" )" + sender_attrs + R"(/>
  </apps>
  <outputs pcap="false" trace="false" summary="false"/>
</scenario>)");
  };
  // Refused: nothing listens on 5002.
  RunResults refused;
  run(scenario("port=\"5002\" bytes=\"100kB\""), "scenario/bulk-refused", refused);
  REQUIRE(refused.failures.size() == 1);
  CHECK(refused.failures[0].find("bulk-sender tx gave up: connection closed (") == 0);
  CHECK(refused.failures[0].find("0 of 100000 bytes handed to TCP") != std::string::npos);
  // expect="any": the same run succeeds.
  RunResults any;
  run(scenario("port=\"5002\" bytes=\"100kB\" expect=\"any\""), "scenario/bulk-any", any);
  CHECK(any.failures.empty());
  // Complete: no failure.
  RunResults done;
  run(scenario("bytes=\"100kB\""), "scenario/bulk-done", done);
  CHECK(done.failures.empty());
  REQUIRE(done.apps.size() == 2);
  CHECK(done.apps[1].sent == 100000);
  CHECK(done.apps[1].closed == tcp::CloseReason::Normal);
  // Cut short by the end of the run (--until).
  RunOptions o;
  o.out_dir = testing::test_out_dir("scenario/bulk-cut");
  o.until = sim::Time::zero() + sim::Duration::milliseconds(20);
  o.quiet = true;
  RunResults cut;
  std::string error;
  REQUIRE(run_scenario(scenario("bytes=\"1MB\""), o, cut, error));
  REQUIRE(cut.failures.size() == 1);
  CHECK(cut.failures[0].find("bulk-sender tx did not finish:") == 0);
  CHECK(cut.failures[0].find("when the run ended") != std::string::npos);
}

TEST_CASE("per-run metrics: the seed's request client (bytes, deliveries, longest pause, completion), no retransmits") {
  const Scenario s = load_example("migrate_mid_stream.xml");
  RunResults r;
  run(s, "scenario/metrics-seed", r);
  CHECK(r.failures.empty());
  REQUIRE(r.apps.size() == 3);
  const AppResult& c = r.apps[2];
  CHECK(c.name == "client");
  CHECK(c.responses == 10);
  // 2 lines from server1 and 8 from server2, each 19 characters and its '\n'.
  CHECK(c.bytes == 2 * std::string("Hello, I'm Server 1\n").size() + 8 * std::string("Hello, I'm Server 2\n").size());
  REQUIRE(c.first_rx.has_value());
  REQUIRE(c.last_rx.has_value());
  REQUIRE(c.completed.has_value());
  // Completed when the 10th response was read: that is the last delivery,
  // nine pauses of at least one interval after the first.
  CHECK(*c.completed == *c.last_rx);
  CHECK(*c.last_rx - *c.first_rx > sim::Duration::seconds(9));
  // Every pause is one interval (1 s) plus a round trip (~2.5 ms). server2
  // boots in the pause after the 2nd request, so the migration adds only the
  // replayed handshake to the wait for the 3rd response (gateway - server2,
  // 0.4 ms): the user never waits 1 s + 5 ms.
  CHECK(c.max_gap >= sim::Duration::seconds(1));
  CHECK(c.max_gap < sim::Duration::seconds(1) + sim::Duration::milliseconds(5));
  // Servers read no responses; their kinds leave the fields empty.
  CHECK_FALSE(r.apps[0].first_rx.has_value());
  CHECK_FALSE(r.apps[0].completed.has_value());
  CHECK(r.client_retransmits == 0);
  CHECK(r.server_retransmits == 0);

  const std::string dir = std::string(std::getenv("TCPMIG_TEST_OUT") ? std::getenv("TCPMIG_TEST_OUT") : "test-output") +
                          "/scenario/metrics-seed";
  const std::string json = read(dir + "/summary.json");
  CHECK(json == summary_json(s, r));
  CHECK(json.find("\"bytes\": 200,") != std::string::npos);
  CHECK(json.find("\"first_rx_ns\": " + std::to_string(c.first_rx->ns()) + ",") != std::string::npos);
  CHECK(json.find("\"last_rx_ns\": " + std::to_string(c.last_rx->ns()) + ",") != std::string::npos);
  CHECK(json.find("\"max_gap_ns\": " + std::to_string(c.max_gap.ns()) + ",") != std::string::npos);
  CHECK(json.find("\"completed_ns\": " + std::to_string(c.completed->ns()) + ",") != std::string::npos);
  const std::size_t tcp = json.find("\"tcp\": {");
  REQUIRE(tcp != std::string::npos);
  CHECK(json.find("\"client_retransmits\": 0", tcp) != std::string::npos);
  CHECK(json.find("\"server_retransmits\": 0", tcp) != std::string::npos);
  CHECK(tcp < json.find("\"failures\""));
}

TEST_CASE("per-run metrics: losses make TCP retransmit, counted over every host's sockets") {
  const Scenario s = load_example("migrate_lossy.xml");
  RunResults r;
  run(s, "scenario/metrics-lossy", r);
  CHECK(r.failures.empty());
  CHECK(r.client_retransmits + r.server_retransmits > 0);
  const std::string json = summary_json(s, r);
  CHECK(json.find("\"client_retransmits\": " + std::to_string(r.client_retransmits) + ",") != std::string::npos);
  CHECK(json.find("\"server_retransmits\": " + std::to_string(r.server_retransmits) + ",") != std::string::npos);
  // Every RTO retransmits, so there are never more timeouts than retransmissions.
  CHECK(r.client_timeouts <= r.client_retransmits);
  CHECK(r.server_timeouts <= r.server_retransmits);
  CHECK(json.find("\"server_timeouts\": " + std::to_string(r.server_timeouts) + "\n") != std::string::npos);
}

TEST_CASE("per-run metrics: the sink continuing a migrated stream counts the switch in its longest pause") {
  RunResults r;
  run(load_example("migrate_bulk.xml"), "scenario/metrics-bulk", r);
  CHECK(r.failures.empty());
  REQUIRE(r.apps.size() == 3);
  const AppResult& sink1 = r.apps[0];
  const AppResult& sink2 = r.apps[1];
  const AppResult& sender = r.apps[2];
  REQUIRE(sink1.last_rx.has_value());
  REQUIRE(sink2.first_rx.has_value());
  REQUIRE(sink2.last_rx.has_value());
  // server2 reads only after server1's last read: the user's stall across
  // the switch is in server2's max_gap.
  CHECK(*sink2.first_rx > *sink1.last_rx);
  // Once moved, the stream flows steadily: the switch is server2's longest pause.
  CHECK(sink2.max_gap == *sink2.first_rx - *sink1.last_rx);
  CHECK(sink2.max_gap > sim::Duration::zero());
  // The sink completes on the sender's FIN; the sender once both FINs are acknowledged.
  REQUIRE(sink2.completed.has_value());
  CHECK(sink2.completed == sink2.finished);
  CHECK_FALSE(sink1.completed.has_value());  // its connection never saw the FIN
  REQUIRE(sender.completed.has_value());
  CHECK(*sender.completed > *sink2.completed);
  CHECK_FALSE(sender.first_rx.has_value());
}

TEST_CASE("host processing latency: the servers' applications see each request later, the client its reply") {
  const std::string text = read(kSource + "/scenarios/migrate_mid_stream.xml");
  RunResults base, slow;
  run(load(text), "latency_base", base);
  std::string with = text;
  for (const char* host : {"<host name=\"server1\"/>", "<host name=\"server2\" add-on=\"m1\" boot-delay=\"10ms\"/>"}) {
    const std::string h = host;
    const std::size_t at = with.find(h);
    REQUIRE(at != std::string::npos);
    with.replace(at, h.size(), h.substr(0, h.size() - 2) + "><tcp app-latency=\"5ms\"/></host>");
  }
  run(load(with), "latency_5ms", slow);
  const AppResult* b = nullptr;
  const AppResult* s = nullptr;
  for (const AppResult& a : base.apps) {
    if (a.kind->element() == "request-client") b = &a;
  }
  for (const AppResult& a : slow.apps) {
    if (a.kind->element() == "request-client") s = &a;
  }
  REQUIRE(b != nullptr);
  REQUIRE(s != nullptr);
  CHECK(s->responses == 10);
  // Each reply leaves its server 5 ms after the request arrived (less the
  // few microseconds it used to wait behind the server's ACK on the link).
  CHECK(*s->first_rx - *b->first_rx > tcpmig::sim::Duration::microseconds(4990));
  CHECK(*s->first_rx - *b->first_rx < tcpmig::sim::Duration::milliseconds(6));
  // The client sends each request a second after the previous reply, so
  // the ten 5 ms waits add up by the last reply.
  CHECK(*s->last_rx - *b->last_rx > tcpmig::sim::Duration::microseconds(49'900));
  CHECK(*s->last_rx - *b->last_rx < tcpmig::sim::Duration::milliseconds(51));
  // Turning it on changes no other random draw: the client's ISN, port and TS offset are the same.
  CHECK(slow.migrations.at(0).record.flow.client == base.migrations.at(0).record.flow.client);
}
