// Callback: a non-owning {function pointer, context pointer} pair.
//
// Place in the layers: sim engine (std only). Timers fire through a Callback;
// model objects bind one of their member functions to themselves, so firing a
// timer is one indirect call with no allocation and no type erasure object.
// Rule: a Callback never owns its context; the object it points to must outlive
// every use (a Timer member bound to its owner satisfies that by construction).
#pragma once

#include <cassert>

namespace tcpmig::sim {

/// A non-owning `void(*)(void*)` + `void*` pair. Default-constructed it is empty,
/// and calling an empty Callback is a programmer error.
class Callback {
 public:
  using Fn = void (*)(void*);

  /// An empty callback (`operator bool` is false).
  constexpr Callback() = default;

  /// A callback that calls `fn(ctx)`.
  static constexpr Callback from(Fn fn, void* ctx) { return Callback{fn, ctx}; }

  /// A callback that calls `(obj->*MemFn)()`, e.g. `Callback::bind<&Conn::on_rto>(this)`.
  template <auto MemFn, class T>
  static constexpr Callback bind(T* obj) {
    return Callback{&call_member<MemFn, T>, static_cast<void*>(obj)};
  }

  /// Calls the bound function; the callback must not be empty.
  void operator()() const {
    assert(fn_ != nullptr && "tcpmig::sim::Callback: calling an empty callback");
    fn_(ctx_);
  }

  /// True when the callback is bound to a function.
  constexpr explicit operator bool() const { return fn_ != nullptr; }

 private:
  constexpr Callback(Fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}

  template <auto MemFn, class T>
  static void call_member(void* obj) {
    (static_cast<T*>(obj)->*MemFn)();
  }

  Fn fn_ = nullptr;     // function to call; null means empty
  void* ctx_ = nullptr; // its argument, not owned
};

}  // namespace tcpmig::sim
