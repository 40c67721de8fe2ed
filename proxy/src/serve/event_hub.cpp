#include <mutex>
#include <unordered_map>

#include "serve/services.h"

namespace junction::serve {

struct event_hub::impl {
  std::mutex mutex;
  std::uint64_t next = 1;
  struct subscription {
    std::int64_t user_id;
    listener fn;
  };
  std::unordered_map<std::uint64_t, subscription> subscriptions;
};

std::shared_ptr<event_hub::impl> event_hub::make() {
  return std::make_shared<impl>();
}

std::uint64_t event_hub::subscribe(std::int64_t user_id, listener l) {
  std::lock_guard lock(impl_->mutex);
  const auto token = impl_->next++;
  impl_->subscriptions.emplace(token, impl::subscription{user_id, std::move(l)});
  return token;
}

void event_hub::unsubscribe(std::uint64_t token) {
  std::lock_guard lock(impl_->mutex);
  impl_->subscriptions.erase(token);
}

void event_hub::publish(std::int64_t user_id, const nlohmann::json& event) {
  // Listeners only queue and return (the contract), so calling them under the lock keeps
  // unsubscribe() from racing with a call in progress.
  std::lock_guard lock(impl_->mutex);
  for (auto& [token, s] : impl_->subscriptions) {
    if (s.user_id == user_id) s.fn(event);
  }
}

}  // namespace junction::serve
