// The SMTP client engine: a FIFO of submitted commands, each answered by one reply (RFC 5321
// §4.2), parsed incrementally from the input buffer.
//
// Server quirks tolerated (each has a transcript in tests/unit/smtp/):
//   - bare LF instead of CRLF after a reply line;
//   - a reply code with no text ("250");
//   - "AUTH=PLAIN LOGIN" in EHLO (parse_ehlo).
// Not tolerated: codes outside 2xx-5xx or with a second digit above 5, letters in the code,
// a continuation line whose code differs from the first line's, NUL in a line, lines over
// limits.max_line, replies over limits.max_reply_lines lines, bytes nobody asked for.
#include "smtp/client.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/base64.h"
#include "common/digest.h"
#include "smtp/reply.h"

namespace junction::smtp {
namespace {

// RFC 2920 §3.1: these end a group of pipelined commands; what follows waits for their reply.
bool ends_group(command c) {
  switch (c) {
    case command::none:
    case command::ehlo:
    case command::helo:
    case command::starttls:
    case command::auth:
    case command::data:
    case command::noop:
    case command::quit:
      return true;
    default:
      return false;
  }
}

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
constexpr std::size_t kMaxCommandLine = 512;

void wipe(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  s.clear();
}

bool has_any(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

const std::string_view kLineBreaksNul("\r\n\0", 3);
const std::string_view kPathBreakers("\r\n\0<>", 5);

}  // namespace

const char* to_string(command c) {
  switch (c) {
    case command::none:
      return "the greeting";
    case command::ehlo:
      return "EHLO";
    case command::helo:
      return "HELO";
    case command::starttls:
      return "STARTTLS";
    case command::auth:
      return "AUTH";
    case command::mail:
      return "MAIL FROM";
    case command::rcpt:
      return "RCPT TO";
    case command::data:
      return "DATA";
    case command::data_end:
      return "the end of the message data";
    case command::rset:
      return "RSET";
    case command::noop:
      return "NOOP";
    case command::quit:
      return "QUIT";
  }
  return "?";
}

client::client(limits l) : limits_(l) {
  queue_.push_back(pending_command{});  // the greeting answers an implicit first "command"
  written_ = 1;
}

// ---- input ----

void client::feed(std::string_view bytes) {
  if (error_ || eof_ || bytes.empty()) return;
  if (in_pos_ == in_.size()) {
    in_base_ += in_pos_;
    in_.clear();
    in_pos_ = scan_pos_ = 0;
  } else if (in_pos_ >= 4096 && in_pos_ >= in_.size() / 2) {
    in_.erase(0, in_pos_);
    in_base_ += in_pos_;
    scan_pos_ -= std::min(scan_pos_, in_pos_);
    in_pos_ = 0;
  }
  in_.append(bytes.data(), bytes.size());
}

void client::feed_eof() {
  eof_ = true;
}

event client::fail(error_kind kind, std::string message) {
  if (!error_) {
    error_.kind = kind;
    error_.message = std::move(message);
  }
  event e;
  e.type = event_type::error;
  e.text = error_.message;
  return e;
}

event client::fail_closed(std::string message) {
  if (!error_) closed_error_ = true;
  return fail(error_kind::protocol, std::move(message));
}

std::string client::describe_front() const {
  if (queue_.empty()) return "no command";
  const command c = queue_.front().cmd;
  return c == command::none ? std::string("the greeting")
                            : std::string("the reply to ") + to_string(c);
}

bool client::take_line(std::string_view& line, std::uint64_t& at) {
  const char* base = in_.data();
  std::size_t from = std::max(scan_pos_, in_pos_);
  const void* hit = from < in_.size() ? std::memchr(base + from, '\n', in_.size() - from) : nullptr;
  at = in_base_ + in_pos_;
  if (hit == nullptr) {
    scan_pos_ = in_.size();
    // Without its LF the line already has more than max_line octets plus a CR: give up now
    // rather than buffer an endless line.
    if (in_.size() - in_pos_ > limits_.max_line + 1) {
      fail(error_kind::protocol, "SMTP: reply line longer than " +
                                     std::to_string(limits_.max_line) + " octets at byte " +
                                     std::to_string(at));
    }
    return false;
  }
  std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
  std::size_t len = lf - in_pos_;
  if (len > 0 && base[lf - 1] == '\r') --len;
  if (len > limits_.max_line) {
    fail(error_kind::protocol, "SMTP: reply line longer than " + std::to_string(limits_.max_line) +
                                   " octets at byte " + std::to_string(at));
    return false;
  }
  line = std::string_view(base + in_pos_, len);
  if (std::memchr(line.data(), '\0', len) != nullptr) {
    fail(error_kind::protocol, "SMTP: NUL in a reply line at byte " + std::to_string(at));
    return false;
  }
  in_pos_ = lf + 1;
  scan_pos_ = in_pos_;
  return true;
}

event client::next_event() {
  if (error_) return fail(error_.kind, error_.message);
  for (;;) {
    if (queue_.empty()) {
      if (in_pos_ < in_.size()) {
        std::string_view rest(in_.data() + in_pos_,
                              std::min<std::size_t>(in_.size() - in_pos_, 40));
        return fail(error_kind::protocol,
                    "SMTP: unexpected data from the server with no command pending " +
                        excerpt(rest.substr(0, rest.find_first_of("\r\n"))) + " at byte " +
                        std::to_string(in_base_ + in_pos_));
      }
      if (eof_ && !quit_answered_) {
        return fail_closed(data_state_ == data_state::body
                               ? "SMTP: connection closed by the server during the message data"
                               : "SMTP: connection closed by the server");
      }
      return event{};
    }
    std::string_view line;
    std::uint64_t at = 0;
    if (!take_line(line, at)) {
      if (error_) return fail(error_.kind, error_.message);
      if (eof_) {
        return fail_closed("SMTP: connection closed by the server before " + describe_front() +
                           " at byte " + std::to_string(in_base_ + in_.size()));
      }
      return event{};
    }
    event e = on_line(line, at);
    if (e.type != event_type::need_data) return e;
  }
}

// Returns need_data to mean "consumed, keep parsing".
event client::on_line(std::string_view line, std::uint64_t at) {
  reply_line r = parse_reply_line(line);
  if (r.error != nullptr) {
    return fail(error_kind::protocol, "SMTP: bad reply line " + excerpt(line) + " (" + r.error +
                                          ") in " + describe_front() + " at byte " +
                                          std::to_string(at));
  }
  if (reply_code_ == 0) {  // the first line of a reply
    reply_code_ = r.code;
    reply_lines_.clear();
    reply_text_.clear();
    reply_enhanced_.clear();
  } else if (r.code != reply_code_) {
    return fail(error_kind::protocol, "SMTP: a continuation line has code " +
                                          std::to_string(r.code) + " after " +
                                          std::to_string(reply_code_) + " in " + describe_front() +
                                          " at byte " + std::to_string(at));
  }
  if (reply_lines_.size() >= limits_.max_reply_lines) {
    return fail(error_kind::protocol, "SMTP: more than " + std::to_string(limits_.max_reply_lines) +
                                          " lines in one reply, in " + describe_front() +
                                          " at byte " + std::to_string(at));
  }
  std::string_view text = r.text;
  if (std::size_t n = enhanced_code_length(text, r.code); n != 0) {
    if (reply_lines_.empty()) reply_enhanced_.assign(text.data(), n);
    text.remove_prefix(n < text.size() ? n + 1 : n);
  }
  reply_lines_.emplace_back(text);
  if (!text.empty()) {
    if (!reply_text_.empty()) reply_text_ += ' ';
    reply_text_.append(text.data(), text.size());
  }
  if (!r.last) return event{};
  return complete_reply();
}

event client::complete_reply() {
  const int code = reply_code_;
  reply_code_ = 0;
  pending_command& pc = queue_.front();
  if (code == 334 && pc.cmd == command::auth) {
    // RFC 4954 §4: a challenge; the answer goes out now, the final reply comes later.
    answer_challenge(pc, reply_lines_.back());
    if (error_) return fail(error_.kind, error_.message);
    return event{};
  }
  event e;
  e.type = event_type::reply;
  e.cmd = pc.cmd;
  e.tag = pc.tag;
  e.code = code;
  e.ok = pc.cmd == command::data ? code == 354 : code / 100 == 2;
  e.enhanced = reply_enhanced_;
  e.text = reply_text_;
  e.lines = &reply_lines_;
  if (pc.cmd == command::starttls && e.ok && in_pos_ < in_.size()) {
    // RFC 3207 §6 / CVE-2011-0411: bytes after the 220 and before the handshake were injected
    // by someone on the path; they must not be read as a TLS-protected reply.
    return fail(error_kind::protocol,
                "SMTP: data after the STARTTLS reply before TLS started (possible injection) at "
                "byte " +
                    std::to_string(in_base_ + in_pos_));
  }
  if (pc.cmd == command::starttls && !e.ok && queue_.size() > 1) {
    return fail(error_kind::protocol, "SMTP: the server refused STARTTLS; " +
                                          std::to_string(queue_.size() - 1) +
                                          " command(s) queued behind it were not sent");
  }
  if (pc.cmd == command::data) {
    data_state_ = e.ok ? data_state::body : data_state::none;
  }
  if (pc.cmd == command::quit) quit_answered_ = true;
  queue_.pop_front();
  --written_;
  write_ready_commands();
  return e;
}

void client::answer_challenge(pending_command& pc, std::string_view challenge) {
  const int step = pc.sasl_step++;
  std::string answer;
  bool have = false;
  switch (pc.mech) {
    case sasl_mechanism::plain:
      if (step == 0 && !pc.sasl_user.empty()) {
        answer = std::move(pc.sasl_user);
        have = true;
      }
      break;
    case sasl_mechanism::login:
      // RFC 4954 §4 does not define LOGIN; every server asks "Username:" then "Password:".
      if (step == 0) {
        answer = std::move(pc.sasl_user);
        have = true;
      } else if (step == 1) {
        answer = std::move(pc.sasl_pass);
        have = true;
      }
      break;
    case sasl_mechanism::cram_md5:
      if (step == 0) {
        auto decoded = base64::decode(challenge);
        if (!decoded || decoded->empty()) {
          fail(error_kind::protocol,
               "SMTP: the CRAM-MD5 challenge " + excerpt(challenge) + " is not base64");
          return;
        }
        // RFC 2195 §2: user SP lower-case hex of HMAC-MD5(password, challenge).
        std::string response = pc.sasl_user + " " + hmac_md5_hex(pc.sasl_pass, *decoded);
        answer = base64::encode(response);
        wipe(response);
        wipe(pc.sasl_user);
        wipe(pc.sasl_pass);
        have = true;
      }
      break;
  }
  if (!have) {
    out_ += "*\r\n";  // RFC 4954 §4: cancel when asked for more than the mechanism has
    return;
  }
  out_ += answer;
  out_ += "\r\n";
  wipe(answer);
}

// ---- output ----

void client::write_ready_commands() {
  while (written_ < queue_.size()) {
    if (written_ > 0 && ends_group(queue_[written_ - 1].cmd)) return;
    pending_command& pc = queue_[written_++];
    out_ += pc.line;
    wipe(pc.line);
  }
}

std::string_view client::pending_output() const {
  if (error_) return {};
  return std::string_view(out_).substr(out_pos_);
}

void client::consume_output(std::size_t n) {
  if (error_) return;
  std::size_t available = out_.size() - out_pos_;
  if (n > available) {
    fail(error_kind::misuse, "SMTP: consume_output(" + std::to_string(n) + ") but only " +
                                 std::to_string(available) + " octets are pending");
    return;
  }
  out_pos_ += n;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

bool client::awaiting_reply() const {
  return !error_ && !queue_.empty();
}

// ---- commands ----

bool client::accept_submit(command c) {
  if (error_) return false;
  if (quit_submitted_) {
    fail(error_kind::misuse, std::string("SMTP: ") + to_string(c) + " submitted after QUIT");
    return false;
  }
  if (data_state_ != data_state::none) {
    // Anything written now would become part of the message.
    fail(error_kind::misuse, std::string("SMTP: ") + to_string(c) + " submitted during DATA");
    return false;
  }
  if (eof_) {
    fail_closed(std::string("SMTP: connection closed by the server before ") + to_string(c));
    return false;
  }
  return true;
}

bool client::queue_command(pending_command pc) {
  if (pc.cmd == command::quit) quit_submitted_ = true;
  if (pc.cmd == command::data) data_state_ = data_state::awaiting_go_ahead;
  queue_.push_back(std::move(pc));
  write_ready_commands();
  return true;
}

bool client::submit_ehlo(std::string_view name) {
  if (!accept_submit(command::ehlo)) return false;
  if (name.empty() || has_any(name, kLineBreaksNul) || has_any(name, " ")) {
    fail(error_kind::misuse, "SMTP: EHLO name is empty or contains a space, CR, LF or NUL");
    return false;
  }
  return queue_command({command::ehlo, 0, "EHLO " + std::string(name) + "\r\n"});
}

bool client::submit_helo(std::string_view name) {
  if (!accept_submit(command::helo)) return false;
  if (name.empty() || has_any(name, kLineBreaksNul) || has_any(name, " ")) {
    fail(error_kind::misuse, "SMTP: HELO name is empty or contains a space, CR, LF or NUL");
    return false;
  }
  return queue_command({command::helo, 0, "HELO " + std::string(name) + "\r\n"});
}

bool client::submit_starttls() {
  if (!accept_submit(command::starttls)) return false;
  return queue_command({command::starttls, 0, "STARTTLS\r\n"});
}

bool client::submit_auth(sasl_mechanism m, std::string_view user, std::string_view password) {
  if (!accept_submit(command::auth)) return false;
  if (user.empty()) {
    fail(error_kind::misuse, "SMTP: AUTH user name is empty");
    return false;
  }
  pending_command pc{command::auth, 0, {}};
  pc.mech = m;
  switch (m) {
    case sasl_mechanism::plain: {
      if (has_any(user, std::string_view("\0", 1)) ||
          has_any(password, std::string_view("\0", 1))) {
        fail(error_kind::misuse, "SMTP: AUTH PLAIN credentials contain NUL");
        return false;
      }
      // RFC 4616: message = [authzid] NUL authcid NUL passwd, here with an empty authzid.
      std::string message;
      message += '\0';
      message.append(user.data(), user.size());
      message += '\0';
      message.append(password.data(), password.size());
      std::string encoded = base64::encode(message);
      wipe(message);
      // RFC 4954 §4: the initial response saves a round trip unless the line gets too long;
      // then it answers the server's empty 334 instead.
      if (std::string_view("AUTH PLAIN ").size() + encoded.size() + 2 <= kMaxCommandLine) {
        pc.line = "AUTH PLAIN " + encoded + "\r\n";
        wipe(encoded);
      } else {
        pc.line = "AUTH PLAIN\r\n";
        pc.sasl_user = std::move(encoded);
      }
      break;
    }
    case sasl_mechanism::login:
      pc.line = "AUTH LOGIN\r\n";
      pc.sasl_user = base64::encode(user);
      pc.sasl_pass = base64::encode(password);
      break;
    case sasl_mechanism::cram_md5:
      pc.line = "AUTH CRAM-MD5\r\n";
      pc.sasl_user = std::string(user);
      pc.sasl_pass = std::string(password);
      break;
  }
  return queue_command(std::move(pc));
}

bool client::submit_mail(std::string_view reverse_path, const mail_parameters& p,
                         std::uint64_t tag) {
  if (!accept_submit(command::mail)) return false;
  if (has_any(reverse_path, kPathBreakers)) {
    fail(error_kind::misuse, "SMTP: MAIL FROM address contains CR, LF, NUL, < or >");
    return false;
  }
  std::string line = "MAIL FROM:<";
  line.append(reverse_path.data(), reverse_path.size());
  line += '>';
  if (p.size != 0) line += " SIZE=" + std::to_string(p.size);
  if (p.eight_bit_mime) line += " BODY=8BITMIME";
  if (p.smtputf8) line += " SMTPUTF8";
  line += "\r\n";
  return queue_command({command::mail, tag, std::move(line)});
}

bool client::submit_rcpt(std::string_view forward_path, std::uint64_t tag) {
  if (!accept_submit(command::rcpt)) return false;
  if (forward_path.empty() || has_any(forward_path, kPathBreakers)) {
    fail(error_kind::misuse, "SMTP: RCPT TO address is empty or contains CR, LF, NUL, < or >");
    return false;
  }
  std::string line = "RCPT TO:<";
  line.append(forward_path.data(), forward_path.size());
  line += ">\r\n";
  return queue_command({command::rcpt, tag, std::move(line)});
}

bool client::submit_data(std::uint64_t tag) {
  if (!accept_submit(command::data)) return false;
  return queue_command({command::data, tag, "DATA\r\n"});
}

bool client::write_data(std::string_view chunk) {
  if (error_) return false;
  if (data_state_ != data_state::body) {
    fail(error_kind::misuse, "SMTP: message data written before DATA was answered 354");
    return false;
  }
  encoder_.encode(chunk, out_);
  return true;
}

bool client::end_data(std::uint64_t tag) {
  if (error_) return false;
  if (data_state_ != data_state::body) {
    fail(error_kind::misuse, "SMTP: end of data before DATA was answered 354");
    return false;
  }
  encoder_.finish(out_);
  data_state_ = data_state::none;
  // The content is in out_ already; the queue only waits for its reply. Commands submitted
  // next may follow at once (RFC 2920 §3.1: the content may start a group).
  queue_.push_back(pending_command{command::data_end, tag, {}});
  ++written_;
  return true;
}

bool client::submit_rset(std::uint64_t tag) {
  if (!accept_submit(command::rset)) return false;
  return queue_command({command::rset, tag, "RSET\r\n"});
}

bool client::submit_noop() {
  if (!accept_submit(command::noop)) return false;
  return queue_command({command::noop, 0, "NOOP\r\n"});
}

bool client::submit_quit() {
  if (!accept_submit(command::quit)) return false;
  return queue_command({command::quit, 0, "QUIT\r\n"});
}

}  // namespace junction::smtp
