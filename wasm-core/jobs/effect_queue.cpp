#include "jobs/effect_queue.h"

#include <utility>

namespace junction::jobs {

effect effect_queue::next(bool ok) {
  if (queue_.empty()) {
    current_ = owned_effect{};
    current_.kind = ok ? effect::type::done : effect::type::failed;
  } else {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    switch (current_.kind) {
      case effect::type::connect:
        owed_ = answer::connect;
        break;
      case effect::type::receive:
        owed_ = answer::data;
        break;
      case effect::type::start_tls:
        owed_ = answer::tls;
        break;
      case effect::type::commit:
        owed_ = answer::commit;
        break;
      case effect::type::save_state:
        owed_ = answer::state;
        break;
      default:
        break;
    }
  }
  effect v;
  v.kind = current_.kind;
  v.host = current_.host;
  v.port = current_.port;
  v.tls = current_.tls;
  v.bytes = current_.bytes;
  v.delivery = current_.delivery;
  v.folder = current_.folder;
  v.key = current_.key;
  v.flags = current_.flags;
  v.internal_date = current_.internal_date;
  v.done_count = current_.done_count;
  v.total = current_.total;
  return v;
}

void effect_queue::push_connect(std::string_view host, std::uint16_t port, tls_mode tls) {
  owned_effect e{effect::type::connect};
  e.host = host;
  e.port = port;
  e.tls = tls;
  push(std::move(e));
}

void effect_queue::push_send(std::string_view bytes) {
  if (!queue_.empty() && queue_.back().kind == effect::type::send) {
    queue_.back().bytes.append(bytes);
    return;
  }
  owned_effect e{effect::type::send};
  e.bytes = bytes;
  push(std::move(e));
}

void effect_queue::push_progress(std::string_view folder, std::uint64_t done, std::uint64_t total) {
  owned_effect e{effect::type::progress};
  e.folder = folder;
  e.done_count = done;
  e.total = total;
  push(std::move(e));
}

}  // namespace junction::jobs
