// A POP3 server for the job tests (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH PLAIN RFC 5034):
// AUTHORIZATION and TRANSACTION states, deletions applied only at QUIT (UPDATE state), RETR
// dot-stuffed, and knobs for each optional feature.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/digest.h"
#include "fake_server.h"

namespace junction::jobs::testing {

struct pop3_message {
  std::string uidl;
  std::string content;  // as the user wrote it (not dot-stuffed), CRLF line ends
};

class fake_pop3_server : public fake_server {
 public:
  std::string user = "alice";
  std::string password = "secret";
  std::string apop_timestamp;  // "<...>" in the greeting when set
  bool capa = true;            // answers CAPA (else -ERR, as RFC 1939-only servers do)
  bool uidl = true;            // UIDL works and is announced
  bool pipelining = false;
  bool stls = false;
  bool user_capa = true;
  bool sasl_plain = false;
  std::vector<pop3_message> maildrop;
  // Called when DELE marks a message, before the answer is queued.
  std::function<void(const pop3_message&)> on_dele;

  // Messages marked by DELE in sessions that reached QUIT.
  std::size_t deleted_at_quit = 0;

 protected:
  void begin_session() override {
    state_ = state::authorization;
    user_given_.clear();
    deleted_.assign(maildrop.size(), false);
    retrieved_.assign(maildrop.size(), false);
    reply("+OK fake POP3 ready" + (apop_timestamp.empty() ? "" : " " + apop_timestamp) + "\r\n");
  }

  void abandon_session() override { deleted_.assign(maildrop.size(), false); }

  void handle_line(const std::string& line) override {
    if (state_ == state::sasl) {
      state_ = state::authorization;
      if (line == "*") {
        reply("-ERR AUTH cancelled\r\n");
      } else {
        check_plain(line);
      }
      return;
    }
    const auto space = line.find(' ');
    const std::string verb = upper(line.substr(0, space));
    const std::string arg = space == std::string::npos ? std::string() : line.substr(space + 1);

    if (verb == "CAPA") {
      if (!capa) return reply("-ERR unknown command\r\n");
      std::string r = "+OK capability list follows\r\nTOP\r\n";
      if (uidl) r += "UIDL\r\n";
      if (pipelining) r += "PIPELINING\r\n";
      if (stls && !tls() && state_ == state::authorization) r += "STLS\r\n";
      if (user_capa) r += "USER\r\n";
      if (sasl_plain) r += "SASL PLAIN\r\n";
      return reply(r + ".\r\n");
    }
    if (verb == "STLS") {
      if (!stls || tls() || state_ != state::authorization) return reply("-ERR not now\r\n");
      reply("+OK begin TLS negotiation\r\n");
      begin_tls();
      return;
    }
    if (verb == "QUIT") {
      if (state_ == state::transaction) {
        // UPDATE state: only now do the marks take effect.
        std::vector<pop3_message> kept;
        for (std::size_t i = 0; i < maildrop.size(); ++i) {
          if (i < deleted_.size() && deleted_[i]) {
            ++deleted_at_quit;
          } else {
            kept.push_back(maildrop[i]);
          }
        }
        maildrop = std::move(kept);
        deleted_.assign(maildrop.size(), false);
      }
      state_ = state::update;
      reply("+OK bye\r\n");
      close_after_reply();
      return;
    }
    if (state_ == state::authorization) {
      if (verb == "USER") {
        user_given_ = arg;
        return reply("+OK\r\n");
      }
      if (verb == "PASS") {
        if (user_given_.empty()) return reply("-ERR USER first\r\n");
        if (user_given_ == user && arg == password) return logged_in();
        user_given_.clear();
        return reply("-ERR [AUTH] invalid user name or password\r\n");
      }
      if (verb == "APOP") {
        if (apop_timestamp.empty()) return reply("-ERR APOP not available\r\n");
        const auto sp = arg.find(' ');
        if (sp != std::string::npos && arg.substr(0, sp) == user &&
            arg.substr(sp + 1) == md5_hex(apop_timestamp + password)) {
          return logged_in();
        }
        return reply("-ERR [AUTH] authentication failed\r\n");
      }
      if (verb == "AUTH") {
        const auto sp = arg.find(' ');
        if (!sasl_plain || upper(arg.substr(0, sp)) != "PLAIN") {
          return reply("-ERR mechanism not supported\r\n");
        }
        if (sp == std::string::npos) {
          state_ = state::sasl;
          return reply("+ \r\n");
        }
        return check_plain(arg.substr(sp + 1));
      }
      return reply("-ERR not authenticated\r\n");
    }
    if (state_ != state::transaction) return reply("-ERR bad state\r\n");

    if (verb == "STAT") {
      std::size_t n = 0, octets = 0;
      for (std::size_t i = 0; i < deleted_.size(); ++i) {
        if (deleted_[i]) continue;
        ++n;
        octets += maildrop[i].content.size();
      }
      return reply("+OK " + std::to_string(n) + " " + std::to_string(octets) + "\r\n");
    }
    if (verb == "UIDL" || verb == "LIST") {
      if (verb == "UIDL" && !uidl) return reply("-ERR unknown command\r\n");
      auto value = [&](std::size_t i) {
        return verb == "UIDL" ? maildrop[i].uidl : std::to_string(maildrop[i].content.size());
      };
      if (!arg.empty()) {
        const std::size_t i = message_index(arg);
        if (i == npos) return reply("-ERR no such message\r\n");
        return reply("+OK " + arg + " " + value(i) + "\r\n");
      }
      std::string r = "+OK\r\n";
      for (std::size_t i = 0; i < deleted_.size(); ++i) {
        if (!deleted_[i]) r += std::to_string(i + 1) + " " + value(i) + "\r\n";
      }
      return reply(r + ".\r\n");
    }
    if (verb == "RETR") {
      const std::size_t i = message_index(arg);
      if (i == npos) return reply("-ERR no such message\r\n");
      retrieved_[i] = true;
      return reply("+OK " + std::to_string(maildrop[i].content.size()) + " octets\r\n" +
                   dot_stuff(maildrop[i].content) + ".\r\n");
    }
    if (verb == "DELE") {
      const std::size_t i = message_index(arg);
      if (i == npos) return reply("-ERR no such message\r\n");
      // The job's rule: only what this session downloaded (and the mailbox then confirmed).
      if (!retrieved_[i])
        violations.push_back("DELE of " + maildrop[i].uidl + " not downloaded in this session");
      if (on_dele) on_dele(maildrop[i]);
      deleted_[i] = true;
      return reply("+OK marked\r\n");
    }
    if (verb == "NOOP") return reply("+OK\r\n");
    if (verb == "RSET") {
      deleted_.assign(maildrop.size(), false);
      return reply("+OK\r\n");
    }
    reply("-ERR unknown command\r\n");
  }

 private:
  enum class state { authorization, sasl, transaction, update };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  void logged_in() {
    state_ = state::transaction;
    reply("+OK maildrop locked and ready\r\n");
  }

  void check_plain(const std::string& response) {
    auto decoded = base64::decode(response);
    if (decoded && *decoded == std::string("\0", 1) + user + std::string("\0", 1) + password) {
      return logged_in();
    }
    reply("-ERR [AUTH] authentication failed\r\n");
  }

  std::size_t message_index(const std::string& arg) const {
    if (arg.empty() || arg.size() > 9) return npos;
    std::size_t n = 0;
    for (char c : arg) {
      if (c < '0' || c > '9') return npos;
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (n == 0 || n > deleted_.size() || deleted_[n - 1]) return npos;
    return n - 1;
  }

  // RFC 1939 §3: a line starting with '.' gets one more; the last line ends in CRLF.
  static std::string dot_stuff(const std::string& content) {
    std::string out;
    bool line_start = true;
    for (char c : content) {
      if (line_start && c == '.') out += '.';
      out += c;
      line_start = c == '\n';
    }
    if (!line_start) out += "\r\n";
    return out;
  }

  state state_ = state::authorization;
  std::string user_given_;
  std::vector<bool> deleted_;
  std::vector<bool> retrieved_;  // RETR in this session
};

}  // namespace junction::jobs::testing
