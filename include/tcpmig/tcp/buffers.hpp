// Preallocated byte ring and fixed-capacity sequence-range set: the storage of
// a TCP socket's send buffer, receive buffer, reassembly map and SACK
// scoreboard.
//
// Place in the layers: models/tcp (used by TcpSocket). Rule: both are sized
// when a socket opens and never allocate afterwards, so moving data through an
// established connection allocates nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tcpmig/wire/seq.hpp"

namespace tcpmig::tcp {

using wire::SeqNumber;

/// A byte ring of fixed capacity. Bytes [0, size()) are "committed" (readable
/// from the head); the free space after them can be written at any offset
/// before it is committed (out-of-order data waiting for a hole to fill).
class ByteRing {
 public:
  ByteRing() = default;
  explicit ByteRing(std::size_t capacity) : buf_(capacity) {}

  /// Reallocates to `capacity` bytes, empty (setup only).
  void reset(std::size_t capacity) {
    buf_.assign(capacity, 0);
    head_ = 0;
    len_ = 0;
  }
  [[nodiscard]] std::size_t capacity() const { return buf_.size(); }
  /// Committed bytes.
  [[nodiscard]] std::size_t size() const { return len_; }
  [[nodiscard]] bool empty() const { return len_ == 0; }
  /// capacity() - size().
  [[nodiscard]] std::size_t free() const { return buf_.size() - len_; }

  /// Appends up to free() bytes of `data` and commits them; returns how many.
  std::size_t push(std::span<const uint8_t> data) {
    const std::size_t n = std::min(data.size(), free());
    write_at(0, data.first(n));
    len_ += n;
    return n;
  }
  /// Writes `data` at `offset` bytes past the committed end without committing;
  /// offset + data.size() must be <= free().
  void write_at(std::size_t offset, std::span<const uint8_t> data) {
    assert(offset + data.size() <= free());
    copy_in((head_ + len_ + offset) % cap_or_1(), data);
  }
  /// Commits `n` more bytes (already written with write_at); n <= free().
  void commit(std::size_t n) {
    assert(n <= free());
    len_ += n;
  }
  /// Copies committed bytes [offset, offset + dst.size()) into `dst`.
  void copy_out(std::size_t offset, std::span<uint8_t> dst) const {
    assert(offset + dst.size() <= len_);
    std::size_t pos = (head_ + offset) % cap_or_1();
    std::size_t done = 0;
    while (done < dst.size()) {
      const std::size_t n = std::min(dst.size() - done, buf_.size() - pos);
      std::memcpy(dst.data() + done, buf_.data() + pos, n);
      done += n;
      pos = 0;
    }
  }
  /// Drops `n` committed bytes from the head.
  void consume(std::size_t n) {
    assert(n <= len_);
    head_ = (head_ + n) % cap_or_1();
    len_ -= n;  // (head_ is not rewound when empty: uncommitted data may sit after it)
  }
  /// Copies out and consumes up to dst.size() bytes; returns how many.
  std::size_t pop(std::span<uint8_t> dst) {
    const std::size_t n = std::min(dst.size(), len_);
    copy_out(0, dst.first(n));
    consume(n);
    return n;
  }

 private:
  [[nodiscard]] std::size_t cap_or_1() const { return buf_.empty() ? 1 : buf_.size(); }
  void copy_in(std::size_t pos, std::span<const uint8_t> data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const std::size_t n = std::min(data.size() - done, buf_.size() - pos);
      std::memcpy(buf_.data() + pos, data.data() + done, n);
      done += n;
      pos = 0;
    }
  }

  std::vector<uint8_t> buf_;  // storage, allocated once
  std::size_t head_ = 0;      // index of the first committed byte
  std::size_t len_ = 0;       // committed bytes
};

/// A set of disjoint, non-adjacent sequence ranges [start, end), kept sorted,
/// of fixed capacity (no allocation). All ranges must lie within 2^31 of each
/// other (they live inside one window). Used for the receiver's out-of-order
/// map and the sender's SACK scoreboard.
class SeqRangeSet {
 public:
  static constexpr std::size_t kCapacity = 32;
  struct Range {
    SeqNumber start;  // first sequence number in the range
    SeqNumber end;    // one past the last
    [[nodiscard]] uint32_t len() const { return static_cast<uint32_t>(end - start); }
  };

  [[nodiscard]] std::size_t size() const { return n_; }
  [[nodiscard]] bool empty() const { return n_ == 0; }
  [[nodiscard]] const Range& operator[](std::size_t i) const { return r_[i]; }
  [[nodiscard]] const Range* begin() const { return r_.data(); }
  [[nodiscard]] const Range* end() const { return r_.data() + n_; }
  void clear() { n_ = 0; }

  /// Adds [s, e), merging with overlapping or adjacent ranges. Returns false
  /// (set unchanged) when it would need a new slot and the set is full.
  bool add(SeqNumber s, SeqNumber e) {
    if (!(s < e)) return true;
    std::size_t i = 0;
    while (i < n_ && r_[i].end < s) ++i;  // first range that ends at or after s
    std::size_t j = i;
    while (j < n_ && r_[j].start <= e) ++j;  // ranges [i, j) touch [s, e)
    if (i == j) {
      if (n_ == kCapacity) return false;
      std::move_backward(r_.begin() + static_cast<std::ptrdiff_t>(i), r_.begin() + static_cast<std::ptrdiff_t>(n_),
                         r_.begin() + static_cast<std::ptrdiff_t>(n_ + 1));
      r_[i] = Range{s, e};
      ++n_;
      return true;
    }
    Range merged{wire::seq_min(s, r_[i].start), wire::seq_max(e, r_[j - 1].end)};
    r_[i] = merged;
    const std::size_t removed = j - i - 1;
    if (removed > 0) {
      std::move(r_.begin() + static_cast<std::ptrdiff_t>(j), r_.begin() + static_cast<std::ptrdiff_t>(n_),
                r_.begin() + static_cast<std::ptrdiff_t>(i + 1));
      n_ -= removed;
    }
    return true;
  }
  /// Forgets everything before `s` (ranges are cut at s).
  void trim_below(SeqNumber s) {
    std::size_t k = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (r_[i].end <= s) continue;
      Range r = r_[i];
      if (r.start < s) r.start = s;
      r_[k++] = r;
    }
    n_ = k;
  }
  /// Bytes covered.
  [[nodiscard]] uint64_t bytes() const {
    uint64_t b = 0;
    for (std::size_t i = 0; i < n_; ++i) b += r_[i].len();
    return b;
  }
  /// Bytes covered at or after `s`.
  [[nodiscard]] uint64_t bytes_from(SeqNumber s) const {
    uint64_t b = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (r_[i].end <= s) continue;
      b += static_cast<uint32_t>(r_[i].end - wire::seq_max(s, r_[i].start));
    }
    return b;
  }
  /// Ranges that start at or after `s`.
  [[nodiscard]] std::size_t ranges_from(SeqNumber s) const {
    std::size_t c = 0;
    for (std::size_t i = 0; i < n_; ++i) c += r_[i].start >= s ? 1 : 0;
    return c;
  }
  /// The range containing `s`, or nullptr.
  [[nodiscard]] const Range* find(SeqNumber s) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (r_[i].start <= s && s < r_[i].end) return &r_[i];
    }
    return nullptr;
  }
  /// The first range starting after `s`, or nullptr.
  [[nodiscard]] const Range* next_after(SeqNumber s) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (r_[i].start > s) return &r_[i];
    }
    return nullptr;
  }

 private:
  std::array<Range, kCapacity> r_{};  // sorted by start
  std::size_t n_ = 0;                  // ranges in use
};

}  // namespace tcpmig::tcp
