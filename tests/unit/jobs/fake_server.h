// The in-memory peer of the "tests" driver (ARCHITECTURE.md, "One engine, three drivers"): a
// scripted server that reads command lines and queues its answers, with a fake TLS that is
// only a flag, a knob to drop the line after N bytes, and a record of every command.
//
// Contract with the driver (scripted_driver.h):
//   connect()          a new session; the greeting is queued.
//   receive(bytes)     what the client wrote; complete lines are answered at once.
//   to_client(max)     what the client reads next (at most max bytes, 0 = all queued).
//   at_eof()           the server closed (after QUIT/LOGOUT, or the cut): no more bytes.
//   start_tls()        the client started TLS after the server's STLS/STARTTLS answer.
//   disconnect()       the client closed or died; a session that did not end cleanly is
//                      abandoned (POP3: no UPDATE state, RFC 1939 §6).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace junction::jobs::testing {

struct received_command {
  std::string line;  // without CRLF
  bool under_tls = false;
  std::size_t connection = 0;  // 1 for the first connection of the server's life
};

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

class fake_server {
 public:
  virtual ~fake_server() = default;

  // Knobs.
  // Per connection: the line drops after this many bytes were sent to the client.
  std::optional<std::size_t> cut_after;

  // What happened.
  std::vector<received_command> commands;
  std::vector<std::string> violations;        // the client broke a rule the test checks
  std::vector<std::string>* trace = nullptr;  // shared with the driver, "C: <line>" per command
  std::size_t max_commands_per_write = 0;     // >1 means the client pipelined
  std::size_t connections = 0;

  void connect() {
    ++connections;
    connected_ = true;
    closing_ = false;
    cut_done_ = false;
    tls_ = false;
    tls_pending_ = false;
    in_.clear();
    out_.clear();
    sent_ = 0;
    begin_session();
  }

  void receive(std::string_view bytes) {
    if (cut_after && sent_ >= *cut_after) cut();
    if (!connected_ || closing_ || cut_done_) return;  // written into a dead line
    if (tls_pending_) violations.push_back("bytes sent in clear after the STARTTLS answer");
    in_.append(bytes);
    std::size_t lines = 0;
    for (;;) {
      if (closing_ || tls_pending_) break;
      auto eol = in_.find("\r\n");
      if (eol == std::string::npos) break;
      std::string line = in_.substr(0, eol);
      in_.erase(0, eol + 2);
      ++lines;
      commands.push_back({line, tls_, connections});
      if (trace) trace->push_back("C: " + line);
      handle_line(line);
    }
    if (tls_pending_ && !in_.empty()) {
      violations.push_back("commands pipelined behind STARTTLS, in clear: " + in_);
    }
    if (lines > max_commands_per_write) max_commands_per_write = lines;
  }

  std::string to_client(std::size_t max) {
    if (!connected_ || cut_done_) return {};
    std::size_t n = out_.size();
    if (max != 0 && n > max) n = max;
    if (cut_after) {
      if (sent_ >= *cut_after) {
        cut();
        return {};
      }
      n = std::min(n, *cut_after - sent_);
    }
    std::string s = out_.substr(0, n);
    out_.erase(0, n);
    sent_ += n;
    return s;
  }

  bool at_eof() {
    if (!connected_ || cut_done_) return true;
    if (cut_after && sent_ >= *cut_after) {
      cut();
      return true;
    }
    return closing_ && out_.empty();
  }

  void start_tls() {
    if (!tls_pending_) violations.push_back("start_tls without a STARTTLS answer");
    tls_pending_ = false;
    tls_ = true;
  }

  void disconnect() {
    if (!connected_) return;
    connected_ = false;
    if (!closing_ && !cut_done_) abandon_session();
  }

  bool connected() const { return connected_; }

  // Commands whose first word (upper-cased) is `verb`.
  std::size_t count(std::string_view verb) const {
    std::size_t n = 0;
    for (const auto& c : commands) {
      if (first_word(c.line) == verb) ++n;
    }
    return n;
  }

  // The first word of a POP3 line, or the command of an IMAP line (after the tag).
  virtual std::string first_word(std::string_view line) const {
    return upper(line.substr(0, line.find(' ')));
  }

 protected:
  virtual void begin_session() = 0;
  virtual void handle_line(const std::string& line) = 0;
  // The session ended without QUIT/LOGOUT (cut, or the client vanished).
  virtual void abandon_session() {}

  void reply(std::string_view s) { out_.append(s); }
  void close_after_reply() { closing_ = true; }
  void begin_tls() { tls_pending_ = true; }
  bool tls() const { return tls_; }

 private:
  void cut() {
    if (cut_done_) return;
    cut_done_ = true;
    out_.clear();
    if (!closing_) abandon_session();
  }

  bool connected_ = false;
  bool closing_ = false;
  bool cut_done_ = false;
  bool tls_ = false;
  bool tls_pending_ = false;
  std::string in_;
  std::string out_;
  std::size_t sent_ = 0;
};

}  // namespace junction::jobs::testing
