#include "serve/signin_limiter.h"

#include "serve/hash_gate.h"

#include <gtest/gtest.h>

#include <vector>

namespace junction::serve {
namespace {

TEST(signin_limiter, allows_until_the_limit_then_says_how_long_to_wait) {
  signin_limiter limiter({3, 100});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.retry_after("192.0.2.1", "alice", 1000 + i), 0);
    limiter.record_failure("192.0.2.1", "alice", 1000 + i);
  }
  // The first failure (at 1000) leaves the window at 1100.
  EXPECT_EQ(limiter.retry_after("192.0.2.1", "ALICE", 1010), 90);
  EXPECT_EQ(limiter.retry_after("192.0.2.1", "alice", 1100), 0);
  // Another address or another user is not affected.
  EXPECT_EQ(limiter.retry_after("192.0.2.2", "alice", 1010), 0);
  EXPECT_EQ(limiter.retry_after("192.0.2.1", "bob", 1010), 0);
}

TEST(signin_limiter, success_forgets_the_users_failures_but_not_the_addresss) {
  signin_limiter::settings s;
  s.failures_allowed = 2;
  s.window_seconds = 100;
  s.address_factor = 2;
  signin_limiter limiter(s);
  limiter.record_failure("192.0.2.1", "alice", 0);
  limiter.record_success("192.0.2.1", "alice", 0);
  limiter.record_failure("192.0.2.1", "alice", 1);
  EXPECT_EQ(limiter.retry_after("192.0.2.1", "alice", 2), 0);
  limiter.record_failure("192.0.2.1", "bob", 2);
  limiter.record_failure("192.0.2.1", "carol", 3);
  // Four failures from the address within the window: its overall limit (2 * 2).
  EXPECT_GT(limiter.retry_after("192.0.2.1", "dave", 4), 0);
}

TEST(signin_limiter, concurrent_attempts_are_reserved_before_the_password_is_checked) {
  // Before: every attempt that asked before any had failed was let through.
  signin_limiter limiter({3, 100});
  std::vector<signin_limiter::attempt> in_progress;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    signin_limiter::attempt a = limiter.begin("192.0.2.1", "alice", 10);
    if (a.retry_after() == 0) {
      ++admitted;
      in_progress.push_back(std::move(a));
    }
  }
  // At most two hash at once for one user; each reserved attempt counts as a failure.
  EXPECT_EQ(admitted, 2);
  in_progress.clear();                                                  // both failed
  EXPECT_EQ(limiter.begin("192.0.2.1", "alice", 11).retry_after(), 0);  // the third, failed
  EXPECT_GT(limiter.begin("192.0.2.1", "alice", 12).retry_after(), 0);
  // A success takes its reservation back.
  signin_limiter::attempt ok = limiter.begin("192.0.2.9", "bob", 12);
  ASSERT_EQ(ok.retry_after(), 0);
  ok.succeeded();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.begin("192.0.2.9", "bob", 13).retry_after(), 0);
  EXPECT_GT(limiter.begin("192.0.2.9", "bob", 13).retry_after(), 0);
}

TEST(signin_limiter, the_user_bucket_spans_addresses_and_the_users_network_keeps_a_reserve) {
  signin_limiter limiter({2, 100});  // pair 2, user 8
  limiter.record_success("198.51.100.7", "alice", 0);
  for (int i = 0; i < 8; ++i) limiter.record_failure("203.0.113." + std::to_string(i), "alice", 1);
  EXPECT_GT(limiter.retry_after("203.0.113.100", "alice", 2), 0);
  EXPECT_EQ(limiter.retry_after("198.51.100.7", "alice", 2), 0);
  // The reserve is bounded by the pair bucket.
  limiter.record_failure("198.51.100.7", "alice", 2);
  limiter.record_failure("198.51.100.7", "alice", 2);
  EXPECT_GT(limiter.retry_after("198.51.100.7", "alice", 3), 0);
}

TEST(signin_limiter, ipv6_addresses_of_one_slash_64_share_the_network_bucket) {
  EXPECT_EQ(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_NE(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:3::1"));
  EXPECT_EQ(network_of("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(network_of("192.0.2.1"), "192.0.2.1");
  signin_limiter limiter({1, 100});  // network: 16
  for (int i = 0; i < 16; ++i) {
    limiter.record_failure("2001:db8:1:2::" + std::to_string(i + 1), "u" + std::to_string(i), 0);
  }
  EXPECT_GT(limiter.retry_after("2001:db8:1:2::abcd", "someone", 1), 0);
  EXPECT_EQ(limiter.retry_after("2001:db8:1:3::1", "someone", 1), 0);
}

TEST(signin_limiter, filling_the_table_does_not_free_a_blocked_address) {
  signin_limiter::settings s;
  s.failures_allowed = 2;
  s.window_seconds = 1000;
  s.max_keys = 64;
  signin_limiter limiter(s);
  limiter.record_failure("192.0.2.1", "alice", 5);
  limiter.record_failure("192.0.2.1", "alice", 5);
  ASSERT_GT(limiter.retry_after("192.0.2.1", "alice", 6), 0);
  // Before: the table dropped an arbitrary half once full, and this address with it.
  for (int i = 0; i < 10000; ++i) {
    limiter.record_failure("10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1",
                           "x" + std::to_string(i), 6);
  }
  EXPECT_LE(limiter.size(), 64u);
  EXPECT_GT(limiter.retry_after("192.0.2.1", "alice", 7), 0);
}

TEST(signin_limiter, a_table_full_of_blocked_entries_refuses_new_keys) {
  signin_limiter::settings s;
  s.failures_allowed = 1;
  s.address_factor = 1;
  s.network_factor = 1;
  s.user_factor = 1;
  s.window_seconds = 1000;
  s.max_keys = 8;
  signin_limiter limiter(s);
  for (int i = 0; i < 2; ++i) {
    limiter.record_failure("192.0.2." + std::to_string(i), "u" + std::to_string(i), 0);
  }
  // Every entry is at its limit now: a new key is refused rather than one forgotten.
  EXPECT_EQ(limiter.begin("192.0.2.99", "new", 1).retry_after(), 1000);
  EXPECT_GT(limiter.retry_after("192.0.2.0", "u0", 1), 0);
}

TEST(hash_gate, refuses_at_once_when_the_slots_are_taken_and_enough_wait) {
  hash_gate gate(1, 0);
  hash_gate::slot first = gate.acquire();
  ASSERT_TRUE(first);
  EXPECT_FALSE(gate.acquire());  // nobody may wait: refused, not blocked
  first.release();
  EXPECT_TRUE(gate.acquire());
}

}  // namespace
}  // namespace junction::serve
