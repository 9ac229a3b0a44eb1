// DeliveryTimes: when an application got payload, as a user of the stream
// would feel it (first and last delivery, longest pause between two).
//
// Place in the layers: models/apps, kept by the apps that read a stream
// (RequestClient, BulkSink). A delivery is one on_readable that read more
// than 0 bytes; the apps call record() once per such callback. Plain fields:
// nothing is allocated.
#pragma once

#include <algorithm>
#include <optional>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::apps {

struct DeliveryTimes {
  std::optional<sim::Time> first;          ///< first delivery (nullopt: none yet)
  std::optional<sim::Time> last;           ///< latest delivery
  sim::Duration max_gap = sim::Duration::zero();  ///< longest time between two successive deliveries

  /// A delivery at `now`. `before` is the last delivery of an earlier holder
  /// of the same stream (a sink this one continues); it counts as the
  /// previous delivery when this one has had none, so the gap across the
  /// switch counts too.
  void record(sim::Time now, std::optional<sim::Time> before = std::nullopt) {
    const std::optional<sim::Time> prev = last ? last : before;
    if (prev) max_gap = std::max(max_gap, now - *prev);
    if (!first) first = now;
    last = now;
  }
};

}  // namespace tcpmig::apps
