// The congestion-control registry (see include/tcpmig/tcp/congestion.hpp).
#include "tcpmig/tcp/congestion.hpp"

#include <array>

#include "algorithms.hpp"

namespace tcpmig::tcp {

namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<CongestionControl> (*make)();
};
constexpr std::array<Entry, 2> kAlgorithms{{{"newreno", &make_newreno}, {"cubic", &make_cubic}}};
constexpr std::array<std::string_view, kAlgorithms.size()> kNames{kAlgorithms[0].name, kAlgorithms[1].name};

}  // namespace

std::span<const std::string_view> congestion_control_names() { return kNames; }

std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name) {
  for (const Entry& e : kAlgorithms) {
    if (e.name == name) return e.make();
  }
  return nullptr;
}

}  // namespace tcpmig::tcp
