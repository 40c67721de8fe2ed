// POP3 client engine (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034), sans-I/O.
//
// The engine writes commands into an output buffer and parses the server's responses into
// events. It knows which command each response answers (a FIFO of sent commands), so
// commands may be pipelined when the server offers PIPELINING: submit several, then read.
//
// Contract (STYLE.md §1):
//   feed(bytes)          buffer input; an empty feed is not EOF.
//   feed_eof()           the peer closed; pending work ends in a protocol error event.
//   next_event()         one event, or event_type::need_data. Views inside an event stay
//                        valid until the next call to feed(), feed_eof() or next_event().
//   submit_*()           queue a command; returns false (and sets a misuse error) when the
//                        engine is failed or the call is out of order.
//   pending_output()     bytes to write; valid until the next non-const call.
//   consume_output(n)    n bytes were written.
// After an error event every call is a no-op and next_event() repeats the error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace junction::pop3 {

struct limits {
  std::size_t max_line = 8192;  // RFC 2449 caps responses at 512; real servers exceed it
  std::size_t max_capabilities = 256;
  std::uint64_t max_message_size = 512ull << 20;  // octets of one RETR/TOP body
  std::size_t max_listing_entries = 10'000'000;   // LIST/UIDL lines in one response
};

enum class command {
  none,  // the greeting
  capa,
  stls,
  user,
  pass,
  apop,
  auth_plain,
  auth_login,
  stat,
  list,
  uidl,
  retr,
  top,
  dele,
  noop,
  rset,
  quit,
};

enum class event_type {
  need_data,      // nothing more until feed()
  greeting,       // ok; text; apop_timestamp ("<...>" or empty)
  response,       // final answer to `cmd`: ok and text (every single-line command and the
                  // -ERR of a multi-line one; AUTH's SASL steps are handled inside)
  capability,     // one CAPA line in `text` (e.g. "UIDL", "SASL PLAIN LOGIN"); then response
  stat,           // number = messages, size = octets (after response ok for STAT)
  listing,        // one LIST or UIDL line: number = message number, size (LIST), text = uid
                  // (UIDL); a single-message LIST/UIDL yields one listing without response
  listing_end,    // the '.' of a multi-line LIST/UIDL
  message_begin,  // RETR/TOP +OK arrived: number = message number
  message_data,   // text = a piece of the message, dot-unstuffed, line ends as sent
  message_end,    // the terminating '.' line; size = octets delivered
  error,          // terminal; see error()
};

struct event {
  event_type type = event_type::need_data;
  command cmd = command::none;
  bool ok = false;
  std::string_view text;
  std::string_view apop_timestamp;
  std::uint64_t number = 0;
  std::uint64_t size = 0;
};

class client {
 public:
  explicit client(limits l = {});

  void feed(std::string_view bytes);
  void feed_eof();
  event next_event();

  bool submit_capa();
  bool submit_stls();
  bool submit_user(std::string_view name);
  bool submit_pass(std::string_view password);
  // APOP needs the greeting's timestamp; digest = MD5(timestamp + password).
  bool submit_apop(std::string_view name, std::string_view password);
  // AUTH PLAIN with the initial response (RFC 5034 §4); authzid empty.
  bool submit_auth_plain(std::string_view name, std::string_view password);
  // AUTH LOGIN: answers the server's "Username:"/"Password:" challenges itself.
  bool submit_auth_login(std::string_view name, std::string_view password);
  bool submit_stat();
  bool submit_list();                   // multi-line
  bool submit_uidl();                   // multi-line
  bool submit_uidl(std::uint64_t msg);  // single-line
  bool submit_retr(std::uint64_t msg);
  bool submit_top(std::uint64_t msg, std::uint64_t lines);
  bool submit_dele(std::uint64_t msg);
  bool submit_noop();
  bool submit_rset();
  bool submit_quit();

  std::string_view pending_output() const;
  void consume_output(std::size_t n);

  // True while commands are sent and not yet answered.
  bool awaiting_response() const;
  const engine_error& error() const { return error_; }
  const std::string& apop_timestamp() const { return apop_timestamp_; }

 private:
  // The state is the implementer's (a table of per-command response shapes); the public
  // contract above is what the jobs and the fuzz target rely on.
  limits limits_;
  engine_error error_;
  std::string apop_timestamp_;

  // One submitted command, from submit_*() until its response is complete.
  struct pending_command {
    command cmd = command::none;
    std::uint64_t msg = 0;
    std::string line;       // as written, CRLF included
    std::string sasl_user;  // AUTH: answers to "+ " challenges, wiped once sent
    std::string sasl_pass;
    int sasl_step = 0;  // challenges answered so far
  };
  // Where the response to the front command stands.
  enum class phase { status, multiline, body };

  bool accept_submit(command c);
  bool queue_command(pending_command pc);
  void write_ready_commands();
  void finish_front();
  event fail(error_kind kind, std::string message);
  event parse_step();
  event on_status_line(std::string_view line, std::uint64_t at);
  event on_multiline(std::string_view line, std::uint64_t at);
  event on_body();
  event on_eof_mid_response();
  void answer_challenge(pending_command& pc);
  bool take_line(std::string_view& line, std::uint64_t& at);
  event make(event_type type, bool ok = true) const;

  // Commands in submission order; the first `written_` are in out_ (or already sent) and
  // the front one is what the server answers next. The greeting is an implicit first entry.
  // A barrier (greeting, STLS, AUTH) holds back everything behind it until it is answered:
  // the server must not read a pipelined command as a SASL answer, and nothing may go out
  // in the clear that was meant for after STLS. Commands released when STLS succeeds are
  // for the TLS layer: the driver starts TLS before writing pending_output() again.
  std::deque<pending_command> queue_;
  std::size_t written_ = 0;

  std::string in_;  // unconsumed input starts at in_pos_
  std::size_t in_pos_ = 0;
  std::size_t scan_pos_ = 0;   // where the search for the next LF resumes
  std::uint64_t in_base_ = 0;  // stream offset of in_[0], for "at byte N"
  std::string out_;
  std::size_t out_pos_ = 0;

  phase phase_ = phase::status;
  bool at_line_start_ = true;    // body: the next byte starts a line (dot rules apply)
  std::uint64_t delivered_ = 0;  // body octets emitted so far
  std::size_t entries_ = 0;      // lines in the current multi-line listing
  std::string status_text_;      // CAPA's +OK text, reported after the list
  event follow_;                 // a second event owed for one input step (STAT)
  bool eof_ = false;
  bool quit_submitted_ = false;
  bool quit_answered_ = false;
  bool stls_submitted_ = false;
};

}  // namespace junction::pop3
