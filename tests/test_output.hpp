// Where tests leave files (pcaps, traces) for later checks: ctest sets
// TCPMIG_TEST_OUT (tests/CMakeLists.txt) and tshark_pcaps reads every pcap
// below it. Run by hand, a test writes under ./test-output.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tcpmig::testing {

/// An empty directory <TCPMIG_TEST_OUT>/<name>, created now.
inline std::string test_out_dir(const std::string& name) {
  const char* base = std::getenv("TCPMIG_TEST_OUT");
  std::string dir = std::string(base != nullptr ? base : "test-output") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tcpmig::testing
