// Bad input as a value: the error vocabulary of the wire layer and Result<T>.
//
// Place in the layers: wire (std only); returned by every check()/parse()/emit().
// No exceptions and no asserts on input data: a short, inconsistent or corrupt
// packet is an ordinary outcome that callers count and drop. Result<T> is a
// small stand-in for std::expected<T, Error> (not in libstdc++ 12).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

namespace tcpmig::wire {

/// Why bytes could not be read or written.
enum class Error : std::uint8_t {
  Truncated,    ///< fewer bytes than a header or length field requires (or an output buffer too small)
  Malformed,    ///< a field holds a value the protocol forbids (bad version, length, option)
  BadChecksum,  ///< the Internet checksum does not verify
  Unsupported,  ///< valid but not handled here (e.g. IPv4 fragments)
};

/// Lower-case text for an Error, stable (it appears in text traces).
[[nodiscard]] constexpr const char* error_name(Error e) {
  switch (e) {
    case Error::Truncated: return "truncated";
    case Error::Malformed: return "malformed";
    case Error::BadChecksum: return "bad checksum";
    case Error::Unsupported: return "unsupported";
  }
  return "unknown error";
}

namespace detail {
/// Reading the value of a failed Result (or the error of a good one) is a
/// programmer error, never an input error: stop at once.
[[noreturn]] inline void bad_result_access() { std::abort(); }
}  // namespace detail

/// Either a T or an error E (the wire layer's Error unless a layer above
/// names its own, as the migration core does for refused requests).
/// Implicitly constructed from either; test it with `if (r)` / `r.ok()`
/// before `*r`, `r->`, `r.value()`; `r.error()` when it failed.
template <class T, class E = Error>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, E>, "Result<E, E> is ambiguous");
  static_assert(!std::is_reference_v<T>, "Result holds values");

 public:
  using value_type = T;

  /// A success holding `value`.
  constexpr Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT(google-explicit-constructor)
  /// A success holding `value`.
  constexpr Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// A failure.
  constexpr Result(E error) : v_(std::in_place_index<1>, error) {}  // NOLINT(google-explicit-constructor)

  /// True when this holds a value.
  [[nodiscard]] constexpr bool ok() const { return v_.index() == 0; }
  /// Same as ok().
  constexpr explicit operator bool() const { return ok(); }

  /// The value; aborts if this is an error (check first).
  [[nodiscard]] constexpr T& value() & { return *get(); }
  /// The value; aborts if this is an error (check first).
  [[nodiscard]] constexpr const T& value() const& { return *get(); }
  /// The value, moved out; aborts if this is an error (check first).
  [[nodiscard]] constexpr T&& value() && { return std::move(*get()); }
  /// The value, or `fallback` if this is an error.
  [[nodiscard]] constexpr T value_or(T fallback) const& {
    const T* p = std::get_if<0>(&v_);
    return p != nullptr ? *p : fallback;
  }
  /// The error; aborts if this holds a value (check first).
  [[nodiscard]] constexpr E error() const {
    const E* e = std::get_if<1>(&v_);
    if (e == nullptr) [[unlikely]] {
      detail::bad_result_access();
    }
    return *e;
  }

  /// Same as value().
  constexpr T& operator*() & { return *get(); }
  /// Same as value().
  constexpr const T& operator*() const& { return *get(); }
  /// Same as value().
  constexpr T&& operator*() && { return std::move(*get()); }
  /// Member access on the value; aborts if this is an error.
  constexpr T* operator->() { return get(); }
  /// Member access on the value; aborts if this is an error.
  constexpr const T* operator->() const { return get(); }

 private:
  constexpr T* get() {
    T* p = std::get_if<0>(&v_);
    if (p == nullptr) [[unlikely]] {
      detail::bad_result_access();
    }
    return p;
  }
  constexpr const T* get() const {
    const T* p = std::get_if<0>(&v_);
    if (p == nullptr) [[unlikely]] {
      detail::bad_result_access();
    }
    return p;
  }

  std::variant<T, E> v_;
};

}  // namespace tcpmig::wire
