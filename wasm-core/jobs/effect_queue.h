// The effects a job has decided on and not yet handed to its driver, and the answer the
// driver owes for the last one handed out: the half of the driver contract (effects.h) that
// every job (retrieval, send) shares.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "jobs/effects.h"

namespace junction::jobs {

class effect_queue {
 public:
  // The answers an effect can be owed: connect → on_connected, receive → on_data / on_eof,
  // start_tls → on_tls_started, commit → on_committed, save_state → on_state_saved.
  enum class answer { none, connect, data, tls, commit, state };

  // An effect with its strings owned (the view handed out points into it).
  struct owned_effect {
    effect::type kind = effect::type::done;
    std::string host, bytes, folder, key;
    std::uint16_t port = 0;
    tls_mode tls = tls_mode::none;
    std::uint64_t delivery = 0;
    unsigned flags = 0;
    std::int64_t internal_date = 0;
    std::uint64_t done_count = 0, total = 0;
  };

  // Hands out the first queued effect and notes the answer it expects. With nothing queued
  // it is the final effect, done when `ok` else failed: a finished run keeps answering with
  // it. The view stays valid until the next call.
  effect next(bool ok);

  // True when the driver's answer is the one owed (it is then settled); false for an answer
  // nobody asked for, which the job ignores.
  bool settle(answer given) {
    if (owed_ != given) return false;
    owed_ = answer::none;
    return true;
  }
  // A failure report settles whatever was owed.
  void settle_any() { owed_ = answer::none; }
  // True when an answer is still owed (a driver that called next() too early).
  bool owes_answer() const { return owed_ != answer::none; }

  bool empty() const { return queue_.empty(); }
  // The last effect queued, to extend it (nullptr when none is).
  owned_effect* back() { return queue_.empty() ? nullptr : &queue_.back(); }
  void clear() { queue_.clear(); }

  void push(owned_effect e) { queue_.push_back(std::move(e)); }
  void push(effect::type kind) { queue_.push_back(owned_effect{kind}); }
  void push_connect(std::string_view host, std::uint16_t port, tls_mode tls);
  // Joins a send still queued: one write per exchange (delayed-ACK stalls otherwise).
  void push_send(std::string_view bytes);
  void push_progress(std::string_view folder, std::uint64_t done, std::uint64_t total);

 private:
  std::deque<owned_effect> queue_;
  owned_effect current_;
  answer owed_ = answer::none;
};

}  // namespace junction::jobs
