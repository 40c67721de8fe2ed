// One send run through an SMTP account (RFC 5321 submission), as a state machine emitting
// effects: connect, TLS (implicit, or STARTTLS), EHLO (HELO when refused), AUTH, then each
// message (MAIL FROM, RCPT TO per recipient, DATA streamed in chunks), QUIT. With
// options.check_only it is "Test SMTP Connection": connect, TLS, EHLO, AUTH, QUIT.
//
// Driver contract (as retrieval_job): call next() and carry out the effect. connect,
// receive and start_tls must be answered (on_connected / on_data / on_eof / on_tls_started
// / on_failure) before next() is called again; send, progress and close need no answer. A
// run ends with `done` or `failed`; summary() then says what happened to every message and
// recipient. Views inside an effect stay valid until the next call to the job.
//
// Policies:
//   - encryption "starttls" and no STARTTLS from the server: failure encryption_required,
//     before any AUTH or MAIL (credentials and messages never go out in the clear).
//     Encryption "none" never upgrades on its own (the account says what the user chose).
//   - AUTH mechanism: over TLS (ssl, or after STARTTLS) PLAIN, then LOGIN, then CRAM-MD5 (the
//     channel protects the password, and PLAIN lets the server use any password storage);
//     over a plain connection CRAM-MD5 first, so the password itself is not sent, then PLAIN,
//     then LOGIN. A refused login is failure login.
//   - PIPELINING: MAIL, every RCPT and DATA go out in one send effect, the content and its
//     end (and QUIT after the last message) in the next. The next message's MAIL waits for
//     the reply to the end of data: Dovecot 2.3's submission service aborts when it follows
//     in the same write, after relaying the message. Two round trips per message.
//   - Per message: a refused recipient is reported in recipients and does not sink the
//     others; the message is refused as a whole when every recipient (or MAIL, DATA, or the
//     end of data) is refused, or locally before MAIL when it exceeds the server's SIZE or
//     needs SMTPUTF8 the server lacks, or has no recipients. After a refusal inside a
//     transaction, RSET goes before the next MAIL.
//   - BODY=8BITMIME when the message is 8-bit and the server offers 8BITMIME; an 8-bit message
//     to a server without it is sent as is (practically every server passes 8-bit data).
//   - summary.ok when every message was accepted for at least one recipient; otherwise
//     failure `rejected` (or the failure that stopped the run) and messages[i] says which.
//   - cancel(): no new message is started; a message whose content is being sent is cut off
//     by closing the connection (without its final "." the server discards it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/effect_queue.h"
#include "jobs/effects.h"
#include "model/smtp_account.h"
#include "smtp/client.h"
#include "smtp/reply.h"

namespace junction::jobs {

struct outgoing_message {
  std::string envelope_from;  // empty: the account's email address
  std::vector<std::string> recipients;
  std::string data;  // CRLF message, not dot-stuffed
  bool needs_smtputf8 = false;
  bool eight_bit = false;
};

struct send_options {
  bool check_only = false;  // Test SMTP Connection: connect, TLS, EHLO, AUTH, QUIT
  std::string ehlo_name = "localhost";
};

struct recipient_result {
  std::string address;
  bool accepted = false;
  int code = 0;  // 0: the command was never answered (not sent, or the run stopped)
  std::string enhanced_code;
  std::string text;
};

struct message_result {
  bool accepted = false;
  int code = 0;  // the final reply; 0 when refused locally or never answered
  std::string enhanced_code;
  std::string text;  // the server's text, or why it was not sent
  std::vector<recipient_result> recipients;
};

struct send_summary {
  bool ok = false;
  failure_kind failure = failure_kind::none;
  std::string message;  // one human line
  std::string server_greeting;
  std::vector<message_result> messages;
};

class send_job {
 public:
  static std::unique_ptr<send_job> create(const model::smtp_account& account,
                                          std::vector<outgoing_message> messages,
                                          send_options options);

  effect next();
  void on_connected();
  void on_tls_started();
  void on_data(std::string_view bytes);
  void on_eof();
  // connect, start_tls or the connection failed.
  void on_failure(failure_kind kind, std::string message);
  // Stop at the next safe point (see above).
  void cancel() { cancel_requested_ = true; }

  const send_summary& summary() const { return summary_; }

  // The message content goes out in send effects of about this many bytes.
  static constexpr std::size_t chunk_size = 64u << 10;

 private:
  send_job(const model::smtp_account& account, std::vector<outgoing_message> messages,
           send_options options);

  enum class phase { greeting, ehlo, helo, starttls, auth, transfer, quit, closed };
  // Where one message stands.
  struct progress_state {
    bool mail_ok = false;
    std::size_t rcpts_answered = 0;
    std::size_t rcpts_accepted = 0;
    bool empty_data = false;  // DATA was answered 354 with no recipient: content left empty
    bool final = false;
  };
  void start();
  void pump();
  void handle(const smtp::event& ev);
  void on_ehlo(const smtp::event& ev);
  void after_ehlo();
  void authenticate();
  void after_login();
  void start_transfer();
  void submit_next_message();
  void submit_next_message_loop();
  void submit_envelope(std::size_t index);
  void submit_mail(std::size_t index);
  void on_transfer_reply(const smtp::event& ev);
  void stream_chunk();
  void refuse(std::size_t index, int code, std::string_view enhanced, std::string text);
  void finalize(std::size_t index);
  void maybe_quit();
  void finish_run();
  void on_engine_error();

  void flush_output();
  void emit_progress();
  void finish_ok(std::string message);
  void fail(failure_kind kind, std::string message);
  std::string describe_login() const;

  model::smtp_account account_;
  std::vector<outgoing_message> messages_;
  send_options options_;
  send_summary summary_;

  smtp::client engine_;
  smtp::capabilities caps_;
  phase phase_ = phase::greeting;
  bool tls_ = false;
  const char* mechanism_ = nullptr;  // the AUTH mechanism used, for the summary

  std::vector<progress_state> state_;
  std::size_t next_message_ = 0;  // the next one to start
  std::size_t in_flight_ = 0;     // started, not final
  std::size_t completed_ = 0;     // final
  bool need_rset_ = false;        // a transaction was left open by a refusal
  bool quit_submitted_ = false;
  bool submitting_ = false;  // inside submit_next_message()
  // The content being streamed.
  bool streaming_ = false;
  std::size_t stream_index_ = 0;
  std::size_t stream_offset_ = 0;

  effect_queue effects_;
  bool started_ = false;
  bool finished_ = false;
  bool cancel_requested_ = false;
};

}  // namespace junction::jobs
