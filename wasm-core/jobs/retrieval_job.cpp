#include "jobs/retrieval_job.h"

#include "common/digest.h"
#include "jobs/imap_retrieval.h"
#include "jobs/pop3_retrieval.h"

namespace junction::jobs {

std::string_view to_string(failure_kind kind) {
  switch (kind) {
    case failure_kind::none:
      return "none";
    case failure_kind::config:
      return "config";
    case failure_kind::dns:
      return "dns";
    case failure_kind::refused:
      return "refused";
    case failure_kind::timeout:
      return "timeout";
    case failure_kind::tls:
      return "tls";
    case failure_kind::certificate:
      return "certificate";
    case failure_kind::encryption_required:
      return "encryption_required";
    case failure_kind::login:
      return "login";
    case failure_kind::protocol:
      return "protocol";
    case failure_kind::connection:
      return "connection";
    case failure_kind::mailbox:
      return "mailbox";
    case failure_kind::cancelled:
      return "cancelled";
    case failure_kind::rejected:
      return "rejected";
  }
  return "unknown";
}

std::unique_ptr<retrieval_job> retrieval_job::create(const model::retrieval_task& task,
                                                     retrieval_options options,
                                                     std::string_view state) {
  if (task.type == model::retrieval_type::imap) {
    return std::make_unique<imap_retrieval>(task, std::move(options), state);
  }
  return std::make_unique<pop3_retrieval>(task, std::move(options), state);
}

retrieval_job::retrieval_job(const model::retrieval_task& task, retrieval_options options)
    : task_(task), options_(std::move(options)) {}

effect retrieval_job::next() {
  if (effects_.owes_answer()) {
    // The driver skipped an answer: that is a bug in the driver, and the run cannot go on.
    effects_.settle_any();
    fail(failure_kind::protocol, "internal: next() called before the previous effect was answered");
  }
  if (!started_) {
    started_ = true;
    start();
  }
  if (effects_.empty() && !finished_) pump();
  return effects_.next(summary_.ok);
}

void retrieval_job::on_connected() {
  if (finished_ || !effects_.settle(effect_queue::answer::connect)) return;
  on_connection_up();
}

void retrieval_job::on_tls_started() {
  if (finished_ || !effects_.settle(effect_queue::answer::tls)) return;
  on_tls_up();
}

void retrieval_job::on_data(std::string_view bytes) {
  if (finished_ || !effects_.settle(effect_queue::answer::data)) return;
  feed_engine(bytes);
}

void retrieval_job::on_eof() {
  if (finished_ || !effects_.settle(effect_queue::answer::data)) return;
  feed_engine_eof();
}

void retrieval_job::on_failure(failure_kind kind, std::string message) {
  effects_.settle_any();
  if (finished_) return;
  fail(kind, std::move(message));
}

void retrieval_job::on_committed(const std::vector<delivery_result>& results) {
  if (finished_ || !effects_.settle(effect_queue::answer::commit)) return;
  on_commit_results(results);
}

void retrieval_job::on_state_saved() {
  if (finished_ || !effects_.settle(effect_queue::answer::state)) return;
  on_state_stored();
}

void retrieval_job::start() {
  emit_connect(task_.server, task_.effective_port(),
               task_.encryption == model::encryption::ssl ? tls_mode::implicit : tls_mode::none);
}

void retrieval_job::emit_connect(std::string_view host, std::uint16_t port, tls_mode tls) {
  effects_.push_connect(host, port, tls);
}

void retrieval_job::emit_send(std::string_view bytes) {
  effects_.push_send(bytes);
}

void retrieval_job::emit_receive() {
  effects_.push(effect::type::receive);
}
void retrieval_job::emit_start_tls() {
  effects_.push(effect::type::start_tls);
}

std::uint64_t retrieval_job::emit_deliver_begin(std::string_view folder) {
  owned_effect e{effect::type::deliver_begin};
  e.delivery = next_delivery_++;
  e.folder = folder;
  effects_.push(std::move(e));
  return next_delivery_ - 1;
}

void retrieval_job::emit_deliver_data(std::uint64_t delivery, std::string_view bytes) {
  if (bytes.empty()) return;
  owned_effect* last = effects_.back();
  if (last != nullptr && last->kind == effect::type::deliver_data && last->delivery == delivery &&
      last->bytes.size() < (256u << 10)) {
    last->bytes.append(bytes);
    return;
  }
  owned_effect e{effect::type::deliver_data};
  e.delivery = delivery;
  e.bytes = bytes;
  effects_.push(std::move(e));
}

void retrieval_job::emit_deliver_end(std::uint64_t delivery, std::string_view key, unsigned flags,
                                     std::int64_t internal_date) {
  owned_effect e{effect::type::deliver_end};
  e.delivery = delivery;
  e.key = key;
  e.flags = flags;
  e.internal_date = internal_date;
  effects_.push(std::move(e));
}

void retrieval_job::emit_deliver_abort(std::uint64_t delivery) {
  owned_effect e{effect::type::deliver_abort};
  e.delivery = delivery;
  effects_.push(std::move(e));
}

void retrieval_job::emit_commit() {
  effects_.push(effect::type::commit);
}

void retrieval_job::emit_save_state(std::string state) {
  owned_effect e{effect::type::save_state};
  e.bytes = std::move(state);
  effects_.push(std::move(e));
}

void retrieval_job::emit_progress(std::string_view folder, std::uint64_t done,
                                  std::uint64_t total) {
  effects_.push_progress(folder, done, total);
}

void retrieval_job::finish_ok(std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = true;
  summary_.failure = failure_kind::none;
  summary_.message = std::move(message);
  effects_.push(effect::type::close);
  effects_.push(effect::type::done);
}

void retrieval_job::fail(failure_kind kind, std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = false;
  summary_.failure = kind;
  summary_.message = std::move(message);
  // Whatever was not committed is dropped by the driver on close; nothing half-done counts.
  effects_.clear();
  effects_.push(effect::type::close);
  effects_.push(effect::type::failed);
}

folder_summary& retrieval_job::folder_counts(std::string_view folder) {
  for (auto& f : summary_.folders) {
    if (f.folder == folder) return f;
  }
  summary_.folders.push_back(folder_summary{std::string(folder)});
  return summary_.folders.back();
}

std::string retrieval_job::delivery_key(std::string_view source_id) const {
  sha256 h;
  h.update(options_.task_key);
  h.update(std::string_view("\x1f", 1));
  h.update(source_id);
  return to_hex(h.finish()).substr(0, 32);
}

}  // namespace junction::jobs
