// EventQueue: ordering by (time, seq), O(1) erase, the peek and bounded-pop
// rules, and a randomized differential test against std::map.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "tcpmig/sim/event_queue.hpp"
#include "tcpmig/sim/random.hpp"

namespace {

using tcpmig::sim::Duration;
using tcpmig::sim::EventQueue;
using tcpmig::sim::QueueEntry;
using tcpmig::sim::Rng;
using tcpmig::sim::Time;

struct Entry : QueueEntry {
  int id = 0;
};

Time at(int64_t ns) { return Time::from_ns(ns); }

// Pops everything and returns the ids in order.
std::vector<int> drain(EventQueue& q) {
  std::vector<int> ids;
  while (!q.empty()) ids.push_back(static_cast<Entry&>(q.pop()).id);
  return ids;
}

}  // namespace

TEST_CASE("EventQueue pops by time, then by insertion order") {
  Entry e[6];
  for (int i = 0; i < 6; ++i) e[i].id = i;
  EventQueue q;
  q.push(e[0], at(30));
  q.push(e[1], at(10));
  q.push(e[2], at(20));
  q.push(e[3], at(10));
  q.push(e[4], at(1'000'000'000'000));
  q.push(e[5], at(10));
  CHECK(q.size() == 6);
  CHECK(e[1].seq() < e[3].seq());
  CHECK(drain(q) == std::vector<int>{1, 3, 5, 2, 0, 4});
  CHECK(q.last_popped() == at(1'000'000'000'000));
  for (const Entry& x : e) CHECK_FALSE(x.queued());
}

TEST_CASE("EventQueue keeps many same-time entries FIFO") {
  constexpr int kN = 5000;
  auto e = std::make_unique<Entry[]>(kN);
  EventQueue q;
  Entry first;
  q.push(first, at(1));
  for (int i = 0; i < kN; ++i) {
    e[i].id = i;
    q.push(e[i], at(777));
  }
  CHECK(&q.pop() == &first);
  for (int i = 0; i < kN; ++i) REQUIRE(static_cast<Entry&>(q.pop()).id == i);
  CHECK(q.empty());
}

TEST_CASE("EventQueue: a re-armed entry goes behind entries at the same time") {
  Entry a, b, c;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  EventQueue q;
  q.push(a, at(50));
  q.push(b, at(50));
  q.push(c, at(50));
  q.erase(a);
  q.push(a, at(50));
  CHECK(drain(q) == std::vector<int>{2, 3, 1});
}

TEST_CASE("EventQueue erase removes only that entry, wherever it is") {
  constexpr int kN = 64;
  Entry e[kN];
  EventQueue q;
  for (int i = 0; i < kN; ++i) {
    e[i].id = i;
    q.push(e[i], at(100 + (i % 8) * 1000));
  }
  // Pop one so that the rest are spread over buckets and the current list.
  CHECK(static_cast<Entry&>(q.pop()).id == 0);
  for (int i = 1; i < kN; i += 3) q.erase(e[i]);
  CHECK_FALSE(e[1].queued());
  std::vector<int> expect;
  for (int slot = 0; slot < 8; ++slot) {
    for (int i = slot; i < kN; i += 8) {
      if (i != 0 && i % 3 != 1) expect.push_back(i);
    }
  }
  CHECK(drain(q) == expect);
}

TEST_CASE("EventQueue erase in the current list leaves order intact") {
  Entry e[5];
  EventQueue q;
  for (int i = 0; i < 5; ++i) {
    e[i].id = i;
    q.push(e[i], at(9));
  }
  CHECK(static_cast<Entry&>(q.pop()).id == 0);  // 1..4 are now the current list
  q.erase(e[2]);
  q.erase(e[4]);
  Entry late;
  late.id = 7;
  q.push(late, at(9));
  CHECK(drain(q) == std::vector<int>{1, 3, 7});
}

TEST_CASE("EventQueue top() peeks without committing") {
  Entry a, b;
  a.id = 1;
  b.id = 2;
  EventQueue q;
  CHECK(q.top() == nullptr);
  q.push(a, at(100));
  CHECK(q.top() == &a);
  q.push(b, at(50));  // still legal: nothing was popped
  CHECK(q.top() == &b);
  CHECK(drain(q) == std::vector<int>{2, 1});
}

TEST_CASE("EventQueue pop_if_not_after stops at the limit and changes nothing") {
  Entry a, b, c;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  EventQueue q;
  q.push(a, at(10));
  q.push(b, at(100));
  CHECK(q.pop_if_not_after(at(9)) == nullptr);
  CHECK(q.pop_if_not_after(at(10)) == &a);
  CHECK(q.pop_if_not_after(at(99)) == nullptr);
  q.push(c, at(60));  // between the last pop and the peeked entry
  CHECK(q.pop_if_not_after(at(99)) == &c);
  CHECK(q.pop_if_not_after(at(99)) == nullptr);
  CHECK(q.pop_if_not_after(at(100)) == &b);
  CHECK(q.pop_if_not_after(Time::max()) == nullptr);
}

TEST_CASE("EventQueue handles negative and extreme times") {
  Entry e[4];
  EventQueue q;
  q.push(e[0], Time::max());
  q.push(e[1], at(-5));
  q.push(e[2], Time::from_ns(std::numeric_limits<int64_t>::min()));
  q.push(e[3], at(0));
  for (int i = 0; i < 4; ++i) e[i].id = i;
  CHECK(drain(q) == std::vector<int>{2, 1, 3, 0});
}

TEST_CASE("EventQueue destructor and clear() detach entries") {
  Entry a, b;
  {
    EventQueue q;
    q.push(a, at(1));
    q.push(b, at(2));
    q.clear();
    CHECK(q.empty());
    CHECK_FALSE(a.queued());
    q.push(a, at(3));
    CHECK(a.queued());
  }
  CHECK_FALSE(a.queued());
  CHECK_FALSE(b.queued());
}

TEST_CASE("EventQueue matches a std::map reference over 100k random operations") {
  constexpr int kEntries = 3000;
  constexpr int kOps = 100'000;
  auto e = std::make_unique<Entry[]>(kEntries);
  for (int i = 0; i < kEntries; ++i) e[i].id = i;

  EventQueue q;
  std::map<std::pair<int64_t, uint64_t>, int> ref;  // (time, seq) -> id
  std::vector<int> idle;                            // ids not queued
  for (int i = kEntries; i-- > 0;) idle.push_back(i);
  uint64_t seq = 0;
  int64_t now = 0;
  Rng rng(2024);

  auto random_delay = [&]() -> int64_t {
    switch (rng.below(6)) {
      case 0: return 0;
      case 1: return rng.uniform_int(0, 3);
      case 2: return rng.uniform_int(0, 300);
      case 3: return rng.uniform_int(0, 100'000);
      case 4: return rng.uniform_int(0, 10'000'000'000);
      default: return rng.uniform_int(0, int64_t{1} << 50);
    }
  };
  auto check_pop = [&](QueueEntry* got) {
    REQUIRE(got != nullptr);
    REQUIRE(!ref.empty());
    const auto it = ref.begin();
    auto& x = static_cast<Entry&>(*got);
    REQUIRE(x.id == it->second);
    REQUIRE(x.time().ns() == it->first.first);
    REQUIRE(x.seq() == it->first.second);
    REQUIRE_FALSE(x.queued());
    now = it->first.first;
    ref.erase(it);
    idle.push_back(x.id);
  };

  for (int op = 0; op < kOps; ++op) {
    const uint64_t kind = rng.below(100);
    if (kind < 45 && !idle.empty()) {  // push an idle entry
      const auto k = static_cast<std::size_t>(rng.below(idle.size()));
      const int id = idle[k];
      idle[k] = idle.back();
      idle.pop_back();
      const int64_t t = now + random_delay();
      q.push(e[id], at(t));
      ++seq;
      REQUIRE(e[id].seq() == seq);
      ref.emplace(std::make_pair(t, seq), id);
    } else if (kind < 60 && !ref.empty()) {  // erase a queued entry (or re-arm it)
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng.below(std::min<uint64_t>(ref.size(), 64))));
      if (rng.below(2) == 0) it = std::prev(ref.end());
      const int id = it->second;
      ref.erase(it);
      REQUIRE(e[id].queued());
      q.erase(e[id]);
      REQUIRE_FALSE(e[id].queued());
      if (rng.below(2) == 0) {
        const int64_t t = now + random_delay();
        q.push(e[id], at(t));
        ++seq;
        ref.emplace(std::make_pair(t, seq), id);
      } else {
        idle.push_back(id);
      }
    } else if (kind < 85) {  // pop
      if (ref.empty()) {
        REQUIRE(q.empty());
        continue;
      }
      check_pop(&q.pop());
    } else if (kind < 95) {  // bounded pop
      const int64_t limit = now + random_delay();
      QueueEntry* got = q.pop_if_not_after(at(limit));
      if (ref.empty() || ref.begin()->first.first > limit) {
        REQUIRE(got == nullptr);
      } else {
        check_pop(got);
      }
    } else {  // peek
      QueueEntry* top = q.top();
      if (ref.empty()) {
        REQUIRE(top == nullptr);
      } else {
        REQUIRE(top != nullptr);
        REQUIRE(static_cast<Entry*>(top)->id == ref.begin()->second);
      }
    }
    REQUIRE(q.size() == ref.size());
  }
  while (!ref.empty()) check_pop(&q.pop());
  CHECK(q.empty());
}
