// The POP3 client engine: a FIFO of submitted commands, each answered by a response whose
// shape the command decides (the table below), parsed incrementally from the input buffer.
//
// Server quirks tolerated (each has a transcript in tests/unit/pop3/):
//   - bare LF instead of CRLF, in status lines, listings and message bodies: a trailing CR
//     is removed from lines, and bodies are delivered with their line ends exactly as sent;
//   - "+OK" / "-ERR" with no text after them.
// Not tolerated: "+ok", "+OKAY", "OK" (RFC 1939 §3 makes the indicators case-sensitive),
// NUL in a status or listing line, lines over limits.max_line.
#include "pop3/client.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "common/base64.h"
#include "common/digest.h"
#include "pop3/response.h"

namespace junction::pop3 {
namespace {

// How the server answers each command (RFC 1939 §4-§7, RFC 2449 §5, RFC 2595 §4,
// RFC 5034 §4). A barrier holds back the commands submitted after it until it is answered.
enum class shape {
  single,   // one status line -> response
  stat,     // +OK count octets -> stat, response
  capa,     // +OK, capability lines, "." -> capability..., response
  listing,  // +OK, listing lines, "." -> listing..., listing_end (UIDL n: one listing)
  message,  // +OK, dot-stuffed body, "." -> message_begin, message_data..., message_end
  sasl,     // "+ " challenges answered inside, then a status line -> response
};

struct command_info {
  const char* name;
  shape response;
  bool barrier;
};

constexpr command_info kCommands[] = {
    {"the greeting", shape::single, true},  // command::none
    {"CAPA", shape::capa, false},           // command::capa
    {"STLS", shape::single, true},          // command::stls
    {"USER", shape::single, false},         // command::user
    {"PASS", shape::single, false},         // command::pass
    {"APOP", shape::single, false},         // command::apop
    {"AUTH PLAIN", shape::sasl, true},      // command::auth_plain
    {"AUTH LOGIN", shape::sasl, true},      // command::auth_login
    {"STAT", shape::stat, false},           // command::stat
    {"LIST", shape::listing, false},        // command::list
    {"UIDL", shape::listing, false},        // command::uidl
    {"RETR", shape::message, false},        // command::retr
    {"TOP", shape::message, false},         // command::top
    {"DELE", shape::single, false},         // command::dele
    {"NOOP", shape::single, false},         // command::noop
    {"RSET", shape::single, false},         // command::rset
    {"QUIT", shape::single, false},         // command::quit
};
static_assert(sizeof(kCommands) / sizeof(kCommands[0]) ==
              static_cast<std::size_t>(command::quit) + 1);

const command_info& info(command c) {
  return kCommands[static_cast<int>(c)];
}

// RFC 2449 §4: a command line is at most 255 octets including CRLF.
constexpr std::size_t kMaxCommandLine = 255;

bool has_line_breaks_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void wipe(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  s.clear();
}

std::string describe(command c, std::uint64_t msg) {
  std::string d = info(c).name;
  if (msg != 0) d += " " + std::to_string(msg);
  return d;
}

}  // namespace

client::client(limits l) : limits_(l) {
  queue_.push_back(pending_command{});  // the greeting answers an implicit first "command"
  written_ = 1;
}

// ---- input ----

void client::feed(std::string_view bytes) {
  if (error_ || eof_ || bytes.empty()) return;
  // Views handed out earlier die here (the contract), so the consumed prefix can go.
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

event client::make(event_type type, bool ok) const {
  event e;
  e.type = type;
  e.ok = ok;
  if (!queue_.empty()) {
    e.cmd = queue_.front().cmd;
    e.number = queue_.front().msg;
  }
  if (type == event_type::error) e.text = error_.message;
  return e;
}

event client::fail(error_kind kind, std::string message) {
  if (!error_) {
    error_.kind = kind;
    error_.message = std::move(message);
  }
  return make(event_type::error, false);
}

event client::next_event() {
  if (error_) return make(event_type::error, false);
  if (follow_.type != event_type::need_data) {
    event e = follow_;
    follow_ = event{};
    return e;
  }
  return parse_step();
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
      fail(error_kind::protocol, "POP3: line longer than " + std::to_string(limits_.max_line) +
                                     " octets at byte " + std::to_string(at));
    }
    return false;
  }
  std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
  std::size_t len = lf - in_pos_;
  if (len > 0 && base[lf - 1] == '\r') --len;  // CRLF, or a sloppy server's bare LF
  if (len > limits_.max_line) {
    fail(error_kind::protocol, "POP3: line longer than " + std::to_string(limits_.max_line) +
                                   " octets at byte " + std::to_string(at));
    return false;
  }
  line = std::string_view(base + in_pos_, len);
  if (std::memchr(line.data(), '\0', len) != nullptr) {
    fail(error_kind::protocol, "POP3: NUL in a response line at byte " + std::to_string(at));
    return false;
  }
  in_pos_ = lf + 1;
  scan_pos_ = in_pos_;
  return true;
}

// Handlers return need_data to mean "consumed, nothing to report yet: keep parsing".
event client::parse_step() {
  for (;;) {
    if (queue_.empty()) {
      if (in_pos_ < in_.size()) {
        return fail(error_kind::protocol,
                    "POP3: unexpected data from the server with no command pending at byte " +
                        std::to_string(in_base_ + in_pos_));
      }
      if (eof_ && !quit_answered_) {
        return fail(error_kind::protocol, "POP3: connection closed by the server before QUIT");
      }
      return make(event_type::need_data);
    }
    if (phase_ == phase::body) return on_body();
    std::string_view line;
    std::uint64_t at = 0;
    if (!take_line(line, at)) {
      if (error_) return make(event_type::error, false);
      if (eof_) return on_eof_mid_response();
      return make(event_type::need_data);
    }
    event e = phase_ == phase::status ? on_status_line(line, at) : on_multiline(line, at);
    if (e.type != event_type::need_data) return e;
  }
}

event client::on_eof_mid_response() {
  const pending_command& pc = queue_.front();
  std::string what = pc.cmd == command::none ? std::string("the greeting")
                                             : "the response to " + describe(pc.cmd, pc.msg);
  return fail(error_kind::protocol, "POP3: connection closed in the middle of " + what +
                                        " at byte " + std::to_string(in_base_ + in_.size()));
}

event client::on_status_line(std::string_view line, std::uint64_t at) {
  pending_command& pc = queue_.front();
  const command c = pc.cmd;
  std::string_view text;
  auto kind = detail::classify_status(line, text);
  if (kind == detail::status_kind::continuation) {
    if (info(c).response == shape::sasl) {
      answer_challenge(pc);
      return make(event_type::need_data);
    }
    kind = detail::status_kind::bad;
  }
  if (kind == detail::status_kind::bad) {
    return fail(error_kind::protocol, "POP3: bad status line " + detail::excerpt(line) +
                                          " in response to " + describe(c, pc.msg) + " at byte " +
                                          std::to_string(at));
  }
  const bool ok = kind == detail::status_kind::ok;

  if (c == command::none) {
    if (ok) apop_timestamp_ = std::string(detail::find_apop_timestamp(text));
    event e = make(event_type::greeting, ok);
    e.text = text;
    e.apop_timestamp = apop_timestamp_;
    finish_front();
    return e;
  }

  if (!ok) {
    if (c == command::stls && queue_.size() > 1) {
      // The commands behind STLS were meant for the encrypted connection: never send them
      // in the clear.
      return fail(error_kind::protocol, "POP3: the server refused STLS; " +
                                            std::to_string(queue_.size() - 1) +
                                            " command(s) queued behind it were not sent");
    }
    event e = make(event_type::response, false);
    e.text = text;
    finish_front();
    return e;
  }

  switch (info(c).response) {
    case shape::single:
    case shape::sasl: {
      if (c == command::stls && in_pos_ < in_.size()) {
        // RFC 2595 §4 / CVE-2011-0411: anything after the +OK and before the TLS handshake
        // was injected by someone on the path; it must not be read as a TLS-protected reply.
        return fail(error_kind::protocol,
                    "POP3: data after the STLS +OK before TLS started (possible injection) at "
                    "byte " +
                        std::to_string(in_base_ + in_pos_));
      }
      if (c == command::quit) quit_answered_ = true;
      event e = make(event_type::response, true);
      e.text = text;
      finish_front();
      return e;
    }
    case shape::stat: {
      auto d = detail::parse_drop_listing(text);
      if (d.error != nullptr) {
        return fail(error_kind::protocol, std::string("POP3: bad STAT response (") + d.error +
                                              ") at byte " + std::to_string(at));
      }
      event s = make(event_type::stat, true);
      s.number = d.number;
      s.size = d.size;
      // The response is returned by the next call, perhaps after a feed() that moves in_.
      status_text_.assign(text.data(), text.size());
      follow_ = make(event_type::response, true);
      follow_.text = status_text_;
      finish_front();
      return s;
    }
    case shape::capa:
      status_text_.assign(text.data(), text.size());
      phase_ = phase::multiline;
      entries_ = 0;
      return make(event_type::need_data);
    case shape::listing:
      if (pc.msg != 0) {  // UIDL n: the +OK line is the listing (RFC 1939 §7)
        auto u = detail::parse_uid_listing(text);
        if (u.error != nullptr) {
          return fail(error_kind::protocol, std::string("POP3: bad UIDL response (") + u.error +
                                                ") at byte " + std::to_string(at));
        }
        event e = make(event_type::listing, true);
        e.number = u.number;
        e.text = u.uid;
        finish_front();
        return e;
      }
      phase_ = phase::multiline;
      entries_ = 0;
      return make(event_type::need_data);
    case shape::message: {
      phase_ = phase::body;
      at_line_start_ = true;
      delivered_ = 0;
      event e = make(event_type::message_begin, true);
      e.text = text;
      return e;
    }
  }
  return make(event_type::need_data);
}

event client::on_multiline(std::string_view line, std::uint64_t at) {
  const command c = queue_.front().cmd;
  if (line == ".") {
    event e = make(c == command::capa ? event_type::response : event_type::listing_end, true);
    if (c == command::capa) e.text = status_text_;
    finish_front();
    return e;
  }
  if (!line.empty() && line[0] == '.') line.remove_prefix(1);  // byte-stuffed (RFC 1939 §3)
  ++entries_;
  if (c == command::capa) {
    if (entries_ > limits_.max_capabilities) {
      return fail(error_kind::protocol, "POP3: more than " +
                                            std::to_string(limits_.max_capabilities) +
                                            " capabilities at byte " + std::to_string(at));
    }
    event e = make(event_type::capability, true);
    e.text = line;
    return e;
  }
  if (entries_ > limits_.max_listing_entries) {
    return fail(error_kind::protocol, std::string("POP3: more than ") +
                                          std::to_string(limits_.max_listing_entries) + " " +
                                          info(c).name + " lines at byte " + std::to_string(at));
  }
  auto l = c == command::uidl ? detail::parse_uid_listing(line) : detail::parse_scan_listing(line);
  if (l.error != nullptr) {
    return fail(error_kind::protocol, std::string("POP3: bad ") + info(c).name + " line " +
                                          detail::excerpt(line) + " (" + l.error + ") at byte " +
                                          std::to_string(at));
  }
  event e = make(event_type::listing, true);
  e.number = l.number;
  e.size = l.size;
  e.text = l.uid;
  return e;
}

// The body of RETR/TOP: dot-stuffed lines up to a line holding only "." (RFC 1939 §3).
// Every byte that cannot be part of the terminator is delivered as soon as it is here; only
// a "." or ".\r" at the start of a line waits for the next byte to decide. One event covers
// as many whole lines as are buffered, up to the next line that starts with '.'.
event client::on_body() {
  const char* b = in_.data();
  const std::size_t end = in_.size();
  std::size_t p = in_pos_;
  const std::uint64_t msg = queue_.front().msg;
  if (at_line_start_) {
    if (p < end && b[p] == '.') {
      std::size_t term = 0;  // length of the terminator line, when it is one
      bool decided = false;
      if (p + 1 < end) {
        if (b[p + 1] == '\n') {  // ".\n": a sloppy server's bare LF
          term = 2;
          decided = true;
        } else if (b[p + 1] != '\r') {
          decided = true;
        } else if (p + 2 < end) {
          term = b[p + 2] == '\n' ? 3 : 0;
          decided = true;
        }
      }
      if (!decided) {
        if (eof_) return on_eof_mid_response();
        return make(event_type::need_data);
      }
      if (term != 0) {
        in_pos_ = p + term;
        event e = make(event_type::message_end, true);
        e.size = delivered_;
        finish_front();
        return e;
      }
      ++p;  // the stuffed dot
      in_pos_ = p;
    } else if (p >= end) {
      if (eof_) return on_eof_mid_response();
      return make(event_type::need_data);
    }
  }
  const std::size_t start = p;
  at_line_start_ = false;
  while (p < end) {
    const void* hit = std::memchr(b + p, '\n', end - p);
    if (hit == nullptr) {
      p = end;
      break;
    }
    p = static_cast<std::size_t>(static_cast<const char*>(hit) - b) + 1;
    at_line_start_ = true;
    if (p < end && b[p] == '.') break;
    if (p < end) at_line_start_ = false;
  }
  if (p == start) {  // mid-line, and nothing new buffered
    if (eof_) return on_eof_mid_response();
    return make(event_type::need_data);
  }
  const std::uint64_t room = limits_.max_message_size - delivered_;
  if (p - start > room) {
    if (room == 0) {
      return fail(error_kind::protocol, "POP3: message " + std::to_string(msg) + " exceeds limit " +
                                            std::to_string(limits_.max_message_size) +
                                            " octets at byte " + std::to_string(in_base_ + start));
    }
    // Deliver up to the limit first, so the events do not depend on how input was cut.
    p = start + static_cast<std::size_t>(room);
    at_line_start_ = b[p - 1] == '\n';
  }
  delivered_ += p - start;
  in_pos_ = p;
  event e = make(event_type::message_data, true);
  e.text = std::string_view(b + start, p - start);
  return e;
}

void client::finish_front() {
  queue_.pop_front();
  --written_;
  phase_ = phase::status;
  write_ready_commands();
}

// RFC 5034 §4 (and RFC 4422): each "+" line asks for the next SASL step; "*" cancels when
// the server asks for more than the mechanism has.
void client::answer_challenge(pending_command& pc) {
  std::string* answer = nullptr;
  if (pc.cmd == command::auth_plain) {
    if (pc.sasl_step == 0 && !pc.sasl_user.empty()) answer = &pc.sasl_user;
  } else if (pc.sasl_step == 0) {
    answer = &pc.sasl_user;
  } else if (pc.sasl_step == 1) {
    answer = &pc.sasl_pass;
  }
  ++pc.sasl_step;
  if (answer == nullptr) {
    out_ += "*\r\n";
    return;
  }
  out_ += *answer;
  out_ += "\r\n";
  wipe(*answer);
}

// ---- output ----

void client::write_ready_commands() {
  while (written_ < queue_.size()) {
    if (written_ > 0 && info(queue_[written_ - 1].cmd).barrier) return;
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
    fail(error_kind::misuse, "POP3: consume_output(" + std::to_string(n) + ") but only " +
                                 std::to_string(available) + " octets are pending");
    return;
  }
  out_pos_ += n;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

bool client::awaiting_response() const {
  return !error_ && !queue_.empty();
}

// ---- commands ----

bool client::accept_submit(command c) {
  if (error_) return false;
  if (quit_submitted_) {
    fail(error_kind::misuse, std::string("POP3: ") + info(c).name + " submitted after QUIT");
    return false;
  }
  if (eof_) {
    fail(error_kind::protocol,
         std::string("POP3: connection closed by the server before ") + info(c).name);
    return false;
  }
  return true;
}

bool client::queue_command(pending_command pc) {
  if (pc.cmd == command::quit) quit_submitted_ = true;
  queue_.push_back(std::move(pc));
  write_ready_commands();
  return true;
}

namespace {

// A command line from a keyword and optional arguments, rejecting CR, LF and NUL that would
// smuggle a second command.
bool argument_ok(std::string_view arg) {
  return !has_line_breaks_or_nul(arg);
}

}  // namespace

bool client::submit_capa() {
  if (!accept_submit(command::capa)) return false;
  return queue_command({command::capa, 0, "CAPA\r\n"});
}

bool client::submit_stls() {
  if (!accept_submit(command::stls)) return false;
  if (stls_submitted_) {
    fail(error_kind::misuse, "POP3: STLS submitted twice");
    return false;
  }
  stls_submitted_ = true;
  return queue_command({command::stls, 0, "STLS\r\n"});
}

bool client::submit_user(std::string_view name) {
  if (!accept_submit(command::user)) return false;
  if (name.empty() || !argument_ok(name)) {
    fail(error_kind::misuse, "POP3: user name is empty or contains CR, LF or NUL");
    return false;
  }
  return queue_command({command::user, 0, "USER " + std::string(name) + "\r\n"});
}

bool client::submit_pass(std::string_view password) {
  if (!accept_submit(command::pass)) return false;
  if (!argument_ok(password)) {
    fail(error_kind::misuse, "POP3: password contains CR, LF or NUL");
    return false;
  }
  return queue_command({command::pass, 0, "PASS " + std::string(password) + "\r\n"});
}

bool client::submit_apop(std::string_view name, std::string_view password) {
  if (!accept_submit(command::apop)) return false;
  if (apop_timestamp_.empty()) {
    fail(error_kind::misuse, "POP3: APOP needs a timestamp in the server's greeting");
    return false;
  }
  if (name.empty() || !argument_ok(name) || name.find(' ') != std::string_view::npos) {
    fail(error_kind::misuse, "POP3: APOP user name is empty or contains a space, CR, LF or NUL");
    return false;
  }
  std::string secret = apop_timestamp_;
  secret.append(password.data(), password.size());
  std::string line = "APOP " + std::string(name) + " " + md5_hex(secret) + "\r\n";
  wipe(secret);
  return queue_command({command::apop, 0, std::move(line)});
}

bool client::submit_auth_plain(std::string_view name, std::string_view password) {
  if (!accept_submit(command::auth_plain)) return false;
  if (name.empty() || name.find('\0') != std::string_view::npos ||
      password.find('\0') != std::string_view::npos) {
    fail(error_kind::misuse, "POP3: AUTH PLAIN user name is empty or a credential contains NUL");
    return false;
  }
  // RFC 4616: message = [authzid] NUL authcid NUL passwd, here with an empty authzid.
  std::string message;
  message += '\0';
  message.append(name.data(), name.size());
  message += '\0';
  message.append(password.data(), password.size());
  pending_command pc{command::auth_plain, 0, {}};
  pc.sasl_user = base64::encode(message);
  wipe(message);
  // RFC 5034 §4: no initial response when it would push the command past 255 octets; the
  // credentials then go out as the answer to the server's empty "+" challenge.
  if (std::string_view("AUTH PLAIN ").size() + pc.sasl_user.size() + 2 <= kMaxCommandLine) {
    pc.line = "AUTH PLAIN " + pc.sasl_user + "\r\n";
    wipe(pc.sasl_user);
  } else {
    pc.line = "AUTH PLAIN\r\n";
  }
  return queue_command(std::move(pc));
}

bool client::submit_auth_login(std::string_view name, std::string_view password) {
  if (!accept_submit(command::auth_login)) return false;
  if (name.empty()) {
    fail(error_kind::misuse, "POP3: AUTH LOGIN user name is empty");
    return false;
  }
  pending_command pc{command::auth_login, 0, "AUTH LOGIN\r\n"};
  pc.sasl_user = base64::encode(name);
  pc.sasl_pass = base64::encode(password);
  return queue_command(std::move(pc));
}

bool client::submit_stat() {
  if (!accept_submit(command::stat)) return false;
  return queue_command({command::stat, 0, "STAT\r\n"});
}

bool client::submit_list() {
  if (!accept_submit(command::list)) return false;
  return queue_command({command::list, 0, "LIST\r\n"});
}

bool client::submit_uidl() {
  if (!accept_submit(command::uidl)) return false;
  return queue_command({command::uidl, 0, "UIDL\r\n"});
}

namespace {
bool message_number_ok(std::uint64_t msg) {
  return msg != 0;
}  // RFC 1939: numbers start at 1
}  // namespace

bool client::submit_uidl(std::uint64_t msg) {
  if (!accept_submit(command::uidl)) return false;
  if (!message_number_ok(msg)) {
    fail(error_kind::misuse, "POP3: UIDL of message number 0");
    return false;
  }
  return queue_command({command::uidl, msg, "UIDL " + std::to_string(msg) + "\r\n"});
}

bool client::submit_retr(std::uint64_t msg) {
  if (!accept_submit(command::retr)) return false;
  if (!message_number_ok(msg)) {
    fail(error_kind::misuse, "POP3: RETR of message number 0");
    return false;
  }
  return queue_command({command::retr, msg, "RETR " + std::to_string(msg) + "\r\n"});
}

bool client::submit_top(std::uint64_t msg, std::uint64_t lines) {
  if (!accept_submit(command::top)) return false;
  if (!message_number_ok(msg)) {
    fail(error_kind::misuse, "POP3: TOP of message number 0");
    return false;
  }
  return queue_command(
      {command::top, msg, "TOP " + std::to_string(msg) + " " + std::to_string(lines) + "\r\n"});
}

bool client::submit_dele(std::uint64_t msg) {
  if (!accept_submit(command::dele)) return false;
  if (!message_number_ok(msg)) {
    fail(error_kind::misuse, "POP3: DELE of message number 0");
    return false;
  }
  return queue_command({command::dele, msg, "DELE " + std::to_string(msg) + "\r\n"});
}

bool client::submit_noop() {
  if (!accept_submit(command::noop)) return false;
  return queue_command({command::noop, 0, "NOOP\r\n"});
}

bool client::submit_rset() {
  if (!accept_submit(command::rset)) return false;
  return queue_command({command::rset, 0, "RSET\r\n"});
}

bool client::submit_quit() {
  if (!accept_submit(command::quit)) return false;
  return queue_command({command::quit, 0, "QUIT\r\n"});
}

}  // namespace junction::pop3
