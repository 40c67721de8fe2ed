// Caps how many password hashes run at once. scrypt with N=2^17, r=8 takes 128 MiB and a
// third of a second of one core; a burst of sign-ins must neither exhaust memory nor take
// every worker thread. A caller waits for a slot; when `max_waiting` callers already wait,
// it is refused at once (the API answers 503 with Retry-After) instead of queueing without
// bound. Thread-safe; header-only.
#pragma once

#include <condition_variable>
#include <mutex>

namespace junction::serve {

class hash_gate {
 public:
  hash_gate(int concurrent, int max_waiting)
      : free_(concurrent < 1 ? 1 : concurrent), max_waiting_(max_waiting < 0 ? 0 : max_waiting) {}

  class slot {
   public:
    slot() = default;
    explicit slot(hash_gate* gate) : gate_(gate) {}
    slot(slot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (gate_) gate_->release();
    }
    explicit operator bool() const { return gate_ != nullptr; }
    void release() {
      if (gate_) gate_->release();
      gate_ = nullptr;
    }

   private:
    hash_gate* gate_ = nullptr;
  };

  // A held slot, or an empty one when too many are waiting already.
  slot acquire() {
    std::unique_lock lock(mutex_);
    if (free_ == 0) {
      if (waiting_ >= max_waiting_) return slot();
      ++waiting_;
      freed_.wait(lock, [this] { return free_ > 0; });
      --waiting_;
    }
    --free_;
    return slot(this);
  }

 private:
  void release() {
    {
      std::lock_guard lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable freed_;
  int free_;
  int waiting_ = 0;
  int max_waiting_;
};

}  // namespace junction::serve
