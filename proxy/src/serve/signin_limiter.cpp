#include "serve/signin_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace junction::serve {

namespace {

std::string lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string network_of(std::string_view address) {
  const std::string text(address.substr(0, 100));
  unsigned char bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) return text;
  if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return text;
  static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[64];
  if (std::equal(mapped, mapped + 12, bytes)) {
    std::snprintf(out, sizeof out, "%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
    return out;
  }
  std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", bytes[0], bytes[1],
                bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
  return out;
}

// ---------------------------------------------------------------------------------------------

signin_limiter::attempt& signin_limiter::attempt::operator=(attempt&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->finish(*this, false);
    owner_ = other.owner_;
    address_ = std::move(other.address_);
    user_ = std::move(other.user_);
    at_ = other.at_;
    retry_after_ = other.retry_after_;
    other.owner_ = nullptr;
  }
  return *this;
}

signin_limiter::attempt::~attempt() {
  if (owner_) owner_->finish(*this, false);
}

void signin_limiter::attempt::succeeded() {
  if (owner_) owner_->finish(*this, true);
}

signin_limiter::signin_limiter(settings s) : settings_(s) {
  settings_.failures_allowed = std::max(1, settings_.failures_allowed);
  settings_.window_seconds = std::max(1, settings_.window_seconds);
  settings_.address_factor = std::max(1, settings_.address_factor);
  settings_.network_factor = std::max(settings_.address_factor, settings_.network_factor);
  settings_.user_factor = std::max(1, settings_.user_factor);
  settings_.in_flight_per_user = std::max(1, settings_.in_flight_per_user);
  settings_.max_keys = std::max<std::size_t>(8, settings_.max_keys);
}

signin_limiter::keys signin_limiter::keys_of(std::string_view address,
                                             std::string_view user_name) const {
  const std::string network = network_of(address);
  const std::string user = lower(user_name);
  keys k;
  k.pair = "p:" + network + '\0' + user;
  k.address = "a:" + std::string(address);
  k.network = "n:" + network;
  k.user = "u:" + user;
  return k;
}

std::int64_t signin_limiter::wait_for(const std::string& key, std::int64_t now) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return 0;
  auto& times = found->second.times;
  while (!times.empty() && times.front() + settings_.window_seconds <= now) times.pop_front();
  if (times.empty()) {
    entries_.erase(found);
    return 0;
  }
  if (times.size() < static_cast<std::size_t>(found->second.limit)) return 0;
  // The oldest of the last `limit` failures leaves the window first.
  return std::max<std::int64_t>(1, times.front() + settings_.window_seconds - now);
}

bool signin_limiter::is_trusted(const std::string& user, const std::string& network) const {
  const auto found = trusted_.find(user);
  if (found == trusted_.end()) return false;
  return std::any_of(found->second.begin(), found->second.end(),
                     [&](const trusted& t) { return t.network == network; });
}

std::int64_t signin_limiter::wait_locked(const keys& k, const std::string& user, std::int64_t now) {
  std::int64_t wait =
      std::max({wait_for(k.pair, now), wait_for(k.address, now), wait_for(k.network, now)});
  const std::int64_t user_wait = wait_for(k.user, now);
  if (user_wait > 0 && !is_trusted(user, k.network.substr(2))) wait = std::max(wait, user_wait);
  return wait;
}

std::int64_t signin_limiter::retry_after(std::string_view address, std::string_view user_name,
                                         std::int64_t now) {
  const keys k = keys_of(address, user_name);
  std::lock_guard lock(mutex_);
  return wait_locked(k, lower(user_name), now);
}

bool signin_limiter::make_room(std::int64_t now) {
  if (entries_.size() < settings_.max_keys) return true;
  std::erase_if(entries_, [&](const auto& e) {
    return e.second.times.empty() || e.second.times.back() + settings_.window_seconds <= now;
  });
  if (entries_.size() < settings_.max_keys) return true;
  // Forget about an eighth of the table: the least recently used of the entries that refuse
  // nobody yet. Entries at their limit are kept, so filling the table frees no attacker.
  std::vector<std::pair<std::int64_t, const std::string*>> candidates;
  for (const auto& [key, e] : entries_) {
    if (e.times.size() < static_cast<std::size_t>(e.limit)) candidates.push_back({e.used, &key});
  }
  if (candidates.empty()) return false;
  const std::size_t drop = std::min(candidates.size(), settings_.max_keys / 8 + 1);
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                   candidates.end());
  std::vector<std::string> victims;
  victims.reserve(drop);
  for (std::size_t i = 0; i < drop; ++i) victims.push_back(*candidates[i].second);
  for (const auto& key : victims) entries_.erase(key);
  return true;
}

bool signin_limiter::add(const std::string& key, int limit, std::int64_t now) {
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    if (!make_room(now)) return false;
    found = entries_.emplace(key, entry{}).first;
  }
  entry& e = found->second;
  e.limit = limit;
  e.used = now;
  e.times.push_back(now);
  while (e.times.size() > static_cast<std::size_t>(limit)) e.times.pop_front();
  return true;
}

void signin_limiter::take_back(const std::string& key, std::int64_t at) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return;
  auto& times = found->second.times;
  const auto it = std::find(times.rbegin(), times.rend(), at);
  if (it != times.rend()) times.erase(std::next(it).base());
  if (times.empty()) entries_.erase(found);
}

signin_limiter::attempt signin_limiter::begin(std::string_view address, std::string_view user_name,
                                              std::int64_t now) {
  const keys k = keys_of(address, user_name);
  const std::string user = lower(user_name);
  attempt a;
  std::lock_guard lock(mutex_);
  a.retry_after_ = wait_locked(k, user, now);
  if (a.retry_after_ > 0) return a;
  int& in_flight = in_flight_[user];
  if (in_flight >= settings_.in_flight_per_user) {
    a.retry_after_ = 1;
    return a;
  }
  const int f = settings_.failures_allowed;
  // Reserve in every bucket. A bucket that cannot be added (table full of entries at their
  // limit) refuses the attempt; the buckets already added keep their reservation.
  if (!add(k.pair, f, now) || !add(k.address, f * settings_.address_factor, now) ||
      !add(k.network, f * settings_.network_factor, now) ||
      !add(k.user, f * settings_.user_factor, now)) {
    if (in_flight == 0) in_flight_.erase(user);
    a.retry_after_ = settings_.window_seconds;
    return a;
  }
  ++in_flight;
  a.owner_ = this;
  a.address_ = std::string(address);
  a.user_ = std::string(user_name);
  a.at_ = now;
  return a;
}

void signin_limiter::finish(attempt& a, bool success) {
  a.owner_ = nullptr;
  const keys k = keys_of(a.address_, a.user_);
  const std::string user = lower(a.user_);
  std::lock_guard lock(mutex_);
  if (auto found = in_flight_.find(user); found != in_flight_.end() && --found->second <= 0) {
    in_flight_.erase(found);
  }
  if (!success) return;
  take_back(k.address, a.at_);
  take_back(k.network, a.at_);
  take_back(k.user, a.at_);
  remember_success_locked(k, user, a.at_);
}

void signin_limiter::remember_success_locked(const keys& k, const std::string& user,
                                             std::int64_t now) {
  entries_.erase(k.pair);
  const std::string network = k.network.substr(2);
  auto& networks = trusted_[user];
  std::erase_if(networks, [&](const trusted& t) { return t.network == network; });
  networks.push_back({network, now});
  if (networks.size() > settings_.trusted_per_user) networks.erase(networks.begin());
  if (trusted_.size() > settings_.max_keys) {
    // Bounded too; only successful sign-ins add here, so strangers cannot fill it.
    auto oldest = trusted_.begin();
    for (auto it = trusted_.begin(); it != trusted_.end(); ++it) {
      if (it->second.back().at < oldest->second.back().at) oldest = it;
    }
    trusted_.erase(oldest);
  }
}

void signin_limiter::record_failure(std::string_view address, std::string_view user_name,
                                    std::int64_t now) {
  const keys k = keys_of(address, user_name);
  const int f = settings_.failures_allowed;
  std::lock_guard lock(mutex_);
  add(k.pair, f, now);
  add(k.address, f * settings_.address_factor, now);
  add(k.network, f * settings_.network_factor, now);
  add(k.user, f * settings_.user_factor, now);
}

void signin_limiter::record_success(std::string_view address, std::string_view user_name,
                                    std::int64_t now) {
  const keys k = keys_of(address, user_name);
  std::lock_guard lock(mutex_);
  remember_success_locked(k, lower(user_name), now);
}

std::size_t signin_limiter::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace junction::serve
