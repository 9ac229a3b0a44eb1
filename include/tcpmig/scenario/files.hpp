// The files of one tcpmig-sim invocation: inputs read with a size cap.
//
// Place in the layers: scenario loading (tools/scenario), on POSIX file calls
// only. Used by the loader (the scenario file) and tcpmig-sim (the expected
// trace).
// Rules (README.md, `tcpmig-sim`, says the same for users):
// - An input is a regular file or a pipe (so `<(cmd)` works). Anything else
//   (a directory, a device such as /dev/zero) is refused before it is opened,
//   and an input longer than its cap is refused, never cut.
// - Error texts are "<what was found>; expected <what>"; the caller says
//   which input it is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tcpmig::scenario {

/// Largest scenario file (64 MiB).
inline constexpr std::size_t kMaxScenarioBytes = std::size_t{64} << 20;
/// Largest file --expect-trace reads, a trace or a fingerprint file (1 GiB).
inline constexpr std::size_t kMaxExpectedTraceBytes = std::size_t{1} << 30;

/// An input file: what it is called in messages, and its cap in bytes.
struct InputKind {
  std::string_view what;  ///< e.g. "scenario file"
  std::size_t max_bytes;  ///< longer inputs are refused
};

/// Reads all of `path`, a regular file or a pipe of at most kind.max_bytes.
/// False with `error` set otherwise.
bool read_input(const std::string& path, const InputKind& kind, std::string& text, std::string& error);

}  // namespace tcpmig::scenario
