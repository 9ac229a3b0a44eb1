// The settings of the application kinds tcpmig ships (their files are in
// tools/scenario/apps/): what each element's attributes say, as the model
// configurations of models/apps plus what a run expects of them. Tests and
// tools read them with AppSpec::settings_as<...>().
//
// Place in the layers: scenario loading, on the applications' model.
#pragma once

#include <cstdint>
#include <optional>

#include "tcpmig/apps/bulk.hpp"
#include "tcpmig/apps/request_response.hpp"
#include "tcpmig/scenario/scenario.hpp"

namespace tcpmig::scenario {

/// <response-server>.
struct ResponseServerSettings final : AppSettings {
  apps::ResponseServerConfig config;  ///< the server
};

/// <request-client>.
struct RequestClientSettings final : AppSettings {
  apps::RequestClientConfig config;  ///< one client (start counts from the host's apps starting)
  uint32_t instances = 1;            ///< clients on the host, labelled "<label>/<i>" when more than one
  uint32_t expect_responses = 0;     ///< responses each must get for the run to succeed (default: count)
};

/// <bulk-sender>.
struct BulkSenderSettings final : AppSettings {
  apps::BulkSenderConfig config;      ///< the sender (start counts from the host's apps starting)
  Expect expect = Expect::Completed;  ///< completed: every byte acknowledged and the connection closed normally
};

/// <bulk-sink>.
struct BulkSinkSettings final : AppSettings {
  apps::BulkSinkConfig config;            ///< the sink (its `continues` is set when it starts)
  std::optional<uint64_t> expect_bytes;   ///< bytes it must receive for the run to succeed
  std::optional<std::size_t> continues;   ///< Scenario::apps index of the earlier sink whose stream it continues
};

}  // namespace tcpmig::scenario
