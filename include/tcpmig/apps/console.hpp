// Console: where an application prints its "terminal" lines.
//
// Place in the layers: models/apps. Every line is
//   <simulated time, 9 decimals> <node name> <text>\n
// (time as sim::append_time writes it), so the output of a run reads like the
// terminals of the seed experiment and is byte-identical across runs. A
// Console appends to a std::string (tests), writes to a FILE* (tools), both,
// or neither (benchmarks).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "tcpmig/sim/time.hpp"

namespace tcpmig::apps {

class Console {
 public:
  /// Prints nowhere.
  Console() = default;
  /// Appends lines to `text` (not owned; must outlive the console's users).
  explicit Console(std::string* text, std::FILE* file = nullptr) : text_(text), file_(file) {}
  /// Writes lines to `file` (not owned, not closed).
  explicit Console(std::FILE* file) : file_(file) {}

  /// Prints "<t> <node> <msg>\n", `msg` being the parts given one after the
  /// other (each convertible to std::string_view), so a caller builds no
  /// string of its own.
  template <typename... Parts>
  void line(sim::Time t, std::string_view node, const Parts&... msg) {
    if (!enabled()) return;
    line_.clear();
    sim::append_time(line_, t);
    line_.push_back(' ');
    line_.append(node);
    line_.push_back(' ');
    (line_.append(std::string_view(msg)), ...);
    line_.push_back('\n');
    if (text_ != nullptr) text_->append(line_);
    if (file_ != nullptr) std::fwrite(line_.data(), 1, line_.size(), file_);
  }
  [[nodiscard]] bool enabled() const { return text_ != nullptr || file_ != nullptr; }

 private:
  std::string* text_ = nullptr;  // capture target, not owned
  std::FILE* file_ = nullptr;    // output stream, not owned
  std::string line_;             // reused buffer
};

}  // namespace tcpmig::apps
