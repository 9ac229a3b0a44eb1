// Counting replacements of the global allocation functions, for tests that
// assert "no allocation in steady state" or bound how much memory a run asks for. Linked into the test executables
// that use it (see tests/CMakeLists.txt); every operator new in the process
// is counted.
#pragma once

#include <cstdint>

namespace tcpmig::testing {
/// Calls of any operator new so far in this process.
uint64_t allocations();
/// Bytes asked of operator new so far in this process (freed bytes are not subtracted).
uint64_t allocated_bytes();
}  // namespace tcpmig::testing
