#include "serve/signin_limiter.h"

#include <algorithm>

namespace junction::serve {

namespace {

std::string user_key(std::string_view address, std::string_view user_name) {
  std::string key = "u:";
  key.append(address);
  key.push_back('\0');
  for (char c : user_name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    key.push_back(c);
  }
  return key;
}

std::string address_key(std::string_view address) {
  return "a:" + std::string(address);
}

}  // namespace

signin_limiter::signin_limiter(settings s) : settings_(s) {
  settings_.failures_allowed = std::max(1, settings_.failures_allowed);
  settings_.window_seconds = std::max(1, settings_.window_seconds);
  settings_.address_factor = std::max(1, settings_.address_factor);
}

std::int64_t signin_limiter::wait_for(const std::string& key, int limit, std::int64_t now) {
  const auto found = failures_.find(key);
  if (found == failures_.end()) return 0;
  failures& times = found->second;
  while (!times.empty() && times.front() + settings_.window_seconds <= now) times.pop_front();
  if (times.empty()) {
    failures_.erase(found);
    return 0;
  }
  if (times.size() < static_cast<std::size_t>(limit)) return 0;
  // The oldest of the last `limit` failures leaves the window first.
  return std::max<std::int64_t>(1, times.front() + settings_.window_seconds - now);
}

std::int64_t signin_limiter::retry_after(std::string_view address, std::string_view user_name,
                                         std::int64_t now) {
  std::lock_guard lock(mutex_);
  return std::max(
      wait_for(user_key(address, user_name), settings_.failures_allowed, now),
      wait_for(address_key(address), settings_.failures_allowed * settings_.address_factor, now));
}

void signin_limiter::add(const std::string& key, int limit, std::int64_t now) {
  auto found = failures_.find(key);
  if (found == failures_.end()) {
    make_room(now);
    found = failures_.emplace(key, failures{}).first;
  }
  failures& times = found->second;
  times.push_back(now);
  while (times.size() > static_cast<std::size_t>(limit)) times.pop_front();
}

void signin_limiter::make_room(std::int64_t now) {
  if (failures_.size() < settings_.max_keys) return;
  std::erase_if(failures_, [&](const auto& entry) {
    return entry.second.empty() || entry.second.back() + settings_.window_seconds <= now;
  });
  // Still full of live entries (many addresses guessing at once): forget an arbitrary half
  // rather than grow without bound.
  if (failures_.size() >= settings_.max_keys) {
    std::size_t to_drop = failures_.size() / 2 + 1;
    for (auto it = failures_.begin(); it != failures_.end() && to_drop > 0; --to_drop) {
      it = failures_.erase(it);
    }
  }
}

void signin_limiter::record_failure(std::string_view address, std::string_view user_name,
                                    std::int64_t now) {
  std::lock_guard lock(mutex_);
  add(user_key(address, user_name), settings_.failures_allowed, now);
  add(address_key(address), settings_.failures_allowed * settings_.address_factor, now);
}

void signin_limiter::record_success(std::string_view address, std::string_view user_name) {
  std::lock_guard lock(mutex_);
  failures_.erase(user_key(address, user_name));
}

}  // namespace junction::serve
