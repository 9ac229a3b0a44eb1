// The control protocol of tcpmig-gateway: one command per line on a Unix
// stream socket, one JSON object per line in reply.
//
// Place in the layers: tools/gateway, std only (no Linux header), so the
// parser and the reply formats are tested without privileges. The server
// (control_server.cpp) reads lines, parses them here and runs the command on
// every worker; nothing is changed by a line that does not parse.
// Commands (README "Control commands" says the same for users):
//   migrate all TARGET_IP:PORT         every flow of the service, now
//   migrate CLIENT_IP:PORT TARGET_IP:PORT  one flow, now
//   cancel | cancel ID                  pending migrations (all, or one request)
//   status | flows | records | stats | stats prometheus
// Replies: {"ok":true,...} or {"ok":false,"error":"<specific message>"}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/wire/result.hpp"

namespace tcpmig::gateway_tool {

/// Longest command line accepted (bytes, without the newline).
inline constexpr std::size_t kMaxCommandLength = 1024;

struct MigrateAll {
  core::Endpoint target;
};
struct MigrateFlow {
  core::Endpoint client;
  core::Endpoint target;
};
struct Cancel {
  std::optional<uint64_t> request;  ///< none: every pending migration
};
struct Status {};
struct Flows {};
struct Records {};
struct Stats {
  bool prometheus = false;
};

using Command = std::variant<MigrateAll, MigrateFlow, Cancel, Status, Flows, Records, Stats>;

/// The command on `line` (a trailing '\r' is ignored; words are separated by
/// spaces or tabs), or a message saying exactly what is wrong with it.
wire::Result<Command, std::string> parse_command(std::string_view line);

/// {"ok":false,"error":"<message>"} and a newline.
std::string error_reply(std::string_view message);

}  // namespace tcpmig::gateway_tool

namespace tcpmig::gateway_tool {

/// The string value of `"key":"..."` in a one-line JSON reply, unescaped
/// (for the ctl client, which prints `stats prometheus` text as it is).
std::optional<std::string> json_string_member(std::string_view json, std::string_view key);

}  // namespace tcpmig::gateway_tool
