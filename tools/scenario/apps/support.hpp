// Pieces the application kinds of this folder share: the "closed" text and
// JSON field of a connection, times and delivery fields in JSON, and
// instance labels.
//
// Place in the layers: scenario loading (tools/scenario/apps, private).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tcpmig/apps/delivery.hpp"
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

/// `key`: the instant in integer nanoseconds, or null for never.
inline void json_time(JsonWriter& w, std::string_view key, const std::optional<sim::Time>& t) {
  w.key(key);
  if (t) {
    w.value(int64_t{t->ns()});
  } else {
    w.null();
  }
}

/// The delivery fields of a kind that reads a stream (AppResult::first_rx ...).
inline void set_deliveries(AppResult& r, const apps::DeliveryTimes& d) {
  r.first_rx = d.first;
  r.last_rx = d.last;
  r.max_gap = d.max_gap;
}

/// "first_rx_ns", "last_rx_ns", "max_gap_ns" of a kind that reads a stream.
inline void json_deliveries(JsonWriter& w, const AppResult& r) {
  json_time(w, "first_rx_ns", r.first_rx);
  json_time(w, "last_rx_ns", r.last_rx);
  w.key("max_gap_ns");
  w.value(int64_t{r.max_gap.ns()});
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
