// Control command parsing (see control.hpp).
#include "control.hpp"

#include <vector>

#include "tcpmig/records/json.hpp"
#include "tcpmig/scenario/units.hpp"

namespace tcpmig::gateway_tool {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

/// `what` as an endpoint, or the message naming it.
wire::Result<core::Endpoint, std::string> endpoint_arg(std::string_view text, std::string_view what) {
  const auto e = scenario::parse_endpoint(text);
  if (!e) {
    return std::string(what) + " '" + std::string(text) + "' is not IP:PORT (a.b.c.d:1-65535)";
  }
  return *e;
}

constexpr std::string_view kUsage =
    "commands: migrate all TARGET_IP:PORT | migrate CLIENT_IP:PORT TARGET_IP:PORT | cancel [ID] | status | flows | "
    "records | stats [prometheus]";

std::string too_many(std::string_view command) { return "too many words after '" + std::string(command) + "'"; }

wire::Result<Command, std::string> parse_migrate(const std::vector<std::string_view>& w) {
  if (w.size() < 3) return std::string("migrate needs two words: 'all' or CLIENT_IP:PORT, then TARGET_IP:PORT");
  if (w.size() > 3) return too_many("migrate " + std::string(w[1]) + " " + std::string(w[2]));
  auto target = endpoint_arg(w[2], "target");
  if (!target) return target.error();
  if (w[1] == "all") return Command{MigrateAll{*target}};
  auto client = endpoint_arg(w[1], "client");
  if (!client) return std::string(client.error()) + " and not 'all'";
  return Command{MigrateFlow{*client, *target}};
}

}  // namespace

wire::Result<Command, std::string> parse_command(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxCommandLength) {
    return "command longer than " + std::to_string(kMaxCommandLength) + " bytes";
  }
  for (const char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::string("control character in the command");
  }
  const std::vector<std::string_view> w = split_words(line);
  if (w.empty()) return "empty command; " + std::string(kUsage);
  const std::string_view verb = w[0];
  if (verb == "migrate") return parse_migrate(w);
  if (verb == "cancel") {
    if (w.size() == 1) return Command{Cancel{}};
    if (w.size() > 2) return too_many("cancel " + std::string(w[1]));
    const auto id = scenario::parse_uint(w[1], UINT64_MAX);
    if (!id) return "request id '" + std::string(w[1]) + "' is not a decimal number";
    return Command{Cancel{*id}};
  }
  if (verb == "stats") {
    if (w.size() == 1) return Command{Stats{}};
    if (w.size() > 2) return too_many("stats " + std::string(w[1]));
    if (w[1] != "prometheus") return "unknown stats format '" + std::string(w[1]) + "' (only 'prometheus')";
    return Command{Stats{true}};
  }
  if (verb == "status" || verb == "flows" || verb == "records") {
    if (w.size() > 1) return too_many(verb);
    if (verb == "status") return Command{Status{}};
    if (verb == "flows") return Command{Flows{}};
    return Command{Records{}};
  }
  return "unknown command '" + std::string(verb) + "'; " + std::string(kUsage);
}

std::string error_reply(std::string_view message) {
  records::JsonWriter w(records::JsonWriter::Layout::OneLine);
  w.begin_object();
  w.key("ok");
  w.value(false);
  w.key("error");
  w.value(message);
  w.end_object();
  return w.text();
}

}  // namespace tcpmig::gateway_tool

namespace tcpmig::gateway_tool {

std::optional<std::string> json_string_member(std::string_view json, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  std::size_t at = json.find(needle + "\"");
  if (at == std::string_view::npos) return std::nullopt;
  at += needle.size();
  return records::JsonWriter::read_string(json, at);
}

}  // namespace tcpmig::gateway_tool
