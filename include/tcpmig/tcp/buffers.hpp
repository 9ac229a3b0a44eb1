// Byte ring and fixed-capacity sequence-range set: the storage of a TCP
// socket's send buffer, receive buffer, reassembly map and SACK scoreboard.
//
// Place in the layers: models/tcp (used by TcpSocket). Rules: a ring's
// capacity (what the window arithmetic sees) is fixed when a socket opens, but
// its storage follows the bytes actually held: it starts empty and grows
// geometrically when a write reaches past it, so a 1 GiB buffer that carries
// a small transfer costs a few KiB. Once a connection has held its largest
// amount of data (the first round trips of a transfer), moving data allocates
// nothing. The range set never allocates.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "tcpmig/sim/time.hpp"
#include "tcpmig/wire/seq.hpp"

namespace tcpmig::tcp {

using wire::SeqNumber;

/// A byte ring of fixed capacity. Bytes [0, size()) are "committed" (readable
/// from the head); the free space after them can be written at any offset
/// before it is committed (out-of-order data waiting for a hole to fill).
/// Storage is allocated as writes reach into it, never zero-filled.
class ByteRing {
 public:
  /// Storage allocated by the first write (or all of the capacity, if less).
  static constexpr std::size_t kMinStorage = 4096;

  ByteRing() = default;
  explicit ByteRing(std::size_t capacity) : cap_(capacity) {}

  /// Empties the ring and sets its capacity; frees the storage (setup only).
  void reset(std::size_t capacity) {
    buf_.reset();
    storage_ = 0;
    cap_ = capacity;
    head_ = 0;
    len_ = 0;
    end_ = 0;
  }
  /// Frees the storage if the ring holds no byte, committed or not (a
  /// connection that is over); a later write allocates again.
  void release() {
    if (end_ != 0) return;
    buf_.reset();
    storage_ = 0;
    head_ = 0;
  }
  [[nodiscard]] std::size_t capacity() const { return cap_; }
  /// Raises the capacity to `c` (auto-tuning); storage still follows the data.
  void raise_capacity(std::size_t c) { cap_ = std::max(cap_, c); }
  /// Bytes of storage allocated now (at most capacity() rounded up to a power of two).
  [[nodiscard]] std::size_t storage() const { return storage_; }
  /// Committed bytes.
  [[nodiscard]] std::size_t size() const { return len_; }
  [[nodiscard]] bool empty() const { return len_ == 0; }
  /// capacity() - size().
  [[nodiscard]] std::size_t free() const { return cap_ - len_; }

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
    if (data.empty()) return;
    const std::size_t end = len_ + offset + data.size();
    if (end > storage_) grow(end);
    end_ = std::max(end_, end);
    for_runs(head_ + len_ + offset, data.size(), [&](std::size_t pos, std::size_t done, std::size_t n) {
      std::memcpy(buf_.get() + pos, data.data() + done, n);
    });
  }
  /// Commits `n` more bytes (already written with write_at); n <= free().
  void commit(std::size_t n) {
    assert(n <= free() && len_ + n <= end_);
    len_ += n;
  }
  /// Copies committed bytes [offset, offset + dst.size()) into `dst`.
  void copy_out(std::size_t offset, std::span<uint8_t> dst) const {
    assert(offset + dst.size() <= len_);
    read(offset, dst);
  }
  /// Drops `n` committed bytes from the head.
  void consume(std::size_t n) {
    assert(n <= len_);
    head_ = wrap(head_ + n);
    len_ -= n;  // (head_ is not rewound when empty: uncommitted data may sit after it)
    end_ -= n;
  }
  /// Copies out and consumes up to dst.size() bytes; returns how many.
  std::size_t pop(std::span<uint8_t> dst) {
    const std::size_t n = std::min(dst.size(), len_);
    copy_out(0, dst.first(n));
    consume(n);
    return n;
  }

 private:
  /// A position up to twice the storage, brought back into it.
  [[nodiscard]] std::size_t wrap(std::size_t pos) const { return pos >= storage_ ? pos - storage_ : pos; }
  /// The storage holding `len` bytes from position `at` (below twice the
  /// storage, len <= storage) is one run, or two when it wraps: calls
  /// f(storage index, bytes before this run, run length) for each.
  template <typename F>
  void for_runs(std::size_t at, std::size_t len, F f) const {
    const std::size_t pos = wrap(at);
    const std::size_t first = std::min(len, storage_ - pos);
    if (first > 0) f(pos, std::size_t{0}, first);
    if (first < len) f(std::size_t{0}, first, len - first);
  }
  /// Copies the bytes [offset, offset + dst.size()) past the head, written or not.
  void read(std::size_t offset, std::span<uint8_t> dst) const {
    for_runs(head_ + offset, dst.size(), [&](std::size_t pos, std::size_t done, std::size_t n) {
      std::memcpy(dst.data() + done, buf_.get() + pos, n);
    });
  }
  /// Reallocates to hold at least `end` bytes past the head (end <= capacity):
  /// twice the storage, at least kMinStorage, at most the capacity rounded
  /// up to a power of two; the bytes
  /// written so far move to the start, unwrapped.
  void grow(std::size_t end) {
    // Up to the capacity rounded up to a power of two, so that raising the
    // capacity (auto-tuning) by small steps does not reallocate each time.
    const std::size_t n = std::min(std::bit_ceil(cap_), std::max({end, 2 * storage_, kMinStorage}));
    auto next = std::make_unique_for_overwrite<uint8_t[]>(n);
    read(0, {next.get(), end_});
    buf_ = std::move(next);
    storage_ = n;
    head_ = 0;
  }

  std::unique_ptr<uint8_t[]> buf_;  // storage: the bytes from the head on, wrapping at storage_
  std::size_t storage_ = 0;         // bytes allocated at buf_ (0 <= storage_ <= bit_ceil(cap_))
  std::size_t cap_ = 0;             // logical capacity: committed plus writable bytes
  std::size_t head_ = 0;            // index in buf_ of the first committed byte
  std::size_t len_ = 0;             // committed bytes
  std::size_t end_ = 0;             // bytes from the head to the end of the furthest one written
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

/// One segment the sender has sent and the peer has not cumulatively
/// acknowledged (Linux: an skb in the retransmission queue, with its
/// TCP_SKB_CB(skb)->sacked bits and skb_mstamp).
struct SentSegment {
  enum Flag : uint8_t {
    kSacked = 1,       ///< covered by a SACK block
    kLost = 2,         ///< marked lost (RACK, dupthresh or RTO) and not SACKed since
    kRetrans = 4,      ///< a retransmission of it is in flight (Linux TCPCB_SACKED_RETRANS)
    kEverRetrans = 8,  ///< retransmitted at least once (Linux TCPCB_EVER_RETRANS): no RTT sample
  };
  SeqNumber start;  ///< first sequence number (the FIN counts as one)
  SeqNumber end;    ///< one past the last
  sim::Time xmit;   ///< last (re)transmission
  uint8_t flags = 0;
  [[nodiscard]] uint32_t len() const { return static_cast<uint32_t>(end - start); }
  [[nodiscard]] bool has(uint8_t f) const { return (flags & f) != 0; }
};

/// The sender's segments in flight, in sequence order: a ring whose storage
/// grows (doubling) with the most segments a connection has had in flight
/// and is freed by release(); steady state allocates nothing. Splitting a
/// segment (a retransmission cut to a smaller MSS) shifts the ring's tail.
class SentQueue {
 public:
  static constexpr std::size_t kMinStorage = 8;

  [[nodiscard]] std::size_t size() const { return n_; }
  [[nodiscard]] bool empty() const { return n_ == 0; }
  [[nodiscard]] SentSegment& operator[](std::size_t i) { return buf_[(head_ + i) & mask_]; }
  [[nodiscard]] const SentSegment& operator[](std::size_t i) const { return buf_[(head_ + i) & mask_]; }
  [[nodiscard]] SentSegment& front() { return (*this)[0]; }
  [[nodiscard]] SentSegment& back() { return (*this)[n_ - 1]; }
  /// Bytes of storage held.
  [[nodiscard]] std::size_t storage() const { return (mask_ + (buf_ ? 1 : 0)) * sizeof(SentSegment); }

  void push_back(const SentSegment& s) {
    if (n_ == capacity()) grow();
    buf_[(head_ + n_) & mask_] = s;
    ++n_;
  }
  void pop_front() {
    head_ = (head_ + 1) & mask_;
    --n_;
  }
  void clear() {
    head_ = 0;
    n_ = 0;
  }
  /// Empties the queue and frees its storage.
  void release() {
    clear();
    buf_.reset();
    mask_ = 0;
  }
  /// Index of the first segment whose end is after `s` (size() if none).
  [[nodiscard]] std::size_t lower_bound(SeqNumber s) const {
    std::size_t lo = 0, hi = n_;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if ((*this)[mid].end <= s) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  /// Cuts segment i at `at` (strictly inside it) into two with the same
  /// flags and send time; the second becomes i + 1.
  void split(std::size_t i, SeqNumber at) {
    if (n_ == capacity()) grow();
    ++n_;
    for (std::size_t k = n_ - 1; k > i + 1; --k) (*this)[k] = (*this)[k - 1];
    SentSegment second = (*this)[i];
    second.start = at;
    (*this)[i].end = at;
    (*this)[i + 1] = second;
  }

 private:
  [[nodiscard]] std::size_t capacity() const { return buf_ ? mask_ + 1 : 0; }
  void grow() {
    const std::size_t n = std::max(kMinStorage, 2 * capacity());
    auto next = std::make_unique_for_overwrite<SentSegment[]>(n);
    for (std::size_t i = 0; i < n_; ++i) next[i] = (*this)[i];
    buf_ = std::move(next);
    mask_ = n - 1;
    head_ = 0;
  }

  std::unique_ptr<SentSegment[]> buf_;  // power-of-two storage
  std::size_t mask_ = 0;                // storage - 1
  std::size_t head_ = 0;                // index of the oldest segment
  std::size_t n_ = 0;                   // segments held
};

}  // namespace tcpmig::tcp
