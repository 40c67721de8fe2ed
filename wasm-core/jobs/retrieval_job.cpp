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
  if (awaiting_ != awaiting::nothing) {
    // The driver skipped an answer: that is a bug in the driver, and the run cannot go on.
    awaiting_ = awaiting::nothing;
    fail(failure_kind::protocol, "internal: next() called before the previous effect was answered");
  }
  if (!started_) {
    started_ = true;
    start();
  }
  if (queue_.empty() && !finished_) pump();
  if (queue_.empty()) {
    // Finished runs keep answering with their final effect.
    current_ = owned_effect{};
    current_.kind = summary_.ok ? effect::type::done : effect::type::failed;
    return view_of(current_);
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  switch (current_.kind) {
    case effect::type::connect:
      awaiting_ = awaiting::connect;
      break;
    case effect::type::receive:
      awaiting_ = awaiting::data;
      break;
    case effect::type::start_tls:
      awaiting_ = awaiting::tls;
      break;
    case effect::type::commit:
      awaiting_ = awaiting::commit;
      break;
    case effect::type::save_state:
      awaiting_ = awaiting::state;
      break;
    default:
      break;
  }
  return view_of(current_);
}

void retrieval_job::on_connected() {
  if (awaiting_ != awaiting::connect || finished_) return;
  awaiting_ = awaiting::nothing;
  on_connection_up();
}

void retrieval_job::on_tls_started() {
  if (awaiting_ != awaiting::tls || finished_) return;
  awaiting_ = awaiting::nothing;
  on_tls_up();
}

void retrieval_job::on_data(std::string_view bytes) {
  if (awaiting_ != awaiting::data || finished_) return;
  awaiting_ = awaiting::nothing;
  feed_engine(bytes);
}

void retrieval_job::on_eof() {
  if (awaiting_ != awaiting::data || finished_) return;
  awaiting_ = awaiting::nothing;
  feed_engine_eof();
}

void retrieval_job::on_failure(failure_kind kind, std::string message) {
  awaiting_ = awaiting::nothing;
  if (finished_) return;
  fail(kind, std::move(message));
}

void retrieval_job::on_committed(const std::vector<delivery_result>& results) {
  if (awaiting_ != awaiting::commit || finished_) return;
  awaiting_ = awaiting::nothing;
  on_commit_results(results);
}

void retrieval_job::on_state_saved() {
  if (awaiting_ != awaiting::state || finished_) return;
  awaiting_ = awaiting::nothing;
  on_state_stored();
}

void retrieval_job::start() {
  emit_connect(task_.server, task_.effective_port(),
               task_.encryption == model::encryption::ssl ? tls_mode::implicit : tls_mode::none);
}

void retrieval_job::push(owned_effect e) {
  queue_.push_back(std::move(e));
}

effect retrieval_job::view_of(const owned_effect& e) const {
  effect v;
  v.kind = e.kind;
  v.host = e.host;
  v.port = e.port;
  v.tls = e.tls;
  v.bytes = e.bytes;
  v.delivery = e.delivery;
  v.folder = e.folder;
  v.key = e.key;
  v.flags = e.flags;
  v.internal_date = e.internal_date;
  v.done_count = e.done_count;
  v.total = e.total;
  return v;
}

void retrieval_job::emit_connect(std::string_view host, std::uint16_t port, tls_mode tls) {
  owned_effect e{effect::type::connect};
  e.host = host;
  e.port = port;
  e.tls = tls;
  push(std::move(e));
}

void retrieval_job::emit_send(std::string_view bytes) {
  // Coalesce with a send still queued: one write per exchange (delayed-ACK stalls otherwise).
  if (!queue_.empty() && queue_.back().kind == effect::type::send) {
    queue_.back().bytes.append(bytes);
    return;
  }
  owned_effect e{effect::type::send};
  e.bytes = bytes;
  push(std::move(e));
}

void retrieval_job::emit_receive() {
  push(owned_effect{effect::type::receive});
}
void retrieval_job::emit_start_tls() {
  push(owned_effect{effect::type::start_tls});
}

std::uint64_t retrieval_job::emit_deliver_begin(std::string_view folder) {
  owned_effect e{effect::type::deliver_begin};
  e.delivery = next_delivery_++;
  e.folder = folder;
  push(std::move(e));
  return next_delivery_ - 1;
}

void retrieval_job::emit_deliver_data(std::uint64_t delivery, std::string_view bytes) {
  if (bytes.empty()) return;
  if (!queue_.empty() && queue_.back().kind == effect::type::deliver_data &&
      queue_.back().delivery == delivery && queue_.back().bytes.size() < (256u << 10)) {
    queue_.back().bytes.append(bytes);
    return;
  }
  owned_effect e{effect::type::deliver_data};
  e.delivery = delivery;
  e.bytes = bytes;
  push(std::move(e));
}

void retrieval_job::emit_deliver_end(std::uint64_t delivery, std::string_view key, unsigned flags,
                                     std::int64_t internal_date) {
  owned_effect e{effect::type::deliver_end};
  e.delivery = delivery;
  e.key = key;
  e.flags = flags;
  e.internal_date = internal_date;
  push(std::move(e));
}

void retrieval_job::emit_deliver_abort(std::uint64_t delivery) {
  owned_effect e{effect::type::deliver_abort};
  e.delivery = delivery;
  push(std::move(e));
}

void retrieval_job::emit_commit() {
  push(owned_effect{effect::type::commit});
}

void retrieval_job::emit_save_state(std::string state) {
  owned_effect e{effect::type::save_state};
  e.bytes = std::move(state);
  push(std::move(e));
}

void retrieval_job::emit_progress(std::string_view folder, std::uint64_t done,
                                  std::uint64_t total) {
  owned_effect e{effect::type::progress};
  e.folder = folder;
  e.done_count = done;
  e.total = total;
  push(std::move(e));
}

void retrieval_job::finish_ok(std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = true;
  summary_.failure = failure_kind::none;
  summary_.message = std::move(message);
  push(owned_effect{effect::type::close});
  push(owned_effect{effect::type::done});
}

void retrieval_job::fail(failure_kind kind, std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = false;
  summary_.failure = kind;
  summary_.message = std::move(message);
  // Whatever was not committed is dropped by the driver on close; nothing half-done counts.
  queue_.clear();
  push(owned_effect{effect::type::close});
  push(owned_effect{effect::type::failed});
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
