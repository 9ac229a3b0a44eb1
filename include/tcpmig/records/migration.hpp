// A migration record (core::MigrationRecord) as JSON: the members of one
// entry of tcpmig-sim's summary.json "migrations" array, which
// tcpmig-gateway also writes (--records, the `records` control command), so
// one script reads both.
//
// Place in the layers: tools/records, on the core and JsonWriter; std only.
// Rules: keys in a fixed order (id, client, service, from, to, trigger,
// safe_point, outcome, refusal, the *_ns times, counts, options); times are
// integer nanoseconds of the host's clock, null when the event never
// happened; refusal is null unless the outcome is "refused".
#pragma once

#include <array>
#include <string_view>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/records/json.hpp"

namespace tcpmig::records {

/// Safe points as words ("client-data"), in enumerator order.
inline constexpr std::array<std::string_view, 3> safe_point_words{"auto", "client-data", "quiescent"};
static_assert(safe_point_words.size() == static_cast<std::size_t>(core::SafePoint::Count));

/// `key`: the time in ns, or null for core::kNever.
void write_time(JsonWriter& w, std::string_view key, core::Nanos ns);
/// `key`: {"mss", "window_scale" (or null), "sack_permitted", "timestamps"}.
void write_options(JsonWriter& w, std::string_view key, const core::TcpOptions& o);
/// The record's members, into the object the caller has opened (the caller
/// may write members of its own before and after them).
void write_migration_fields(JsonWriter& w, const core::MigrationRecord& m);

}  // namespace tcpmig::records
