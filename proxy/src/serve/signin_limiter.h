// Slows down password guessing on POST /api/session: failed sign-ins are counted per remote
// address and user name (lower-cased) within a sliding window, and per address overall with
// four times the allowance, so one address cannot spread its guesses over many user names.
// Thread-safe; memory is bounded by `max_keys`. Times are seconds passed in by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace junction::serve {

class signin_limiter {
 public:
  struct settings {
    int failures_allowed = 5;  // per address + user name within the window
    int window_seconds = 900;
    int address_factor = 4;  // per address overall: failures_allowed * address_factor
    std::size_t max_keys = 100000;
  };

  explicit signin_limiter(settings s);

  // 0 when a sign-in attempt may go ahead, else the seconds until it may (for Retry-After).
  std::int64_t retry_after(std::string_view address, std::string_view user_name, std::int64_t now);
  void record_failure(std::string_view address, std::string_view user_name, std::int64_t now);
  // Forgets the failures of this address + user name (not the address's overall count).
  void record_success(std::string_view address, std::string_view user_name);

 private:
  // Times of the most recent failures, oldest first, at most `limit` of them.
  using failures = std::deque<std::int64_t>;

  std::int64_t wait_for(const std::string& key, int limit, std::int64_t now);
  void add(const std::string& key, int limit, std::int64_t now);
  void make_room(std::int64_t now);

  settings settings_;
  std::mutex mutex_;
  std::unordered_map<std::string, failures> failures_;
};

}  // namespace junction::serve
