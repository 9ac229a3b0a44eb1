// The congestion-control algorithms' factories, listed by congestion.cpp
// (private to models/tcp).
#pragma once

#include <memory>

#include "tcpmig/tcp/congestion.hpp"

namespace tcpmig::tcp {

std::unique_ptr<CongestionControl> make_newreno();
std::unique_ptr<CongestionControl> make_cubic();

}  // namespace tcpmig::tcp
