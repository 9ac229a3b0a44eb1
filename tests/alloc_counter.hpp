// Counting replacements of the global allocation functions, for tests that
// assert "no allocation in steady state". Linked into the test executables
// that use it (see tests/CMakeLists.txt); every operator new in the process
// is counted.
#pragma once

#include <cstdint>

namespace tcpmig::testing {
/// Calls of any operator new so far in this process.
uint64_t allocations();
}  // namespace tcpmig::testing
