// The proxy's driver for send jobs (SMTP Accounts): carries out the effects of wasm-core's
// jobs::send_job over a net::mail_connection (TLS verified against the system's CAs or the
// account's pinned certificate, deadlines on every step, TCP_NODELAY), coalescing the sends
// queued before each receive into one write so a pipelined MAIL/RCPT/DATA group costs one
// segment and one round trip. Also the pieces the CLI's `check --smtp` and `send` share with
// later callers: the one-line reports, the Sent copy and the attachment content types.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/send_job.h"
#include "model/smtp_account.h"
#include "net/mail_connection.h"

namespace junction::proxy {

struct send_run_options {
  jobs::send_options job;  // check_only (Test SMTP Connection), ehlo_name
  // No byte from the server for this long fails the run (timeout). RFC 5321 §4.5.3.2 lets a
  // server take up to 10 minutes after the final "."; 5 minutes is what we wait.
  std::chrono::milliseconds io_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(15)};
  std::function<void(std::uint64_t done, std::uint64_t total)> on_progress;
  const std::atomic<bool>* cancel = nullptr;  // set to stop at the next safe point
  // Where the send may connect: `serve` passes its egress policy for every send or Test SMTP
  // Connection it makes for a signed-in user; null (the CLI) allows any address. Must outlive
  // the run.
  const bridge::egress_policy* egress = nullptr;
};

struct send_run_result {
  jobs::send_summary summary;
  net::tls_info tls;    // the connection's TLS as it was at the end (active, verified, ...)
  bool pinned = false;  // the certificate was accepted by the account's pin
};

send_run_result run_send(const model::smtp_account& account,
                         std::vector<jobs::outgoing_message> messages,
                         const send_run_options& options);

// ---- One-line reports (the CLI's output format; integration tests read it) ------------------

// "OK: connected to HOST:PORT with STARTTLS (certificate verified), authenticated as USER"
// ("with SSL/TLS", "without encryption"; "(pinned certificate)" when the pin accepted it;
// ", no authentication" when auth is off), or "error (KIND): MESSAGE".
std::string check_line(const model::smtp_account& account, const send_run_result& result);

// The lines of one message's recipients, in order: "ADDR: accepted", or
// "ADDR: refused CODE ENHANCED TEXT" (ENHANCED left out when the server gave none; CODE and
// the text of the whole message's refusal for a recipient the server accepted at RCPT but
// whose message it then refused; "ADDR: not sent (REASON)" when the run stopped before the
// server answered for it).
std::vector<std::string> recipient_lines(const jobs::message_result& message);

// ---- The Sent copy ----------------------------------------------------------------------------

// The delivery key of a sent message's copy: SHA-256 (lower-case hex) of its Message-ID as
// composed, angle brackets included ("<unique@domain>"), so storing the copy twice keeps one.
std::string sent_copy_key(std::string_view message_id);

// Appends `message` to the "Sent" folder of the Maildir++ at `mailbox_dir` (created when
// missing) flagged \Seen, keyed by sent_copy_key(message_id), durably. Returns "" on success
// (also when the copy was already there), else what went wrong.
std::string save_sent_copy(const std::filesystem::path& mailbox_dir, std::string_view message,
                           std::string_view message_id, std::int64_t date);

// ---- Attachments ------------------------------------------------------------------------------

// A content type for a file name by its extension (case-insensitive; a small table of the
// common ones), application/octet-stream otherwise.
std::string guess_content_type(std::string_view filename);

}  // namespace junction::proxy
