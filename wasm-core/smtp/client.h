// SMTP client engine (RFC 5321), sans-I/O, with the extensions a submission client needs:
// STARTTLS (RFC 3207), AUTH PLAIN/LOGIN/CRAM-MD5 (RFC 4954, 4616, 2195), PIPELINING
// (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and enhanced status
// codes (RFC 2034, 3463).
//
// The engine writes commands into an output buffer and parses the server's replies into
// events, one per command, in submission order (a FIFO of sent commands). Which commands to
// send, and what a reply means for the session, is the caller's business (jobs/send_job).
//
// Contract (STYLE.md §1):
//   feed(bytes)          buffer input; an empty feed is not EOF.
//   feed_eof()           the peer closed; a command still unanswered ends in an error event.
//   next_event()         one event, or event_type::need_data. Views inside an event stay
//                        valid until the next call to feed(), feed_eof() or next_event().
//   submit_*()           queue a command; returns false (and sets a misuse error) when the
//                        engine is failed or the call is out of order.
//   write_data(), end_data()  the message content, after DATA was answered 354.
//   pending_output()     bytes to write; valid until the next non-const call.
//   consume_output(n)    n bytes were written.
// After an error event every call is a no-op and next_event() repeats the error.
//
// Pipelining (RFC 2920 §3.1): commands may be submitted before earlier ones are answered.
// The greeting, EHLO, HELO, STARTTLS, AUTH, DATA, NOOP and QUIT end a group: whatever is
// submitted behind them is held back until they are answered (a SASL answer must not be
// mistaken for a command; nothing meant for after STARTTLS may go out in the clear).
// Without PIPELINING from the server the caller submits one command at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "smtp/data_encoder.h"

namespace junction::smtp {

struct limits {
  std::size_t max_line = 4096;         // RFC 5321 §4.5.3.1.5 says 512; servers exceed it
  std::size_t max_reply_lines = 1000;  // lines of one multi-line reply
};

enum class command {
  none,  // the greeting
  ehlo,
  helo,
  starttls,
  auth,
  mail,
  rcpt,
  data,      // DATA itself: answered 354, then the content goes out
  data_end,  // the content and its terminating "."
  rset,
  noop,
  quit,
};
const char* to_string(command c);

enum class sasl_mechanism { plain, login, cram_md5 };

struct mail_parameters {
  std::uint64_t size = 0;       // SIZE= (RFC 1870) when non-zero
  bool eight_bit_mime = false;  // BODY=8BITMIME (RFC 6152)
  bool smtputf8 = false;        // SMTPUTF8 (RFC 6531 §3.4)
};

enum class event_type {
  need_data,  // nothing more until feed()
  reply,      // the complete reply to `cmd` (the greeting for command::none)
  error,      // terminal; see error()
};

struct event {
  event_type type = event_type::need_data;
  command cmd = command::none;
  std::uint64_t tag = 0;  // what the caller passed to submit_*()
  int code = 0;
  // The reply's success for its command: 2xx; for DATA, 354 (go ahead).
  bool ok = false;
  std::string_view enhanced;  // "5.7.8" (RFC 3463), or empty
  std::string_view text;      // the lines' texts joined by SP, enhanced codes removed
  // Each line's text after the code and separator (EHLO keywords), valid as `text`.
  const std::vector<std::string>* lines = nullptr;
};

class client {
 public:
  explicit client(limits l = {});

  void feed(std::string_view bytes);
  void feed_eof();
  event next_event();

  // `name` is the client's domain or address literal, without CR, LF, NUL or space.
  bool submit_ehlo(std::string_view name);
  bool submit_helo(std::string_view name);
  // On 220 the caller starts TLS before writing pending_output() again; input received after
  // the 220 and before TLS is rejected (CVE-2011-0411 style injection).
  bool submit_starttls();
  // Answers the server's 334 challenges itself; the reply event is the final 235 or error.
  // The credentials are wiped from the engine once sent.
  bool submit_auth(sasl_mechanism m, std::string_view user, std::string_view password);
  bool submit_mail(std::string_view reverse_path, const mail_parameters& p = {},
                   std::uint64_t tag = 0);
  bool submit_rcpt(std::string_view forward_path, std::uint64_t tag = 0);
  bool submit_data(std::uint64_t tag = 0);
  // After DATA's 354: the message, not dot-stuffed, in any number of pieces (data_encoder
  // rules: line ends made CRLF, dot-stuffed), then end_data() adds the terminator and
  // queues the reply to it as command::data_end with `tag`.
  bool write_data(std::string_view chunk);
  bool end_data(std::uint64_t tag = 0);
  bool submit_rset(std::uint64_t tag = 0);
  bool submit_noop();
  bool submit_quit();

  std::string_view pending_output() const;
  void consume_output(std::size_t n);

  // True while commands are sent and not yet answered.
  bool awaiting_reply() const;
  // True between DATA's 354 and end_data().
  bool in_data() const { return data_state_ == data_state::body; }
  // True from submit_data() until end_data() or a refusal of DATA: nothing may be submitted.
  bool data_open() const { return data_state_ != data_state::none; }
  const engine_error& error() const { return error_; }
  // The error was caused by the peer closing the connection (not by what it sent).
  bool closed_by_peer() const { return closed_error_; }

 private:
  struct pending_command {
    command cmd = command::none;
    std::uint64_t tag = 0;
    std::string line;  // as written, CRLF included
    sasl_mechanism mech = sasl_mechanism::plain;
    std::string sasl_user;  // AUTH: for the 334 challenges, wiped once sent
    std::string sasl_pass;
    int sasl_step = 0;
  };
  enum class data_state { none, awaiting_go_ahead, body };

  bool accept_submit(command c);
  bool queue_command(pending_command pc);
  void write_ready_commands();
  event fail(error_kind kind, std::string message);
  event fail_closed(std::string message);
  bool take_line(std::string_view& line, std::uint64_t& at);
  event on_line(std::string_view line, std::uint64_t at);
  event complete_reply();
  void answer_challenge(pending_command& pc, std::string_view challenge);
  std::string describe_front() const;

  limits limits_;
  engine_error error_;
  bool closed_error_ = false;

  // Commands in submission order; the first `written_` are in out_ (or sent) and the front
  // one is what the server answers next. The greeting is an implicit first entry.
  std::deque<pending_command> queue_;
  std::size_t written_ = 0;

  std::string in_;  // unconsumed input starts at in_pos_
  std::size_t in_pos_ = 0;
  std::size_t scan_pos_ = 0;   // where the search for the next LF resumes
  std::uint64_t in_base_ = 0;  // stream offset of in_[0], for "at byte N"
  std::string out_;
  std::size_t out_pos_ = 0;

  // The reply being read (a multi-line one spans several lines).
  int reply_code_ = 0;
  std::vector<std::string> reply_lines_;
  std::string reply_text_;
  std::string reply_enhanced_;

  data_state data_state_ = data_state::none;
  data_encoder encoder_;
  bool eof_ = false;
  bool quit_submitted_ = false;
  bool quit_answered_ = false;
};

}  // namespace junction::smtp
