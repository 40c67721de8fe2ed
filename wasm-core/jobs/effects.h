// What a task asks its driver to do, and what the driver answers (ARCHITECTURE.md, "One
// engine, three drivers"). The core decides; the driver carries out effects and reports
// back through the job's on_*() calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace junction::jobs {

enum class tls_mode { none, implicit };

// Why a run failed, in the words a person needs to fix it.
enum class failure_kind {
  none,
  config,               // the task itself is invalid
  dns,                  // the server name does not resolve
  refused,              // nothing listens there, or the route is refused
  timeout,              // the server stopped answering
  tls,                  // the TLS handshake failed
  certificate,          // the certificate is not trusted or is for another host
  encryption_required,  // encryption was required and the server does not offer it
  login,                // the server refused the credentials
  protocol,             // the server broke the protocol (or our limits)
  connection,           // the connection was lost
  mailbox,              // the destination could not store a message
  cancelled,            // the run was asked to stop
  rejected,             // the server refused what was sent (SMTP: a message as a whole)
};

std::string_view to_string(failure_kind kind);

struct effect {
  enum class type {
    connect,        // host, port, tls. Answer: on_connected() or on_failure().
    send,           // bytes: queue them for writing (the driver may coalesce several sends).
    receive,        // write what was queued, then wait for bytes: on_data()/on_eof()/on_failure().
    start_tls,      // start TLS on the connection now: on_tls_started() or on_failure().
    deliver_begin,  // delivery, folder: a message for this destination folder starts.
    deliver_data,   // delivery, bytes: the next piece of it.
    deliver_end,    // delivery, key, flags, internal_date: it is complete (not durable yet).
    deliver_abort,  // delivery: discard it.
    commit,         // make every ended delivery durable: on_committed() with each result.
    save_state,     // bytes = the task's state document (JSON): store it durably, then
                    // on_state_saved().
    progress,       // folder, done, total: for a progress bar.
    close,          // close the connection (no answer).
    done,           // finished; see summary().
    failed,         // finished with an error; see summary().
  };
  type kind = type::done;
  std::string_view host;
  std::uint16_t port = 0;
  tls_mode tls = tls_mode::none;
  std::string_view bytes;  // send, deliver_data, save_state
  std::uint64_t delivery = 0;
  std::string_view folder;  // '/'-separated UTF-8 destination path
  std::string_view key;     // idempotency key of a delivery (lower-case hex)
  unsigned flags = 0;       // message_flags bits
  std::int64_t internal_date = 0;
  std::uint64_t done_count = 0;
  std::uint64_t total = 0;
};
// Views inside an effect stay valid until the next call to the job.

// Bits of effect::flags (the same values as the proxy's mailbox uses).
namespace message_flags {
inline constexpr unsigned seen = 1, answered = 2, flagged = 4, draft = 8;
}

enum class delivery_status { stored, already_had, failed };
struct delivery_result {
  std::uint64_t delivery = 0;
  delivery_status status = delivery_status::failed;
  std::string error;
};

struct folder_summary {
  std::string folder;  // destination folder
  std::uint64_t new_messages = 0;
  std::uint64_t already_had = 0;
  std::uint64_t deleted = 0;  // deleted from the server (POP3 without leave on server)
  // IMAP: messages the server has but did not return when asked; retried by the next run.
  std::uint64_t not_retrieved = 0;
  // Why the folder is stored under another name than the source's, or was skipped; empty
  // when neither.
  std::string note;
};

struct run_summary {
  bool ok = false;
  failure_kind failure = failure_kind::none;
  std::string message;  // one human line
  std::vector<folder_summary> folders;
  std::string server_greeting;
  std::uint64_t total_messages = 0;  // messages seen at the source (check: STAT / folders)
  std::uint64_t total_folders = 0;
};

}  // namespace junction::jobs
