// A minimal JSON writer: objects, arrays, strings, integers, booleans and
// null, pretty-printed with two-space indentation (tcpmig-sim's summary.json)
// or compact on one line (tcpmig-gateway's replies and JSON Lines records);
// and the reader of the strings it writes (tcpmig-gateway ctl, tcpmig-sweep merge).
//
// Place in the layers: tools/records (tcpmig-sim's report, tcpmig-gateway); std only.
// Rules: keys appear in the order they are written (stable output); strings
// are escaped per RFC 8259 (quote, backslash, control characters as \uXXXX
// or their short forms); bytes that are not valid UTF-8 become U+FFFD, so the
// output is always valid UTF-8. No floating-point numbers: times are integer
// nanoseconds. Misuse (a value where a key is due) is a programmer error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpmig::records {

class JsonWriter {
 public:
  enum class Layout : uint8_t { Pretty, OneLine };
  /// Pretty: members on their own lines, indented by two spaces per level.
  /// OneLine: no whitespace at all. Either way the top-level value ends with '\n'.
  explicit JsonWriter(Layout layout = Layout::Pretty) : layout_(layout) {}
  /// Starts an object (as a value: after key() or inside an array, or at the top).
  void begin_object() { open('{'); }
  /// Ends the innermost object.
  void end_object() { close('}'); }
  /// Starts an array.
  void begin_array() { open('['); }
  /// Ends the innermost array.
  void end_array() { close(']'); }
  /// The key of the next member of the innermost object.
  void key(std::string_view k);
  /// A string value.
  void value(std::string_view s);
  /// A string value (keeps string literals from turning into bool).
  void value(const char* s) { value(std::string_view(s)); }
  /// An unsigned integer value.
  void value(uint64_t v);
  /// A signed integer value.
  void value(int64_t v);
  /// An unsigned 32-bit value.
  void value(uint32_t v) { value(uint64_t{v}); }
  /// A boolean value.
  void value(bool b);
  /// null.
  void null();
  /// The document so far; complete once every object and array is closed (ends with '\n').
  [[nodiscard]] const std::string& text() const { return out_; }
  /// Appends `s` as a quoted, escaped JSON string.
  static void append_string(std::string& out, std::string_view s);
  /// Reads back a JSON string at text[pos] (its opening quote): escapes per
  /// RFC 8259, \uXXXX as UTF-8 (each unit on its own). `pos` moves past the
  /// closing quote; nullopt (pos unspecified) when it is malformed.
  static std::optional<std::string> read_string(std::string_view text, std::size_t& pos);

 private:
  void open(char c);
  void close(char c);
  void before_value();
  void newline();

  Layout layout_;              // whitespace rule
  std::string out_;            // the document
  std::vector<bool> first_;    // per open container: no member written yet
  bool after_key_ = false;     // a key was written; its value comes next
};

}  // namespace tcpmig::records
