// One retrieval run of a task (POP3 or IMAP), as a state machine emitting effects.
//
// Driver contract: call next() and carry out the effect. Effects that expect an answer
// (connect, receive, start_tls, commit, save_state) must be answered with the matching on_*()
// call before next() is called again; the others need none. A run ends with `done` or
// `failed`; summary() then holds the counts and the reason.
//
// Nothing lost, nothing doubled (ARCHITECTURE.md): a message is deleted at the source, and
// recorded as retrieved in the saved state, only after a commit reported it stored. Every
// delivery carries a key naming its source, so a re-run after a crash between the commit and
// the state save is recognised by the mailbox as already had.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/effect_queue.h"
#include "jobs/effects.h"
#include "model/retrieval_task.h"

namespace junction::jobs {

struct retrieval_options {
  // Names the task's source in delivery keys; stable for the task's life (the account
  // store's task id, or a hash of type, server, port and user for a task file).
  std::string task_key;
  // Test Connection: connect, TLS, log in, count messages or folders; retrieve nothing.
  bool check_only = false;
  // Group commit: deliveries are made durable together in batches of at most this many
  // messages or bytes.
  std::size_t batch_messages = 200;
  std::uint64_t batch_bytes = 32ull << 20;
};

class retrieval_job {
 public:
  // `state` is the document the last run saved (empty for a first run).
  static std::unique_ptr<retrieval_job> create(const model::retrieval_task& task,
                                               retrieval_options options, std::string_view state);
  virtual ~retrieval_job() = default;

  effect next();

  void on_connected();
  void on_tls_started();
  void on_data(std::string_view bytes);
  void on_eof();
  // connect, start_tls or the connection failed.
  void on_failure(failure_kind kind, std::string message);
  void on_committed(const std::vector<delivery_result>& results);
  void on_state_saved();
  // Ask the run to stop at the next safe point (nothing half-done is recorded).
  void cancel() { cancel_requested_ = true; }

  const run_summary& summary() const { return summary_; }

 protected:
  retrieval_job(const model::retrieval_task& task, retrieval_options options);

  // Subclass hooks.
  // Queue the first effects: by default, connect as the task says (implicit TLS for "ssl").
  virtual void start();
  virtual void on_connection_up() { emit_receive(); }  // after connect: wait for a greeting
  virtual void on_tls_up() = 0;                        // after start_tls
  virtual void feed_engine(std::string_view bytes) = 0;
  virtual void feed_engine_eof() = 0;
  virtual void pump() = 0;  // process engine events until an effect is queued
  virtual void on_commit_results(const std::vector<delivery_result>& results) = 0;
  virtual void on_state_stored() = 0;

  // Moves what an engine has to write into a send effect.
  template <class Engine>
  void flush_output(Engine& engine) {
    auto out = engine.pending_output();
    if (out.empty()) return;
    emit_send(out);
    engine.consume_output(out.size());
  }

  // The batch entry a commit result belongs to, counted as new or already had in `counts`;
  // nullptr when it is not in the batch, or when it failed (the run is then failed: check
  // finished()).
  template <class Entry>
  Entry* committed(std::vector<Entry>& batch, const delivery_result& result,
                   folder_summary& counts) {
    for (auto& entry : batch) {
      if (entry.delivery != result.delivery) continue;
      if (result.status == delivery_status::failed) {
        fail(failure_kind::mailbox, "could not store a message: " + result.error);
        return nullptr;
      }
      ++(result.status == delivery_status::stored ? counts.new_messages : counts.already_had);
      return &entry;
    }
    return nullptr;
  }

  // Effect builders. Strings are copied into the queue.
  void emit_connect(std::string_view host, std::uint16_t port, tls_mode tls);
  void emit_send(std::string_view bytes);
  void emit_receive();
  void emit_start_tls();
  std::uint64_t emit_deliver_begin(std::string_view folder);
  void emit_deliver_data(std::uint64_t delivery, std::string_view bytes);
  void emit_deliver_end(std::uint64_t delivery, std::string_view key, unsigned flags,
                        std::int64_t internal_date);
  void emit_deliver_abort(std::uint64_t delivery);
  void emit_commit();
  void emit_save_state(std::string state);
  void emit_progress(std::string_view folder, std::uint64_t done, std::uint64_t total);
  void finish_ok(std::string message);
  void fail(failure_kind kind, std::string message);

  bool finished() const { return finished_; }
  bool has_effects() const { return !effects_.empty(); }
  bool cancel_requested() const { return cancel_requested_; }
  folder_summary& folder_counts(std::string_view folder);
  // The delivery key of a message: a digest of the task key and the message's source id.
  std::string delivery_key(std::string_view source_id) const;

  model::retrieval_task task_;
  retrieval_options options_;
  run_summary summary_;

 private:
  using owned_effect = effect_queue::owned_effect;

  effect_queue effects_;
  bool started_ = false;
  bool finished_ = false;
  bool cancel_requested_ = false;
  std::uint64_t next_delivery_ = 1;
};

}  // namespace junction::jobs
