// Slows down password guessing on POST /api/session (and the old password of POST
// /api/password). Failed attempts are counted within a sliding window in four buckets:
//
//   pair     network + user name (lower-cased)        failures_allowed
//   address  the exact remote address                  failures_allowed * address_factor
//   network  the IPv6 /64 (IPv4: the address)          failures_allowed * network_factor
//   user     the user name, from every address         failures_allowed * user_factor
//
// An attempt is refused while any of its buckets is full. The user bucket stops a guesser who
// spreads over many addresses, but would also lock the real user out; so the user keeps a
// reserve: from a network where this user name signed in successfully before (the last
// `trusted_per_user` such networks are remembered), the user bucket is not consulted, and
// only the pair bucket (failures_allowed) limits. An attacker shares that reserve only by
// guessing from the user's own network.
//
// The race between "may I?" and "it failed" is closed by reserving: begin() counts the attempt
// as a failure in every bucket before the password is hashed; succeeded() takes it back. At
// most `in_flight_per_user` attempts per user name are hashed at once; more are refused for a
// second, so a burst against one user holds no more than that many hashing slots.
//
// Memory is bounded by `max_keys`. When the table is full, expired entries go first, then the
// least-recently-used entries that are not at their limit; an entry at its limit (one that is
// refusing someone) stays until its failures leave the window. When every entry is at its
// limit, a new key is refused (Retry-After: the window) rather than an attacker forgotten, so
// the table cannot be flushed by filling it. State is in memory: a restart forgets it.
//
// Thread-safe. Times are seconds passed in by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace junction::serve {

// The key that connection and attempt counts share for a client address: the address itself
// for IPv4 (an IPv4-mapped IPv6 address counts as IPv4), the /64 prefix for IPv6 (one
// customer's allocation), the text as given for anything unparsable.
std::string network_of(std::string_view address);

class signin_limiter {
 public:
  struct settings {
    int failures_allowed = 5;  // per network + user name within the window
    int window_seconds = 900;
    int address_factor = 4;   // per address overall
    int network_factor = 16;  // per IPv6 /64 overall
    int user_factor = 4;      // per user name, from all addresses
    std::size_t max_keys = 100000;
    int in_flight_per_user = 2;
    std::size_t trusted_per_user = 8;
  };

  // One sign-in attempt, reserved in every bucket. Destroyed without succeeded(): a failure.
  class attempt {
   public:
    attempt() = default;
    attempt(attempt&& other) noexcept { *this = std::move(other); }
    attempt& operator=(attempt&& other) noexcept;
    ~attempt();

    // 0 when the attempt may go ahead, else the seconds to wait (for Retry-After).
    std::int64_t retry_after() const { return retry_after_; }
    void succeeded();

   private:
    friend class signin_limiter;
    signin_limiter* owner_ = nullptr;  // set while reserved
    std::string address_;
    std::string user_;
    std::int64_t at_ = 0;
    std::int64_t retry_after_ = 0;
  };

  explicit signin_limiter(settings s);

  // Checks and, when allowed, reserves in one step.
  attempt begin(std::string_view address, std::string_view user_name, std::int64_t now);

  // Without reserving (tests, and callers that record afterwards).
  std::int64_t retry_after(std::string_view address, std::string_view user_name, std::int64_t now);
  void record_failure(std::string_view address, std::string_view user_name, std::int64_t now);
  // Forgets the pair's failures (not the address's, network's or user's overall counts) and
  // remembers the network as one the user signs in from.
  void record_success(std::string_view address, std::string_view user_name, std::int64_t now);

  std::size_t size();  // entries held, for tests

 private:
  struct entry {
    std::deque<std::int64_t> times;  // the most recent failures, oldest first, at most `limit`
    int limit = 0;
    std::int64_t used = 0;  // last change
  };
  struct keys {
    std::string pair, address, network, user;
  };
  struct trusted {
    std::string network;
    std::int64_t at = 0;
  };

  keys keys_of(std::string_view address, std::string_view user_name) const;
  std::int64_t wait_locked(const keys& k, const std::string& user, std::int64_t now);
  std::int64_t wait_for(const std::string& key, std::int64_t now);
  // false when no room can be made (every entry is at its limit)
  bool add(const std::string& key, int limit, std::int64_t now);
  bool make_room(std::int64_t now);
  void take_back(const std::string& key, std::int64_t at);
  void finish(attempt& a, bool success);
  void remember_success_locked(const keys& k, const std::string& user, std::int64_t now);
  bool is_trusted(const std::string& user, const std::string& network) const;

  settings settings_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::unordered_map<std::string, int> in_flight_;                 // user → attempts
  std::unordered_map<std::string, std::vector<trusted>> trusted_;  // user → networks
};

}  // namespace junction::serve
