#include "serve/signin_limiter.h"

#include <gtest/gtest.h>

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
  signin_limiter limiter({2, 100, 2});
  limiter.record_failure("a", "alice", 0);
  limiter.record_success("a", "alice");
  limiter.record_failure("a", "alice", 1);
  EXPECT_EQ(limiter.retry_after("a", "alice", 2), 0);
  limiter.record_failure("a", "bob", 2);
  limiter.record_failure("a", "carol", 3);
  // Four failures from address "a" within the window: its overall limit (2 * 2).
  EXPECT_GT(limiter.retry_after("a", "dave", 4), 0);
}

TEST(signin_limiter, memory_stays_bounded_under_many_addresses) {
  signin_limiter limiter({1, 1000, 4, 64});
  for (int i = 0; i < 10000; ++i) limiter.record_failure(std::to_string(i), "x", 5);
  // Still answers, and the most recent address is still limited.
  EXPECT_GT(limiter.retry_after("9999", "x", 6), 0);
}

}  // namespace
}  // namespace junction::serve
