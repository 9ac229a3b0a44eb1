// Pieces the application kinds of this folder share: the "closed" text and
// JSON field of a connection, and instance labels.
//
// Place in the layers: scenario loading (tools/scenario/apps, private).
#pragma once

#include <optional>
#include <string>

#include "tcpmig/records/json.hpp"
#include "tcpmig/scenario/runner.hpp"
#include "tcpmig/scenario/units.hpp"
#include "tcpmig/tcp/socket.hpp"

namespace tcpmig::scenario::app_support {

/// "closed (normal)", or "open" while the connection lasts.
inline std::string connection_text(const std::optional<tcp::CloseReason>& closed) {
  return closed ? std::string("closed (") + tcp::close_reason_name(*closed) + ")" : std::string("open");
}

/// "closed": the close reason, or null while open.
inline void json_closed(JsonWriter& w, const std::optional<tcp::CloseReason>& closed) {
  w.key("closed");
  if (closed) {
    w.value(tcp::close_reason_name(*closed));
  } else {
    w.null();
  }
}

/// A result with the fields every kind fills.
inline AppResult result_of(const AppSpec& spec, std::string name, bool started) {
  AppResult r;
  r.kind = spec.kind;
  r.node = spec.node;
  r.name = std::move(name);
  r.started = started;
  return r;
}

}  // namespace tcpmig::scenario::app_support
