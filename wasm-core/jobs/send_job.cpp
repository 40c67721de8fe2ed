#include "jobs/send_job.h"

#include <utility>

#include "smtp/data_encoder.h"

namespace junction::jobs {
namespace {

// Tags carried by the engine's commands: the message index, and the recipient index + 1 for
// RCPT (0 for the message's other commands).
constexpr std::uint64_t tag_of(std::size_t message, std::size_t rcpt_plus_one = 0) {
  return (static_cast<std::uint64_t>(message) << 32) | rcpt_plus_one;
}
constexpr std::size_t message_of(std::uint64_t tag) {
  return static_cast<std::size_t>(tag >> 32);
}
constexpr std::size_t rcpt_of(std::uint64_t tag) {
  return static_cast<std::size_t>(tag & 0xffffffffu) - 1;
}

// "535 5.7.8 Error: authentication failed"
std::string reply_words(const smtp::event& ev) {
  std::string s = std::to_string(ev.code);
  if (!ev.enhanced.empty()) s += " " + std::string(ev.enhanced);
  if (!ev.text.empty()) s += " " + std::string(ev.text);
  return s;
}

// What would break the "<...>" of MAIL FROM / RCPT TO or smuggle a command.
bool bad_path(std::string_view address) {
  return address.find_first_of(std::string_view("\r\n\0<>", 5)) != std::string_view::npos;
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::unique_ptr<send_job> send_job::create(const model::smtp_account& account,
                                           std::vector<outgoing_message> messages,
                                           send_options options) {
  return std::unique_ptr<send_job>(new send_job(account, std::move(messages), std::move(options)));
}

send_job::send_job(const model::smtp_account& account, std::vector<outgoing_message> messages,
                   send_options options)
    : account_(account), messages_(std::move(messages)), options_(std::move(options)) {
  if (options_.check_only) messages_.clear();
  if (options_.ehlo_name.empty()) options_.ehlo_name = "localhost";
  state_.resize(messages_.size());
  summary_.messages.resize(messages_.size());
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (messages_[i].envelope_from.empty()) messages_[i].envelope_from = account_.email;
    for (const auto& r : messages_[i].recipients) {
      summary_.messages[i].recipients.push_back(recipient_result{r});
    }
  }
}

// ---- driver interface ----

effect send_job::next() {
  if (effects_.owes_answer()) {
    // The driver skipped an answer: a bug in the driver, and the run cannot go on.
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

void send_job::on_connected() {
  if (finished_ || !effects_.settle(effect_queue::answer::connect)) return;
  effects_.push(effect::type::receive);  // the greeting
}

void send_job::on_tls_started() {
  if (finished_ || !effects_.settle(effect_queue::answer::tls)) return;
  // RFC 3207 §4.2: forget everything learnt before TLS and ask again.
  tls_ = true;
  caps_ = smtp::capabilities{};
  phase_ = phase::ehlo;
  engine_.submit_ehlo(options_.ehlo_name);
  flush_output();
}

void send_job::on_data(std::string_view bytes) {
  if (finished_ || !effects_.settle(effect_queue::answer::data)) return;
  engine_.feed(bytes);
}

void send_job::on_eof() {
  if (finished_ || !effects_.settle(effect_queue::answer::data)) return;
  engine_.feed_eof();
}

void send_job::on_failure(failure_kind kind, std::string message) {
  effects_.settle_any();
  if (finished_) return;
  fail(kind, std::move(message));
}

// ---- the session ----

void send_job::start() {
  tls_ = account_.encryption == model::smtp_encryption::ssl;
  effects_.push_connect(account_.server, account_.port, tls_ ? tls_mode::implicit : tls_mode::none);
}

void send_job::pump() {
  while (effects_.empty() && !finished_) {
    if (streaming_) {
      stream_chunk();
      continue;
    }
    smtp::event ev = engine_.next_event();
    if (ev.type == smtp::event_type::need_data) {
      flush_output();
      if (phase_ == phase::closed) return;
      effects_.push(effect::type::receive);
      return;
    }
    if (ev.type == smtp::event_type::error) {
      on_engine_error();
      return;
    }
    handle(ev);
    if (!finished_) flush_output();
  }
}

void send_job::on_engine_error() {
  const std::string& why = engine_.error().message;
  if (engine_.closed_by_peer()) {
    if (quit_submitted_ && in_flight_ == 0) {
      finish_run();  // closed instead of answering QUIT: everything was answered already
      return;
    }
    std::string where;
    if (streaming_ || in_flight_ > 0) {
      where = " while sending message " +
              std::to_string((streaming_ ? stream_index_ : completed_) + 1) + " of " +
              std::to_string(messages_.size()) + "; it was not sent";
    }
    fail(failure_kind::connection,
         "the SMTP server closed the connection" + where + " (" + why + ")");
    return;
  }
  fail(failure_kind::protocol, why);
}

void send_job::handle(const smtp::event& ev) {
  if (ev.code == 421 && ev.cmd != smtp::command::quit) {
    // RFC 5321 §3.8: the server is shutting the session down.
    fail(failure_kind::connection, "the SMTP server closed the session: " + reply_words(ev));
    return;
  }
  switch (phase_) {
    case phase::greeting:
      summary_.server_greeting = std::string(ev.text);
      if (!ev.ok) {
        fail(failure_kind::protocol, "the SMTP server refused the connection: " + reply_words(ev));
        return;
      }
      phase_ = phase::ehlo;
      engine_.submit_ehlo(options_.ehlo_name);
      return;
    case phase::ehlo:
    case phase::helo:
      on_ehlo(ev);
      return;
    case phase::starttls:
      if (!ev.ok) {
        fail(failure_kind::encryption_required,
             "the SMTP server refused STARTTLS: " + reply_words(ev) + "; nothing was sent");
        return;
      }
      effects_.push(effect::type::start_tls);
      return;
    case phase::auth:
      if (!ev.ok) {
        fail(failure_kind::login, "the SMTP server refused the login for " +
                                      account_.effective_username() + ": " + reply_words(ev));
        return;
      }
      after_login();
      return;
    case phase::transfer:
    case phase::quit:
      if (ev.cmd == smtp::command::quit) {
        finish_run();
        return;
      }
      on_transfer_reply(ev);
      return;
    case phase::closed:
      return;
  }
}

void send_job::on_ehlo(const smtp::event& ev) {
  if (phase_ == phase::ehlo) {
    if (ev.ok) {
      caps_ = smtp::parse_ehlo(*ev.lines);
      after_ehlo();
      return;
    }
    if (ev.code / 100 == 5) {
      // RFC 5321 §3.2: a server that does not know EHLO gets HELO (no extensions then).
      phase_ = phase::helo;
      engine_.submit_helo(options_.ehlo_name);
      return;
    }
    fail(failure_kind::protocol, "the SMTP server refused EHLO: " + reply_words(ev));
    return;
  }
  if (!ev.ok) {
    fail(failure_kind::protocol, "the SMTP server refused EHLO and HELO: " + reply_words(ev));
    return;
  }
  caps_ = smtp::capabilities{};
  after_ehlo();
}

void send_job::after_ehlo() {
  if (account_.encryption == model::smtp_encryption::starttls && !tls_) {
    if (!caps_.starttls) {
      fail(failure_kind::encryption_required,
           std::string("the SMTP server does not offer STARTTLS") +
               (caps_.esmtp ? "" : " (it refused EHLO)") +
               "; nothing was sent. Choose SSL/TLS, or no encryption if you trust the network");
      return;
    }
    phase_ = phase::starttls;
    engine_.submit_starttls();
    return;
  }
  authenticate();
}

void send_job::authenticate() {
  if (!account_.auth) {
    after_login();
    return;
  }
  using smtp::sasl_mechanism;
  sasl_mechanism m = sasl_mechanism::plain;
  // The order of preference (see send_job.h).
  const sasl_mechanism tls_order[] = {sasl_mechanism::plain, sasl_mechanism::login,
                                      sasl_mechanism::cram_md5};
  const sasl_mechanism clear_order[] = {sasl_mechanism::cram_md5, sasl_mechanism::plain,
                                        sasl_mechanism::login};
  bool found = false;
  for (sasl_mechanism candidate : tls_ ? tls_order : clear_order) {
    const bool offered = candidate == sasl_mechanism::plain   ? caps_.auth_plain
                         : candidate == sasl_mechanism::login ? caps_.auth_login
                                                              : caps_.auth_cram_md5;
    if (offered) {
      m = candidate;
      found = true;
      break;
    }
  }
  if (!found) {
    if (!tls_ && caps_.starttls) {
      fail(failure_kind::encryption_required,
           "the SMTP server offers no login on an unencrypted connection; choose STARTTLS. "
           "Nothing was sent");
    } else if (!caps_.esmtp) {
      fail(failure_kind::login,
           "the SMTP server does not support authentication (it refused EHLO); turn "
           "authentication off or use another server");
    } else if (!caps_.auth) {
      fail(failure_kind::login,
           "the SMTP server does not offer authentication (no AUTH in its EHLO reply); turn "
           "authentication off or use another server");
    } else {
      fail(failure_kind::login,
           "the SMTP server offers no login method Junction supports (PLAIN, LOGIN, CRAM-MD5)");
    }
    return;
  }
  mechanism_ = m == sasl_mechanism::plain   ? "PLAIN"
               : m == sasl_mechanism::login ? "LOGIN"
                                            : "CRAM-MD5";
  phase_ = phase::auth;
  engine_.submit_auth(m, account_.effective_username(), account_.password);
}

std::string send_job::describe_login() const {
  std::string s = account_.encryption == model::smtp_encryption::ssl        ? "SSL/TLS"
                  : account_.encryption == model::smtp_encryption::starttls ? "STARTTLS"
                                                                            : "no encryption";
  if (account_.auth) {
    s += ", logged in as " + account_.effective_username() + " (" + mechanism_ + ")";
  } else {
    s += ", no login";
  }
  return s;
}

void send_job::after_login() {
  phase_ = phase::transfer;
  if (options_.check_only) {
    maybe_quit();
    return;
  }
  start_transfer();
}

// ---- messages ----

void send_job::start_transfer() {
  emit_progress();
  submit_next_message();
  maybe_quit();
}

void send_job::submit_next_message() {
  submitting_ = true;
  submit_next_message_loop();
  submitting_ = false;
}

void send_job::submit_next_message_loop() {
  while (next_message_ < messages_.size() && !cancel_requested_) {
    const std::size_t i = next_message_++;
    const outgoing_message& m = messages_[i];
    if (m.recipients.empty()) {
      refuse(i, 0, {}, "the message has no recipients; it was not sent");
      continue;
    }
    if (m.needs_smtputf8 && !caps_.smtputf8) {
      refuse(i, 0, {},
             "the message has internationalised addresses and the SMTP server does not support "
             "SMTPUTF8; it was not sent");
      continue;
    }
    if (bad_path(m.envelope_from)) {
      refuse(i, 0, {}, "the sender address is not valid; the message was not sent");
      continue;
    }
    bool bad_recipient = false;
    for (const auto& r : m.recipients) bad_recipient = bad_recipient || r.empty() || bad_path(r);
    if (bad_recipient) {
      refuse(i, 0, {}, "a recipient address is not valid; the message was not sent");
      continue;
    }
    const std::uint64_t size = smtp::wire_size(m.data);
    if (caps_.size && caps_.max_size != 0 && size > caps_.max_size) {
      refuse(i, 0, {},
             "the message is " + std::to_string(size) +
                 " bytes and the SMTP server accepts at most " + std::to_string(caps_.max_size) +
                 "; it was not sent");
      continue;
    }
    submit_envelope(i);
    return;
  }
}

void send_job::submit_envelope(std::size_t i) {
  ++in_flight_;
  if (need_rset_) {
    need_rset_ = false;
    engine_.submit_rset(tag_of(i));
    if (!caps_.pipelining) return;  // MAIL follows RSET's reply
  }
  submit_mail(i);
}

void send_job::submit_mail(std::size_t i) {
  const outgoing_message& m = messages_[i];
  smtp::mail_parameters p;
  if (caps_.size) p.size = smtp::wire_size(m.data);
  p.eight_bit_mime = m.eight_bit && caps_.eight_bit_mime;
  p.smtputf8 = m.needs_smtputf8;
  engine_.submit_mail(m.envelope_from, p, tag_of(i));
  if (caps_.pipelining) {
    for (std::size_t r = 0; r < m.recipients.size(); ++r) {
      engine_.submit_rcpt(m.recipients[r], tag_of(i, r + 1));
    }
    engine_.submit_data(tag_of(i));
  }
  if (engine_.error()) {
    // A recipient or sender the engine refuses to write (CR, LF, <, >): refused locally.
    fail(failure_kind::config, "message " + std::to_string(i + 1) + ": " + engine_.error().message);
  }
}

void send_job::on_transfer_reply(const smtp::event& ev) {
  const std::size_t i = message_of(ev.tag);
  if (i >= messages_.size()) return;
  progress_state& st = state_[i];
  message_result& result = summary_.messages[i];
  const outgoing_message& m = messages_[i];
  switch (ev.cmd) {
    case smtp::command::rset:
      if (!ev.ok) {
        fail(failure_kind::protocol, "the SMTP server refused RSET: " + reply_words(ev));
        return;
      }
      if (!caps_.pipelining) submit_mail(i);
      return;
    case smtp::command::mail:
      st.mail_ok = ev.ok;
      if (!ev.ok) {
        result.code = ev.code;
        result.enhanced_code = std::string(ev.enhanced);
        result.text = std::string(ev.text);
        if (!caps_.pipelining) finalize(i);  // RCPT and DATA were never sent
        return;
      }
      if (!caps_.pipelining) engine_.submit_rcpt(m.recipients[0], tag_of(i, 1));
      return;
    case smtp::command::rcpt: {
      const std::size_t r = rcpt_of(ev.tag);
      if (r >= result.recipients.size()) return;
      recipient_result& rr = result.recipients[r];
      rr.accepted = ev.ok;
      rr.code = ev.code;
      rr.enhanced_code = std::string(ev.enhanced);
      rr.text = std::string(ev.text);
      ++st.rcpts_answered;
      if (ev.ok) ++st.rcpts_accepted;
      if (!caps_.pipelining) {
        if (r + 1 < m.recipients.size()) {
          engine_.submit_rcpt(m.recipients[r + 1], tag_of(i, r + 2));
        } else if (st.rcpts_accepted > 0) {
          engine_.submit_data(tag_of(i));
        } else {
          need_rset_ = st.mail_ok;
          finalize(i);
        }
      }
      return;
    }
    case smtp::command::data:
      if (ev.ok) {
        if (st.rcpts_accepted == 0) {
          // RFC 2920 §3.1: a pipelining client whose recipients were all refused answers a 354
          // with an empty message; it is not counted as sent whatever the server says.
          st.empty_data = true;
          engine_.end_data(tag_of(i));
          maybe_quit();
          return;
        }
        streaming_ = true;
        stream_index_ = i;
        stream_offset_ = 0;
        return;
      }
      if (st.mail_ok && st.rcpts_accepted > 0) {
        result.code = ev.code;
        result.enhanced_code = std::string(ev.enhanced);
        result.text = std::string(ev.text);
      }
      need_rset_ = st.mail_ok;
      finalize(i);
      return;
    case smtp::command::data_end:
      if (!st.empty_data) {
        result.accepted = ev.ok;
        result.code = ev.code;
        result.enhanced_code = std::string(ev.enhanced);
        result.text = std::string(ev.text);
      }
      finalize(i);
      return;
    default:
      return;
  }
}

void send_job::stream_chunk() {
  if (cancel_requested_) {
    // Without its final "." the server discards the message.
    fail(failure_kind::cancelled,
         "sending was stopped; message " + std::to_string(stream_index_ + 1) + " was not sent");
    return;
  }
  const std::string& data = messages_[stream_index_].data;
  const std::size_t n = std::min(chunk_size, data.size() - stream_offset_);
  engine_.write_data(std::string_view(data).substr(stream_offset_, n));
  stream_offset_ += n;
  if (stream_offset_ == data.size()) {
    streaming_ = false;
    engine_.end_data(tag_of(stream_index_));
    // RFC 2920 §3.1 would let the next transaction follow the content in the same write, but
    // Dovecot 2.3's submission service aborts on that (an assertion on pending RCPTs) after
    // relaying the message, so its sender would see "not sent" for a message that went out.
    // The next MAIL waits for the reply to this one's end of data (finalize()); only QUIT
    // may follow the last content at once.
    if (caps_.pipelining) maybe_quit();
  }
  flush_output();
}

void send_job::refuse(std::size_t i, int code, std::string_view enhanced, std::string text) {
  message_result& result = summary_.messages[i];
  result.accepted = false;
  result.code = code;
  result.enhanced_code = std::string(enhanced);
  result.text = std::move(text);
  ++in_flight_;  // finalize() counts it down
  finalize(i);
}

void send_job::finalize(std::size_t i) {
  progress_state& st = state_[i];
  if (st.final) return;
  st.final = true;
  --in_flight_;
  ++completed_;
  message_result& result = summary_.messages[i];
  if (!result.accepted && result.code == 0 && st.mail_ok && st.rcpts_accepted == 0 &&
      !result.recipients.empty()) {
    // Every recipient refused: the first refusal says why (e.g. relay access denied).
    for (const auto& r : result.recipients) {
      if (r.code != 0) {
        result.code = r.code;
        result.enhanced_code = r.enhanced_code;
        result.text = r.text;
        break;
      }
    }
  }
  emit_progress();
  // The next message starts once this one is over (see stream_chunk()). Not from inside
  // submit_next_message(), which goes on by itself.
  if (in_flight_ == 0 && !submitting_) submit_next_message();
  maybe_quit();
}

void send_job::maybe_quit() {
  if (quit_submitted_ || finished_ || streaming_) return;
  if (next_message_ < messages_.size() && !cancel_requested_) return;
  // With pipelining, QUIT may follow the last message's content in the same write (RFC 2920
  // §3.1); never while DATA is open, where it would become part of the message.
  if (in_flight_ != 0 && (!caps_.pipelining || engine_.data_open())) return;
  quit_submitted_ = true;
  phase_ = phase::quit;
  engine_.submit_quit();
}

void send_job::finish_run() {
  if (options_.check_only) {
    finish_ok("connection OK: " + account_.server + ":" + std::to_string(account_.port) + ", " +
              describe_login());
    return;
  }
  if (cancel_requested_ && completed_ < messages_.size()) {
    fail(failure_kind::cancelled, "sending was stopped; " + std::to_string(completed_) + " of " +
                                      std::to_string(messages_.size()) + " messages were done");
    return;
  }
  std::size_t accepted = 0, refused_recipients = 0;
  std::size_t first_refused = messages_.size();
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    const auto& r = summary_.messages[i];
    if (r.accepted) {
      ++accepted;
      for (const auto& rr : r.recipients) refused_recipients += rr.accepted ? 0 : 1;
    } else if (first_refused == messages_.size()) {
      first_refused = i;
    }
  }
  if (accepted == messages_.size()) {
    std::string msg =
        messages_.empty() ? std::string("nothing to send") : "sent " + plural(accepted, "message");
    if (refused_recipients > 0) msg += "; " + plural(refused_recipients, "recipient") + " refused";
    finish_ok(std::move(msg));
    return;
  }
  const auto& r = summary_.messages[first_refused];
  std::string why = r.code != 0 ? std::to_string(r.code) +
                                      (r.enhanced_code.empty() ? "" : " " + r.enhanced_code) +
                                      (r.text.empty() ? "" : " " + r.text)
                                : r.text;
  std::string msg = messages_.size() == 1
                        ? "the SMTP server refused the message: " + why
                        : std::to_string(accepted) + " of " + std::to_string(messages_.size()) +
                              " messages sent; message " + std::to_string(first_refused + 1) +
                              " was refused: " + why;
  fail(failure_kind::rejected, std::move(msg));
}

// ---- effects ----

void send_job::flush_output() {
  auto out = engine_.pending_output();
  if (out.empty()) return;
  effects_.push_send(out);
  engine_.consume_output(out.size());
}

void send_job::emit_progress() {
  effects_.push_progress({}, completed_, messages_.size());
}

void send_job::finish_ok(std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = true;
  summary_.failure = failure_kind::none;
  summary_.message = std::move(message);
  effects_.push(effect::type::close);
  phase_ = phase::closed;
  effects_.push(effect::type::done);
}

void send_job::fail(failure_kind kind, std::string message) {
  if (finished_) return;
  finished_ = true;
  summary_.ok = false;
  summary_.failure = kind;
  summary_.message = std::move(message);
  streaming_ = false;
  effects_.clear();
  effects_.push(effect::type::close);
  phase_ = phase::closed;
  effects_.push(effect::type::failed);
}

}  // namespace junction::jobs
